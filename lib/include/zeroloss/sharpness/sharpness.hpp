#pragma once
// Sharpness T(Theta) = tr Hess L on the zero-loss manifold and its Euclidean and Riemannian
// derivatives (THEORY section 3):
//   T = (1/n) sum_i ||x_i||^2 sum_j a_j^2 phi'(r_ij)^2,
//   grad T: block j = X^T c_j,      c_ij = (2/n) ||x_i||^2 a_j^2 phi'(r_ij) phi''(r_ij),
//   Hess T: block j = (2/n) sum_i ||x_i||^2 a_j^2 (phi''^2 + phi' phi''')(r_ij) x_i x_i^T,
//   grad_M T = grad T - J^T lambda,  lambda = (J J^T)^{-1} J grad T,
//   Hess_M T[v, v] = sum_ij w_ij (x_i . v_j)^2,
//      w_ij = (2/n) ||x_i||^2 a_j^2 (phi''^2 + phi' phi''')(r_ij) - lambda_i a_j phi''(r_ij),
//   Hess_M T[v] = P (W-weighted block operator applied to v).
// Off the manifold these are the derivatives of the function T (not of tr Hess L, which differs by
// a residual term; hessian_trace() gives the full trace).
//
// A SharpnessGeometry evaluates the network once at Theta and answers every question about T
// there. Work in reduced coordinates (pass the reduced model and beta) for speed: every quantity is
// the same, and the spectra and norms agree exactly.

#include <Eigen/Dense>

#include <string>

#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss {

// The Riemannian Hessian of T as a dense symmetric matrix on an orthonormal basis of the
// non-trivial tangent part T_Theta M intersect span(X)^m (dimension m*p - n).
struct RiemannianHessianMatrix {
  Eigen::MatrixXd basis;        // (m d) x k, orthonormal columns, vectorize() order
  Eigen::MatrixXd matrix;       // k x k, basis^T Hess_M T basis
  Eigen::VectorXd eigenvalues;  // ascending
};

// Throws ResourceError (numerics/dense_limit.hpp) unless the objects riemannian_hessian_matrix forms
// fit the dense limit, for n samples, m neurons, data rank p and d coordinates per neuron (d = p for
// a reduced model): J in reduced coordinates, the full Q factor of its transpose, the tangent basis
// B and H B, the k x k matrix twice, and B in the m d coordinates, k = m p - n. `way_out` ends the
// message (what to do instead).
void require_dense_riemannian_hessian(int n, int m, int p, int d, const std::string& way_out);

class SharpnessGeometry {
 public:
  // Throws InputError on malformed weights.
  SharpnessGeometry(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                    double max_condition = ConstraintJacobian::kDefaultMaxCondition);

  const TwoLayerModel& model() const { return model_; }
  const Eigen::MatrixXd& point() const { return theta_; }
  const NetworkEvaluation& evaluation() const { return eval_; }
  const ConstraintJacobian& jacobian() const { return jac_; }

  // T(Theta).
  double sharpness() const;
  // The full tr Hess L = T + (1/n) sum_i (f_i - y_i) tr Hess f_i (equals T on M).
  double hessian_trace() const;
  // Euclidean gradient of T (m x d).
  Eigen::MatrixXd euclidean_gradient() const;
  // Euclidean Hessian of T applied to v (m x d).
  Eigen::MatrixXd euclidean_hessian_apply(const Eigen::Ref<const Eigen::MatrixXd>& v) const;
  // Lagrange multipliers lambda (n); throws SingularPointError at a singular point.
  const Eigen::VectorXd& multipliers() const;
  // Riemannian gradient grad_M T (m x d), a tangent vector.
  Eigen::MatrixXd riemannian_gradient() const;
  // The weights w_ij of the Riemannian Hessian form (n x m).
  Eigen::MatrixXd curvature_weights() const;
  // Hess_M T[v] for a tangent vector v (m x d); the result is tangent.
  Eigen::MatrixXd riemannian_hessian_apply(const Eigen::Ref<const Eigen::MatrixXd>& v) const;
  // Hess_M T[v, v] = sum_ij w_ij (x_i . v_j)^2 for a tangent vector v.
  double riemannian_hessian_form(const Eigen::Ref<const Eigen::MatrixXd>& v) const;
  // Dense Riemannian Hessian on the non-trivial tangent part and its spectrum. Cost
  // O((m p)^2 n + (m p - n)^3): for reports and diagnostics, not for inner loops. Without
  // `with_eigenvalues` the eigenvalues are left empty (the caller diagonalises the matrix itself, as
  // sharpness/hessian_spectrum.hpp's dense_extremes does).
  RiemannianHessianMatrix riemannian_hessian_matrix(bool with_eigenvalues = true) const;

 private:
  // Applies the block-diagonal operator with weights W (n x m): block j = X^T diag(W_:j) X v_j.
  Eigen::MatrixXd weighted_block_apply(const Eigen::MatrixXd& W, const Eigen::Ref<const Eigen::MatrixXd>& v) const;
  Eigen::MatrixXd hessian_weights() const;  // (2/n) ||x_i||^2 a_j^2 (phi''^2 + phi' phi''')

  TwoLayerModel model_;  // shares the model's data (O(1) copy)
  Eigen::MatrixXd theta_;
  NetworkEvaluation eval_;
  ConstraintJacobian jac_;
  mutable bool have_lambda_ = false;
  mutable Eigen::VectorXd lambda_;
};

// ||grad_M T|| (Frobenius) at theta: the same bits as
// SharpnessGeometry(model, theta, max_condition).riemannian_gradient().norm(), in less memory (the
// object keeps the full evaluation for the Hessians; this releases each n x m matrix after use:
// about 4 instead of 10 of them at the peak, 8 MB each at n = 100, m = 10^4). Throws
// SingularPointError where J J^T is singular, InputError on malformed weights.
double riemannian_gradient_norm(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                double max_condition = ConstraintJacobian::kDefaultMaxCondition);

}  // namespace zeroloss
