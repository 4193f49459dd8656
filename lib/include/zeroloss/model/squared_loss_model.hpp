#pragma once
// The model interface: what the geometry of the zero-loss manifold needs from a model trained with
// the squared loss (THEORY 1-3, 9).
//
// A model maps parameters theta in R^P to outputs f(theta) in R^n and is fitted to labels y with
//   L(theta) = 1/(2n) sum_i (f_i(theta) - y_i)^2.
// Its zero-loss manifold is M = {theta : f(theta) = y}, of dimension P - n where the constraint
// Jacobian J (n x P, row i = grad f_i) has full row rank. The sharpness studied on M is
//   T(theta) = (1/n) sum_i ||grad f_i(theta)||^2 = tr(J J^T) / n,
// which equals tr Hess L on M for every squared-loss model (THEORY 3).
//
// Everything the library computes on M -- tangent and normal projections, Newton projection,
// geodesics, T and its Riemannian gradient and Hessian, the Riemannian flow -- is written once
// against this interface (manifold/, sharpness/, dynamics/). A model supplies, at one point, the
// outputs and a handful of products with J and with the second derivatives of f; it never has to
// form J, and the library never forms a P x P object from it.
//
// The interface in the style of ceres::Manifold: SquaredLossModel describes the model and evaluates
// it at a point; the ModelPoint it returns answers every question about that point. Five members of
// ModelPoint are pure virtual; the others have correct default implementations built from them
// (costing n products each) that a model overrides when its structure gives something cheaper.
//
// Axioms (tests/model_interface_test.cpp checks them for every model with finite differences):
//   jacobian_apply(v)              = J v               = d/dt f(theta + t v) at t = 0;
//   jacobian_transpose_apply(mu)   = J^T mu, the adjoint: <J v, mu> = <v, J^T mu>;
//   jacobian()                     = J (n x P, row i = grad f_i), dense: only for the methods that need
//                                    the matrix itself (Ceres' Levenberg-Marquardt, dense checks);
//   jacobian_gram()                = J J^T (n x n, symmetric positive semi-definite);
//   constraint_hessian_apply(mu,v) = sum_i mu_i Hess f_i v = d/dt J(theta + t v)^T mu at t = 0;
//   constraint_hessian_forms(v)_i  = v^T Hess f_i v;
//   constraint_hessian_blocks(mu)  = the diagonal blocks B_1, B_2, ... of sum_i mu_i Hess f_i, which is
//                                    block diagonal with them (consecutive blocks, sizes summing to P);
//   sharpness_gradient()           = grad T = (2/n) sum_i Hess f_i grad f_i;
//   sharpness_hessian_apply(v)     = Hess T v = d/dt grad T(theta + t v) at t = 0.
// A ModelPoint is immutable and owns (or shares) everything it reads: it stays valid after the
// model that made it is destroyed.

#include <Eigen/Dense>

#include <memory>
#include <string>
#include <vector>

namespace zeroloss {

// Everything a model computes at one parameter vector theta. Vectors in R^P are in the model's own
// parameter order (documented by the model).
class ModelPoint {
 public:
  virtual ~ModelPoint() = default;

  // f(theta) in R^n.
  virtual const Eigen::VectorXd& outputs() const = 0;
  // J v in R^n for v in R^P.
  virtual Eigen::VectorXd jacobian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const = 0;
  // J^T mu in R^P for mu in R^n.
  virtual Eigen::VectorXd jacobian_transpose_apply(const Eigen::Ref<const Eigen::VectorXd>& mu) const = 0;
  // sum_i mu_i Hess f_i v in R^P: the contraction of the constraints' second derivatives with
  // multipliers mu (the Weingarten map of M is built from it).
  virtual Eigen::VectorXd constraint_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                                   const Eigen::Ref<const Eigen::VectorXd>& v) const = 0;
  // Hess T v in R^P, T = (1/n) sum_i ||grad f_i||^2.
  virtual Eigen::VectorXd sharpness_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const = 0;

  // J (n x P), dense. Default: row i is (J^T e_i)^T.
  virtual Eigen::MatrixXd jacobian() const;
  // J J^T (n x n). Default: column i is J (J^T e_i).
  virtual Eigen::MatrixXd jacobian_gram() const;
  // (v^T Hess f_i v)_i in R^n. Default: <v, constraint_hessian_apply(e_i, v)>.
  virtual Eigen::VectorXd constraint_hessian_forms(const Eigen::Ref<const Eigen::VectorXd>& v) const;
  // sum_i mu_i Hess f_i as consecutive symmetric diagonal blocks (it is zero outside them): what the
  // nearest-point projection factors. Default: one dense P x P block from P products (refused by
  // the dense limit, numerics/dense_limit.hpp, for large P). The two-layer network has m blocks of size d
  // (neurons do not interact), the diagonal network 2d blocks of size 1.
  virtual std::vector<Eigen::MatrixXd> constraint_hessian_blocks(const Eigen::Ref<const Eigen::VectorXd>& mu) const;
  // grad T in R^P. Default: (2/n) sum_i constraint_hessian_apply(e_i, J^T e_i).
  virtual Eigen::VectorXd sharpness_gradient() const;
  // ||grad f_i||^2 in R^n (the diagonal of J J^T). Default: from jacobian_gram().
  virtual Eigen::VectorXd sample_gradient_norms_squared() const;

  int num_samples() const { return static_cast<int>(outputs().size()); }
  // T = (1/n) sum_i ||grad f_i||^2.
  double sharpness() const;
};

class SquaredLossModel {
 public:
  virtual ~SquaredLossModel() = default;

  // n, the number of samples (constraints).
  virtual int num_samples() const = 0;
  // P, the number of parameters.
  virtual int num_parameters() const = 0;
  // y in R^n.
  virtual const Eigen::VectorXd& labels() const = 0;
  // The model at theta. Throws InputError if theta does not have P finite entries.
  virtual std::unique_ptr<const ModelPoint> evaluate(const Eigen::Ref<const Eigen::VectorXd>& theta) const = 0;
  // One line for messages and summaries, e.g. "two-layer network (n = 3, m = 4, d = 5)".
  virtual std::string description() const = 0;

  // max_i |f_i(theta) - y_i|.
  double max_residual(const Eigen::Ref<const Eigen::VectorXd>& theta) const;
  // Throws InputError naming `what` unless theta has P finite entries.
  void check_parameters(const Eigen::Ref<const Eigen::VectorXd>& theta, const std::string& what = "parameters") const;
};

}  // namespace zeroloss
