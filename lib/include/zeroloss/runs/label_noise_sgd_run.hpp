#pragma once
// A label-noise SGD run of the two-layer network (THEORY 7) with its files: one seed or an ensemble
// of seeds in threads, logged trajectories, checkpoints and resume, divergence handling
// (docs/commands/sgd.md, docs/formats.md).
//
// The run owns its output folder (formats/output_directory.hpp: lock, run manifest, atomic writes):
//   run.json                   the options, to resume (presentation/sgd_run_file.hpp)
//   [seed_<s>/]trajectory.csv  the logged rows (diagnostics/trajectory_metrics.hpp)
//   [seed_<s>/]final_weights.csv, or final_reduced.json (+ .csv, _basis.csv) for reduced-only starts
//   [seed_<s>/]checkpoint.json + checkpoint_<step>.csv (formats/sgd_checkpoint.hpp)
//   [seed_<s>/]summary.json, and for an ensemble summary.json and ensemble_trajectory.csv
// A resumed run continues every seed from its checkpoint and gives, bit for bit, the outputs of an
// uninterrupted run (times aside). Interruption (RunControl::interrupt) writes a checkpoint and ends
// with status interrupted; a divergence keeps the last finite weights and ends with status diverged
// and a message (LabelNoiseSgdRunSummary::failure). Errors are exceptions (support/errors.hpp).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "zeroloss/model/problem_checks.hpp"
#include "zeroloss/runs/label_noise_sgd_run_options.hpp"
#include "zeroloss/runs/run_control.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"

namespace zeroloss {

enum class SgdRunStatus { Completed, Diverged, Interrupted };
// "completed", "diverged", "interrupted".
const char* to_string(SgdRunStatus status);

// One seed's run.
struct SgdSeedResult {
  std::uint64_t seed = 0;
  SgdRunStatus status = SgdRunStatus::Completed;
  std::uint64_t steps_done = 0;
  std::vector<TrajectoryRow> rows;       // logged rows (and, after a divergence, the last finite state)
  std::optional<TrajectoryRow> reached;  // interrupted: the state at the interrupt (step steps_done)
  std::string divergence_reason;
  std::uint64_t divergence_step = 0;
  std::uint64_t last_finite_step = 0;
  double steps_per_second = 0;
  std::string dir;  // the seed's folder
  // The report of the seed's summary.json (for a seed finished by an earlier process, that
  // process's report): the final state (the state at the interrupt, else the last row), ...
  std::optional<TrajectoryRow> final_state;
  bool final_is_interrupt_state = false;
  // ... THEORY's assumptions at the final weights (checked when they are finite), ...
  bool assumptions_checked = false;
  bool assumptions_hold = true;
  std::string assumptions_description;
  // ... the first logged step from which sigma_2/sigma_1 of Phi stays below the threshold, ...
  std::optional<std::uint64_t> rank_one_feature_step;
  std::vector<std::string> figures, notes;  // ... and its figures and notes.
  // Runs on a problem in memory only: the final weights Theta (m x d) - the last finite ones after a
  // divergence, the state reached at an interrupt (empty for a seed an earlier process finished).
  Eigen::MatrixXd final_weights;
};

struct LabelNoiseSgdRunSummary {
  SgdRunStatus status = SgdRunStatus::Completed;  // interrupted if any seed was, else diverged if any
  std::vector<SgdSeedResult> seeds;
  int threads = 1;
  int interrupted = 0, diverged = 0;  // seeds with that status
  double flow_coefficient = 0;        // C = s^2 / (4B)
  double wall_seconds = 0;            // of this process
  std::uint64_t steps_this_process = 0;
  // Ensembles: the mean over seeds at each logged step (sgd_ensemble_table.hpp), the mean of the
  // states at the interrupt when every seed stopped at the same step, and the ensemble's figures
  // and notes (as in its summary.json).
  std::vector<TrajectoryRow> ensemble_mean;
  std::vector<int> ensemble_seed_counts;
  std::string ensemble_table_csv;  // the text of ensemble_trajectory.csv (written or not)
  std::optional<TrajectoryRow> interrupted_mean;
  std::vector<std::string> figures, notes;
  // Status diverged: what diverged, the advice on the step size, where the last finite weights are.
  std::string failure;
};

class LabelNoiseSgdRun {
 public:
  // Validates the options (InputError) and loads the problem: data and weights, a reduced-weights
  // manifest, or the random start (data diagnostics are reported, not refused: SGD is defined off M).
  explicit LabelNoiseSgdRun(LabelNoiseSgdRunOptions options);
  // Reopens the folder of an unfinished (or finished) run: locks it, reads DIR/run.json, checks that
  // the inputs are unchanged (InputError naming the file otherwise) and loads the problem. `threads`
  // (0 = all cores) and `no_figures` are the only options a resume may set.
  static LabelNoiseSgdRun resume(const std::string& dir, int threads, bool no_figures);
  // The same run on a problem given in memory (runs/loaded_problem.hpp, load_problem(ProblemArrays):
  // the checks of the files, the messages naming the arrays); options.problem and random_start must
  // be unset (InputError), the activation is problem.activation. The same seed gives the same bits
  // as the run on files holding these numbers. With options.out empty the run writes no file (no
  // folder, no checkpoint, no figures): the results are the summary's, with each seed's
  // final_weights. With options.out set it writes its folder as a file run does, plus its inputs as
  // out/inputs/data.csv and out/inputs/weights.csv (round-trip numbers) named in run.json, so that
  // resume(out) continues it.
  LabelNoiseSgdRun(LabelNoiseSgdRunOptions options, const ProblemArrays& problem);

  ~LabelNoiseSgdRun();
  LabelNoiseSgdRun(LabelNoiseSgdRun&&) noexcept;
  LabelNoiseSgdRun& operator=(LabelNoiseSgdRun&&) noexcept;

  // The options (read from run.json after resume).
  const LabelNoiseSgdRunOptions& options() const;
  // What the data imply for M (model/problem_checks.hpp).
  const DataDiagnostics& diagnostics() const;

  // Runs every seed (once per object) and writes the outputs; progress counts steps over all seeds.
  LabelNoiseSgdRunSummary run(const RunControl& control = {});

  struct Impl;

 private:
  explicit LabelNoiseSgdRun(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace zeroloss
