// zeroloss flow: the limiting flow of label-noise SGD, d Theta/dt = -C grad_M T (THEORY 7-8),
// integrated with error control in reduced coordinates and re-projected onto M.

#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "diagonal_linear.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/sharpness_flow.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct FlowCliOptions {
  ProblemOptions problem;
  double time = 0;
  double coefficient = 0;
  double label_noise = 0;
  std::string batch = "1";
  double rtol = 1e-9, atol = 1e-12;
  std::string integrator = "rkf78";
  double until_grad = 0;
  int log_points = 200;
  std::string projection;
  std::string out;
  bool overwrite = false;
  bool no_figures = false;
  double rank_one_threshold = 1e-2;
  std::uint64_t max_steps = 50'000'000;
  ModelKind model = ModelKind::TwoLayer;
};

// C from --coefficient, or from --label-noise S and --batch B as S^2/(4B) (THEORY 7); B is 0 with
// --coefficient.
double flow_coefficient(const FlowCliOptions& o, const CLI::App& app, int n, int& B) {
  const bool has_c = app.count("--coefficient") > 0, has_s = app.count("--label-noise") > 0;
  if (has_c == has_s) {
    throw InputError("give either --coefficient C or --label-noise S (with --batch B, default 1), which sets C = S^2/(4B)");
  }
  B = 0;
  if (has_c) {
    if (app.count("--batch") > 0)
      throw InputError("--batch only enters through C = S^2/(4B); with --coefficient it has no effect, leave it out");
    return o.coefficient;
  }
  if (!(o.label_noise > 0) || !std::isfinite(o.label_noise))
    throw InputError("--label-noise must be > 0 for the flow (C = S^2/(4B) would be 0)");
  B = parse_batch(o.batch, n);
  return limiting_flow_coefficient(o.label_noise, B);
}

FlowOptions flow_options(const FlowCliOptions& o, double C) {
  FlowOptions fo;
  fo.coefficient = C;
  fo.t_end = o.time;
  fo.rtol = o.rtol;
  fo.atol = o.atol;
  fo.until_gradient = o.until_grad;
  fo.stepper = parse_flow_stepper(o.integrator);
  fo.max_steps = o.max_steps;
  for (int q = 1; q <= o.log_points; ++q) fo.sample_times.push_back(o.time * q / o.log_points);
  return fo;
}

