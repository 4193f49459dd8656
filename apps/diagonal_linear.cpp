#include "diagonal_linear.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "option_checks.hpp"
#include "zeroloss/diagnostics/point_summary.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"

namespace zeroloss::cli {
namespace {

void row(const std::string& key, const std::string& value) { std::cout << std::left << std::setw(24) << key << value << "\n"; }

}  // namespace

DiagonalProblem load_diagonal_problem(const ProblemOptions& o) {
  if (o.weights.size() >= 5 && o.weights.compare(o.weights.size() - 5, 5, ".json") == 0)
    throw InputError(o.weights + ": reduced-weights manifests are two-layer weights; the diagonal linear network "
                                 "reads a CSV with header u,v");
  Dataset data = read_dataset_csv(o.data);
  const DiagonalWeights w = read_diagonal_weights_csv(o.weights, static_cast<int>(data.X.cols()));
  auto model = std::make_shared<const DiagonalLinearNetwork>(std::move(data.X), std::move(data.y));
  Eigen::VectorXd theta = model->parameters(w.u, w.v);
  return {std::move(model), std::move(theta)};
}

void add_model_option(CLI::App& app, ModelKind& kind) {
  app.add_option_function<std::string>(
         "--model", [&kind](const std::string& name) { kind = parse_model_kind(name); },
         "two-layer (default): the network f(x) = sum_j a_j phi(theta_j . x), weights CSV w1..wd[,a]; "
         "diagonal-linear: f(x) = <u*u - v*v, x> (THEORY 9), weights CSV with header u,v and one row per feature")
      ->check(checks::one_of(model_kind_names()));
}

void run_diagonal_optimum(const ProblemOptions& problem, const std::string& out, bool json) {
  const DiagonalProblem P = load_diagonal_problem(problem);
  const DiagonalLinearOptimum r = diagonal_linear_optimum(*P.model, P.theta);
  write_diagonal_weights_csv(out, P.model->u(r.theta), P.model->v(r.theta));
  nlohmann::ordered_json support = nlohmann::ordered_json::array();
  for (int k : r.support) support.push_back(k + 1);
  if (json) {
    nlohmann::ordered_json j;
    j["model"] = P.model->description();
    j["method"] = "flow+certificate";
    j["sharpness"] = number(r.sharpness);
    j["objective"] = number(r.objective);
    j["dual_objective"] = number(r.dual_objective);
    j["max_dual_violation"] = number(r.max_dual_violation);
    j["residual_max"] = number(r.residual_max);
    j["support"] = support;
    j["support_condition"] = number(r.support_condition);
    j["support_margin"] = number(r.support_margin);
    j["w"] = vector_json(r.w);
    j["dual"] = vector_json(r.dual);
    j["flow"] = {{"termination", r.flow.termination},    {"t_reached", number(r.flow.t_reached)},
                 {"accepted", r.flow.accepted},          {"rejected", r.flow.rejected},
                 {"final_gradient_norm", number(r.flow.final_gradient_norm)},
                 {"sharpness", number(r.flow_sharpness)}, {"distance_to_certified", number(r.flow_distance)}};
    j["out"] = out;
    std::cout << j.dump(2) << std::endl;
    return;
  }
  row("model", P.model->description());
  row("method", "Riemannian flow of T, then the exact point on its support, certified by LP duality");
  row("T*", g6(r.sharpness) + "  (= (4/n) sum_k c_k |w_k|)");
  row("weighted l1", g6(r.objective) + " primal, " + g6(r.dual_objective) + " dual (y . mu)");
  row("dual feasibility", "max_k (|X^T mu|_k - c_k) / c_k = " + g6(r.max_dual_violation) + "  (<= 0: optimal)");
  row("support", std::to_string(r.support.size()) + " coordinates " + support.dump() + ", cond(X_S) = " +
                     g6(r.support_condition));
  row("residual_max", g6(r.residual_max) + "  (max_i |x_i . w - y_i|)");
  row("flow", r.flow.termination + "; " + std::to_string(r.flow.accepted) + " accepted, " +
                  std::to_string(r.flow.rejected) + " rejected steps; T = " + g6(r.flow_sharpness) +
                  " at its end, " + g6(r.flow_distance) + " from the certified point");
  row("written", out);
}

void run_diagonal_inspect(const ProblemOptions& problem, bool json, bool with_hessian) {
  const DiagonalProblem P = load_diagonal_problem(problem);
  const PointSummary s = summarize_point(P.model, P.theta, with_hessian);
  const Eigen::VectorXd w = P.model->linear_weights(P.theta);
  if (json) {
    nlohmann::ordered_json j;
    j["model"] = s.model;
    j["n"] = s.num_samples;
    j["parameters"] = s.num_parameters;
    j["manifold_dimension"] = s.manifold_dimension;
    j["residual_max"] = number(s.residual_max);
    j["loss"] = number(s.loss);
    j["sharpness"] = number(s.sharpness);
    j["euclidean_grad_norm"] = number(s.euclidean_gradient_norm);
    j["riemannian_grad_norm"] = number(s.riemannian_gradient_norm);
    j["jjt_condition"] = number(s.gram_condition);
    j["regular"] = s.regular;
    j["singular_reason"] = s.singular_reason.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s.singular_reason);
    j["weighted_l1"] = number(P.model->column_norms_squared().dot(w.cwiseAbs()));
    j["hessian_eigenvalues"] = with_hessian && s.regular ? vector_json(s.hessian_eigenvalues) : nlohmann::ordered_json(nullptr);
    j["w"] = vector_json(w);
    std::cout << j.dump(2) << std::endl;
    return;
  }
  row("model", s.model);
  row("dimension of M", std::to_string(s.manifold_dimension) + "  (P - n = 2d - n)");
  row("residual_max", g6(s.residual_max) + "  (max_i |f_i - y_i|)");
  row("loss", g6(s.loss));
  row("sharpness T", g6(s.sharpness) + "  ((4/n) sum_k c_k (u_k^2 + v_k^2); on M, T >= (4/n) sum_k c_k |w_k| = " +
                         g6(4.0 / s.num_samples * P.model->column_norms_squared().dot(w.cwiseAbs())) + ")");
  row("||grad_M T||", s.regular ? g6(s.riemannian_gradient_norm) : "undefined: " + s.singular_reason);
  row("cond(J J^T)", g6(s.gram_condition) + (s.regular ? "" : "  (singular point of M)"));
  if (!with_hessian) {
    row("hessian_eigenvalues", "not computed (--no-hessian)");
  } else if (s.regular) {
    std::ostringstream ev;
    const Eigen::Index show = std::min<Eigen::Index>(s.hessian_eigenvalues.size(), 12);
    for (Eigen::Index k = 0; k < show; ++k) ev << (k ? "  " : "") << g6(s.hessian_eigenvalues(k));
    if (show < s.hessian_eigenvalues.size()) ev << "  ... (" << s.hessian_eigenvalues.size() - show << " more in --json)";
    row("hessian_eigenvalues", ev.str() + "  (Hess_M T on T_theta M, ascending)");
  }
}

}  // namespace zeroloss::cli
