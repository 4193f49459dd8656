#include "zeroloss/diagnostics/point_summary.hpp"

#include <limits>

#include "zeroloss/errors.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {

PointSummary summarize_point(const std::shared_ptr<const SquaredLossModel>& model,
                             const Eigen::Ref<const Eigen::VectorXd>& theta, bool with_hessian_spectrum,
                             double max_condition) {
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
    if (with_hessian_spectrum) out.hessian_eigenvalues = s.riemannian_hessian_eigenvalues();
  } catch (const SingularPointError& e) {
    out.singular_reason = e.what();
  }
  return out;
}

}  // namespace zeroloss