// --model diagonal-linear: the same flow on (u, v) (THEORY 9), started at the Newton projection of
// the weights; trajectory rows carry T, ||grad_M T|| and the weighted-l1 bound (4/n) sum_k c_k |w_k|,
// which T reaches exactly where u_k v_k = 0.
void run_diagonal_flow(const FlowCliOptions& o, const CLI::App& app) {
  const Dataset data = read_dataset_csv(o.problem.data);
  const DiagonalWeights w0 = read_diagonal_weights_csv(o.problem.weights, static_cast<int>(data.X.cols()));
  const auto model = std::make_shared<const DiagonalLinearNetwork>(data.X, data.y);
  const int n = model->num_samples();
  int B = 0;
  const double C = flow_coefficient(o, app, n, B);
  if (!o.projection.empty() && o.projection != "newton")
    throw InputError("--projection " + o.projection + " is implemented for the two-layer network only; the diagonal "
                     "linear network starts at the Newton projection of --weights");
  const ParameterProjection start = project_newton(model, model->parameters(w0.u, w0.v));
  OutputDirectory out_dir(o.out, "flow", OutputDirectoryOptions::fresh(o.overwrite));
  install_interrupt_handlers();
  std::ostringstream csv;
  csv.precision(17);
  csv << "t,tau,accepted_steps,rejected_steps,sharpness,riemannian_grad_norm,weighted_l1_bound,residual_max\n";
  auto bound = [&](const Eigen::VectorXd& theta) {
    return 4.0 / n * model->column_norms_squared().dot(model->linear_weights(theta).cwiseAbs());
  };
  const ParameterFlowResult r = integrate_sharpness_flow(model, start.theta, flow_options(o, C), [&](const ParameterFlowSample& s) {
    csv << format_double(s.t) << ',' << format_double(s.tau) << ',' << s.accepted << ',' << s.rejected << ','
        << format_double(s.sharpness) << ',' << format_double(s.gradient_norm) << ',' << format_double(bound(*s.theta))
        << ',' << format_double(model->max_residual(*s.theta)) << '\n';
    return interrupt_signal() == 0;
  });
  const FlowSummary& fs = r.summary;
  const bool interrupted = interrupt_signal() != 0 && !fs.completed;
  write_file_atomic(o.out + "/trajectory.csv", csv.str());
  write_diagonal_weights_csv(o.out + "/final_weights.csv", model->u(r.theta), model->v(r.theta));
  const std::string status = fs.completed ? "completed" : interrupted ? "interrupted"
                             : fs.stopped_at_singular_point ? "singular point" : "step limit";
  const nlohmann::json summary = {
      {"command", "flow"}, {"model", to_string(ModelKind::DiagonalLinear)}, {"status", status},
      {"termination", fs.termination}, {"data", o.problem.data}, {"weights", o.problem.weights},
      {"problem", {{"n", n}, {"d", model->dimension()}}},
      {"parameters", {{"coefficient", C}, {"label_noise", B ? nlohmann::json(o.label_noise) : nlohmann::json(nullptr)},
                      {"batch_size", B ? nlohmann::json(B) : nlohmann::json(nullptr)}, {"time", o.time},
                      {"until_grad", o.until_grad}, {"integrator", fs.stepper}, {"rtol", o.rtol}, {"atol", o.atol}}},
      {"start", {{"initial_residual", start.summary.initial_residual}, {"projection_iterations", start.summary.iterations},
                 {"distance_moved", start.summary.distance_moved}}},
      {"t_reached", fs.t_reached}, {"tau_reached", fs.tau_reached}, {"accepted_steps", fs.accepted},
      {"rejected_steps", fs.rejected}, {"max_constraint_drift", fs.max_constraint_drift},
      {"stopped_at_singular_point", fs.stopped_at_singular_point}, {"singular_condition", fs.singular_condition},
      {"initial_grad_norm", fs.initial_gradient_norm}, {"final_grad_norm", fs.final_gradient_norm},
      {"final_sharpness", fs.final_sharpness}, {"final_weighted_l1_bound", bound(r.theta)}};
  write_json(o.out + "/summary.json", summary);
  std::cout << "sharpness flow of the " << model->description() << ", C = " << C << " (" << fs.stepper
            << "): " << fs.termination << "\nT -> " << fs.final_sharpness << ", ||grad_M T|| -> " << fs.final_gradient_norm
            << ", (4/n) sum_k c_k |w_k| -> " << bound(r.theta) << "; " << fs.accepted << " accepted, " << fs.rejected
            << " rejected steps\noutputs in " << o.out << "\n";
  if (interrupted) {
    out_dir.finish(RunStatus::Interrupted);
    exit_by_signal(interrupt_signal());
  }
  if (!fs.completed && !fs.stopped_at_singular_point) {
    out_dir.finish(RunStatus::Failed, "sharpness flow stopped early: " + fs.termination);
    throw ConvergenceError("sharpness flow stopped early: " + fs.termination + " (outputs written)");
  }
  if (fs.stopped_at_singular_point) std::cerr << "zeroloss flow: note: " << fs.termination << "\n";
  out_dir.finish(RunStatus::Completed);
}

