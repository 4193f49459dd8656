#include "zeroloss/runs/sgd_flow_comparison_run.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <thread>

#include "zeroloss/csv.hpp"
#include "zeroloss/output_directory.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"
#include "zeroloss/presentation/trajectory_figures.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"
#include "zeroloss/runs/run_parameters.hpp"
#include "zeroloss/sharpness_flow.hpp"

namespace zeroloss {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

SgdFlowComparisonRunSummary run_sgd_flow_comparison(const SgdFlowComparisonRunOptions& o, const RunControl& control) {
  const DynamicsSetup setup = load_dynamics(o.problem);
  const TwoLayerModel& model = setup.reduced;
  SgdFlowComparisonRunSummary S;
  SgdFlowComparisonOptions& co = S.comparison;
  co.label_noise = o.label_noise;
  co.time = o.time;
  co.points = o.points;
  co.batch_size = parse_batch(o.batch, model.n());
  co.noise = o.noise;
  co.learning_rates = o.learning_rates;
  co.seeds = o.seeds;
  S.activation = model.activation().name();
  S.plan = plan_sgd_flow_comparison(co);
  const ComparisonPlan& plan = S.plan;
  const ProjectionMethod projection = o.projection;

  // The flow, once, from Phi(W0).
  const double ymax = std::max(1.0, model.y().cwiseAbs().maxCoeff());
  Eigen::MatrixXd start = setup.beta0;
  if (max_residual(model, start) > 1e-10 * ymax) {
    start = project_onto_manifold(setup, start, projection).theta;
    S.start_on_manifold = false;
  }
  FlowOptions fo;
  fo.coefficient = plan.coefficient;
  fo.t_end = plan.t_end;
  fo.rtol = o.rtol;
  fo.atol = o.atol;
  fo.stepper = o.integrator;
  fo.sample_times = plan.sample_times;
  ComparisonFlow flow_states;
  std::vector<TrajectoryRow> flow_rows;
  OutputDirectory out_dir(o.out, "compare", OutputDirectoryOptions::fresh(o.overwrite));
  const auto t0 = Clock::now();
  S.flow = integrate_sharpness_flow(model, start, fo, [&](const FlowSample& s) {
             flow_states.states[s.t] = *s.beta;
             flow_states.sharpness[s.t] = s.sharpness;
             TrajectoryRow row;
             row.step = s.accepted;
             row.t = s.t;
             row.tau = s.tau;
             row.metrics = compute_trajectory_metrics(model, *s.beta, setup.optimum ? &*setup.optimum : nullptr,
                                                      false, true);
             row.metrics.gradient_norm = s.gradient_norm;
             flow_rows.push_back(std::move(row));
             return !control.interrupted();
           }).summary;
  if (control.interrupted()) {
    out_dir.finish(RunStatus::Interrupted);
    S.status = SgdFlowComparisonRunStatus::Interrupted;
    return S;
  }
  S.flow_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto write = [&](const std::string& name, const std::string& text) {
    write_file_atomic(o.out + "/" + name, text);
    S.files.push_back(o.out + "/" + name);
  };
  write("flow_trajectory.csv", trajectory_csv(flow_rows, setup.singular_values));

  // SGD ensembles: one task per (step size, seed), pulled by the workers; one watcher reports the
  // progress every 100 ms.
  const std::size_t seeds = co.seeds.size(), tasks = plan.grids.size() * seeds;
  std::vector<std::vector<ComparisonRun>> runs(plan.grids.size(), std::vector<ComparisonRun>(seeds));
  std::vector<std::exception_ptr> errors(tasks);
  for (const auto& g : plan.grids) S.sgd_steps += static_cast<double>(g.steps) * static_cast<double>(seeds);
  std::atomic<std::uint64_t> progress{0};
  std::atomic<std::size_t> next{0};
  const auto t1 = Clock::now();
  const ComparisonProjection project = [&](const Eigen::MatrixXd& beta, const std::string& what) {
    return project_onto_manifold(setup, beta, projection, what, /*estimate_error=*/false).theta;
  };
  const auto interrupted = [&control] { return control.interrupted(); };
  auto worker = [&]() {
    for (std::size_t i = next++; i < tasks; i = next++) {
      try {
        runs[i / seeds][i % seeds] = run_sgd_against_flow(model, setup.beta0, plan.grids[i / seeds], co,
                                                          co.seeds[i % seeds], flow_states, project, progress,
                                                          interrupted);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  S.threads = std::max(1, std::min<int>(o.threads > 0 ? o.threads : hw, static_cast<int>(tasks)));
  control.begin(S.sgd_steps);
  run_workers_reporting(S.threads, worker, progress, control);
  if (control.interrupted()) {
    out_dir.finish(RunStatus::Interrupted);
    S.status = SgdFlowComparisonRunStatus::Interrupted;
    return S;
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  S.sgd_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  S.result = summarize_sgd_flow_comparison(plan, runs, flow_states);
  write("compare.csv", comparison_rows_csv(S.result));
  write("compare_summary.csv", comparison_per_eta_csv(S.result));

  for (const ComparisonPerEta& e : S.result.per_eta)
    if (e.diverged > 0) S.notes.push_back(comparison_divergence_note(e, seeds));
  if (o.figures) {
    std::vector<double> flow_tau, flow_T;
    for (const auto& r : flow_rows) {
      flow_tau.push_back(r.tau);
      flow_T.push_back(r.metrics.sharpness);
    }
    const std::optional<double> T_star =
        setup.optimum ? std::optional<double>(setup.optimum->sharpness) : std::nullopt;
    nlohmann::json figures = nlohmann::json::array();
    for (const auto& [name, spec] : comparison_figures(plan, S.result, flow_tau, flow_T, T_star, plot_color))
      draw_figure(spec, o.out + "/" + name, figures, S.notes);
    for (const auto& f : figures) S.figures.push_back(f.get<std::string>());
  }
  write_json(o.out + "/summary.json", comparison_summary_json(o, S));
  S.files.push_back(o.out + "/summary.json");
  out_dir.finish(RunStatus::Completed);
  return S;
}

}  // namespace zeroloss
