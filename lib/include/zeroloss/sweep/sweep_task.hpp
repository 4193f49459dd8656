#pragma once
// One task of a sweep: its files under DIR/tasks/<id>/, the options of the runs/ layer it uses, and
// its execution: the data and the start generated from the specification's seeds (data.csv,
// start.csv), then the run (run/: the runs/ layer's label-noise SGD of either model, sharpness flow,
// SGD-flow comparison or convexity run, one thread, no figures; or the optimum's optimum.csv and
// optimum.json), then result.json. Nothing depends on the worker that runs it.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "zeroloss/runs/convexity_run.hpp"
#include "zeroloss/runs/diagonal_sgd_run.hpp"
#include "zeroloss/runs/generated_data.hpp"
#include "zeroloss/runs/sgd_flow_comparison_run.hpp"
#include "zeroloss/runs/label_noise_sgd_run_options.hpp"
#include "zeroloss/runs/sharpness_flow_run.hpp"
#include "zeroloss/sweep/sweep_specification.hpp"

namespace zeroloss {

struct SweepTaskFiles {
  std::string dir;     // DIR/tasks/<id>
  std::string data;    // dir/data.csv
  std::string start;   // dir/start.csv (two-layer: Theta; diagonal: u,v)
  std::string run;     // dir/run (the run's own output folder)
  std::string optimum;       // dir/optimum.csv (optimum and convexity tasks: the minimizer of T)
  std::string optimum_json;  // dir/optimum.json (what `zeroloss optimum --json` prints)
  std::string result;  // dir/result.json, written last: the task is finished when it exists
};
SweepTaskFiles sweep_task_files(const std::string& sweep_dir, const SweepTask& task);

// The options of the runs/ layer for a task (no validation here; the specification reader calls
// their validation for every task before anything runs).
GeneratedDataOptions sweep_task_data_options(const SweepTask& task, const SweepTaskFiles& files);
LabelNoiseSgdRunOptions sweep_task_sgd_options(const SweepTask& task, const SweepTaskFiles& files);
SharpnessFlowRunOptions sweep_task_flow_options(const SweepTask& task, const SweepTaskFiles& files);
DiagonalSgdRunOptions sweep_task_diagonal_sgd_options(const SweepTask& task, const SweepTaskFiles& files);
// Seeds 1..seeds per step size, `points` comparison times, one SGD thread.
SgdFlowComparisonRunOptions sweep_task_compare_options(const SweepTask& task, const SweepTaskFiles& files);
// At the task's optimum (files.optimum), the preset's settings with seed `seed`, no trajectories.
ConvexityRunOptions sweep_task_convexity_options(const SweepTask& task, const SweepTaskFiles& files);

// What results.csv shows of a task. Status: the run's ("completed", "diverged", "step limit",
// "singular point") or "failed" when it threw; message: the failure's, else empty.
struct SweepTaskResult {
  std::string status = "completed";
  std::string message;
  std::optional<double> sharpness;          // T at the end (SGD: at the final weights)
  std::optional<double> loss;               // L at the end (two-layer network)
  std::optional<double> gradient_norm;      // ||grad_M T|| at the end
  std::optional<double> optimum_sharpness;  // T* where the closed form exists
  std::optional<double> error_order;        // compare: the fitted order of the SGD-flow distance in eta
  // convexity: the smallest ||grad_M T|| among the points of negative curvature found (none: empty)
  std::optional<double> convexity_threshold;
  bool completed() const { return status == "completed"; }
};
nlohmann::json to_json(const SweepTask& task, const SweepTaskResult& result);
SweepTaskResult sweep_task_result_from_json(const nlohmann::json& j, const std::string& source);

// Runs the task into files.dir and writes result.json (also for a failed run). An SGD run left
// unfinished by an earlier process resumes from its checkpoints; any other unfinished task folder
// is emptied and the task starts again. `timing` receives what is not reproducible (the runs'
// performance and wall-clock entries, moved out of their summary.json).
SweepTaskResult execute_sweep_task(const SweepTask& task, const std::string& sweep_dir, nlohmann::json& timing);

}  // namespace zeroloss
