#include "zeroloss/diagnostics/two_layer_point_summary.hpp"

#include <algorithm>
#include <vector>

#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

namespace zeroloss {

TwoLayerPointSummary summarize_two_layer_point(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                               double manifold_tolerance, bool with_hessian_spectrum,
                                               SpectrumMethod spectrum, const LanczosOptions& lanczos) {
  if (!lanczos.is_valid()) throw InputError("Lanczos options: " + lanczos.invalid_reason());
  TwoLayerPointSummary s;
  s.lanczos_options = lanczos;
  s.n = model.n();
  s.d = model.d();
  s.m = model.m();
  const ReducedCoordinates rc(model.X());
  s.p = rc.rank();
  s.activation = model.activation().name();
  s.manifold_dimension = s.m * s.d - s.n;
  s.nontrivial_tangent_dimension = s.m * s.p - s.n;
  s.data_condition = rc.condition();
  s.hessian_requested = with_hessian_spectrum;

  const SharpnessGeometry full(model, theta);
  const NetworkEvaluation& e = full.evaluation();
  s.loss = e.loss;
  s.residual_max = e.residuals.cwiseAbs().maxCoeff();
  s.manifold_tolerance = manifold_tolerance * std::max(1.0, model.y().cwiseAbs().maxCoeff());
  s.on_manifold = s.residual_max <= s.manifold_tolerance;
  s.sharpness = full.sharpness();
  s.hessian_trace = full.hessian_trace();
  s.preactivation_singular_values = Eigen::BDCSVD<Eigen::MatrixXd>(e.R).singularValues();
  s.feature_singular_values = Eigen::BDCSVD<Eigen::MatrixXd>(e.phi).singularValues();
  s.jjt_condition = full.jacobian().condition();
  const std::vector<double> pre(e.R.data(), e.R.data() + e.R.size());
  s.assumptions = check_assumptions(model.activation(), pre);

  s.singular_condition = s.jjt_condition;
  try {
    const TwoLayerModel reduced = rc.reduce(model);
    const SharpnessGeometry red(reduced, rc.reduce(theta));
    if (!full.jacobian().regular()) full.jacobian().solve_gram(Eigen::VectorXd::Zero(s.n));  // throws
    s.riemannian_gradient_norm = red.riemannian_gradient().norm();
    if (with_hessian_spectrum) {
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
    }
  } catch (const SingularPointError& err) {
    s.regular = false;
    s.singular_reason = err.what();
    s.singular_condition = err.condition();
  }
  return s;
}

}  // namespace zeroloss
