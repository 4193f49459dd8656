#include "zeroloss/runs/sharpness_flow_run.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/trajectory_figures.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"
#include "zeroloss/runs/run_parameters.hpp"
#include "zeroloss/dynamics/sharpness_flow.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss {

const char* to_string(FlowRunStatus status) {
  switch (status) {
    case FlowRunStatus::Completed: return "completed";
    case FlowRunStatus::Interrupted: return "interrupted";
    case FlowRunStatus::SingularPoint: return "singular point";
    case FlowRunStatus::StepLimit: return "step limit";
  }
  return "completed";
}

bool SharpnessFlowRunOptions::is_valid(std::string* error) const {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (coefficient.has_value() == label_noise.has_value())
    return fail("give either --coefficient C or --label-noise S (with --batch B, default 1), which sets C = S^2/(4B)");
  if (coefficient) {
    if (batch) return fail("--batch only enters through C = S^2/(4B); with --coefficient it has no effect, leave it out");
    if (!(std::isfinite(*coefficient) && *coefficient > 0))
      return fail("--coefficient " + format_double(*coefficient) + ": expected a finite C > 0");
  } else if (!(*label_noise > 0) || !std::isfinite(*label_noise)) {
    return fail("--label-noise must be > 0 for the flow (C = S^2/(4B) would be 0)");
  }
  if (log_points < 0) return fail("--log-points must be at least 1");
  if (!(std::isfinite(time) && time > 0)) return fail("--time " + format_double(time) + ": expected a finite T_END > 0");
  if (!(std::isfinite(rtol) && rtol > 0)) return fail("--rtol " + format_double(rtol) + ": expected a finite number > 0");
  if (!(std::isfinite(atol) && atol > 0)) return fail("--atol " + format_double(atol) + ": expected a finite number > 0");
  if (!(until_grad >= 0)) return fail("--until-grad " + format_double(until_grad) + ": expected G >= 0");
  if (max_steps < 1) return fail("--max-steps must be at least 1");
  if (!(rank_one_threshold > 0 && rank_one_threshold <= 1))
    return fail("--rank-one-threshold " + format_double(rank_one_threshold) + ": expected a number in (0, 1]");
  if (out.empty()) return fail("--out: an output folder is required");
  return true;
}

void SharpnessFlowRunOptions::validate() const {
  std::string why;
  if (!is_valid(&why)) throw InputError(why);
}

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// C, and B (0 with a given C).
double resolve_coefficient(const SharpnessFlowRunOptions& o, int n, int& B) {
  B = 0;
  if (o.coefficient) return *o.coefficient;
  B = parse_batch(o.batch.value_or("1"), n);
  return limiting_flow_coefficient(*o.label_noise, B);
}

FlowOptions flow_options(const SharpnessFlowRunOptions& o, double C) {
  FlowOptions fo;
  fo.coefficient = C;
  fo.t_end = o.time;
  fo.rtol = o.rtol;
  fo.atol = o.atol;
  fo.until_gradient = o.until_grad;
  fo.stepper = o.integrator;
  fo.max_steps = o.max_steps;
  // --log-points P: steps land on t = q T_END / P. The default: rows at the first accepted step at
  // or after each of those times for P = 200, no step shortened (a row costs a fraction of a step).
  const int points = o.log_points > 0 ? o.log_points : kDefaultFlowLogPoints;
  fo.land_on_samples = o.log_points > 0;
  for (int q = 1; q <= points; ++q) fo.sample_times.push_back(o.time * q / points);
  return fo;
}

FlowRunStatus status_of(const FlowSummary& fs, bool interrupted) {
  return fs.completed ? FlowRunStatus::Completed
         : interrupted ? FlowRunStatus::Interrupted
         : fs.stopped_at_singular_point ? FlowRunStatus::SingularPoint
                                        : FlowRunStatus::StepLimit;
}

// Marks the folder by the status: a singular point is not a failure of the run (the flow exists
// only up to there; the outputs describe the last regular point).
void finish(OutputDirectory& out_dir, const SharpnessFlowRunSummary& S, const std::string& failure) {
  switch (S.status) {
    case FlowRunStatus::Interrupted: out_dir.finish(RunStatus::Interrupted); break;
    case FlowRunStatus::StepLimit: out_dir.finish(RunStatus::Failed, failure); break;
    default: out_dir.finish(RunStatus::Completed); break;
  }
}

