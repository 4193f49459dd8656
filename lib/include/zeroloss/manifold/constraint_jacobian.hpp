#pragma once
// The constraint Jacobian J of f(Theta) = y and everything built from it (THEORY section 2):
//   row i of J is grad f_i; its block j is D_ij x_i with D_ij = a_j phi'(r_ij);
//   J J^T = G o (D D^T) (Gram-Hadamard form, O(n^2 m); J J^T is never formed from J);
//   tangent projection P v = v - J^T (J J^T)^{-1} J v, normal projection v - P v.
// J is never formed either: J v and J^T mu cost O(n m d) through X V^T and (D o mu)^T X.
//
// J J^T is factored once (Cholesky). A point where it is singular or numerically so (condition
// number above `max_condition`) is not a smooth point of the zero-loss manifold; every solve then
// throws SingularPointError with the condition number, never a NaN.

#include <Eigen/Dense>

#include "zeroloss/model/network.hpp"

namespace zeroloss {

class ConstraintJacobian {
 public:
  static constexpr double kDefaultMaxCondition = 1e13;

  ConstraintJacobian(const TwoLayerModel& model, const NetworkEvaluation& evaluation,
                     double max_condition = kDefaultMaxCondition);

  // D_ij = a_j phi'(r_ij) (n x m).
  const Eigen::MatrixXd& D() const { return D_; }
  // J v for v (m x d): (J v)_i = sum_j D_ij x_i . v_j.
  Eigen::VectorXd apply(const Eigen::Ref<const Eigen::MatrixXd>& v) const;
  // J^T mu (m x d): block j = sum_i mu_i D_ij x_i.
  Eigen::MatrixXd apply_transpose(const Eigen::Ref<const Eigen::VectorXd>& mu) const;
  // J J^T = G o (D D^T).
  const Eigen::MatrixXd& gram() const { return gram_; }
  // (J J^T)^{-1} b through the Cholesky factor; throws SingularPointError at a singular point.
  Eigen::VectorXd solve_gram(const Eigen::Ref<const Eigen::VectorXd>& b) const;
  // Whether J J^T is positive definite with condition number below max_condition.
  bool regular() const { return regular_; }
  // Cheap reciprocal condition estimate from the Cholesky factor (0 if not positive definite).
  double reciprocal_condition_estimate() const { return rcond_; }
  // 2-norm condition number lambda_max / lambda_min of J J^T (an eigenvalue solve, O(n^3)).
  double condition() const;

  Eigen::MatrixXd tangent_projection(const Eigen::Ref<const Eigen::MatrixXd>& v) const;
  Eigen::MatrixXd normal_projection(const Eigen::Ref<const Eigen::MatrixXd>& v) const;
  // Multipliers lambda = (J J^T)^{-1} J v, so that P v = v - J^T lambda.
  Eigen::VectorXd normal_coefficients(const Eigen::Ref<const Eigen::MatrixXd>& v) const;

  // The explicit n x (m d) matrix, columns in the vectorize() order. For tests and small reports.
  Eigen::MatrixXd dense() const;

 private:
  void throw_singular() const;
  TwoLayerModel model_;  // shares the model's data (O(1) copy)
  Eigen::MatrixXd D_;
  Eigen::MatrixXd gram_;
  Eigen::LLT<Eigen::MatrixXd> llt_;
  double rcond_ = 0;
  double max_condition_;
  bool regular_ = false;
};

}  // namespace zeroloss
