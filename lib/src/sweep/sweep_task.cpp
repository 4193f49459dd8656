#include "zeroloss/sweep/sweep_task.hpp"

#include <filesystem>
#include <vector>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_random_start.hpp"
#include "zeroloss/io/weights.hpp"
#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/presentation/optimum_outputs.hpp"
#include "zeroloss/runs/label_noise_sgd_run.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
constexpr const char* kOptimumName = "optimum.csv";  // in the task's folder, beside optimum.json
}  // namespace

SweepTaskFiles sweep_task_files(const std::string& sweep_dir, const SweepTask& task) {
  SweepTaskFiles f;
  f.dir = sweep_dir + "/tasks/" + task.id;
  f.data = f.dir + "/data.csv";
  f.start = f.dir + "/start.csv";
  f.run = f.dir + "/run";
  f.result = f.dir + "/result.json";
  f.optimum = f.dir + "/" + kOptimumName;
  f.optimum_json = f.dir + "/optimum.json";
  return f;
}

GeneratedDataOptions sweep_task_data_options(const SweepTask& task, const SweepTaskFiles& files) {
  const json& p = task.parameters;
  GeneratedDataOptions g;
  g.data.generator = parse_generator(p["generator"].get<std::string>());
  g.data.n = p["n"].get<int>();
  g.data.d = p["d"].get<int>();
  g.data.seed = p["data_seed"].get<std::uint64_t>();
  g.data.label_scale = p["label_scale"].get<double>();
  g.out = files.data;
  g.weights_out = files.start;
  g.model = parse_model_kind(p["model"].get<std::string>());
  g.m = p.contains("m") ? p["m"].get<int>() : 0;
  g.init_scale = p["init_scale"].get<double>();
  return g;
}

namespace {

// What the SGD runs of both models take alike from a task: eta, s, B, K, one thread, the logged
// rows and the checkpoint period.
template <class SgdOptions>
void set_sgd_parameters(SgdOptions& o, const json& p) {
  o.learning_rate = p["eta"].get<double>();
  o.label_noise = p["s"].get<double>();
  o.batch = p["B"].get<std::string>();
  o.steps = p["steps"].get<std::uint64_t>();
  o.threads = 1;
  o.log_points = p["log_points"].get<int>();
  o.checkpoint_every = p["checkpoint_every"].get<std::uint64_t>();
}

}  // namespace

LabelNoiseSgdRunOptions sweep_task_sgd_options(const SweepTask& task, const SweepTaskFiles& files) {
  const json& p = task.parameters;
  LabelNoiseSgdRunOptions o;
  o.problem = {files.data, files.start, p["activation"].get<std::string>()};
  set_sgd_parameters(o, p);
  o.seeds = {p["seed"].get<std::uint64_t>()};
  o.figures = false;
  o.out = files.run;
  return o;
}

SharpnessFlowRunOptions sweep_task_flow_options(const SweepTask& task, const SweepTaskFiles& files) {
  const json& p = task.parameters;
  SharpnessFlowRunOptions o;
  o.problem = {files.data, files.start, p["activation"].get<std::string>()};
  o.model = parse_model_kind(p["model"].get<std::string>());
  o.time = p["time"].get<double>();
  if (p.contains("C")) o.coefficient = p["C"].get<double>();
  if (p.contains("s")) o.label_noise = p["s"].get<double>();
  if (p.contains("B")) o.batch = p["B"].get<std::string>();
  o.log_points = p["log_points"].get<int>();
  o.max_steps = p["max_steps"].get<std::uint64_t>();
  o.figures = false;
  o.out = files.run;
  return o;
}

DiagonalSgdRunOptions sweep_task_diagonal_sgd_options(const SweepTask& task, const SweepTaskFiles& files) {
  const json& p = task.parameters;
  DiagonalSgdRunOptions o;
  o.data = files.data;
  o.weights = files.start;
  set_sgd_parameters(o, p);
  o.seed = p["seed"].get<std::uint64_t>();
  o.out = files.run;
  return o;
}

SgdFlowComparisonRunOptions sweep_task_compare_options(const SweepTask& task, const SweepTaskFiles& files) {
  const json& p = task.parameters;
  SgdFlowComparisonRunOptions o;
  o.problem = {files.data, files.start, p["activation"].get<std::string>()};
  o.model = parse_model_kind(p["model"].get<std::string>());
  o.label_noise = p["s"].get<double>();
  o.batch = p["B"].get<std::string>();
  o.learning_rates = p["etas"].get<std::vector<double>>();
  o.time = p["time"].get<double>();
  for (int k = 1; k <= p["seeds"].get<int>(); ++k) o.seeds.push_back(static_cast<std::uint64_t>(k));
  o.points = p["points"].get<int>();
  o.threads = 1;
  o.figures = false;
  o.out = files.run;
  return o;
}

