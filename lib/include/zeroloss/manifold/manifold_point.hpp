#pragma once
// A point of the zero-loss manifold M = {theta : f(theta) = y} of any SquaredLossModel, with the
// geometry M inherits from the Euclidean metric on parameters (THEORY 2):
//   tangent space  T_theta M = ker J,      tangent projection  P v = v - J^T (J J^T)^{-1} J v,
//   normal space   range J^T,              normal projection   v - P v,
//   geodesic equation  gamma'' = -J^T (J J^T)^{-1} q(gamma'),  q_i(v) = v^T Hess f_i v.
// J J^T comes from the model (its structured form) and is factored once (Cholesky). Where it is
// singular or its condition number exceeds max_condition, theta is not a smooth point of M (of
// dimension P - n) and every solve throws SingularPointError with the condition number: never a NaN.
//
// The point may lie off M (Newton projection and flows evaluate there): projections are then those
// of the level set {f = f(theta)}. The object owns a share of the model, so it cannot dangle.

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

class ManifoldPoint {
 public:
  static constexpr double kDefaultMaxCondition = 1e13;

  // Throws InputError if theta is malformed for the model.
  ManifoldPoint(std::shared_ptr<const SquaredLossModel> model, Eigen::VectorXd theta,
                double max_condition = kDefaultMaxCondition);

  const SquaredLossModel& model() const { return *model_; }
  const std::shared_ptr<const SquaredLossModel>& shared_model() const { return model_; }
  const Eigen::VectorXd& point() const { return theta_; }
  const ModelPoint& evaluation() const { return *eval_; }

  // f(theta) - y and max_i |f_i - y_i|.
  Eigen::VectorXd residuals() const;
  double max_residual() const;

  // J J^T, whether it is regular (positive definite with condition below max_condition), the
  // Cholesky-based reciprocal condition estimate, and the 2-norm condition number (an n x n
  // eigenvalue solve; infinity when J J^T is not positive definite).
  const Eigen::MatrixXd& jacobian_gram() const { return gram_; }
  bool regular() const { return regular_; }
  double reciprocal_condition_estimate() const { return rcond_; }
  double condition() const;
  double max_condition() const { return max_condition_; }

  // (J J^T)^{-1} b; throws SingularPointError at a singular point.
  Eigen::VectorXd solve_gram(const Eigen::Ref<const Eigen::VectorXd>& b) const;
  // lambda = (J J^T)^{-1} J v, so that P v = v - J^T lambda.
  Eigen::VectorXd normal_coefficients(const Eigen::Ref<const Eigen::VectorXd>& v) const;
  Eigen::VectorXd tangent_projection(const Eigen::Ref<const Eigen::VectorXd>& v) const;
  Eigen::VectorXd normal_projection(const Eigen::Ref<const Eigen::VectorXd>& v) const;
  // The Newton step onto M: -J^T (J J^T)^{-1} (f - y) (the minimum-norm Gauss-Newton step).
  Eigen::VectorXd newton_step() const;
  // Acceleration of the geodesic through theta with velocity v (v tangent): -J^T (J J^T)^{-1} q(v).
  Eigen::VectorXd geodesic_acceleration(const Eigen::Ref<const Eigen::VectorXd>& v) const;
  // An orthonormal basis of the tangent space ker J (P x (P - n)): the last P - n columns of the Q
  // factor of a Householder QR of J^T (n products J^T e_i; dense, for small models and
  // diagnostics). Throws SingularPointError at a singular point.
  Eigen::MatrixXd tangent_basis() const;

 private:
  [[noreturn]] void throw_singular() const;

  std::shared_ptr<const SquaredLossModel> model_;
  Eigen::VectorXd theta_;
  std::unique_ptr<const ModelPoint> eval_;
  Eigen::MatrixXd gram_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  double rcond_ = 0;
  double max_condition_;
  bool regular_ = false;
};

}  // namespace zeroloss
