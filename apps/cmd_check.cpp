// zeroloss check: runs the derivative checkers (diagnostics/two_layer_derivative_check.hpp) on the sharpness T at a point.
// Exit 0 when every check passes, 7 when one fails (after printing the table or JSON).

#include <iostream>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "option_checks.hpp"
#include "zeroloss/diagnostics/two_layer_derivative_check.hpp"
#include "zeroloss/presentation/derivative_check_outputs.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"

namespace zeroloss::cli {
namespace {

struct CheckOptions {
  ProblemOptions problem;
  std::uint64_t seed = 0;
  bool json = false;
  double slope_tolerance = 0.2;
  double residual_tolerance = 1e-8;
  std::string inject = "none";
  double inject_size = 1e-3;
  ModelKind model = ModelKind::TwoLayer;
};

void run_check(const CheckOptions& o) {
  DerivativeCheckOptions opt;
  opt.seed = o.seed;
  opt.slope_tolerance = o.slope_tolerance;
  opt.tangency_tolerance = opt.symmetry_tolerance = opt.linearity_tolerance = o.residual_tolerance;
  InjectedError injected;
  if (o.inject == "gradient") injected.gradient = o.inject_size;
  if (o.inject == "hessian") injected.hessian = o.inject_size;
  DerivativeCheckResult r;
  DerivativeCheckSubject subject;
  if (o.model == ModelKind::DiagonalLinear) {
    const LoadedDiagonalProblem P = load_diagonal_problem(o.problem);
    r = check_sharpness_derivatives(P.model, P.theta, opt, injected);
    subject = sharpness_check_subject(*P.model);
  } else {
    const LoadedProblem P = load_problem(o.problem);
    r = check_sharpness_derivatives(P.model, P.weights.theta, opt, injected);
    subject = sharpness_check_subject(P.model);
  }
  if (o.json) {
    std::cout << derivative_check_json(r, subject, injected).dump(2) << std::endl;
  } else {
    print_derivative_check_report(std::cout, r, subject, injected);
    std::cout << std::flush;
  }
  if (!r.passed()) throw CommandFailure("derivative check FAILED: " + failed_check_names(r), 7);
}

CommandRegistration reg(
    {"check", "Run the derivative checkers (Taylor slopes, tangency, symmetry, linearity) on T at a point",
     [](CLI::App& app) {
       auto o = std::make_shared<CheckOptions>();
       add_problem_options(app, o->problem);
       add_model_option(app, o->model);
       app.add_option("--seed", o->seed, "Seed (integer >= 0) of the random tangent directions")
           ->capture_default_str()
           ->check(checks::non_negative_integer<std::uint64_t>());
       app.add_flag("--json", o->json, "Print one JSON object with every measured number (see docs/commands/check.md)");
       app.add_option("--slope-tolerance", o->slope_tolerance,
                      "Pass when the fitted slope >= expected - tolerance (expected 2 for the gradient, 3 for the "
                      "Hessian); in (0, 1)")
           ->capture_default_str()
           ->check(checks::open_unit_interval());
       app.add_option("--residual-tolerance", o->residual_tolerance,
                      "Pass threshold (> 0) of the relative tangency, symmetry and linearity residuals")
           ->capture_default_str()
           ->check(checks::positive_number());
       app.add_option("--inject-error", o->inject,
                      "none, gradient or hessian: add a deliberate error of relative size --inject-size to that "
                      "derivative, to see what a failing check looks like")
           ->capture_default_str()
           ->check(checks::one_of({"none", "gradient", "hessian"}));
       app.add_option("--inject-size", o->inject_size, "Relative size (> 0) of the injected error")
           ->capture_default_str()
           ->check(checks::positive_number());
       app.footer(
           "The point is first moved onto M by Newton projection (the distance moved is printed). Along a random\n"
           "unit tangent v, E1(t) = |T(R(x,tv)) - T(x) - t<g,v>| must fall like t^2 and\n"
           "E2(t) = |E1 part - t^2/2 <Hv,v>| like t^3 (R = Newton projection of x + tv, a second-order\n"
           "retraction). Exit 0: every check passes; 7: a check fails; 3: J J^T is singular at the point.\n"
           "--model diagonal-linear: the same checks on (u, v) (a u,v weights CSV), directions in R^{2d}.");
       return std::function<void()>([o]() { run_check(*o); });
     },
     60});

}  // namespace
}  // namespace zeroloss::cli
