#pragma once
// A label-noise SGD run of the diagonal linear network (THEORY 9) with its files, on the generic
// step (dynamics/generic_label_noise_sgd.hpp), in an output folder the run owns (formats/output_directory.hpp):
//   run.json                           the options, to resume (presentation/diagonal_sgd_resume_files.hpp)
//   [seed_<s>/]trajectory.csv          the logged rows (below)
//   [seed_<s>/]final_weights.csv       u,v at the end (the last finite weights after a divergence)
//   [seed_<s>/]checkpoint.json         the whole state (presentation/diagonal_sgd_resume_files.hpp)
//   [seed_<s>/]summary.json            and, for an ensemble, summary.json and ensemble_trajectory.csv
// One seed writes into the folder itself; an ensemble runs each seed in its own folder seed_<s>/ on
// threads (each seed's bits independent of the threads). An interrupted run continues
// (resume_diagonal_label_noise_sgd) and gives, bit for bit, the files of an uninterrupted one (times
// aside). Same options and seed, same bits.
//
// trajectory.csv: step,t,tau,loss,sharpness,weighted_l1_bound at the logged steps, with
//   t = eta^2 k (SGD time), tau = C t, C = s^2 / (4B) (dynamics/label_noise_time_scale.hpp),
//   loss L = (1/(2n)) sum_i (f_i - y_i)^2, T = (4/n) sum_k c_k (u_k^2 + v_k^2) (c_k = sum_i x_ik^2),
//   and the weighted-l1 bound (4/n) sum_k c_k |u_k^2 - v_k^2| <= T, which T reaches where u_k v_k = 0
//   (on M its minimum is T*, sharpness/diagonal_linear_optimum.hpp).

#include <Eigen/Dense>

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/random/rng.hpp"
#include "zeroloss/runs/label_noise_sgd_run.hpp"
#include "zeroloss/runs/run_control.hpp"

namespace zeroloss {

struct DiagonalSgdRunOptions {
  std::string data;     // data CSV
  std::string weights;  // u,v weights CSV (io/diagonal_weights_csv.hpp): the start
  double learning_rate = 0;  // eta > 0
  double label_noise = 0;    // s >= 0
  NoiseKind noise = NoiseKind::Gaussian;
  std::string batch = "1";   // B in [1, n] or "full" (run_parameters.hpp, parse_batch)
  std::uint64_t steps = 0;   // K >= 1
  std::uint64_t seed = 0;                // the seed of a single run
  std::vector<std::uint64_t> ensemble;   // or, when not empty, an ensemble of these seeds (no repeats)
  int threads = 0;                       // ensemble threads (0 = all cores); not recorded in run.json
  std::uint64_t log_every = 0;  // logged steps as in LabelNoiseSgdRunOptions (log_schedule)
  int log_points = 200;
  std::uint64_t checkpoint_every = 0;  // also a checkpoint every this many steps (0: only at the end and on an interrupt)
  std::string out;
  bool overwrite = false;

  // Empty when the options can run, else the reason naming the command-line option: K >= 1, eta
  // and s finite with eta > 0 and s >= 0, the time scales (check_sgd_time_scales), log_points >= 1,
  // the files and the folder named.
  bool is_valid(std::string* error) const;
  void validate() const;  // InputError with is_valid's message
};

struct DiagonalSgdRow {
  std::uint64_t step = 0;
  double t = 0, tau = 0;
  double loss = 0, sharpness = 0, weighted_l1_bound = 0;
};

// One seed's run.
struct DiagonalSgdSeedResult {
  std::uint64_t seed = 0;
  SgdRunStatus status = SgdRunStatus::Completed;
  std::uint64_t steps_done = 0;
  std::vector<DiagonalSgdRow> rows;  // the logged rows; after an interrupt or a divergence, also the last state
  Eigen::VectorXd u, v;              // the final (last finite) weights, as written
  std::string failure;               // status diverged: what happened and what to do
  std::string dir;                   // the seed's folder
};

// At a logged step: how many seeds reached it and the mean and sample standard deviation (0 for
// one seed) of loss, T and the weighted-l1 bound over them.
struct DiagonalSgdEnsembleRow {
  std::uint64_t step = 0;
  double t = 0, tau = 0;
  int seeds = 0;
  double loss_mean = 0, loss_std = 0, sharpness_mean = 0, sharpness_std = 0;
  double weighted_l1_bound_mean = 0, weighted_l1_bound_std = 0;
};

struct DiagonalSgdRunSummary {
  SgdRunStatus status = SgdRunStatus::Completed;  // interrupted if any seed was, else diverged if any
  std::string model_description;
  int batch_size = 1;
  double flow_coefficient = 0;       // C = s^2 / (4B)
  int threads = 1;
  std::vector<DiagonalSgdSeedResult> seeds;  // in the order of the options' seeds
  std::vector<DiagonalSgdEnsembleRow> ensemble_mean;  // ensembles: the rows of ensemble_trajectory.csv
  std::string failure;               // status diverged: the first diverged seed's message
  double wall_seconds = 0;           // of this process
};

// Validates, reads the data and the start (InputError naming the file), opens the folder, runs and
// writes the outputs. A step that makes the parameters non-finite ends the run with status
// diverged, the last finite weights written. An interrupt (RunControl) writes the checkpoint and the
// state reached, and ends with status interrupted. Progress counts steps over all seeds.
DiagonalSgdRunSummary run_diagonal_label_noise_sgd(const DiagonalSgdRunOptions& options, const RunControl& control = {});

// Continues the unfinished run in `dir`: each seed from its checkpoint (from the start when it stopped
// before writing one; a seed that completed or diverged is read back, not run), with the options of its
// run.json and `threads`. Throws InputError naming the file when the folder
// holds no such run, its inputs changed, the run completed, or its checkpoint does not verify.
// `options_out`, when given, receives the run's options.
DiagonalSgdRunSummary resume_diagonal_label_noise_sgd(const std::string& dir, const RunControl& control = {},
                                                      DiagonalSgdRunOptions* options_out = nullptr, int threads = 0);

}  // namespace zeroloss
