#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {

RiemannianSharpness::RiemannianSharpness(std::shared_ptr<const SquaredLossModel> model, Eigen::VectorXd theta,
                                         double max_condition)
    : RiemannianSharpness(ManifoldPoint(std::move(model), std::move(theta), max_condition)) {}

RiemannianSharpness::RiemannianSharpness(ManifoldPoint point)
    : point_(std::move(point)), gradient_(point_.evaluation().sharpness_gradient()) {}

const Eigen::VectorXd& RiemannianSharpness::multipliers() const {
  if (!have_lambda_) {
    lambda_ = point_.normal_coefficients(gradient_);
    have_lambda_ = true;
  }
  return lambda_;
}

Eigen::VectorXd RiemannianSharpness::riemannian_gradient() const {
  return gradient_ - point_.evaluation().jacobian_transpose_apply(multipliers());
}

Eigen::VectorXd RiemannianSharpness::lagrangian_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  const ModelPoint& e = point_.evaluation();
  return e.sharpness_hessian_apply(v) - e.constraint_hessian_apply(multipliers(), v);
}

Eigen::VectorXd RiemannianSharpness::riemannian_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  return point_.tangent_projection(lagrangian_hessian_apply(v));
}

double RiemannianSharpness::riemannian_hessian_form(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  return v.dot(lagrangian_hessian_apply(v));
}

}  // namespace zeroloss
