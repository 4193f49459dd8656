// zeroloss project: move weights onto the zero-loss manifold M = {Theta : f(Theta) = y} by one of four
// methods (THEORY 2) and write the projected weights.

#include <glog/logging.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "diagonal_linear.hpp"
#include "option_checks.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/sharpness.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss::cli {
namespace {

struct ProjectOptions {
  ProblemOptions problem;
  std::string method;
  std::string out;
  bool json = false;
  ProjectionOptions projection;
  bool no_error_estimate = false;
  ModelKind model = ModelKind::TwoLayer;
};

// The projection's summary as JSON (--json) or a table; `model` is printed when not empty (the
// diagonal network), `distance` names the norm of the distance moved.
void print_projection(const ProjectionSummary& s, double T_in, double T_out, const std::string& out, bool json,
                      const std::string& model, const std::string& distance) {
  if (json) {
    nlohmann::ordered_json j;
    if (!model.empty()) j["model"] = model;
    j["method"] = s.method;
    j["converged"] = s.converged;
    j["iterations"] = s.iterations;
    j["initial_residual"] = number(s.initial_residual);
    j["final_residual"] = number(s.final_residual);
    j["distance_moved"] = number(s.distance_moved);
    j["sharpness_before"] = number(T_in);
    j["sharpness_after"] = number(T_out);
    j["termination"] = s.termination;
    if (s.method == "nearest") {
      j["normal_defect"] = number(s.normal_defect);
      j["lagrangian_hessian_min_eigenvalue"] = number(s.lagrangian_hessian_min_eigenvalue);
    }
    if (s.method == "gradient-flow") {
      j["integration_time"] = number(s.integration_time);
      j["ode_steps"] = s.ode_steps;
      j["ode_rejected_steps"] = s.ode_rejected_steps;
      j["newton_correction"] = number(s.newton_correction);
      j["limit_error_estimate"] = number(s.limit_error_estimate);
    }
    j["out"] = out;
    std::cout << j.dump(2) << std::endl;
    return;
  }
  const int w = 24;
  auto row = [&](const std::string& key, const std::string& value) {
    std::cout << std::left << std::setw(w) << key << value << "\n";
  };
  if (!model.empty()) row("model", model);
  row("method", s.method);
  row("iterations", std::to_string(s.iterations));
  row("initial residual", g6(s.initial_residual) + "  (max_i |f_i - y_i| at the input weights)");
  row("final residual", g6(s.final_residual) + "  (at the written weights)");
  row("distance moved", g6(s.distance_moved) + "  (" + distance + ")");
  row("sharpness", g6(T_in) + " -> " + g6(T_out) + "  (T at input -> output)");
  if (s.method == "nearest") {
    row("normal defect", g6(s.normal_defect) + "  (||P(out - in)|| / ||out - in||; 0 = KKT)");
    row("Lagrangian Hessian", ">= " + g6(s.lagrangian_hessian_min_eigenvalue) +
                                  "  (smallest eigenvalue on the tangent space; > 0 = local minimum of the distance)");
  }
  if (s.method == "gradient-flow") {
    row("integration time", g6(s.integration_time) + "  (flow time t of d theta/dt = -grad L)");
    row("ODE steps", std::to_string(s.ode_steps) + " accepted, " + std::to_string(s.ode_rejected_steps) + " rejected");
    row("Newton finish", g6(s.newton_correction) + "  (distance of the final Newton correction)");
    row("limit error estimate",
        (std::isfinite(s.limit_error_estimate) ? g6(s.limit_error_estimate) : std::string("not estimated")) +
            "  (estimated distance to the exact limit Phi_GF)");
  }
  row("termination", s.termination);
  row("written", out);
}

ProjectionOptions projection_options(const ProjectOptions& o) {
  ProjectionOptions po = o.projection;
  po.estimate_limit_error = !o.no_error_estimate;
  return po;
}

void run_project(const ProjectOptions& o) {
  // Ceres logs internal notes (line-search details, failed trial evaluations) through glog; every
  // outcome that matters is reported by the command itself, so only fatal messages stay.
  FLAGS_minloglevel = google::GLOG_FATAL;
  const LoadedProblem P = load_problem(o.problem);
  const ProjectionResult r = project(P.model, P.weights.theta, o.method, projection_options(o));
  const double T_in = SharpnessGeometry(P.model, P.weights.theta).sharpness();
  const double T_out = SharpnessGeometry(P.model, r.theta).sharpness();
  write_weights_csv(o.out, r.theta, P.model.a());
  print_projection(r.summary, T_in, T_out, o.out, o.json, "", "||Theta_out - Theta_in||_F");
}

void run_diagonal_project(const ProjectOptions& o) {
  FLAGS_minloglevel = google::GLOG_FATAL;
  const DiagonalProblem P = load_diagonal_problem(o.problem);
  const ParameterProjection r = project(P.model, P.theta, parse_projection_method(o.method), projection_options(o));
  const double T_in = P.model->evaluate(P.theta)->sharpness(), T_out = P.model->evaluate(r.theta)->sharpness();
  write_diagonal_weights_csv(o.out, P.model->u(r.theta), P.model->v(r.theta));
  print_projection(r.summary, T_in, T_out, o.out, o.json, P.model->description(), "||(u, v)_out - (u, v)_in||");
}

CommandRegistration reg({"project", "Move weights onto the zero-loss manifold (Newton, nearest point, gradient-flow limit, Ceres LM)",
                         [](CLI::App& app) {
                           auto o = std::make_shared<ProjectOptions>();
                           app.description(
                               "Move the weights onto the zero-loss manifold M = {Theta : f_i(Theta) = y_i for all i} "
                               "and write the result.\n"
                               "Methods:\n"
                               "  newton         minimum-norm Gauss-Newton Theta <- Theta - J^T (J J^T)^{-1} (f - y)\n"
                               "  nearest        the nearest point argmin ||Theta' - Theta||_F over M (KKT Newton with "
                               "the exact Lagrangian Hessian, verified: Theta' - Theta normal to M)\n"
                               "  gradient-flow  Phi_GF(Theta), the limit of dTheta/dt = -grad L, L = 1/(2n) sum (f_i - y_i)^2 "
                               "(adaptive RKF78 integration, Newton finish, error estimate)\n"
                               "  ceres          Ceres Levenberg-Marquardt on the residuals f - y\n"
                               "All but newton keep the components of each theta_j orthogonal to span{x_i} unchanged.\n"
                               "Converged when max_i |f_i - y_i| <= tolerance * max(1, max_i |y_i|); otherwise exit 5 "
                               "and no output file. Output: weights CSV (header w1..wd,a).\n"
                               "--model diagonal-linear: every method; input and output are u,v CSVs.");
                           add_problem_options(app, o->problem);
                           add_model_option(app, o->model);
                           app.add_option("--method", o->method, "newton | nearest | gradient-flow | ceres")
                               ->required()
                               ->check(checks::one_of(projection_method_names()));
                           app.add_option("--out", o->out, "Output weights CSV (written atomically; header w1..wd,a)")
                               ->required();
                           app.add_flag("--json", o->json, "Print one JSON object instead of the table");
                           app.add_option("--tolerance", o->projection.residual_tolerance,
                                          "Residual tolerance (> 0), relative to max(1, max_i |y_i|)")
                               ->capture_default_str()
                               ->check(checks::positive_number());
                           app.add_option("--max-iterations", o->projection.max_iterations,
                                          "Iteration limit (>= 1) of Newton / KKT (Ceres LM: 4x this)")
                               ->capture_default_str()
                               ->check(checks::positive_integer<int>());
                           app.add_option("--ode-tolerance", o->projection.ode_tolerance,
                                          "gradient-flow: relative and absolute error tolerance per step of the "
                                          "adaptive integrator (> 0)")
                               ->capture_default_str()
                               ->check(checks::positive_number());
                           app.add_option("--max-ode-steps", o->projection.max_ode_steps,
                                          "gradient-flow: limit (>= 1) on accepted integration steps")
                               ->capture_default_str()
                               ->check(checks::positive_integer<long>());
                           app.add_flag("--no-error-estimate", o->no_error_estimate,
                                        "gradient-flow: skip the second integration at a 100x looser tolerance that "
                                        "estimates the distance to the exact limit");
                           return std::function<void()>([o]() {
                             if (o->model == ModelKind::DiagonalLinear) return run_diagonal_project(*o);
                             run_project(*o);
                           });
                         },
                         40});

}  // namespace
}  // namespace zeroloss::cli
