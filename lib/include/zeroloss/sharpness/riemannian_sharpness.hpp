#pragma once
// The sharpness T = (1/n) sum_i ||grad f_i||^2 of any SquaredLossModel on its zero-loss manifold
// and its Riemannian derivatives at one point (THEORY 3; the formulas hold for every squared-loss
// model, THEORY 9):
//   lambda        = (J J^T)^{-1} J grad T                 (Lagrange multipliers)
//   grad_M T      = grad T - J^T lambda = P grad T
//   Hess_M T[v]   = P (Hess T v - sum_i lambda_i Hess f_i v)      for tangent v
//   Hess_M T[v,v] = <v, Hess T v - sum_i lambda_i Hess f_i v>
// The second term is the Weingarten correction: the curvature of M seen by T through its normal
// gradient. Off M these are the derivatives of T restricted to the level set {f = f(theta)}.

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/manifold/manifold_point.hpp"

namespace zeroloss {

// Hess_M T on the tangent space in an orthonormal basis B of ker J: the matrix B^T Hess_M T B.
struct TangentHessian {
  Eigen::MatrixXd basis;   // P x (P - n), orthonormal columns (ManifoldPoint::tangent_basis)
  Eigen::MatrixXd matrix;  // (P - n) x (P - n), symmetrised
};

class RiemannianSharpness {
 public:
  // Throws InputError if theta is malformed for the model.
  RiemannianSharpness(std::shared_ptr<const SquaredLossModel> model, Eigen::VectorXd theta,
                      double max_condition = ManifoldPoint::kDefaultMaxCondition);
  explicit RiemannianSharpness(ManifoldPoint point);

  const ManifoldPoint& point() const { return point_; }

  // T(theta).
  double value() const { return point_.evaluation().sharpness(); }
  // grad T (Euclidean).
  const Eigen::VectorXd& euclidean_gradient() const { return gradient_; }
  // lambda; throws SingularPointError at a singular point.
  const Eigen::VectorXd& multipliers() const;
  // grad_M T, a tangent vector.
  Eigen::VectorXd riemannian_gradient() const;
  // Hess_M T[v] for tangent v; the result is tangent.
  Eigen::VectorXd riemannian_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const;
  // Hess T v - sum_i lambda_i Hess f_i v, not projected: Hess_M T[v] = P of it for tangent v (the
  // Lanczos operator of sharpness/hessian_spectrum.hpp applies P once around it).
  Eigen::VectorXd lagrangian_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const;
  // Hess_M T[v, v] for tangent v.
  double riemannian_hessian_form(const Eigen::Ref<const Eigen::VectorXd>& v) const;
  // Eigenvalues (ascending) of Hess_M T on an orthonormal basis of the whole tangent space ker J
  // (dimension P - n), from P - n Hessian products and a dense symmetric eigensolver: for small
  // models and diagnostics (memory and time grow like P^2 and P^3; the dense limit of
  // numerics/dense_limit.hpp applies, ResourceError beyond it). For the two-layer network in full
  // coordinates this space includes the trivial directions orthogonal to the data (eigenvalue 0);
  // SharpnessGeometry::riemannian_hessian_matrix reports the non-trivial part. Throws
  // SingularPointError at a singular point.
  Eigen::VectorXd riemannian_hessian_eigenvalues() const;
  // The matrix whose eigenvalues these are, with its basis (same costs and errors).
  TangentHessian riemannian_hessian_matrix() const;

 private:
  ManifoldPoint point_;
  Eigen::VectorXd gradient_;
  mutable bool have_lambda_ = false;
  mutable Eigen::VectorXd lambda_;
};

}  // namespace zeroloss