SharpnessFlowRunSummary run_diagonal_flow(const SharpnessFlowRunOptions& o, const RunControl& control) {
  const Dataset data = read_dataset_csv(o.problem.data);
  const DiagonalWeights w0 = read_diagonal_weights_csv(o.problem.weights, static_cast<int>(data.X.cols()));
  const auto model = std::make_shared<const DiagonalLinearNetwork>(data.X, data.y);
  const int n = model->num_samples();
  o.validate();
  int B = 0;
  const double C = resolve_coefficient(o, n, B);
  const ProjectionMethod method = o.projection.value_or(ProjectionMethod::Newton);
  const ParameterProjection start = project(model, model->parameters(w0.u, w0.v), method);
  OutputDirectory out_dir(o.out, "flow", OutputDirectoryOptions::fresh(o.overwrite));
  std::ostringstream csv;
  csv.precision(17);
  csv << "t,tau,accepted_steps,rejected_steps,sharpness,riemannian_grad_norm,weighted_l1_bound,residual_max\n";
  auto bound = [&](const Eigen::VectorXd& theta) {
    return 4.0 / n * model->column_norms_squared().dot(model->linear_weights(theta).cwiseAbs());
  };
  const auto t0 = Clock::now();
  const ParameterFlowResult r = integrate_sharpness_flow(model, start.theta, flow_options(o, C), [&](const ParameterFlowSample& s) {
    csv << format_double(s.t) << ',' << format_double(s.tau) << ',' << s.accepted << ',' << s.rejected << ','
        << format_double(s.sharpness) << ',' << format_double(s.gradient_norm) << ',' << format_double(bound(*s.theta))
        << ',' << format_double(model->max_residual(*s.theta)) << '\n';
    control.report(s.t);
    return !control.interrupted();
  });
  SharpnessFlowRunSummary S;
  S.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  S.flow = r.summary;
  S.coefficient = C;
  S.model_description = model->description();
  S.projection = method;
  S.start_on_manifold = false;
  const FlowSummary& fs = r.summary;
  S.status = status_of(fs, control.interrupted() && !fs.completed);
  S.final_weighted_l1_bound = bound(r.theta);
  if (S.status == FlowRunStatus::StepLimit)
    S.failure = "sharpness flow stopped early: " + fs.termination + " (outputs written)";
  write_file_atomic(o.out + "/trajectory.csv", csv.str());
  write_diagonal_weights_csv(o.out + "/final_weights.csv", model->u(r.theta), model->v(r.theta));
  const json summary = {
      {"command", "flow"}, {"model", to_string(ModelKind::DiagonalLinear)}, {"status", to_string(S.status)},
      {"termination", fs.termination}, {"data", o.problem.data}, {"weights", o.problem.weights},
      {"problem", {{"n", n}, {"d", model->dimension()}}},
      {"parameters", {{"coefficient", C}, {"label_noise", B ? json(*o.label_noise) : json(nullptr)},
                      {"batch_size", B ? json(B) : json(nullptr)}, {"time", o.time},
                      {"until_grad", o.until_grad}, {"integrator", fs.stepper}, {"rtol", o.rtol}, {"atol", o.atol}}},
      {"start", {{"initial_residual", start.summary.initial_residual}, {"projection_iterations", start.summary.iterations},
                 {"distance_moved", start.summary.distance_moved}}},
      {"t_reached", fs.t_reached}, {"tau_reached", fs.tau_reached}, {"accepted_steps", fs.accepted},
      {"rejected_steps", fs.rejected}, {"max_constraint_drift", fs.max_constraint_drift},
      {"stopped_at_singular_point", fs.stopped_at_singular_point}, {"singular_condition", fs.singular_condition},
      {"initial_grad_norm", fs.initial_gradient_norm}, {"final_grad_norm", fs.final_gradient_norm},
      {"final_sharpness", fs.final_sharpness}, {"final_weighted_l1_bound", S.final_weighted_l1_bound}};
  write_json(o.out + "/summary.json", summary);
  finish(out_dir, S, "sharpness flow stopped early: " + fs.termination);
  return S;
}

