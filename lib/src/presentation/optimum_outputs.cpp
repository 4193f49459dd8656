#include "zeroloss/presentation/optimum_outputs.hpp"

#include <cmath>
#include <ostream>

#include "zeroloss/presentation/printed_numbers.hpp"
#include "zeroloss/presentation/trust_region_outputs.hpp"

namespace zeroloss {
namespace {

using ojson = nlohmann::ordered_json;

// sigma_2 / sigma_1 of descending singular values (0 when there is no second one): how far from
// rank one.
double rank_one_ratio(const Eigen::VectorXd& sv) { return sv.size() > 1 && sv(0) > 0 ? sv(1) / sv(0) : 0.0; }

const char* kind_name(OptimumKind kind) {
  switch (kind) {
    case OptimumKind::GlobalMinimum: return "global-minimum";
    case OptimumKind::LocalMinimum: return "local-minimum";
    case OptimumKind::Undetermined: return "undetermined";
    case OptimumKind::StationaryPoint: break;
  }
  return "stationary-point";
}

// How lambda_min was computed and what its certificate establishes (null entries where there is no
// spectrum: a non-trivial tangent part of dimension 0).
ojson hessian_spectrum_json(const SharpnessMinimum& s) {
  const std::optional<HessianExtremes>& h = s.hessian;
  ojson j;
  j["method"] = h ? ojson(to_string(h->method)) : ojson(nullptr);
  j["tangent_dimension"] = h ? h->tangent_dimension : 0;
  j["lambda_min_estimate"] = h ? json_number(h->lambda_min()) : ojson(nullptr);
  j["lambda_min_residual"] = h ? json_number(h->smallest_residuals(0)) : ojson(nullptr);
  j["lambda_max"] = h ? json_number(h->lambda_max()) : ojson(nullptr);
  j["lambda_max_residual"] = h ? json_number(h->largest_residuals(0)) : ojson(nullptr);
  j["converged"] = h ? h->converged : true;
  j["definiteness"] = to_string(s.definiteness.definiteness);
  j["threshold"] = json_number(s.definiteness.threshold);
  j["certificate"] = s.definiteness.reason;
  const bool lanczos = h && h->method == SpectrumMethod::Lanczos;
  j["matrix_vector_products"] = h ? ojson(h->matrix_vector_products) : ojson(nullptr);
  j["restarts"] = lanczos ? ojson(h->iterations) : ojson(nullptr);
  j["krylov_dimension"] = lanczos ? ojson(h->krylov_dimension) : ojson(nullptr);
  return j;
}

// The table's text for lambda_min: the value with its certificate, or why there is no value.
std::string hessian_min_text(const SharpnessMinimum& s) {
  if (!s.hessian) return "none (the non-trivial tangent part is {0})";
  const HessianExtremes& h = *s.hessian;
  const std::string how = h.method == SpectrumMethod::Lanczos
                              ? "Lanczos, " + std::to_string(h.matrix_vector_products) + " Hessian-vector products"
                              : "dense";
  if (!std::isfinite(s.hessian_min_eigenvalue)) return "not computed: " + s.definiteness.reason + " (" + how + ")";
  return g6(s.hessian_min_eigenvalue) + "  (residual " + g6(h.smallest_residuals(0)) + ", " + how + "; " +
         to_string(s.definiteness.definiteness) + "; the flow's final rate of T - T* is predicted to be 2 lambda_min)";
}

// (4/n) sum_k c_k |w_k|: T's lower bound at fixed w = u o u - v o v (THEORY 9).
double weighted_l1_bound(const ParameterMinimization& r, const DiagonalLinearNetwork& model) {
  const Eigen::VectorXd w = model.linear_weights(r.theta);
  return 4.0 / model.num_samples() * model.column_norms_squared().dot(w.cwiseAbs());
}

ojson support_json(const DiagonalLinearOptimum& r) {
  ojson support = ojson::array();
  for (int k : r.support) support.push_back(k + 1);
  return support;
}

}  // namespace

std::string optimum_method_name(const SharpnessMinimum& s, bool lbfgs_requested) {
  if (s.trust_region) return "trust-region";
  return s.closed_form ? "closed-form" : lbfgs_requested ? "lbfgs" : "lbfgs-fallback";
}

ojson optimum_json(const SharpnessMinimum& s, const OptimumReport& report) {
  ojson j;
  j["method"] = optimum_method_name(s, report.lbfgs_requested);
  if (report.coordinates == PointCoordinates::Reduced) {  // absent: full coordinates (Theta)
    j["coordinates"] = to_string(report.coordinates);
    j["perpendicular"] = report.perpendicular_dropped ? "dropped" : "zero";
  }
  j["closed_form"] = s.closed_form;
  j["message"] = s.message;
  j["kind"] = kind_name(s.kind);
  j["verdict"] = s.verdict;
  j["sharpness"] = json_number(s.sharpness);
  j["input_sharpness"] = json_number(report.input_sharpness);
  j["input_residual_max"] = json_number(report.input_residual_max);
  j["riemannian_grad_norm"] = json_number(s.riemannian_gradient_norm);
  j["residual_max"] = json_number(s.max_residual);
  j["preactivation_singular_values"] = json_numbers(s.preactivation_singular_values);
  j["preactivation_rank_one_ratio"] = json_number(rank_one_ratio(s.preactivation_singular_values));
  j["second_derivative_singular_values"] = json_numbers(s.second_derivative_singular_values);
  j["second_derivative_rank_one_ratio"] = json_number(rank_one_ratio(s.second_derivative_singular_values));
  j["hessian_lambda_min"] = json_number(s.hessian_min_eigenvalue);
  j["hessian_spectrum"] = hessian_spectrum_json(s);
  j["c"] = s.closed_form ? json_numbers(s.c) : ojson(nullptr);
  j["multipliers"] = json_numbers(s.multipliers);
  j["newton_polish"] = json_number(s.newton_polish);
  j["assumptions"] = {{"min_first_derivative", json_number(s.assumptions.min_first_derivative)},
                      {"min_third_derivative", json_number(s.assumptions.min_third_derivative)},
                      {"holds", s.assumptions.holds()},
                      {"description", s.assumptions.describe(report.activation)}};
  if (s.trust_region) {
    j["trust_region"] = trust_region_json(*s.trust_region);
  } else if (!s.closed_form) {
    const ManifoldMinimizationSummary& f = s.fallback_summary;
    j["lbfgs"] = {{"start_projected", f.start_projected}, {"initial_sharpness", json_number(f.initial_value)},
                  {"iterations", f.iterations},           {"reanchors", f.reanchors},
                  {"evaluations", f.evaluations},         {"converged", f.converged},
                  {"termination", f.termination}};
  }
  j["out"] = report.out;
  return j;
}

void print_optimum(std::ostream& out, const SharpnessMinimum& s, const OptimumReport& report) {
  auto row = [&](const std::string& key, const std::string& value) { table_row(out, 26, key, value); };
  row("method", optimum_method_name(s, report.lbfgs_requested));
  if (report.coordinates == PointCoordinates::Reduced)
    row("coordinates", "reduced: beta = Theta U (m x p) from the manifest, no m x d matrix formed; written as reduced "
                       "weights, the part orthogonal to span{x_i} " +
                           std::string(report.perpendicular_dropped ? "dropped" : "zero") + " as in the input");
  row("how", s.message);
  row("verdict", s.verdict);
  row("T*", g6(s.sharpness) + "  (sharpness at the written point)");
  row("input weights", "T = " + g6(report.input_sharpness) + ", max_i |f_i - y_i| = " + g6(report.input_residual_max));
  if (!s.closed_form && !s.trust_region) {
    const ManifoldMinimizationSummary& f = s.fallback_summary;
    row("L-BFGS", "T " + g6(f.initial_value) + " -> " + g6(f.final_value) + " in " + std::to_string(f.iterations) +
                      " iterations from the input weights" +
                      (f.start_projected ? " after projecting them onto M" : std::string(" (on M)")) + ", " +
                      std::to_string(f.reanchors) + " re-anchorings of the tangent basis");
  }
  row("||grad_M T||", g6(s.riemannian_gradient_norm) + "  (Riemannian gradient norm at the written point)");
  row("residual_max", g6(s.max_residual) + "  (max_i |f_i - y_i|)");
  row("singular values of R*", numbers_inline(s.preactivation_singular_values) + "  (R* = X Theta*^T; sigma_2/sigma_1 = " +
                                   g6(rank_one_ratio(s.preactivation_singular_values)) + ")");
  row("singular values a phi''", numbers_inline(s.second_derivative_singular_values) +
                                     "  ([a_j phi''(r_ij)]; sigma_2/sigma_1 = " +
                                     g6(rank_one_ratio(s.second_derivative_singular_values)) + ")");
  row("Hessian lambda_min", hessian_min_text(s));
  if (s.closed_form) row("c", numbers_inline(s.c) + "  (a_j phi''(r_ij) = c_i)");
  row("lambda", numbers_inline(s.multipliers) + "  (Lagrange multipliers)");
  row("assumptions", s.assumptions.describe(report.activation));
  row("written", report.out);
  if (s.trust_region) print_trust_region_log(out, *s.trust_region);
}

ojson optimum_json(const DiagonalLinearOptimum& r, const std::string& model, const std::string& out) {
  ojson j;
  j["model"] = model;
  j["method"] = "flow+certificate";
  j["sharpness"] = json_number(r.sharpness);
  j["objective"] = json_number(r.objective);
  j["dual_objective"] = json_number(r.dual_objective);
  j["max_dual_violation"] = json_number(r.max_dual_violation);
  j["residual_max"] = json_number(r.residual_max);
  j["support"] = support_json(r);
  j["support_condition"] = json_number(r.support_condition);
  j["support_margin"] = json_number(r.support_margin);
  j["w"] = json_numbers(r.w);
  j["dual"] = json_numbers(r.dual);
  j["flow"] = {{"termination", r.flow.termination},     {"t_reached", json_number(r.flow.t_reached)},
               {"accepted", r.flow.accepted},           {"rejected", r.flow.rejected},
               {"final_gradient_norm", json_number(r.flow.final_gradient_norm)},
               {"sharpness", json_number(r.flow_sharpness)}, {"distance_to_certified", json_number(r.flow_distance)}};
  j["out"] = out;
  return j;
}

void print_optimum(std::ostream& out, const DiagonalLinearOptimum& r, const std::string& model, const std::string& file) {
  auto row = [&](const std::string& key, const std::string& value) { table_row(out, 24, key, value); };
  row("model", model);
  row("method", "Riemannian flow of T, then the exact point on its support, certified by LP duality");
  row("T*", g6(r.sharpness) + "  (= (4/n) sum_k c_k |w_k|)");
  row("weighted l1", g6(r.objective) + " primal, " + g6(r.dual_objective) + " dual (y . mu)");
  row("dual feasibility", "max_k (|X^T mu|_k - c_k) / c_k = " + g6(r.max_dual_violation) + "  (<= 0: optimal)");
  row("support", std::to_string(r.support.size()) + " coordinates " + support_json(r).dump() + ", cond(X_S) = " +
                     g6(r.support_condition));
  row("residual_max", g6(r.residual_max) + "  (max_i |x_i . w - y_i|)");
  row("flow", r.flow.termination + "; " + std::to_string(r.flow.accepted) + " accepted, " +
                  std::to_string(r.flow.rejected) + " rejected steps; T = " + g6(r.flow_sharpness) + " at its end, " +
                  g6(r.flow_distance) + " from the certified point");
  row("written", file);
}

ojson optimum_json(const ParameterMinimization& r, const DiagonalLinearNetwork& model, const std::string& out) {
  const ManifoldMinimizationSummary& s = r.summary;
  ojson j;
  j["model"] = model.description();
  j["method"] = "lbfgs";
  j["converged"] = s.converged;
  j["sharpness"] = json_number(s.final_value);
  j["weighted_l1_bound"] = json_number(weighted_l1_bound(r, model));
  j["input_sharpness"] = json_number(s.initial_value);
  j["riemannian_grad_norm"] = json_number(s.riemannian_gradient_norm);
  j["residual_max"] = json_number(s.final_residual);
  j["w"] = json_numbers(model.linear_weights(r.theta));
  j["lbfgs"] = {{"termination", s.termination}, {"iterations", s.iterations},     {"reanchors", s.reanchors},
                {"evaluations", s.evaluations}, {"start_projected", s.start_projected}};
  j["out"] = out;
  return j;
}

void print_optimum(std::ostream& out, const ParameterMinimization& r, const DiagonalLinearNetwork& model,
                   const std::string& file) {
  const ManifoldMinimizationSummary& s = r.summary;
  auto row = [&](const std::string& key, const std::string& value) { table_row(out, 24, key, value); };
  row("model", model.description());
  row("method", "Riemannian L-BFGS of T on M (no certificate; `--method auto` certifies)");
  row("T*", g6(s.final_value) + "  (from " + g6(s.initial_value) + ")");
  row("weighted l1 bound", g6(weighted_l1_bound(r, model)) + "  ((4/n) sum_k c_k |w_k| <= T, equal at the optimum)");
  row("||grad_M T||", g6(s.riemannian_gradient_norm));
  row("residual_max", g6(s.final_residual) + "  (max_i |x_i . w - y_i|)");
  row("lbfgs", s.termination + "; " + std::to_string(s.iterations) + " iterations, " + std::to_string(s.reanchors) +
                   " re-anchorings");
  row("written", file);
}

}  // namespace zeroloss
