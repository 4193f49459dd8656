// zeroloss flow: the limiting flow of label-noise SGD, d Theta/dt = -C grad_M T (THEORY 7-8). The run
// is the library's (zeroloss/runs/sharpness_flow_run.hpp); this file parses, prints and exits.

#include <iostream>
#include <memory>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/runs/sharpness_flow_run.hpp"

namespace zeroloss::cli {
namespace {

struct FlowCliOptions {
  ProblemOptions problem;
  double time = 0;
  double coefficient = 0;
  double label_noise = 0;
  std::string batch = "1";
  double rtol = 1e-9, atol = 1e-12;
  std::string integrator = "rkf78";
  double until_grad = 0;
  int log_points = 0;  // 0: the default (rows at the steps reaching 200 evenly spaced times)
  std::string projection;
  std::string out;
  bool overwrite = false;
  bool no_figures = false;
  double rank_one_threshold = 1e-2;
  std::uint64_t max_steps = 50'000'000;
  ModelKind model = ModelKind::TwoLayer;
};

void print_two_layer(std::ostream& msg, const SharpnessFlowRunOptions& o, const SharpnessFlowRunSummary& S) {
  const FlowSummary& fs = S.flow;
  msg << "sharpness flow dTheta/dt = -C grad_M T, C = " << S.coefficient << " (" << fs.stepper << ", rtol " << o.rtol
      << ", atol " << o.atol << "): " << fs.termination << "\n";
  msg << "start: " << (S.start_on_manifold ? "W0 is on M" : "W0 projected onto M (" + std::string(to_string(S.projection)) + ")") << "; t = "
      << fs.t_reached << ", tau = C t = " << fs.tau_reached << "; " << fs.accepted << " accepted, " << fs.rejected
      << " rejected steps; largest constraint drift before re-projection " << fs.max_constraint_drift
      << " (relative); " << S.wall_seconds << " s\n";
  if (!S.rows.empty()) {
    const auto& a = S.rows.front().metrics;
    const auto& b = S.rows.back().metrics;
    msg << "T: " << a.sharpness << " -> " << b.sharpness;
    if (S.optimum_sharpness) msg << " (T* = " << *S.optimum_sharpness << ", T - T* = " << *b.sharpness_gap << ")";
    msg << "; ||grad_M T||: " << fs.initial_gradient_norm << " -> " << fs.final_gradient_norm << "\n";
    msg << "singular values of Phi at the end:";
    for (Eigen::Index k = 0; k < b.feature_singular_values.size(); ++k) msg << ' ' << b.feature_singular_values(k);
    msg << " (numerical rank " << numerical_rank(b.feature_singular_values) << "); of R:";
    for (Eigen::Index k = 0; k < b.preactivation_singular_values.size(); ++k) msg << ' ' << b.preactivation_singular_values(k);
    msg << " (rank " << numerical_rank(b.preactivation_singular_values) << ")\n";
  }
  if (S.rate) msg << "rate: " << S.rate->verdict << "\n";
  if (!S.assumptions_hold_at_start) msg << "outside THEORY's assumptions at the start point: " << S.assumptions_at_start << "\n";
  if (!S.assumptions_hold_at_end) msg << "outside THEORY's assumptions at the end point: " << S.assumptions_at_end << "\n";
  for (const auto& f : S.figures) msg << "figure: " << f << "\n";
  for (const auto& n : S.notes) msg << "note: " << n << "\n";
}

void run_flow(const FlowCliOptions& c, const CLI::App& app) {
  SharpnessFlowRunOptions o;
  o.problem = c.problem;
  o.model = c.model;
  o.time = c.time;
  if (app.count("--coefficient") > 0) o.coefficient = c.coefficient;
  if (app.count("--label-noise") > 0) o.label_noise = c.label_noise;
  if (app.count("--batch") > 0) o.batch = c.batch;
  o.rtol = c.rtol;
  o.atol = c.atol;
  o.integrator = parse_flow_stepper(c.integrator);
  o.until_grad = c.until_grad;
  o.log_points = c.log_points;
  if (!c.projection.empty()) o.projection = parse_projection_method(c.projection);
  o.max_steps = c.max_steps;
  o.rank_one_threshold = c.rank_one_threshold;
  o.figures = !c.no_figures;
  o.out = c.out;
  o.overwrite = c.overwrite;
  install_interrupt_handlers();
  const bool diagonal = o.model == ModelKind::DiagonalLinear;
  ProgressBar bar("flow", o.time, "t");
  RunControl control;
  if (!diagonal) control.progress = [&bar](double t) { bar.update(t); };
  control.interrupt = &interrupt_flag();
  const SharpnessFlowRunSummary S = run_sharpness_flow(o, control);
  bar.finish();
  const FlowSummary& fs = S.flow;
  std::ostringstream msg;
  if (diagonal) {
    msg << "sharpness flow of the " << S.model_description << ", C = " << S.coefficient << " (" << fs.stepper
        << "): " << fs.termination << "\nT -> " << fs.final_sharpness << ", ||grad_M T|| -> " << fs.final_gradient_norm
        << ", (4/n) sum_k c_k |w_k| -> " << S.final_weighted_l1_bound << "; " << fs.accepted << " accepted, "
        << fs.rejected << " rejected steps\n";
  } else {
    msg.precision(6);
    print_two_layer(msg, o, S);
  }
  msg << "outputs in " << o.out << "\n";
  std::cout << msg.str() << std::flush;
  if (S.status == FlowRunStatus::Interrupted) {
    if (!diagonal)
      std::cerr << "zeroloss flow: interrupted by " << signal_name(interrupt_signal()) << " at t = " << fs.t_reached
                << "; the outputs in " << o.out << " hold the state reached\n";
    exit_by_signal(interrupt_signal());
  }
  if (S.status == FlowRunStatus::StepLimit) throw ConvergenceError(S.failure);
  // Not a failure of the command: the flow exists only up to here (M degenerates ahead).
  if (S.status == FlowRunStatus::SingularPoint) std::cerr << "zeroloss flow: note: " << fs.termination << "\n";
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
  app.add_option("--log-points", o->log_points,
                 "Trajectory rows at P >= 1 evenly spaced times in (0, T_END] (plus t = 0), steps landing on them "
                 "(default: at the first step at or after each of 200 such times, no step shortened)")
      ->check(checks::positive_integer<int>());
  app.add_option("--projection", o->projection,
                 "How to put W0 on M when it is not: " + [] {
                   std::string s;
                   for (const auto& m : projection_method_names()) s += (s.empty() ? "" : "|") + m;
                   return s;
                 }() + " (default " + to_string(kDefaultStartProjection) + "; the diagonal network: newton)")
      ->check(checks::one_of(projection_method_names()));
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
      "--model diagonal-linear: the same flow on (u, v) from the projection of --weights (a u,v CSV; --projection, default newton);\n"
      "trajectory.csv has t, tau, steps, T, ||grad_M T||, the weighted-l1 bound (4/n) sum_k c_k |w_k| and the\n"
      "residual; final_weights.csv is a u,v CSV; no figures.");
  return std::function<void()>([o, &app]() { run_flow(*o, app); });
}, 41});

}  // namespace
}  // namespace zeroloss::cli
