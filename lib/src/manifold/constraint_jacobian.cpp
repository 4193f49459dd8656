#include "zeroloss/manifold/constraint_jacobian.hpp"

#include <limits>
#include <sstream>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

ConstraintJacobian::ConstraintJacobian(const TwoLayerModel& model, const NetworkEvaluation& evaluation,
                                       double max_condition)
    : model_(model), max_condition_(max_condition) {
  D_ = evaluation.dphi * model.a().asDiagonal();
  gram_ = model.gram().cwiseProduct(D_ * D_.transpose());
  llt_.compute(gram_);
  if (llt_.info() == Eigen::Success) {
    rcond_ = llt_.rcond();
    regular_ = rcond_ > 0 && 1.0 / rcond_ <= max_condition_;
  } else {
    rcond_ = 0;
    regular_ = false;
  }
}

void ConstraintJacobian::throw_singular() const {
  const double cond = condition();
  std::ostringstream s;
  s.precision(3);
  s << "J J^T is singular or numerically singular at this point (condition number " << cond << ", limit "
    << max_condition_ << "): the zero-loss set is not a smooth manifold of dimension m*d - n = "
    << model_.m() * model_.d() - model_.n() << " here. Typical causes: linearly dependent data rows, "
    << "more samples than the network can fit (n > m*rank X), or activations that are flat on the data (phi' ~ 0)";
  throw SingularPointError(s.str(), cond);
}

Eigen::VectorXd ConstraintJacobian::apply(const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  const Eigen::MatrixXd S = model_.X() * v.transpose();  // S_ij = x_i . v_j
  return D_.cwiseProduct(S).rowwise().sum();
}

Eigen::MatrixXd ConstraintJacobian::apply_transpose(const Eigen::Ref<const Eigen::VectorXd>& mu) const {
  return (mu.asDiagonal() * D_).transpose() * model_.X();
}

Eigen::VectorXd ConstraintJacobian::solve_gram(const Eigen::Ref<const Eigen::VectorXd>& b) const {
  if (!regular_) throw_singular();
  return llt_.solve(b);
}

double ConstraintJacobian::condition() const {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(gram_, Eigen::EigenvaluesOnly);
  const double lo = es.eigenvalues().minCoeff(), hi = es.eigenvalues().maxCoeff();
  if (!(lo > 0)) return std::numeric_limits<double>::infinity();
  return hi / lo;
}

Eigen::VectorXd ConstraintJacobian::normal_coefficients(const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  return solve_gram(apply(v));
}

Eigen::MatrixXd ConstraintJacobian::tangent_projection(const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  return v - apply_transpose(normal_coefficients(v));
}

Eigen::MatrixXd ConstraintJacobian::normal_projection(const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  return apply_transpose(normal_coefficients(v));
}

Eigen::MatrixXd ConstraintJacobian::dense() const {
  const int n = model_.n(), m = model_.m(), d = model_.d();
  Eigen::MatrixXd J(n, static_cast<Eigen::Index>(m) * d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) J.block(i, static_cast<Eigen::Index>(j) * d, 1, d) = D_(i, j) * model_.X().row(i);
  return J;
}

}  // namespace zeroloss
