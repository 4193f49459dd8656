#include "zeroloss/runs/diagonal_sgd_run.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <limits>
#include <memory>
#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/dataset.hpp"
#include "zeroloss/dynamics/generic_label_noise_sgd.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/output_directory.hpp"
#include "zeroloss/presentation/diagonal_sgd_resume_files.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"
#include "zeroloss/runs/run_parameters.hpp"

namespace zeroloss {

bool DiagonalSgdRunOptions::is_valid(std::string* error) const {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (data.empty()) return fail("--data: a data file is required");
  if (weights.empty()) return fail("--weights: a u,v weights file is required");
  if (const std::string why = sgd_schedule_error(steps, learning_rate, label_noise, log_every, log_points); !why.empty())
    return fail(why);
  if (out.empty()) return fail("--out: an output folder is required");
  if (checkpoint_every > steps)
    return fail("--checkpoint-every " + std::to_string(checkpoint_every) + " is larger than --steps " +
                std::to_string(steps) + "; expected 0 (end and interrupt only) or at most the step count");
  return true;
}

void DiagonalSgdRunOptions::validate() const {
  std::string why;
  if (!is_valid(&why)) throw InputError(why);
}

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string trajectory_text(const std::vector<DiagonalSgdRow>& rows) {
  std::ostringstream csv;
  csv << "step,t,tau,loss,sharpness,weighted_l1_bound\n";
  for (const auto& r : rows)
    csv << r.step << ',' << format_double(r.t) << ',' << format_double(r.tau) << ',' << format_double(r.loss) << ','
        << format_double(r.sharpness) << ',' << format_double(r.weighted_l1_bound) << '\n';
  return csv.str();
}

// One run in an open folder: from the start, or from `checkpoint`.
DiagonalSgdRunSummary run_in_folder(const DiagonalSgdRunOptions& o, const RunControl& control, OutputDirectory& out_dir,
                                    const std::optional<DiagonalSgdCheckpoint>& checkpoint) {
  const LoadedDiagonalProblem problem = load_diagonal_problem({o.data, o.weights});
  const std::shared_ptr<const DiagonalLinearNetwork>& model = problem.model;
  const int n = model->num_samples();
  SgdParameters params;
  params.learning_rate = o.learning_rate;
  params.label_noise = o.label_noise;
  params.noise = o.noise;
  params.batch_size = parse_batch(o.batch, n);
  params.seed = o.seed;
  GenericLabelNoiseSgd sgd(model, problem.theta, params);
  const std::vector<std::uint64_t> schedule = log_schedule(o.steps, o.log_every, o.log_points);

  DiagonalSgdRunSummary S;
  S.model_description = model->description();
  S.batch_size = params.batch_size;
  S.flow_coefficient = limiting_flow_coefficient(o.label_noise, params.batch_size);
  std::size_t next_log = 0;
  if (checkpoint) {
    sgd.restore(checkpoint->state);
    S.rows = checkpoint->rows;
    while (next_log < schedule.size() && !S.rows.empty() && schedule[next_log] <= S.rows.back().step) ++next_log;
  }
  auto save_checkpoint = [&](DiagonalSgdCheckpointStatus status) {
    write_diagonal_sgd_checkpoint(o.out, {o.seed, status, sgd.state(), S.rows});
  };

  const Eigen::VectorXd& c = model->column_norms_squared();
  auto row = [&]() {
    const Eigen::VectorXd& theta = sgd.parameters();
    const auto point = model->evaluate(theta);
    DiagonalSgdRow r;
    r.step = sgd.step();
    r.t = sgd.time();
    r.tau = sgd.flow_time();
    r.loss = (point->outputs() - model->labels()).squaredNorm() / (2.0 * n);
    r.sharpness = point->sharpness();
    r.weighted_l1_bound = 4.0 / n * c.dot(model->linear_weights(theta).cwiseAbs());
    return r;
  };
  const auto start = Clock::now();
  const std::uint64_t chunk = 4096;  // between checks of the interruption flag
  for (;;) {
    const std::uint64_t k = sgd.step();
    if (next_log < schedule.size() && schedule[next_log] == k) {
      S.rows.push_back(row());
      ++next_log;
    }
    if (k >= o.steps) break;
    if (control.interrupted()) {
      S.status = SgdRunStatus::Interrupted;
      save_checkpoint(DiagonalSgdCheckpointStatus::Interrupted);
      break;
    }
    if (o.checkpoint_every > 0 && k > 0 && k % o.checkpoint_every == 0 && !(checkpoint && k == checkpoint->state.step))
      save_checkpoint(DiagonalSgdCheckpointStatus::Running);
    std::uint64_t target = next_log < schedule.size() ? std::min(o.steps, schedule[next_log]) : o.steps;
    if (o.checkpoint_every > 0) target = std::min(target, (k / o.checkpoint_every + 1) * o.checkpoint_every);
    const std::uint64_t todo = std::min(target - k, chunk);
    try {
      sgd.advance(todo);
    } catch (const ConvergenceError& e) {
      S.status = SgdRunStatus::Diverged;
      S.failure = std::string("label-noise SGD diverged: ") + e.what() + ". " +
                  smaller_lr_advice(o.learning_rate, std::numeric_limits<double>::infinity()) +
                  ". The last finite weights (step " + std::to_string(sgd.step()) + ") are in " + o.out +
                  "/final_weights.csv";
      break;
    }
    control.report(static_cast<double>(sgd.step()));
  }
  S.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  S.steps_done = sgd.step();
  if (S.status == SgdRunStatus::Completed) save_checkpoint(DiagonalSgdCheckpointStatus::Completed);
  if (S.status == SgdRunStatus::Diverged) save_checkpoint(DiagonalSgdCheckpointStatus::Diverged);
  // The state reached, when it is not the last logged row.
  if (S.rows.empty() || S.rows.back().step != sgd.step()) S.rows.push_back(row());
  S.u = model->u(sgd.parameters());
  S.v = model->v(sgd.parameters());
  write_file_atomic(o.out + "/trajectory.csv", trajectory_text(S.rows));
  write_diagonal_weights_csv(o.out + "/final_weights.csv", S.u, S.v);
  const DiagonalSgdRow& last = S.rows.back();
  json summary = {{"command", "sgd"},
                  {"model", to_string(ModelKind::DiagonalLinear)},
                  {"status", to_string(S.status)},
                  {"data", o.data},
                  {"weights", o.weights},
                  {"problem", {{"n", n}, {"d", model->dimension()}}},
                  {"parameters",
                   {{"learning_rate", o.learning_rate},
                    {"label_noise", o.label_noise},
                    {"noise", noise_kind_name(o.noise)},
                    {"batch_size", params.batch_size},
                    {"full_batch", params.batch_size == n},
                    {"steps", o.steps},
                    {"seed", o.seed},
                    {"flow_coefficient", S.flow_coefficient},
                    {"flow_time_per_step", flow_time_per_step(o.label_noise, params.batch_size, o.learning_rate)}}},
                  {"steps_done", S.steps_done},
                  {"t", last.t},
                  {"tau", last.tau},
                  {"final",
                   {{"step", last.step},
                    {"loss", last.loss},
                    {"sharpness", last.sharpness},
                    {"weighted_l1_bound", last.weighted_l1_bound}}},
                  {"performance", {{"wall_seconds_this_process", S.wall_seconds}}}};
  if (S.status == SgdRunStatus::Diverged) summary["divergence"] = S.failure;
  write_json(o.out + "/summary.json", summary);
  if (S.status == SgdRunStatus::Interrupted)
    out_dir.finish(RunStatus::Interrupted);
  else if (S.status == SgdRunStatus::Diverged)
    out_dir.finish(RunStatus::Failed, S.failure);
  else
    out_dir.finish(RunStatus::Completed);
  return S;
}

}  // namespace

