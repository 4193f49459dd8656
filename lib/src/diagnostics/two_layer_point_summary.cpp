#include "zeroloss/diagnostics/two_layer_point_summary.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

namespace zeroloss {

namespace {

// Everything but the Riemannian part, from `at` (the model and point in the coordinates given: Theta
// and X, or beta and Z; R = X Theta^T = Z beta^T, and J J^T = (X X^T) o (D D^T) is the same in both).
// `data` holds the reduced coordinates of the full data X and `d` its number of columns.
TwoLayerPointSummary describe_point(const SharpnessGeometry& at, const ReducedCoordinates& data, int d,
                                    double manifold_tolerance, bool with_hessian_spectrum,
                                    const LanczosOptions& lanczos) {
  if (!lanczos.is_valid()) throw InputError("Lanczos options: " + lanczos.invalid_reason());
  const TwoLayerModel& model = at.model();
  TwoLayerPointSummary s;
  s.lanczos_options = lanczos;
  s.n = model.n();
  s.d = d;
  s.m = model.m();
  s.p = data.rank();
  s.activation = model.activation().name();
  s.manifold_dimension = s.m * s.d - s.n;
  s.nontrivial_tangent_dimension = s.m * s.p - s.n;
  s.data_condition = data.condition();
  s.hessian_requested = with_hessian_spectrum;

  const NetworkEvaluation& e = at.evaluation();
  s.loss = e.loss;
  s.residual_max = e.residuals.cwiseAbs().maxCoeff();
  s.manifold_tolerance = manifold_tolerance * std::max(1.0, model.y().cwiseAbs().maxCoeff());
  s.on_manifold = s.residual_max <= s.manifold_tolerance;
  s.sharpness = at.sharpness();
  s.hessian_trace = at.hessian_trace();
  s.preactivation_singular_values = Eigen::BDCSVD<Eigen::MatrixXd>(e.R).singularValues();
  s.feature_singular_values = Eigen::BDCSVD<Eigen::MatrixXd>(e.phi).singularValues();
  s.jjt_condition = at.jacobian().condition();
  const std::vector<double> pre(e.R.data(), e.R.data() + e.R.size());
  s.assumptions = check_assumptions(model.activation(), pre);
  s.singular_condition = s.jjt_condition;
  return s;
}

// ||grad_M T|| and the spectrum from `red` (reduced coordinates); `at` decides regularity (as in
// describe_point). A singular point is recorded in `s`, not thrown.
void add_riemannian_part(TwoLayerPointSummary& s, const SharpnessGeometry& at, const SharpnessGeometry& red,
                         SpectrumMethod spectrum, const LanczosOptions& lanczos) {
  try {
    if (!at.jacobian().regular()) at.jacobian().solve_gram(Eigen::VectorXd::Zero(s.n));  // throws
    s.riemannian_gradient_norm = red.riemannian_gradient().norm();
    if (!s.hessian_requested) return;
    SpectrumMethod method = resolve_spectrum_method(spectrum, s.nontrivial_tangent_dimension);
    if (method == SpectrumMethod::Dense) {
      try {
        const RiemannianHessianMatrix h = red.riemannian_hessian_matrix(false);
        Eigen::VectorXd all;
        s.hessian_extremes = dense_extremes(h.matrix, lanczos.eigenvalues, &all);
        s.hessian_eigenvalues = std::move(all);
      } catch (const ResourceError&) {
        if (spectrum != SpectrumMethod::Auto) throw;
        method = SpectrumMethod::Lanczos;  // auto: the dense objects do not fit
      }
    }
    if (method == SpectrumMethod::Lanczos) s.hessian_extremes = riemannian_hessian_extremes(red, lanczos);
  } catch (const SingularPointError& err) {
    s.regular = false;
    s.singular_reason = err.what();
    s.singular_condition = err.condition();
  }
}

}  // namespace

TwoLayerPointSummary summarize_two_layer_point(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                               double manifold_tolerance, bool with_hessian_spectrum,
                                               SpectrumMethod spectrum, const LanczosOptions& lanczos) {
  const ReducedCoordinates rc(model.X());
  const SharpnessGeometry full(model, theta);
  TwoLayerPointSummary s = describe_point(full, rc, model.d(), manifold_tolerance, with_hessian_spectrum, lanczos);
  const SharpnessGeometry red(rc.reduce(model), rc.reduce(theta));
  add_riemannian_part(s, full, red, spectrum, lanczos);
  return s;
}

TwoLayerPointSummary summarize_reduced_two_layer_point(const TwoLayerModel& reduced,
                                                       const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                                       const ReducedCoordinates& data, double manifold_tolerance,
                                                       bool with_hessian_spectrum, SpectrumMethod spectrum,
                                                       const LanczosOptions& lanczos) {
  if (reduced.d() != data.rank()) {
    throw InputError("reduced point summary: the reduced model has " + std::to_string(reduced.d()) +
                     " columns, but the data have rank p = " + std::to_string(data.rank()) +
                     "; expected the model reduced with these coordinates (Z = X U)");
  }
  const SharpnessGeometry red(reduced, beta);
  TwoLayerPointSummary s = describe_point(red, data, static_cast<int>(data.basis().rows()), manifold_tolerance,
                                          with_hessian_spectrum, lanczos);
  s.coordinates = PointCoordinates::Reduced;
  add_riemannian_part(s, red, red, spectrum, lanczos);
  return s;
}

}  // namespace zeroloss
