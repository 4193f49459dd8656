#include "zeroloss/diagnostics/point_summary.hpp"

#include <limits>

#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {

PointSummary summarize_point(const std::shared_ptr<const SquaredLossModel>& model,
                             const Eigen::Ref<const Eigen::VectorXd>& theta, bool with_hessian_spectrum,
                             double max_condition, SpectrumMethod spectrum, const LanczosOptions& lanczos) {
  if (!lanczos.is_valid()) throw InputError("Lanczos options: " + lanczos.invalid_reason());
  const RiemannianSharpness s(model, theta, max_condition);
  const ManifoldPoint& p = s.point();
  PointSummary out;
  out.model = model->description();
  out.num_samples = model->num_samples();
  out.num_parameters = model->num_parameters();
  out.manifold_dimension = out.num_parameters - out.num_samples;
  const Eigen::VectorXd r = p.residuals();
  out.residual_max = r.cwiseAbs().maxCoeff();
  out.loss = r.squaredNorm() / (2.0 * out.num_samples);
  out.sharpness = s.value();
  out.euclidean_gradient_norm = s.euclidean_gradient().norm();
  out.regular = p.regular();
  out.gram_condition = p.condition();
  out.riemannian_gradient_norm = std::numeric_limits<double>::quiet_NaN();
  try {
    out.riemannian_gradient_norm = s.riemannian_gradient().norm();
    out.lanczos_options = lanczos;
    if (with_hessian_spectrum) {
      SpectrumMethod method = resolve_spectrum_method(spectrum, out.manifold_dimension);
      if (method == SpectrumMethod::Dense) {
        try {
          const TangentHessian h = s.riemannian_hessian_matrix();
          out.hessian_extremes = dense_extremes(h.matrix, lanczos.eigenvalues, &out.hessian_eigenvalues);
        } catch (const ResourceError&) {
          if (spectrum != SpectrumMethod::Auto) throw;
          method = SpectrumMethod::Lanczos;  // auto: the dense objects do not fit
        }
      }
      if (method == SpectrumMethod::Lanczos) out.hessian_extremes = riemannian_hessian_extremes(s, lanczos);
    }
  } catch (const SingularPointError& e) {
    out.singular_reason = e.what();
  }
  return out;
}

}  // namespace zeroloss
