#include "zeroloss/presentation/point_summary_outputs.hpp"

#include <cmath>
#include <functional>
#include <iomanip>
#include <optional>
#include <ostream>
#include <sstream>

#include "zeroloss/presentation/printed_numbers.hpp"

namespace zeroloss {
namespace {

using ojson = nlohmann::ordered_json;

// A vector on one or more lines of 6 (continuation lines start with `indent`); long vectors show
// their first 12 and last 6 entries (the JSON output has every value).
std::string vector_lines(const Eigen::VectorXd& v, const std::string& indent) {
  if (v.size() == 0) return "(none)";
  std::ostringstream s;
  auto item = [&](Eigen::Index k) { s << std::setw(13) << g6(v(k)); };
  const Eigen::Index show = v.size() <= 24 ? v.size() : 12;
  for (Eigen::Index k = 0; k < show; ++k) {
    if (k > 0 && k % 6 == 0) s << "\n" << indent;
    item(k);
  }
  if (show < v.size()) {
    s << "\n" << indent << "  ... " << v.size() - 12 << " more (all in --json) ...\n" << indent;
    for (Eigen::Index k = v.size() - 6; k < v.size(); ++k) item(k);
  }
  return s.str();
}

// hessian_spectrum_method, hessian_lambda_min/max and their residual certificates, and the K
// extremes with the solver's account (null throughout where the spectrum was not computed).
void add_hessian_extremes(ojson& j, const std::optional<HessianExtremes>& x, const LanczosOptions& o) {
  const bool have = x && x->tangent_dimension > 0;
  j["hessian_spectrum_method"] = x ? ojson(to_string(x->method)) : ojson(nullptr);
  j["hessian_lambda_min"] = have ? json_number(x->lambda_min()) : ojson(nullptr);
  j["hessian_lambda_max"] = have ? json_number(x->lambda_max()) : ojson(nullptr);
  j["hessian_lambda_min_residual"] = have ? json_number(x->smallest_residuals(0)) : ojson(nullptr);
  j["hessian_lambda_max_residual"] = have ? json_number(x->largest_residuals(0)) : ojson(nullptr);
  if (!x) {
    j["hessian_extremes"] = nullptr;
    return;
  }
  j["hessian_extremes"] = {{"method", to_string(x->method)},
                           {"tangent_dimension", x->tangent_dimension},
                           {"eigenvalues_per_end", o.eigenvalues},
                           {"smallest", json_numbers(x->smallest)},
                           {"smallest_residuals", json_numbers(x->smallest_residuals)},
                           {"largest", json_numbers(x->largest)},
                           {"largest_residuals", json_numbers(x->largest_residuals)},
                           {"converged", x->converged},
                           {"converged_pairs", x->converged_pairs},
                           {"iterations", x->iterations},
                           {"matrix_vector_products", x->matrix_vector_products},
                           {"krylov_dimension", x->krylov_dimension},
                           {"threads", x->threads},
                           {"tolerance", x->method == SpectrumMethod::Lanczos ? json_number(o.tolerance) : ojson(nullptr)}};
}

// The table rows of the extremes: value, certificate, method (and a warning when not converged).
void print_hessian_extremes(const std::function<void(const std::string&, const std::string&)>& row,
                            const HessianExtremes& x) {
  if (x.tangent_dimension == 0) return;
  const std::string how = x.method == SpectrumMethod::Lanczos
                              ? "Lanczos, " + std::to_string(x.matrix_vector_products) + " Hessian-vector products"
                              : "dense";
  auto cert = [](double r) { return std::isnan(r) ? std::string("NOT CONVERGED") : "residual " + g6(r); };
  row("hessian_lambda_min", g6(x.lambda_min()) + "  (" + cert(x.smallest_residuals(0)) + "; " + how + ")");
  row("hessian_lambda_max", g6(x.lambda_max()) + "  (" + cert(x.largest_residuals(0)) + "; " + how + ")");
  if (!x.converged)
    row("", "WARNING: Lanczos did not converge for " + std::to_string(2 * x.smallest.size() - x.converged_pairs) +
                " of the requested eigenvalues (their values are estimates; raise the iterations)");
}

std::string riemannian_reference(const TwoLayerPointSummary& s) {
  return s.on_manifold ? "zero-loss manifold" : "level set f = f(Theta) through this point (off the zero-loss manifold)";
}

}  // namespace

ojson point_summary_json(const TwoLayerPointSummary& s) {
  ojson j;
  j["n"] = s.n;
  j["d"] = s.d;
  j["m"] = s.m;
  j["p"] = s.p;
  j["activation"] = s.activation;
  if (s.coordinates == PointCoordinates::Reduced) {  // absent: full coordinates (Theta)
    j["coordinates"] = to_string(s.coordinates);
    j["perpendicular"] = s.perpendicular_dropped ? "dropped" : "zero";
  }
  j["manifold_dimension"] = s.manifold_dimension;
  j["nontrivial_tangent_dimension"] = s.nontrivial_tangent_dimension;
  j["on_manifold"] = s.on_manifold;
  j["manifold_tolerance"] = s.manifold_tolerance;
  j["loss"] = json_number(s.loss);
  j["residual_max"] = json_number(s.residual_max);
  j["sharpness"] = json_number(s.sharpness);
  j["hessian_trace"] = json_number(s.hessian_trace);
  j["riemannian_grad_norm"] = s.riemannian_gradient_norm ? json_number(*s.riemannian_gradient_norm) : ojson(nullptr);
  j["hessian_eigenvalues"] = s.hessian_eigenvalues ? json_numbers(*s.hessian_eigenvalues) : ojson(nullptr);
  if (!s.hessian_requested) j["hessian_eigenvalues_skipped"] = true;
  add_hessian_extremes(j, s.hessian_extremes, s.lanczos_options);
  j["riemannian_reference"] = riemannian_reference(s);
  j["preactivation_singular_values"] = json_numbers(s.preactivation_singular_values);
  j["feature_singular_values"] = json_numbers(s.feature_singular_values);
  j["jjt_condition"] = json_number(s.jjt_condition);
  j["jjt_regular"] = s.regular;
  j["data_condition"] = json_number(s.data_condition);
  const AssumptionReport& a = s.assumptions;
  j["assumptions"] = {{"min_first_derivative", json_number(a.min_first_derivative)},
                      {"argmin_first_derivative", json_number(a.argmin_first_derivative)},
                      {"min_third_derivative", json_number(a.min_third_derivative)},
                      {"argmin_third_derivative", json_number(a.argmin_third_derivative)},
                      {"holds", a.holds()},
                      {"description", a.describe(s.activation)}};
  return j;
}

void print_point_summary(std::ostream& out, const TwoLayerPointSummary& s, const std::string& data_path,
                         const std::string& weights_path) {
  const int w = 31;
  const std::string indent(w, ' ');
  auto row = [&](const std::string& key, const std::string& value) { table_row(out, w, key, value); };
  row("data", data_path + "  (n = " + std::to_string(s.n) + ", d = " + std::to_string(s.d) +
                  ", rank p = " + std::to_string(s.p) + ", condition " + g6(s.data_condition) + ")");
  row("weights", weights_path + "  (m = " + std::to_string(s.m) + ")");
  row("activation", s.activation);
  if (s.coordinates == PointCoordinates::Reduced)
    row("coordinates", "reduced: beta = Theta U (m x p) from the manifest, no m x d matrix formed; the part of Theta "
                       "orthogonal to span{x_i} is " + std::string(s.perpendicular_dropped ? "dropped" : "zero") +
                       " (no quantity below depends on it)");
  row("manifold dimension", "m*d - n = " + std::to_string(s.manifold_dimension) +
                                "; non-trivial tangent part m*p - n = " + std::to_string(s.nontrivial_tangent_dimension));
  row("point", s.on_manifold ? "on the zero-loss manifold (max |f_i - y_i| <= " + g6(s.manifold_tolerance) + ")"
                             : "OFF the zero-loss manifold (max |f_i - y_i| = " + g6(s.residual_max) + " > " +
                                   g6(s.manifold_tolerance) + ")");
  row("loss", g6(s.loss) + "  (1/(2n) sum_i (f_i - y_i)^2)");
  row("residual_max", g6(s.residual_max) + "  (max_i |f_i - y_i|)");
  row("sharpness", g6(s.sharpness) + "  (T = (1/n) sum_i ||grad f_i||^2)");
  row("hessian_trace", g6(s.hessian_trace) + (s.on_manifold ? "  (tr Hess L; = T on M)"
                                                            : "  (tr Hess L, includes the residual term)"));
  row("jjt_condition", g6(s.jjt_condition) + (s.regular ? "" : "  (SINGULAR: J J^T cannot be inverted)"));
  if (!s.regular) {
    row("riemannian_grad_norm", "undefined at a singular point");
    row("hessian_eigenvalues", "undefined at a singular point");
  } else {
    if (!s.on_manifold) {
      row("note", "Riemannian quantities below are computed at an off-manifold point, on the level set");
      row("", "{f = f(Theta)} through it (tangent space ker J): they are not those of the zero-loss manifold");
    }
    row("riemannian_grad_norm", g6(*s.riemannian_gradient_norm) + "  (||grad_M T||)");
    if (s.hessian_extremes) print_hessian_extremes(row, *s.hessian_extremes);
    if (s.hessian_eigenvalues) {
      row("hessian_eigenvalues", std::to_string(s.hessian_eigenvalues->size()) + " eigenvalues of Hess_M T, ascending:");
      row("", vector_lines(*s.hessian_eigenvalues, indent));
    } else if (s.hessian_extremes) {
      row("hessian_eigenvalues", "not listed: the Lanczos path computes the extremes above (--spectrum dense lists all)");
    } else {
      row("hessian_eigenvalues", "not computed (--no-hessian)");
    }
  }
  row("preactivation_singular_values", vector_lines(s.preactivation_singular_values, indent));
  row("feature_singular_values", vector_lines(s.feature_singular_values, indent));
  row("assumptions", std::string(s.assumptions.holds() ? "hold" : "FAIL") + ": " +
                         s.assumptions.describe(s.activation) + " (the n*m pre-activations present)");
}

ojson point_summary_json(const PointSummary& s, const DiagonalLinearNetwork& model,
                         const Eigen::Ref<const Eigen::VectorXd>& theta, bool with_hessian) {
  const Eigen::VectorXd w = model.linear_weights(theta);
  ojson j;
  j["model"] = s.model;
  j["n"] = s.num_samples;
  j["parameters"] = s.num_parameters;
  j["manifold_dimension"] = s.manifold_dimension;
  j["residual_max"] = json_number(s.residual_max);
  j["loss"] = json_number(s.loss);
  j["sharpness"] = json_number(s.sharpness);
  j["euclidean_grad_norm"] = json_number(s.euclidean_gradient_norm);
  j["riemannian_grad_norm"] = json_number(s.riemannian_gradient_norm);
  j["jjt_condition"] = json_number(s.gram_condition);
  j["regular"] = s.regular;
  j["singular_reason"] = s.singular_reason.empty() ? ojson(nullptr) : ojson(s.singular_reason);
  j["weighted_l1"] = json_number(model.column_norms_squared().dot(w.cwiseAbs()));
  const bool dense = s.hessian_extremes && s.hessian_extremes->method == SpectrumMethod::Dense;
  j["hessian_eigenvalues"] = with_hessian && s.regular && dense ? json_numbers(s.hessian_eigenvalues) : ojson(nullptr);
  add_hessian_extremes(j, s.regular ? s.hessian_extremes : std::nullopt, s.lanczos_options);
  j["w"] = json_numbers(w);
  return j;
}

void print_point_summary(std::ostream& out, const PointSummary& s, const DiagonalLinearNetwork& model,
                         const Eigen::Ref<const Eigen::VectorXd>& theta, bool with_hessian) {
  const Eigen::VectorXd w = model.linear_weights(theta);
  auto row = [&](const std::string& key, const std::string& value) { table_row(out, 24, key, value); };
  row("model", s.model);
  row("dimension of M", std::to_string(s.manifold_dimension) + "  (P - n = 2d - n)");
  row("residual_max", g6(s.residual_max) + "  (max_i |f_i - y_i|)");
  row("loss", g6(s.loss));
  row("sharpness T", g6(s.sharpness) + "  ((4/n) sum_k c_k (u_k^2 + v_k^2); on M, T >= (4/n) sum_k c_k |w_k| = " +
                         g6(4.0 / s.num_samples * model.column_norms_squared().dot(w.cwiseAbs())) + ")");
  row("||grad_M T||", s.regular ? g6(s.riemannian_gradient_norm) : "undefined: " + s.singular_reason);
  row("cond(J J^T)", g6(s.gram_condition) + (s.regular ? "" : "  (singular point of M)"));
  if (!with_hessian) {
    row("hessian_eigenvalues", "not computed (--no-hessian)");
  } else if (s.regular && s.hessian_extremes) {
    print_hessian_extremes(row, *s.hessian_extremes);
    if (s.hessian_extremes->method == SpectrumMethod::Dense)
      row("hessian_eigenvalues", numbers_inline(s.hessian_eigenvalues, "") + "  (Hess_M T on T_theta M, ascending)");
    else
      row("hessian_eigenvalues", "not listed: the Lanczos path computes the extremes above (--spectrum dense lists all)");
  }
}

}  // namespace zeroloss
