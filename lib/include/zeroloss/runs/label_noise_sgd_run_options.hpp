#pragma once
// The options of a label-noise SGD run (label_noise_sgd_run.hpp) of the two-layer network in
// reduced coordinates: problem, start, step, noise, batch, seeds, logging, checkpoints, outputs.

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/random/rng.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/support/option_spelling.hpp"

namespace zeroloss {

struct LabelNoiseSgdRunOptions {
  // Data, start weights (a weights CSV or a reduced-weights manifest *.json; unused with
  // random_start) and activation.
  ProblemFiles problem;
  // A random start inside the data span instead of problem.weights (dynamics_setup.hpp,
  // random_start_dynamics): m neurons, pre-activations of scale init_scale, its own seed.
  bool random_start = false;
  int m = 0;
  double init_scale = 1.0;
  std::uint64_t init_seed = 0;

  double learning_rate = 0;  // eta > 0; SGD time t = eta^2 k
  double label_noise = 0;    // s >= 0
  NoiseKind noise = NoiseKind::Gaussian;
  SgdInstructionSet instruction_set = SgdInstructionSet::Auto;  // the same bits either way
  int steps_per_pass = 0;                                       // the same bits for every value
  SgdCoordinates coordinates = SgdCoordinates::Auto;
  // Batch size B as given: an integer in [1, n] or "full" (run_parameters.hpp, parse_batch; kept as
  // text because run.json records it as given).
  std::string batch = "1";
  std::uint64_t steps = 0;  // K >= 1
  // One seed (ensemble = false; its outputs in `out`), or an ensemble, each seed in out/seed_<s>/,
  // run on `threads` threads (0 = all cores); each seed's result is independent of the threads.
  std::vector<std::uint64_t> seeds{0};
  bool ensemble = false;
  int threads = 0;
  // Logged steps (run_parameters.hpp, log_schedule): every log_every steps, or log_points + 1
  // evenly spaced ones when log_every = 0; log_points = 0 (with log_every = 0) is the default
  // schedule, which keeps logging at about a tenth of the run (default_sgd_log_points, at most 200
  // points) and is replaced by its value when the run starts (options() and run.json hold it).
  std::uint64_t log_every = 0;
  int log_points = 0;
  std::uint64_t checkpoint_every = 0;  // 0: only at the end and on an interruption
  double max_loss = 0;                 // divergence bound; <= 0: LabelNoiseSgd's default
  bool figures = true;                 // SVG figures (when gnuplot is available)
  double rank_one_threshold = 1e-2;    // in (0, 1]
  bool save_reduced = false;           // also write final_reduced.json (+ .csv, _basis.csv)
  bool log_gradient = true;            // the grad_norm column of trajectory.csv
  std::string out;                     // the output folder (formats/output_directory.hpp)
  bool overwrite = false;
  // How the messages of is_valid and of the run's checks name the options: as flags (--label-noise)
  // or as keyword arguments (label_noise, what the Python module passes).
  OptionSpelling spelling = OptionSpelling::CommandLine;

  // Empty when the options can run; otherwise the reason, naming the option in `spelling`
  // (in the manner of ceres::Solver::Options::IsValid). Checks what does not need the data: the
  // random start (m >= 1, init_scale finite > 0), the seeds (a list without repeats; exactly one
  // without `ensemble`), K >= 1, eta and s finite with eta > 0 and s >= 0, the time scales
  // (check_sgd_time_scales), log_points >= 0, rank_one_threshold in (0, 1], checkpoint_every, an
  // output folder. The batch size needs n and is checked when the run starts.
  bool is_valid(std::string* error) const;
  // Throws InputError with is_valid's message.
  void validate() const;
};

}  // namespace zeroloss
