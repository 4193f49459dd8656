// zeroloss project: move weights onto the zero-loss manifold M = {Theta : f(Theta) = y} by one of four
// methods (THEORY 2) and write the projected weights.

#include <glog/logging.h>

#include <iostream>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "option_checks.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/presentation/projection_outputs.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/io/weights.hpp"

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

ProjectionOptions projection_options(const ProjectOptions& o) {
  ProjectionOptions po = o.projection;
  po.estimate_limit_error = !o.no_error_estimate;
  return po;
}

void print(const ProjectionReport& report, bool json) {
  if (json)
    std::cout << projection_json(report).dump(2) << std::endl;
  else
    print_projection(std::cout, report);
}

void run_project(const ProjectOptions& o) {
  // Ceres logs internal notes (line-search details, failed trial evaluations) through glog; every
  // outcome that matters is reported by the command itself, so only fatal messages stay.
  FLAGS_minloglevel = google::GLOG_FATAL;
  const LoadedProblem P = load_problem(o.problem);
  const ProjectionResult r = project(P.model, P.weights.theta, parse_projection_method(o.method), projection_options(o));
  const ProjectionReport report{r.summary, SharpnessGeometry(P.model, P.weights.theta).sharpness(),
                                SharpnessGeometry(P.model, r.theta).sharpness(), "", "||Theta_out - Theta_in||_F", o.out};
  write_weights_csv(o.out, r.theta, P.model.a());
  print(report, o.json);
}

void run_diagonal_project(const ProjectOptions& o) {
  FLAGS_minloglevel = google::GLOG_FATAL;
  const LoadedDiagonalProblem P = load_diagonal_problem(o.problem);
  const ParameterProjection r = project(P.model, P.theta, parse_projection_method(o.method), projection_options(o));
  const ProjectionReport report{r.summary, P.model->evaluate(P.theta)->sharpness(),
                                P.model->evaluate(r.theta)->sharpness(), P.model->description(),
                                "||(u, v)_out - (u, v)_in||", o.out};
  write_diagonal_weights_csv(o.out, P.model->u(r.theta), P.model->v(r.theta));
  print(report, o.json);
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