ConvexityRunOptions sweep_task_convexity_options(const SweepTask& task, const SweepTaskFiles& files) {
  const json& p = task.parameters;
  ConvexityRunOptions o;
  o.problem = {files.data, files.optimum, p["activation"].get<std::string>()};
  o.model = parse_model_kind(p["model"].get<std::string>());
  o.settings.quick = p["preset"].get<std::string>() == "quick";
  o.settings.seed = p["seed"].get<std::uint64_t>();
  o.settings.figures = false;
  o.out = files.run;
  return o;
}

namespace {

// data.csv from data_seed (write_generated_data), start.csv from init_seed, so that starts can vary
// on fixed data (write_generated_data would draw the start from data_seed).
void write_task_inputs(const SweepTask& task, const SweepTaskFiles& files) {
  GeneratedDataOptions g = sweep_task_data_options(task, files);
  g.weights_out.clear();
  write_generated_data(g);
  const std::uint64_t seed = task.parameters["init_seed"].get<std::uint64_t>();
  const Dataset data = generate_dataset(g.data);
  if (g.model == ModelKind::DiagonalLinear) {
    const int d = static_cast<int>(data.X.cols());
    const Eigen::VectorXd uv = random_diagonal_start(d, g.init_scale, seed);
    write_diagonal_weights_csv(files.start, uv.head(d), uv.tail(d));
  } else {
    const Weights start = random_two_layer_start(data.X, g.m, g.init_scale, false, seed);
    write_weights_csv(files.start, start.theta, start.a);
  }
}

json optional_number(const std::optional<double>& x) { return x ? json(*x) : json(nullptr); }
std::optional<double> read_optional(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<double>();
}

// The task's inputs (data.csv, start.csv, optimum.csv) as absolute, normal paths, to recognise them
// in a run's records however they are written there.
struct TaskInputs {
  explicit TaskInputs(const SweepTaskFiles& files) : cwd(fs::current_path()) {
    for (const std::string* input : {&files.data, &files.start, &files.optimum}) paths.push_back(normal(*input));
  }
  fs::path normal(const std::string& path) const { return (cwd / path).lexically_normal(); }
  fs::path cwd;
  std::vector<fs::path> paths;
};

// Replaces, anywhere in `j`, a string naming one of the task's inputs by its path relative to
// `folder`, the folder of the file `j` is written to. True when something changed.
bool name_inputs_relative_to(json& j, const TaskInputs& inputs, const fs::path& folder) {
  if (j.is_structured()) {
    bool changed = false;
    for (json& v : j) changed = name_inputs_relative_to(v, inputs, folder) || changed;
    return changed;
  }
  if (!j.is_string() || j.get_ref<const std::string&>().empty()) return false;
  const fs::path value = inputs.normal(j.get<std::string>());
  for (const fs::path& input : inputs.paths)
    if (value == input) {
      j = value.lexically_relative(inputs.normal(folder.string())).generic_string();
      return true;
    }
  return false;
}

// Makes a finished run folder's records independent of the process and of where DIR is: moves
// the entries that depend on the process (wall-clock times, steps per second, where a resume
// started) out of summary.json into `timing`, under the same JSON pointer (sgd's performance,
// flow's wall_seconds, compare's flow/seconds and sgd/seconds, convexity's seconds: the entries
// tests/golden_test.cpp excludes as times), and names the task's inputs in summary.json and
// run.json relative to the run folder (the runs record them as given, run.json absolute; its
// readers resolve a relative path against the run folder, so a resume still finds them).
void make_run_records_reproducible(const SweepTaskFiles& files, json& timing) {
  const TaskInputs inputs(files);
  const std::string summary_path = files.run + "/summary.json";
  if (fs::exists(summary_path)) {
    json summary = read_json_file(summary_path);
    bool changed = false;
    for (const char* key : {"/performance", "/wall_seconds", "/seconds", "/flow/seconds", "/sgd/seconds"}) {
      const json::json_pointer at(key);
      if (!summary.contains(at)) continue;
      timing[at] = summary[at];
      summary[at.parent_pointer()].erase(at.back());
      changed = true;
    }
    changed = name_inputs_relative_to(summary, inputs, files.run) || changed;
    if (changed) write_json(summary_path, summary);
  }
  const std::string run_path = files.run + "/run.json";
  if (fs::exists(run_path)) {
    json run = read_json_file(run_path);
    if (name_inputs_relative_to(run, inputs, files.run)) write_json(run_path, run);
  }
}

// `message` with the paths inside DIR named relative to DIR ("tasks/0003/run/..."), so that a
// failure's message does not depend on where the sweep's folder is.
std::string relative_to_sweep(std::string message, const std::string& sweep_dir) {
  // The absolute form first: the form as given may lie inside it.
  const std::string absolute = fs::absolute(sweep_dir).lexically_normal().string();
  for (const std::string& prefix : {absolute + "/tasks/", sweep_dir + "/tasks/"})
    for (std::size_t at = message.find(prefix); at != std::string::npos; at = message.find(prefix, at))
      message.replace(at, prefix.size(), "tasks/");
  return message;
}

void start_afresh(const SweepTask& task, const SweepTaskFiles& files) {
  fs::remove_all(files.dir);
  fs::create_directories(files.dir);
  write_task_inputs(task, files);
}

bool diagonal(const SweepTask& task) {
  return parse_model_kind(task.parameters["model"].get<std::string>()) == ModelKind::DiagonalLinear;
}

SweepTaskResult run_diagonal_sgd(const SweepTask& task, const SweepTaskFiles& files) {
  std::optional<DiagonalSgdRunSummary> S;
  if (fs::exists(files.run + "/run.json")) {
    try {
      S = resume_diagonal_label_noise_sgd(files.run, {}, nullptr, 1);
    } catch (const InputError&) {
      S.reset();  // killed before the run could continue: start again
    }
  }
  if (!S) {
    start_afresh(task, files);
    S = run_diagonal_label_noise_sgd(sweep_task_diagonal_sgd_options(task, files));
  }
  SweepTaskResult r;
  r.status = to_string(S->status);
  r.message = S->failure;
  const DiagonalSgdSeedResult& seed = S->seeds.at(0);
  if (!seed.rows.empty()) {
    r.sharpness = seed.rows.back().sharpness;
    r.loss = seed.rows.back().loss;
  }
  return r;
}

// The minimizer of T from the task's start into optimum.csv, and what `zeroloss optimum --json`
// prints into optimum.json. A two-layer point that is not a minimum is written with status
// "stationary point"; a fallback L-BFGS that did not converge throws.
SweepTaskResult run_optimum(const SweepTask& task, const SweepTaskFiles& files) {
  const ProblemFiles problem{files.data, files.start, task.parameters["activation"].get<std::string>()};
  SweepTaskResult r;
  if (diagonal(task)) {
    const LoadedDiagonalProblem P = load_diagonal_problem(problem);
    const DiagonalLinearOptimum o = diagonal_linear_optimum(*P.model, P.theta);
    write_diagonal_weights_csv(files.optimum, P.model->u(o.theta), P.model->v(o.theta));
    write_file_atomic(files.optimum_json,
                      optimum_json(o, P.model->description(), kOptimumName).dump(2) + "\n");
    r.sharpness = o.sharpness;
    r.optimum_sharpness = o.sharpness;
    return r;
  }
  const LoadedProblem P = load_problem(problem);
  const SharpnessMinimum s = sharpness_minimum(P.model, P.weights.theta, SharpnessMinimumOptions{});
  if (!s.closed_form && !s.fallback_summary.converged)
    throw ConvergenceError("no closed form (rank X < n) and the Riemannian L-BFGS fallback did not converge: " +
                           s.fallback_summary.termination);
  const OptimumReport report{false, SharpnessGeometry(P.model, P.weights.theta).sharpness(),
                             max_residual(P.model, P.weights.theta), P.model.activation().name(), kOptimumName};
  write_weights_csv(files.optimum, s.theta, P.model.a());
  write_file_atomic(files.optimum_json, optimum_json(s, report).dump(2) + "\n");
  if (s.kind == OptimumKind::StationaryPoint) {
    r.status = "stationary point";
    r.message = s.verdict;
  } else if (s.kind == OptimumKind::Undetermined) {
    r.message = s.verdict;  // completed: the point is written; its type is not established
  }
  r.sharpness = s.sharpness;
  r.gradient_norm = s.riemannian_gradient_norm;
  if (s.closed_form) r.optimum_sharpness = s.sharpness;
  return r;
}

SweepTaskResult run_compare(const SweepTask& task, const SweepTaskFiles& files) {
  start_afresh(task, files);
  const SgdFlowComparisonRunSummary S = run_sgd_flow_comparison(sweep_task_compare_options(task, files));
  SweepTaskResult r;
  r.sharpness = S.flow.final_sharpness;
  r.gradient_norm = S.flow.final_gradient_norm;
  if (S.result.fit) r.error_order = S.result.fit->exponent;
  if (!S.notes.empty()) r.message = S.notes.front();
  return r;
}

SweepTaskResult run_convexity_task(const SweepTask& task, const SweepTaskFiles& files) {
  start_afresh(task, files);
  SweepTaskResult r = run_optimum(task, files);
  if (!r.completed()) return r;
  const ConvexityRunSummary S = run_convexity(sweep_task_convexity_options(task, files));
  if (S.result.threshold.negative_found) r.convexity_threshold = S.result.threshold.threshold;
  return r;
}

SweepTaskResult run_sgd(const SweepTask& task, const SweepTaskFiles& files) {
  if (diagonal(task)) return run_diagonal_sgd(task, files);
  std::optional<LabelNoiseSgdRun> run;
  if (fs::exists(files.run + "/run.json")) {
    try {
      run.emplace(LabelNoiseSgdRun::resume(files.run, 1, true));
    } catch (const InputError&) {
      run.reset();  // killed before its first checkpoint: start again
    }
  }
  if (!run) {
    start_afresh(task, files);
    run.emplace(sweep_task_sgd_options(task, files));
  }
  const LabelNoiseSgdRunSummary S = run->run();
  SweepTaskResult r;
  r.status = to_string(S.status);
  r.message = S.failure;
  const SgdSeedResult& seed = S.seeds.at(0);
  if (seed.final_state) {
    const TrajectoryMetrics& f = seed.final_state->metrics;
    r.sharpness = f.sharpness;
    r.loss = f.loss;
    r.gradient_norm = f.gradient_norm;
    if (f.sharpness_gap && S.status == SgdRunStatus::Completed) r.optimum_sharpness = f.sharpness - *f.sharpness_gap;
  }
  return r;
}

SweepTaskResult run_flow(const SweepTask& task, const SweepTaskFiles& files) {
  start_afresh(task, files);
  const SharpnessFlowRunOptions o = sweep_task_flow_options(task, files);
  const SharpnessFlowRunSummary S = run_sharpness_flow(o);
  SweepTaskResult r;
  r.status = to_string(S.status);
  r.message = S.status == FlowRunStatus::StepLimit ? S.failure
              : S.status == FlowRunStatus::SingularPoint ? S.flow.termination
                                                           : "";
  r.sharpness = S.flow.final_sharpness;
  r.gradient_norm = S.flow.final_gradient_norm;
  if (!S.rows.empty()) r.loss = S.rows.back().metrics.loss;
  r.optimum_sharpness = S.optimum_sharpness;
  return r;
}

}  // namespace

