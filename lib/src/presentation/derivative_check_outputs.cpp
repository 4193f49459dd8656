#include "zeroloss/presentation/derivative_check_outputs.hpp"

#include <ostream>

#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/presentation/printed_numbers.hpp"

namespace zeroloss {
namespace {

using ojson = nlohmann::ordered_json;

ojson taylor_json(const TaylorCheck& c, double slope_tolerance) {
  const bool fitted = c.fit_begin >= 0;
  ojson j;
  j["expected_slope"] = c.expected_slope;
  j["min_slope"] = c.expected_slope - slope_tolerance;
  j["slope"] = json_number(c.slope);
  j["fit_t_min"] = fitted ? json_number(c.t[c.fit_begin]) : ojson(nullptr);
  j["fit_t_max"] = fitted ? json_number(c.t[c.fit_end - 1]) : ojson(nullptr);
  j["fit_rms"] = fitted ? json_number(c.fit_rms) : ojson(nullptr);
  j["at_rounding_level"] = c.at_rounding_level;
  j["passed"] = c.passed;
  j["verdict"] = c.verdict;
  j["t"] = json_numbers(c.t);
  j["error"] = json_numbers(c.error);
  j["noise_floor"] = json_numbers(c.noise_floor);
  return j;
}

ojson residual_json(const ResidualCheck& r) {
  return {{"value", json_number(r.value)}, {"tolerance", r.tolerance}, {"passed", r.passed}, {"formula", r.meaning}};
}

// Where the error was injected ("gradient", "hessian") and its relative size; none when both are 0.
std::optional<std::pair<std::string, double>> injection(const InjectedError& e) {
  if (e.gradient != 0) return std::make_pair(std::string("gradient"), e.gradient);
  if (e.hessian != 0) return std::make_pair(std::string("hessian"), e.hessian);
  return std::nullopt;
}

}  // namespace

DerivativeCheckSubject sharpness_check_subject(const TwoLayerModel& model) {
  DerivativeCheckSubject s;
  s.function = "sharpness T (closed-form Riemannian gradient and Hessian, reduced coordinates)";
  s.activation = model.activation().name();
  s.heading = "Checking the sharpness T (activation " + s.activation + ", n = " + std::to_string(model.n()) +
              ", d = " + std::to_string(model.d()) + ", m = " + std::to_string(model.m()) +
              ") with its closed-form Riemannian gradient and Hessian, in reduced coordinates";
  return s;
}

DerivativeCheckSubject sharpness_check_subject(const DiagonalLinearNetwork& model) {
  DerivativeCheckSubject s;
  s.function = "sharpness T of the diagonal linear network (THEORY 9; Riemannian gradient and Hessian of the model interface)";
  s.model = to_string(ModelKind::DiagonalLinear);
  s.heading = "Checking the sharpness T of the " + model.description() +
              " with the Riemannian gradient and Hessian of the model interface";
  return s;
}

ojson derivative_check_json(const DerivativeCheckResult& r, const DerivativeCheckSubject& subject,
                            const InjectedError& injected) {
  const auto inj = injection(injected);
  ojson j;
  j["function"] = subject.function;
  if (subject.model)
    j["model"] = *subject.model;
  else
    j["activation"] = subject.activation;
  j["seed"] = r.options.seed;
  j["injected_error"] = inj ? ojson({{"in", inj->first}, {"size", inj->second}}) : ojson(nullptr);
  j["passed"] = r.passed();
  j["base_point_shift"] = json_number(r.base_point_shift);
  j["value"] = json_number(r.value);
  j["gradient_norm"] = json_number(r.gradient_norm);
  j["directional_derivative"] = json_number(r.directional_derivative);
  j["curvature"] = json_number(r.curvature);
  j["gradient"] = taylor_json(r.gradient, r.options.slope_tolerance);
  j["hessian"] = taylor_json(r.hessian, r.options.slope_tolerance);
  j["gradient_tangency"] = residual_json(r.gradient_tangency);
  j["hessian_tangency"] = residual_json(r.hessian_tangency);
  j["symmetry"] = residual_json(r.symmetry);
  j["linearity"] = residual_json(r.linearity);
  return j;
}

void print_derivative_check_report(std::ostream& out, const DerivativeCheckResult& r,
                                   const DerivativeCheckSubject& subject, const InjectedError& injected) {
  out << subject.heading << "\n";
  if (const auto inj = injection(injected))
    out << "DELIBERATE ERROR injected into the " << inj->first << " (relative size " << inj->second
        << "): this run shows what a failing check looks like\n";
  print_derivative_check(out, r);
}

std::string failed_check_names(const DerivativeCheckResult& r) {
  std::string failed;
  for (const TaylorCheck* c : {&r.gradient, &r.hessian})
    if (c->ran && !c->passed) failed += (failed.empty() ? "" : ", ") + c->name + " Taylor slope";
  for (const ResidualCheck* c : {&r.gradient_tangency, &r.hessian_tangency, &r.symmetry, &r.linearity})
    if (c->ran && !c->passed) failed += (failed.empty() ? "" : ", ") + c->name;
  return failed;
}

}  // namespace zeroloss
