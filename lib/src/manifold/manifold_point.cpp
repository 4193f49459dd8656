#include "zeroloss/manifold/manifold_point.hpp"

#include <limits>
#include <sstream>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

ManifoldPoint::ManifoldPoint(std::shared_ptr<const SquaredLossModel> model, Eigen::VectorXd theta,
                             double max_condition)
    : model_(std::move(model)), theta_(std::move(theta)), max_condition_(max_condition) {
  if (!model_) throw InputError("ManifoldPoint: no model");
  eval_ = model_->evaluate(theta_);
  gram_ = eval_->jacobian_gram();
  llt_.compute(gram_);
  if (llt_.info() == Eigen::Success) {
    rcond_ = llt_.rcond();
    regular_ = rcond_ > 0 && 1.0 / rcond_ <= max_condition_;
  }
}

Eigen::VectorXd ManifoldPoint::residuals() const { return eval_->outputs() - model_->labels(); }

double ManifoldPoint::max_residual() const { return residuals().cwiseAbs().maxCoeff(); }

double ManifoldPoint::condition() const {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(gram_, Eigen::EigenvaluesOnly);
  const double lo = es.eigenvalues().minCoeff(), hi = es.eigenvalues().maxCoeff();
  if (!(lo > 0)) return std::numeric_limits<double>::infinity();
  return hi / lo;
}

void ManifoldPoint::throw_singular() const {
  const double cond = condition();
  std::ostringstream s;
  s.precision(3);
  s << "J J^T is singular or numerically singular at this point (condition number " << cond << ", limit "
    << max_condition_ << "): the zero-loss set of the " << model_->description()
    << " is not a smooth manifold of dimension P - n = " << model_->num_parameters() - model_->num_samples()
    << " here. Typical causes: dependent data rows, more samples than the model can fit, or a point where "
       "some gradient grad f_i vanishes or several become dependent";
  throw SingularPointError(s.str(), cond);
}

Eigen::VectorXd ManifoldPoint::solve_gram(const Eigen::Ref<const Eigen::VectorXd>& b) const {
  if (!regular_) throw_singular();
  return llt_.solve(b);
}

Eigen::VectorXd ManifoldPoint::normal_coefficients(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  return solve_gram(eval_->jacobian_apply(v));
}

Eigen::VectorXd ManifoldPoint::tangent_projection(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  return v - eval_->jacobian_transpose_apply(normal_coefficients(v));
}

Eigen::VectorXd ManifoldPoint::normal_projection(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  return eval_->jacobian_transpose_apply(normal_coefficients(v));
}

Eigen::VectorXd ManifoldPoint::newton_step() const {
  return -eval_->jacobian_transpose_apply(solve_gram(residuals()));
}

Eigen::VectorXd ManifoldPoint::geodesic_acceleration(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  return -eval_->jacobian_transpose_apply(solve_gram(eval_->constraint_hessian_forms(v)));
}

Eigen::MatrixXd ManifoldPoint::tangent_basis() const {
  const Eigen::Index n = eval_->num_samples(), P = theta_.size(), k = P - n;
  if (!regular_) throw_singular();
  if (k <= 0) return Eigen::MatrixXd(P, 0);
  Eigen::MatrixXd Jt(P, n);  // the gradients grad f_i as columns
  for (Eigen::Index i = 0; i < n; ++i) Jt.col(i) = eval_->jacobian_transpose_apply(Eigen::VectorXd::Unit(n, i));
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(Jt);
  return Eigen::MatrixXd(qr.householderQ()).rightCols(k);
}

}  // namespace zeroloss
