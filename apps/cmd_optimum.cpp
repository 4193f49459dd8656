// zeroloss optimum: the minimizer of the sharpness T on the zero-loss manifold (THEORY 5), in closed
// form when rank X = n, otherwise by Riemannian L-BFGS (Ceres) from the given weights.

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
#include "zeroloss/sharpness.hpp"
#include "zeroloss/sharpness_minimum.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss::cli {
namespace {

struct OptimumOptions {
  ProblemOptions problem;
  std::string out;
  bool json = false;
  bool accept_stationary = false;
  std::string method = "auto";
  SharpnessMinimumOptions minimum;
  ModelKind model = ModelKind::TwoLayer;
};

std::string vector_text(const Eigen::VectorXd& v) {
  if (v.size() == 0) return "(none)";
  std::ostringstream s;
  const Eigen::Index show = std::min<Eigen::Index>(v.size(), 12);
  for (Eigen::Index k = 0; k < show; ++k) s << (k ? "  " : "") << g6(v(k));
  if (show < v.size()) s << "  ... (" << v.size() - show << " more in --json)";
  return s.str();
}

void run_optimum(const OptimumOptions& o) {
  // Ceres logs internal notes (line-search details) through glog; the command reports every outcome.
  FLAGS_minloglevel = google::GLOG_FATAL;
  const LoadedProblem P = load_problem(o.problem);
  const TwoLayerModel& model = P.model;
  SharpnessMinimumOptions options = o.minimum;
  options.use_closed_form = o.method == "auto";
  const SharpnessMinimum s = sharpness_minimum(model, P.weights.theta, options);
  if (!s.closed_form && !s.fallback_summary.converged) {
    throw ConvergenceError(std::string(o.method == "lbfgs" ? "Riemannian L-BFGS did not converge: " : "no closed form (rank X < n) and the Riemannian L-BFGS fallback did not converge: ") +
                           s.fallback_summary.termination + "; no output written (raise --max-iterations?)");
  }
  if (s.kind == OptimumKind::StationaryPoint && !o.accept_stationary) {
    throw DomainError("the point found is not a minimum of T: " + s.verdict + " (" + s.message +
                      "); no output written. Pass --accept-stationary to write it anyway");
  }
  const double T_in = SharpnessGeometry(model, P.weights.theta).sharpness();
  const double res_in = max_residual(model, P.weights.theta);
  write_weights_csv(o.out, s.theta, model.a());
  const Eigen::VectorXd& sv = s.preactivation_singular_values;
  const Eigen::VectorXd& sv2 = s.second_derivative_singular_values;
  const double ratio = sv.size() > 1 && sv(0) > 0 ? sv(1) / sv(0) : 0.0;
  const double ratio2 = sv2.size() > 1 && sv2(0) > 0 ? sv2(1) / sv2(0) : 0.0;
  const std::string method = s.closed_form ? "closed-form" : o.method == "lbfgs" ? "lbfgs" : "lbfgs-fallback";
  const std::string kind = s.kind == OptimumKind::GlobalMinimum  ? "global-minimum"
                           : s.kind == OptimumKind::LocalMinimum ? "local-minimum"
                                                                 : "stationary-point";

  if (o.json) {
    nlohmann::ordered_json j;
    j["method"] = method;
    j["closed_form"] = s.closed_form;
    j["message"] = s.message;
    j["kind"] = kind;
    j["verdict"] = s.verdict;
    j["sharpness"] = number(s.sharpness);
    j["input_sharpness"] = number(T_in);
    j["input_residual_max"] = number(res_in);
    j["riemannian_grad_norm"] = number(s.riemannian_gradient_norm);
    j["residual_max"] = number(s.max_residual);
    j["preactivation_singular_values"] = vector_json(sv);
    j["preactivation_rank_one_ratio"] = number(ratio);
    j["second_derivative_singular_values"] = vector_json(sv2);
    j["second_derivative_rank_one_ratio"] = number(ratio2);
    j["hessian_min_eigenvalue"] = number(s.hessian_min_eigenvalue);
    j["c"] = s.closed_form ? vector_json(s.c) : nlohmann::ordered_json(nullptr);
    j["multipliers"] = vector_json(s.multipliers);
    j["newton_polish"] = number(s.newton_polish);
    j["assumptions"] = {{"min_first_derivative", number(s.assumptions.min_first_derivative)},
                        {"min_third_derivative", number(s.assumptions.min_third_derivative)},
                        {"holds", s.assumptions.holds()},
                        {"description", s.assumptions.describe(model.activation().name())}};
    if (!s.closed_form) {
      j["lbfgs"] = {{"start_projected", s.fallback_summary.start_projected},
                    {"initial_sharpness", number(s.fallback_summary.initial_value)},
                    {"iterations", s.fallback_summary.iterations},
                    {"reanchors", s.fallback_summary.reanchors},
                    {"evaluations", s.fallback_summary.evaluations},
                    {"converged", s.fallback_summary.converged},
                    {"termination", s.fallback_summary.termination}};
    }
    j["out"] = o.out;
    std::cout << j.dump(2) << std::endl;
    return;
  }
  const int w = 26;
  auto row = [&](const std::string& key, const std::string& value) {
    std::cout << std::left << std::setw(w) << key << value << "\n";
  };
  row("method", method);
  row("how", s.message);
  row("verdict", s.verdict);
  row("T*", g6(s.sharpness) + "  (sharpness at the written point)");
  row("input weights", "T = " + g6(T_in) + ", max_i |f_i - y_i| = " + g6(res_in));
  if (!s.closed_form) {
    const ManifoldMinimizationSummary& f = s.fallback_summary;
    row("L-BFGS", "T " + g6(f.initial_value) + " -> " + g6(f.final_value) + " in " + std::to_string(f.iterations) +
                      " iterations from the input weights" +
                      (f.start_projected ? " after projecting them onto M" : std::string(" (on M)")) + ", " +
                      std::to_string(f.reanchors) + " re-anchorings of the tangent basis");
  }
  row("||grad_M T||", g6(s.riemannian_gradient_norm) + "  (Riemannian gradient norm at the written point)");
  row("residual_max", g6(s.max_residual) + "  (max_i |f_i - y_i|)");
  row("singular values of R*", vector_text(sv) + "  (R* = X Theta*^T; sigma_2/sigma_1 = " + g6(ratio) + ")");
  row("singular values a phi''", vector_text(sv2) + "  ([a_j phi''(r_ij)]; sigma_2/sigma_1 = " + g6(ratio2) + ")");
  row("Hessian min eigenvalue", g6(s.hessian_min_eigenvalue) + "  (Riemannian Hessian of T, non-trivial tangent part)");
  if (s.closed_form) row("c", vector_text(s.c) + "  (a_j phi''(r_ij) = c_i)");
  row("lambda", vector_text(s.multipliers) + "  (Lagrange multipliers)");
  row("assumptions", s.assumptions.describe(model.activation().name()));
  row("written", o.out);
}

CommandRegistration reg({"optimum", "Minimizer of the sharpness T on the zero-loss manifold (closed form or L-BFGS)",
                         [](CLI::App& app) {
                           auto o = std::make_shared<OptimumOptions>();
                           app.description(
                               "Write the minimizer of the sharpness T = (1/n) sum_i ||x_i||^2 sum_j a_j^2 phi'(r_ij)^2 "
                               "on the zero-loss manifold and print T*, ||grad_M T|| there and the rank-one structure.\n"
                               "rank X = n (independent rows): closed form (THEORY 5). Per sample, a_j phi''(r_ij) = c_i "
                               "with sum_j a_j phi((phi'')^{-1}(c_i / a_j)) = y_i (for constant a: r_ij = "
                               "phi^{-1}(y_i / (m a))); the components of theta_j orthogonal to span{x_i} are taken "
                               "from --weights.\n"
                               "rank X < n (e.g. n > d): no closed form; says so and minimizes T over M by Riemannian "
                               "L-BFGS (Ceres) from --weights (projected onto M first if needed).\n"
                               "Exit 4 if the needed inverse does not exist (tanh with |y_i/m| >= 1; a non-constant a "
                               "with an activation whose phi'' is not monotone) or if the point is a stationary point "
                               "but not a minimum (negative Riemannian Hessian eigenvalue; see --accept-stationary), "
                               "5 if L-BFGS does not converge; no output file then. Output: weights CSV (header "
                               "w1..wd,a).\n"
                               "--model diagonal-linear: the minimizer of T = (4/n) sum_k c_k (u_k^2 + v_k^2) on {X w = y}, w = u*u - v*v, i.e. the weighted basis pursuit min sum_k c_k |w_k| (THEORY 9): the Riemannian flow of T from --weights, then the exact point on the support it finds, certified optimal by a dual vector mu with |X^T mu|_k <= c_k (exit 5 if the certificate fails, e.g. from a start on a saddle). Output: u,v CSV.");
                           add_problem_options(app, o->problem);
                           add_model_option(app, o->model);
                           app.add_option("--out", o->out, "Output weights CSV (written atomically; header w1..wd,a)")
                               ->required();
                           app.add_flag("--json", o->json, "Print one JSON object instead of the table");
                           app.add_option("--method", o->method,
                                          "auto: closed form when rank X = n, else Riemannian L-BFGS from --weights; "
                                          "lbfgs: always Riemannian L-BFGS from --weights (an independent route)")
                               ->check(checks::one_of({"auto", "lbfgs"}))
                               ->capture_default_str();
                           app.add_flag("--accept-stationary", o->accept_stationary,
                                        "Write the point even when it is a stationary point that is not a minimum "
                                        "(e.g. tanh, where THEORY 5's assumptions fail); otherwise that is exit 4");
                           app.add_option("--max-iterations", o->minimum.fallback.max_iterations,
                                          "L-BFGS fallback: iteration limit (>= 1)")
                               ->capture_default_str()
                               ->check(checks::positive_integer<int>());
                           app.add_option("--gradient-tolerance", o->minimum.fallback.gradient_tolerance,
                                          "L-BFGS fallback: converged when ||grad_M T|| <= this * max(1, T); > 0")
                               ->capture_default_str()
                               ->check(checks::positive_number());
                           return std::function<void()>([o]() {
                             if (o->model == ModelKind::DiagonalLinear) return run_diagonal_optimum(o->problem, o->out, o->json);
                             run_optimum(*o);
                           });
                         },
                         41});

}  // namespace
}  // namespace zeroloss::cli