SharpnessFlowRunSummary run_two_layer_flow(const SharpnessFlowRunOptions& o, const RunControl& control) {
  // From reduced weights (--weights R.json) the run stays in reduced coordinates: no m x d matrix is
  // formed, and the result is written as reduced weights (as `sgd` does).
  const bool reduced_only = is_reduced_weights_path(o.problem.weights);
  bool perpendicular_dropped = false;
  DynamicsSetup setup = reduced_only ? reduced_start_dynamics(o.problem, perpendicular_dropped, ManifoldPolicy::Require)
                                     : load_dynamics(o.problem);
  const int n = setup.problem.model.n();
  o.validate();
  int B = 0;
  const double C = resolve_coefficient(o, n, B);
  SharpnessFlowRunSummary S;
  S.coefficient = C;
  S.model_description = setup.problem.model.activation().name();
  S.projection = o.projection.value_or(kDefaultStartProjection);
  if (setup.optimum) S.optimum_sharpness = setup.optimum->sharpness;

  // The start: W0 if it lies on M, otherwise its projection (THEORY 7: Phi_GF(Theta_0)).
  const double ymax = std::max(1.0, setup.reduced.y().cwiseAbs().maxCoeff());
  const double residual0 = max_residual(setup.reduced, setup.beta0);
  Eigen::MatrixXd start = setup.beta0;
  json start_json = {{"initial_residual", residual0}};
  if (residual0 <= kProjectedStartTolerance * ymax) {
    start_json["on_manifold"] = true;
  } else {
    const ProjectionResult pr = project_onto_manifold(setup, setup.beta0, S.projection);
    start = pr.theta;
    start_json["on_manifold"] = false;
    start_json["projection"] = {{"method", to_string(pr.summary.method)},
                                {"iterations", pr.summary.iterations},
                                {"distance_moved", pr.summary.distance_moved},
                                {"final_residual", pr.summary.final_residual},
                                {"limit_error_estimate", std::isfinite(pr.summary.limit_error_estimate)
                                                             ? json(pr.summary.limit_error_estimate)
                                                             : json(nullptr)},
                                {"termination", pr.summary.termination}};
  }
  S.start_on_manifold = start_json["on_manifold"].get<bool>();

  const FlowOptions fo = flow_options(o, C);
  OutputDirectory out_dir(o.out, "flow", OutputDirectoryOptions::fresh(o.overwrite));

  std::vector<TrajectoryRow>& rows = S.rows;
  const auto t0 = Clock::now();
  const FlowResult result = integrate_sharpness_flow(setup.reduced, start, fo, [&](const FlowSample& s) {
    TrajectoryRow row;
    row.step = s.accepted;
    row.t = s.t;
    row.tau = s.tau;
    row.metrics =
        compute_trajectory_metrics(setup.reduced, *s.beta, setup.optimum ? &*setup.optimum : nullptr, false, true);
    row.metrics.gradient_norm = s.gradient_norm;
    rows.push_back(std::move(row));
    control.report(s.t);
    return !control.interrupted();
  });
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  S.wall_seconds = wall;
  S.flow = result.summary;
  const FlowSummary& fs = result.summary;
  const bool interrupted = control.interrupted() && !fs.completed;
  S.status = status_of(fs, interrupted);

  write_file_atomic(o.out + "/trajectory.csv", trajectory_csv(rows, setup.singular_values));
  if (reduced_only)
    write_reduced_weights(o.out + "/final_reduced.json", result.beta, setup.reduced.a(), setup.coordinates.basis(),
                          perpendicular_dropped);
  else
    write_weights_csv(o.out + "/final_weights.csv", lift_weights(setup, result.beta), setup.problem.model.a());

  std::vector<std::string> notes;
  json figures = json::array();
  json summary = {{"command", "flow"},
                  {"status", to_string(S.status)},
                  {"termination", fs.termination},
                  {"data", o.problem.data},
                  {"weights", o.problem.weights},
                  {"problem",
                   {{"n", n},
                    {"d", setup.coordinates.basis().rows()},  // problem.model holds Z in reduced-only runs
                    {"m", setup.problem.model.m()},
                    {"p", setup.coordinates.rank()}}},
                  {"parameters",
                   {{"activation", setup.problem.model.activation().name()},
                    {"coefficient", C},
                    {"label_noise", o.label_noise ? json(*o.label_noise) : json(nullptr)},
                    {"batch_size", o.label_noise ? json(B) : json(nullptr)},
                    {"time", o.time},
                    {"until_grad", o.until_grad},
                    {"integrator", fs.stepper},
                    {"rtol", o.rtol},
                    {"atol", o.atol}}},
                  {"start", start_json},
                  {"t_reached", fs.t_reached},
                  {"tau_reached", fs.tau_reached},
                  {"accepted_steps", fs.accepted},
                  {"rejected_steps", fs.rejected},
                  {"max_constraint_drift", fs.max_constraint_drift},
                  {"max_projection_iterations", fs.max_projection_iterations},
                  {"stopped_at_singular_point", fs.stopped_at_singular_point},
                  {"smallest_step", fs.smallest_step},
                  {"largest_step", fs.largest_step},
                  {"initial_grad_norm", fs.initial_gradient_norm},
                  {"final_grad_norm", fs.final_gradient_norm},
                  {"wall_seconds", wall},
                  {"optimum", {{"available", setup.optimum.has_value()}, {"note", setup.optimum_note}}}};
  if (setup.optimum) summary["optimum"]["sharpness"] = setup.optimum->sharpness;
  summary["assumptions_at_start"] = assumptions_json(setup.reduced, start);
  summary["assumptions_at_end"] = assumptions_json(setup.reduced, result.beta);
  S.assumptions_hold_at_start = summary["assumptions_at_start"]["holds"].get<bool>();
  S.assumptions_at_start = summary["assumptions_at_start"]["description"].get<std::string>();
  S.assumptions_hold_at_end = summary["assumptions_at_end"]["holds"].get<bool>();
  S.assumptions_at_end = summary["assumptions_at_end"]["description"].get<std::string>();
  if (!rows.empty()) {
    summary["initial"] = row_json(rows.front());
    summary["final"] = row_json(rows.back());
    const auto f = rank_one_step(rows, o.rank_one_threshold, true);
    summary["rank_one"] = {{"threshold_sigma2_over_sigma1", o.rank_one_threshold},
                           {"feature_accepted_step", f ? json(*f) : json(nullptr)}};
    if (f) {
      for (const auto& r : rows)
        if (r.step == *f) {
          summary["rank_one"]["feature_t"] = r.t;
          summary["rank_one"]["feature_tau"] = r.tau;
          break;
        }
    }
  }
  if (setup.optimum && rows.size() >= 2) {
    std::vector<double> tau, gap;
    for (const auto& r : rows) {
      tau.push_back(r.tau);
      gap.push_back(*r.metrics.sharpness_gap);
    }
    ExponentialTailOptions eo;
    eo.noise_floor = 1e-10 * std::max(1.0, std::abs(setup.optimum->sharpness));
    S.rate = fit_exponential_tail(tau, gap, eo);
    summary["rate_fit"] = fit_json(*S.rate);
  }
  if (fs.stepper != std::string("rosenbrock4") && fs.accepted + fs.rejected > 20000 &&
      4 * fs.rejected > fs.accepted + fs.rejected) {
    notes.push_back("the flow was stiff on this run (" + std::to_string(fs.rejected) + " of " +
                    std::to_string(fs.accepted + fs.rejected) +
                    " steps rejected by the explicit method's error control); --integrator rosenbrock4 is usually "
                    "much faster on such runs");
  }
  if (o.figures && !interrupted)
    trajectory_figures(rows, setup.singular_values, S.optimum_sharpness, o.out, "flow time tau", false,
                       "sharpness flow", figures, notes);
  summary["figures"] = figures;
  summary["notes"] = notes;
  write_json(o.out + "/summary.json", summary);
  for (const auto& f : figures) S.figures.push_back(f.get<std::string>());
  S.notes = notes;
  if (S.status == FlowRunStatus::StepLimit)
    S.failure = "sharpness flow stopped early: " + fs.termination + " (outputs written)";
  finish(out_dir, S, S.failure);
  return S;
}

}  // namespace

SharpnessFlowRunSummary run_sharpness_flow(const SharpnessFlowRunOptions& options, const RunControl& control) {
  return options.model == ModelKind::DiagonalLinear ? run_diagonal_flow(options, control)
                                                    : run_two_layer_flow(options, control);
}

}  // namespace zeroloss