void run_flow(FlowCliOptions o, const CLI::App& app) {
  if (o.model == ModelKind::DiagonalLinear) return run_diagonal_flow(o, app);
  DynamicsSetup setup = load_dynamics(o.problem);
  const int n = setup.problem.model.n();
  const bool has_s = app.count("--label-noise") > 0;
  int B = 0;
  const double C = flow_coefficient(o, app, n, B);
  if (o.log_points < 1) throw InputError("--log-points must be at least 1");
  if (o.projection.empty()) o.projection = default_projection_method();

  // The start: W0 if it lies on M, otherwise its projection (THEORY 7: Phi_GF(Theta_0)).
  const double ymax = std::max(1.0, setup.reduced.y().cwiseAbs().maxCoeff());
  const double residual0 = max_residual(setup.reduced, setup.beta0);
  Eigen::MatrixXd start = setup.beta0;
  json start_json = {{"initial_residual", residual0}};
  if (residual0 <= 1e-10 * ymax) {
    start_json["on_manifold"] = true;
  } else {
    const ProjectionResult pr = project_onto_manifold(setup, setup.beta0, o.projection);
    start = pr.theta;
    start_json["on_manifold"] = false;
    start_json["projection"] = {{"method", pr.summary.method},
                                {"iterations", pr.summary.iterations},
                                {"distance_moved", pr.summary.distance_moved},
                                {"final_residual", pr.summary.final_residual},
                                {"limit_error_estimate", std::isfinite(pr.summary.limit_error_estimate)
                                                             ? json(pr.summary.limit_error_estimate)
                                                             : json(nullptr)},
                                {"termination", pr.summary.termination}};
  }

  const FlowOptions fo = flow_options(o, C);
  OutputDirectory out_dir(o.out, "flow", OutputDirectoryOptions::fresh(o.overwrite));
  install_interrupt_handlers();

  std::vector<TrajectoryRow> rows;
  ProgressBar bar("flow", o.time, "t");
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
    bar.update(s.t);
    return interrupt_signal() == 0;
  });
  bar.finish();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const FlowSummary& fs = result.summary;
  const bool interrupted = interrupt_signal() != 0 && !fs.completed;

  write_file_atomic(o.out + "/trajectory.csv", trajectory_csv(rows, setup.singular_values));
  write_weights_csv(o.out + "/final_weights.csv", lift_weights(setup, result.beta), setup.problem.model.a());

  std::vector<std::string> notes;
  json figures = json::array();
  json summary = {{"command", "flow"},
                  {"status", fs.completed ? "completed"
                                          : interrupted ? "interrupted"
                                          : fs.stopped_at_singular_point ? "singular point"
                                                                         : "step limit"},
                  {"termination", fs.termination},
                  {"data", o.problem.data},
                  {"weights", o.problem.weights},
                  {"problem",
                   {{"n", n},
                    {"d", setup.problem.model.d()},
                    {"m", setup.problem.model.m()},
                    {"p", setup.coordinates.rank()}}},
                  {"parameters",
                   {{"activation", setup.problem.model.activation().name()},
                    {"coefficient", C},
                    {"label_noise", has_s ? json(o.label_noise) : json(nullptr)},
                    {"batch_size", has_s ? json(B) : json(nullptr)},
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
  summary["assumptions_at_start"] = assumptions_json(setup, start);
  summary["assumptions_at_end"] = assumptions_json(setup, result.beta);
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
  ExponentialTailFit rate;
  bool have_rate = false;
  if (setup.optimum && rows.size() >= 2) {
    std::vector<double> tau, gap;
    for (const auto& r : rows) {
      tau.push_back(r.tau);
      gap.push_back(*r.metrics.sharpness_gap);
    }
    ExponentialTailOptions eo;
    eo.noise_floor = 1e-10 * std::max(1.0, std::abs(setup.optimum->sharpness));
    rate = fit_exponential_tail(tau, gap, eo);
    have_rate = true;
    summary["rate_fit"] = fit_json(rate);
  }
  if (fs.stepper != std::string("rosenbrock4") && fs.accepted + fs.rejected > 20000 &&
      4 * fs.rejected > fs.accepted + fs.rejected) {
    notes.push_back("the flow was stiff on this run (" + std::to_string(fs.rejected) + " of " +
                    std::to_string(fs.accepted + fs.rejected) +
                    " steps rejected by the explicit method's error control); --integrator rosenbrock4 is usually "
                    "much faster on such runs");
  }
  if (!o.no_figures && !interrupted)
    trajectory_figures(rows, setup, o.out, "flow time tau", false, "sharpness flow", figures, notes);
  summary["figures"] = figures;
  summary["notes"] = notes;
  write_json(o.out + "/summary.json", summary);

  std::ostringstream msg;
  msg.precision(6);
  msg << "sharpness flow dTheta/dt = -C grad_M T, C = " << C << " (" << fs.stepper << ", rtol " << o.rtol << ", atol "
      << o.atol << "): " << fs.termination << "\n";
  msg << "start: " << (start_json["on_manifold"].get<bool>() ? "W0 is on M" : "W0 projected onto M (" + o.projection + ")")
      << "; t = " << fs.t_reached << ", tau = C t = " << fs.tau_reached << "; " << fs.accepted << " accepted, "
      << fs.rejected << " rejected steps; largest constraint drift before re-projection " << fs.max_constraint_drift
      << " (relative); " << wall << " s\n";
  if (!rows.empty()) {
    const auto& a = rows.front().metrics;
    const auto& b = rows.back().metrics;
    msg << "T: " << a.sharpness << " -> " << b.sharpness;
    if (setup.optimum) msg << " (T* = " << setup.optimum->sharpness << ", T - T* = " << *b.sharpness_gap << ")";
    msg << "; ||grad_M T||: " << fs.initial_gradient_norm << " -> " << fs.final_gradient_norm << "\n";
    msg << "singular values of Phi at the end:";
    for (Eigen::Index k = 0; k < b.feature_singular_values.size(); ++k) msg << ' ' << b.feature_singular_values(k);
    msg << " (numerical rank " << numerical_rank(b.feature_singular_values) << "); of R:";
    for (Eigen::Index k = 0; k < b.preactivation_singular_values.size(); ++k) msg << ' ' << b.preactivation_singular_values(k);
    msg << " (rank " << numerical_rank(b.preactivation_singular_values) << ")\n";
  }
  if (have_rate) msg << "rate: " << rate.verdict << "\n";
  for (const char* where : {"start", "end"}) {
    const json& a = summary[std::string("assumptions_at_") + where];
    if (!a["holds"].get<bool>())
      msg << "outside THEORY's assumptions at the " << where << " point: " << a["description"].get<std::string>() << "\n";
  }
  for (const auto& f : figures) msg << "figure: " << f.get<std::string>() << "\n";
  for (const auto& n2 : notes) msg << "note: " << n2 << "\n";
  msg << "outputs in " << o.out << "\n";
  std::cout << msg.str() << std::flush;
  if (interrupted) {
    std::cerr << "zeroloss flow: interrupted by " << signal_name(interrupt_signal()) << " at t = " << fs.t_reached
              << "; the outputs in " << o.out << " hold the state reached\n";
    out_dir.finish(RunStatus::Interrupted);
    exit_by_signal(interrupt_signal());
  }
  if (fs.stopped_at_singular_point) {
    // Not a failure of the command: the flow exists only up to here (M degenerates ahead). The
    // outputs describe the last regular point; the message says what happened.
    std::cerr << "zeroloss flow: note: " << fs.termination << "\n";
    out_dir.finish(RunStatus::Completed);
    return;
  }
  if (!fs.completed) {
    const std::string message = "sharpness flow stopped early: " + fs.termination + " (outputs written)";
    out_dir.finish(RunStatus::Failed, message);
    throw ConvergenceError(message);
  }
  out_dir.finish(RunStatus::Completed);
}

CommandRegistration reg({"flow", "the limiting flow dTheta/dt = -C grad_M T of label-noise SGD (THEORY 7-8)",
                         [](CLI::App& app) {
  auto o = std::make_shared<FlowCliOptions>();
  add_problem_options(app, o->problem);
  add_model_option(app, o->model);
  app.add_option("--time", o->time,
                 "End time T_END of t in dTheta/dt = -C grad_M T (with C = S^2/(4B), t is SGD time eta^2 k; flow "
                 "time tau = C t); T_END > 0")
      ->required()
      ->check(checks::positive_number());
  app.add_option("--coefficient", o->coefficient, "The coefficient C > 0")->check(checks::positive_number());
  app.add_option("--label-noise", o->label_noise, "Label-noise scale S > 0: C = S^2/(4B)")
      ->check(checks::positive_number());
  app.add_option("--batch", o->batch, "Batch size B of the SGD this flow describes, 1 <= B <= n (or 'full' = n)")
      ->capture_default_str()
      ->check(checks::batch_size());
  app.add_option("--rtol", o->rtol, "Relative error tolerance (> 0) per component per step")
      ->capture_default_str()
      ->check(checks::positive_number());
  app.add_option("--atol", o->atol, "Absolute error tolerance (> 0) per component per step")
      ->capture_default_str()
      ->check(checks::positive_number());
  app.add_option("--integrator", o->integrator,
                 "rkf78 (Runge-Kutta-Fehlberg 7(8)), dopri5 (Dormand-Prince 5(4)), both explicit, or rosenbrock4 (linearly implicit, for stiff runs; Jacobian by central differences); all error-controlled")
      ->capture_default_str()
      ->check(checks::one_of({"rkf78", "dopri5", "rosenbrock4"}));
  app.add_option("--until-grad", o->until_grad, "Stop once ||grad_M T|| < G, G >= 0 (0: run to --time)")
      ->capture_default_str()
      ->check(checks::non_negative_number());
  app.add_option("--log-points", o->log_points, "Trajectory rows at P >= 1 evenly spaced times in (0, T_END] (plus t = 0)")
      ->capture_default_str()
      ->check(checks::positive_integer<int>());
  app.add_option("--projection", o->projection,
                 "How to put W0 on M when it is not: " + [] {
                   std::string s;
                   for (const auto& m : projection_methods()) s += (s.empty() ? "" : "|") + m;
                   return s;
                 }() + " (default " + default_projection_method() + ")")
      ->check(checks::one_of(projection_methods()));
  app.add_option("--max-steps", o->max_steps, "Limit (>= 1) on accepted + rejected integrator steps")
      ->capture_default_str()
      ->check(checks::positive_integer<std::uint64_t>());
  app.add_option("--rank-one-threshold", o->rank_one_threshold,
                 "Report when sigma_2/sigma_1 of the feature matrix falls below this for good; in (0, 1]")
      ->capture_default_str()
      ->check(checks::half_open_unit_interval());
  app.add_option("--out", o->out, "Output directory: final_weights.csv, trajectory.csv, summary.json, figures")
      ->required();
  add_overwrite_flag(app, o->overwrite);
  app.add_flag("--no-figures", o->no_figures, "Do not draw SVG figures");
  app.footer(
      "Integrates dTheta/dt = -C grad_M T(Theta) in reduced coordinates with an error-controlled Runge-Kutta\n"
      "method (Boost.Odeint), re-projecting onto M (Newton) after every accepted step; starts at W0 if it lies\n"
      "on M, else at its projection. Exit codes: 0 done, 2 bad input, 3 singular point of M, 5 step limit or\n"
      "step-size underflow (outputs written). See docs/commands/flow.md.\n"
      "--model diagonal-linear: the same flow on (u, v) from the Newton projection of --weights (a u,v CSV);\n"
      "trajectory.csv has t, tau, steps, T, ||grad_M T||, the weighted-l1 bound (4/n) sum_k c_k |w_k| and the\n"
      "residual; final_weights.csv is a u,v CSV; no figures.");
  return std::function<void()>([o, &app]() { run_flow(*o, app); });
}, 41});

}  // namespace
}  // namespace zeroloss::cli
