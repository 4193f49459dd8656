#pragma once
// The Riemannian L-BFGS loop (internal): Ceres' GradientProblemSolver with re-anchoring, against
// the manifold and objective of an LbfgsManifoldProblem (riemannian_lbfgs.cpp: ModelManifold for
// any model; the two-layer entry points run it on the reduced network). See
// manifold/riemannian_lbfgs.hpp for the contract.

#include <ceres/manifold.h>
#include <Eigen/Dense>

#include "zeroloss/manifold/riemannian_lbfgs.hpp"

namespace zeroloss::detail {

// What the loop needs about one manifold and one objective, on ambient vectors x in R^P.
class LbfgsManifoldProblem {
 public:
  virtual ~LbfgsManifoldProblem() = default;
  virtual int ambient_size() const = 0;
  // F(x) and, if gradient is not null, its Euclidean gradient (P entries). May throw zeroloss::Error.
  virtual double value(const Eigen::VectorXd& x, Eigen::VectorXd* gradient) const = 0;
  // ||P(x) g||, the norm of the tangent projection of g at x.
  virtual double tangent_norm(const Eigen::VectorXd& x, const Eigen::VectorXd& g) const = 0;
  // max_i |f_i(x) - y_i|.
  virtual double max_residual(const Eigen::VectorXd& x) const = 0;
  // A new manifold anchored at x (x on M), handed to Ceres, which takes ownership.
  virtual ceres::Manifold* anchored_manifold(const Eigen::VectorXd& x) const = 0;
  // The basis quality (in [0, 1]) at x of a manifold this object made.
  virtual double basis_quality(const ceres::Manifold& manifold, const Eigen::VectorXd& x) const = 0;
};

// Minimizes F from *x (on M, within on_manifold_tolerance) and leaves the result in *x. Fills every
// field of *summary except start_projected (iterations, reanchors and evaluations are added to).
void run_riemannian_lbfgs(const LbfgsManifoldProblem& problem, const ManifoldMinimizationOptions& options,
                          double on_manifold_tolerance, Eigen::VectorXd* x, ManifoldMinimizationSummary* summary);

}  // namespace zeroloss::detail