json to_json(const SweepTask& task, const SweepTaskResult& r) {
  return json{{"format", "zeroloss-sweep-task"},
              {"version", 1},
              {"id", task.id},
              {"kind", to_string(task.kind)},
              {"parameters", task.parameters},
              {"status", r.status},
              {"message", r.message},
              {"sharpness", optional_number(r.sharpness)},
              {"loss", optional_number(r.loss)},
              {"grad_norm", optional_number(r.gradient_norm)},
              {"optimum_sharpness", optional_number(r.optimum_sharpness)},
              {"error_order", optional_number(r.error_order)},
              {"convexity_threshold", optional_number(r.convexity_threshold)}};
}

SweepTaskResult sweep_task_result_from_json(const json& j, const std::string& source) {
  if (!j.is_object() || j.value("format", "") != "zeroloss-sweep-task" || !j.contains("status") || !j["status"].is_string())
    throw InputError(source + ": not a sweep task result (format zeroloss-sweep-task with a status)");
  SweepTaskResult r;
  r.status = j["status"].get<std::string>();
  r.message = j.value("message", "");
  r.sharpness = read_optional(j, "sharpness");
  r.loss = read_optional(j, "loss");
  r.gradient_norm = read_optional(j, "grad_norm");
  r.optimum_sharpness = read_optional(j, "optimum_sharpness");
  r.error_order = read_optional(j, "error_order");
  r.convexity_threshold = read_optional(j, "convexity_threshold");
  return r;
}

SweepTaskResult execute_sweep_task(const SweepTask& task, const std::string& sweep_dir, json& timing) {
  const SweepTaskFiles files = sweep_task_files(sweep_dir, task);
  SweepTaskResult r;
  try {
    switch (task.kind) {
      case SweepTaskKind::Sgd: r = run_sgd(task, files); break;
      case SweepTaskKind::Flow: r = run_flow(task, files); break;
      case SweepTaskKind::Compare: r = run_compare(task, files); break;
      case SweepTaskKind::Convexity: r = run_convexity_task(task, files); break;
      case SweepTaskKind::Optimum:
        start_afresh(task, files);
        r = run_optimum(task, files);
        break;
    }
    make_run_records_reproducible(files, timing);
  } catch (const std::exception& e) {
    r = SweepTaskResult{};
    r.status = "failed";
    r.message = e.what();
    fs::create_directories(files.dir);
  }
  r.message = relative_to_sweep(r.message, sweep_dir);
  write_json(files.result, to_json(task, r));
  return r;
}

}  // namespace zeroloss
