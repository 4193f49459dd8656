// zeroloss check: runs the derivative checkers (derivative_check.hpp) on the sharpness T at a point.
// Exit 0 when every check passes, 7 when one fails (after printing the table or JSON).

#include <nlohmann/json.hpp>

#include <cmath>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "diagonal_linear.hpp"
#include "option_checks.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/derivative_check.hpp"
#include "zeroloss/errors.hpp"

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

nlohmann::ordered_json numbers(const std::vector<double>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (double x : v) a.push_back(number(x));
  return a;
}

nlohmann::ordered_json taylor_json(const TaylorCheck& c, double slope_tolerance) {
  nlohmann::ordered_json j;
  j["expected_slope"] = c.expected_slope;
  j["min_slope"] = c.expected_slope - slope_tolerance;
  j["slope"] = number(c.slope);
  j["fit_t_min"] = c.fit_begin >= 0 ? number(c.t[c.fit_begin]) : nlohmann::ordered_json(nullptr);
  j["fit_t_max"] = c.fit_begin >= 0 ? number(c.t[c.fit_end - 1]) : nlohmann::ordered_json(nullptr);
  j["fit_rms"] = c.fit_begin >= 0 ? number(c.fit_rms) : nlohmann::ordered_json(nullptr);
  j["at_rounding_level"] = c.at_rounding_level;
  j["passed"] = c.passed;
  j["verdict"] = c.verdict;
  j["t"] = numbers(c.t);
  j["error"] = numbers(c.error);
  j["noise_floor"] = numbers(c.noise_floor);
  return j;
}

nlohmann::ordered_json residual_json(const ResidualCheck& r) {
  return {{"value", number(r.value)}, {"tolerance", r.tolerance}, {"passed", r.passed}, {"formula", r.meaning}};
}

void run_check(const CheckOptions& o) {
  DerivativeCheckOptions opt;
  opt.seed = o.seed;
  opt.slope_tolerance = o.slope_tolerance;
  opt.tangency_tolerance = opt.symmetry_tolerance = opt.linearity_tolerance = o.residual_tolerance;
  InjectedError injected;
  if (o.inject == "gradient") {
    injected.gradient = o.inject_size;
  } else if (o.inject == "hessian") {
    injected.hessian = o.inject_size;
  } else if (o.inject != "none") {
    throw InputError("--inject-error '" + o.inject + "': expected none, gradient or hessian");
  }
  DerivativeCheckResult r;
  std::string heading, function, activation;
  if (o.model == ModelKind::DiagonalLinear) {
    const DiagonalProblem P = load_diagonal_problem(o.problem);
    r = check_sharpness_derivatives(P.model, P.theta, opt, injected);
    function = "sharpness T of the diagonal linear network (THEORY 9; Riemannian gradient and Hessian of the model interface)";
    heading = "Checking the sharpness T of the " + P.model->description() +
              " with the Riemannian gradient and Hessian of the model interface";
  } else {
    const LoadedProblem P = load_problem(o.problem);
    r = check_sharpness_derivatives(P.model, P.weights.theta, opt, injected);
    function = "sharpness T (closed-form Riemannian gradient and Hessian, reduced coordinates)";
    activation = P.model.activation().name();
    heading = "Checking the sharpness T (activation " + activation + ", n = " + std::to_string(P.model.n()) +
              ", d = " + std::to_string(P.model.d()) + ", m = " + std::to_string(P.model.m()) +
              ") with its closed-form Riemannian gradient and Hessian, in reduced coordinates";
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["function"] = function;
    if (o.model == ModelKind::DiagonalLinear)
      j["model"] = to_string(o.model);
    else
      j["activation"] = activation;
    j["seed"] = o.seed;
    j["injected_error"] = o.inject == "none" ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json({{"in", o.inject}, {"size", o.inject_size}});
    j["passed"] = r.passed();
    j["base_point_shift"] = number(r.base_point_shift);
    j["value"] = number(r.value);
    j["gradient_norm"] = number(r.gradient_norm);
    j["directional_derivative"] = number(r.directional_derivative);
    j["curvature"] = number(r.curvature);
    j["gradient"] = taylor_json(r.gradient, o.slope_tolerance);
    j["hessian"] = taylor_json(r.hessian, o.slope_tolerance);
    j["gradient_tangency"] = residual_json(r.gradient_tangency);
    j["hessian_tangency"] = residual_json(r.hessian_tangency);
    j["symmetry"] = residual_json(r.symmetry);
    j["linearity"] = residual_json(r.linearity);
    std::cout << j.dump(2) << std::endl;
  } else {
    std::cout << heading << "\n";
    if (o.inject != "none")
      std::cout << "DELIBERATE ERROR injected into the " << o.inject << " (relative size " << o.inject_size
                << "): this run shows what a failing check looks like\n";
    print_derivative_check(std::cout, r);
    std::cout << std::flush;
  }
  if (!r.passed()) {
    std::string failed;
    for (const TaylorCheck* c : {&r.gradient, &r.hessian})
      if (c->ran && !c->passed) failed += (failed.empty() ? "" : ", ") + c->name + " Taylor slope";
    for (const ResidualCheck* c : {&r.gradient_tangency, &r.hessian_tangency, &r.symmetry, &r.linearity})
      if (c->ran && !c->passed) failed += (failed.empty() ? "" : ", ") + c->name;
    throw CommandFailure("derivative check FAILED: " + failed, 7);
  }
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
