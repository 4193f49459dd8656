#include "zeroloss/sharpness/riemannian_sharpness.hpp"

#include <string>

#include "zeroloss/numerics/dense_limit.hpp"

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

TangentHessian RiemannianSharpness::riemannian_hessian_matrix() const {
  const ModelPoint& e = point_.evaluation();
  const Eigen::Index n = e.num_samples(), P = point_.point().size(), k = P - n;
  require_dense_memory(static_cast<long double>(P) * n + 3.0L * P * P,
                       "the dense Riemannian Hessian of T on the tangent space (P - n = " + std::to_string(k) +
                           " square, with the Q factor of J, P = " + std::to_string(P) + " square)",
                       "The spectrum needs it; use a smaller model");
  if (!point_.regular()) point_.solve_gram(Eigen::VectorXd::Zero(n));  // throws SingularPointError
  TangentHessian h;
  if (k <= 0) return h;
  h.basis = point_.tangent_basis();
  Eigen::MatrixXd HB(P, k);
  for (Eigen::Index c = 0; c < k; ++c) HB.col(c) = riemannian_hessian_apply(h.basis.col(c));
  h.matrix = h.basis.transpose() * HB;
  h.matrix = 0.5 * (h.matrix + h.matrix.transpose()).eval();
  return h;
}

Eigen::VectorXd RiemannianSharpness::riemannian_hessian_eigenvalues() const {
  const TangentHessian h = riemannian_hessian_matrix();
  if (h.matrix.size() == 0) return Eigen::VectorXd(0);
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(h.matrix, Eigen::EigenvaluesOnly).eigenvalues();
}

double RiemannianSharpness::riemannian_hessian_form(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  return v.dot(lagrangian_hessian_apply(v));
}

}  // namespace zeroloss