DiagonalSgdRunSummary run_diagonal_label_noise_sgd(const DiagonalSgdRunOptions& o, const RunControl& control) {
  o.validate();
  load_diagonal_problem({o.data, o.weights});  // input errors before the folder is touched
  OutputDirectory out_dir(o.out, "sgd", OutputDirectoryOptions::fresh(o.overwrite));
  write_json(o.out + "/run.json", diagonal_sgd_run_json(o));
  return run_in_folder(o, control, out_dir, std::nullopt);
}

DiagonalSgdRunSummary resume_diagonal_label_noise_sgd(const std::string& dir, const RunControl& control,
                                                      DiagonalSgdRunOptions* options_out) {
  OutputDirectoryOptions resume;
  resume.resume = true;
  OutputDirectory out_dir(dir, "sgd", resume);
  const DiagonalSgdRunOptions o = read_diagonal_sgd_run_file(dir);
  o.validate();
  if (options_out) *options_out = o;
  std::optional<DiagonalSgdCheckpoint> checkpoint;
  if (std::filesystem::exists(dir + "/checkpoint.json")) {
    const LoadedDiagonalProblem problem = load_diagonal_problem({o.data, o.weights});
    checkpoint = read_diagonal_sgd_checkpoint(dir, o.seed, problem.model->dimension());
    if (checkpoint->status == DiagonalSgdCheckpointStatus::Completed ||
        checkpoint->status == DiagonalSgdCheckpointStatus::Diverged)
      throw InputError(dir + "/checkpoint.json: the run " + to_string(checkpoint->status) + " at step " +
                       std::to_string(checkpoint->state.step) + "; there is nothing to resume");
  }
  return run_in_folder(o, control, out_dir, checkpoint);
}

}  // namespace zeroloss
