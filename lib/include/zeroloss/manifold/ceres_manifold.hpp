#pragma once
// The two-layer network's zero-loss manifold as a ceres::Manifold in its structured form, and
// Riemannian L-BFGS over it for weights Theta (m x d).
//
// The same manifold and the same L-BFGS exist for any SquaredLossModel (manifold/model_manifold.hpp,
// manifold/riemannian_lbfgs.hpp); the L-BFGS loop (re-anchoring, units of F, convergence verdict)
// is one piece of code shared by both. The two-layer manifold below keeps the network's structure:
// Newton's matrix of the retraction is G o (D(u) D(x)^T) (G = X X^T, D = [a_j phi'(r_ij)]) rather
// than J(u) J(x)^T formed from dense Jacobians. Both are the same map; they differ by rounding, and
// Riemannian L-BFGS stops where F changes by rounding only, so its last iterations (and the
// iteration count and Ceres' message that `optimum` prints) depend on those bits. The two-layer
// entry points keep the structured bits; tests/model_manifold_test.cpp checks the generic path
// against them on every parameterised case.
//
// Coordinates. The manifold works in reduced coordinates (THEORY 4): a point is beta (m x p, p = rank X)
// stored as the vector vectorize(beta) in R^{m p} (block j = beta_j); M = {beta : f(beta) = y} has
// tangent dimension m p - n. The components of theta_j orthogonal to span{x_i} are not coordinates of
// this manifold: minimize_on_manifold keeps them at their starting values (T and every quantity of
// THEORY 2-3 do not depend on them).
//
// Tangent basis. PlusJacobian(x) = B(x), an orthonormal basis of T_x M (m p x (m p - n)). L-BFGS
// stores steps and gradient differences expressed in the bases of earlier iterates, so B(x) must vary
// smoothly with x: B(x) is the polar (closest orthonormal) factor of P(x) B_ref, with P(x) the tangent
// projection at x and B_ref an orthonormal basis of T M at a reference point fixed at construction:
//   A = P(x) B_ref,  B(x) = A (A^T A)^{-1/2}.
// It is smooth wherever A has full rank, i.e. while no tangent direction at x is orthogonal to
// T_ref M; basis_quality(x) = sigma_min(A) (the cosine of the largest principal angle between T_x M and
// T_ref M) says how far that is. minimize_on_manifold re-anchors (a new manifold with the current
// point as reference, L-BFGS memory cleared) when the quality drops below a threshold.
//
// Retraction. Plus(x, delta) = x + B(x) delta + J(x)^T mu with mu solved by Newton's method from 0 so
// that f = y (the orthographic retraction: a second-order retraction whose inverse is explicit);
// long steps are computed by continuation along s -> x + s B(x) delta, s from 0 to 1.
// Hence Minus(y, x) = B(x)^T (y - x) exactly inverts Plus for y near x, MinusJacobian(x) = B(x)^T and
// PlusJacobian(x) = B(x). If the orthographic Newton iteration fails (a step beyond the
// retraction's domain), Plus falls back to the minimum-norm Newton projection of x + B(x) delta
// (still a point of M, but then Minus does not invert Plus); if that fails too, Plus returns false
// and Ceres shortens the step.

#include <ceres/manifold.h>
#include <Eigen/Dense>

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "zeroloss/manifold/riemannian_lbfgs.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/manifold/projection.hpp"

namespace zeroloss {

class ZeroLossManifold final : public ceres::Manifold {
 public:
  // `reduced_model` is the model in reduced coordinates (ReducedCoordinates::reduce(model); any model
  // works, its X is then used as is; the manifold keeps a share of it). `reference` (m x p) must lie on M
  // (max residual within options.residual_tolerance, else InputError) and be a regular point
  // (else SingularPointError).
  ZeroLossManifold(const TwoLayerModel& reduced_model, const Eigen::Ref<const Eigen::MatrixXd>& reference,
                   const ProjectionOptions& options = {});
  ~ZeroLossManifold() override;

  int AmbientSize() const override { return ambient_; }
  int TangentSize() const override { return tangent_; }
  bool Plus(const double* x, const double* delta, double* x_plus_delta) const override;
  bool PlusJacobian(const double* x, double* jacobian) const override;  // row-major ambient x tangent
  bool Minus(const double* y, const double* x, double* y_minus_x) const override;
  bool MinusJacobian(const double* x, double* jacobian) const override;  // row-major tangent x ambient

  // B(x) (ambient x tangent, orthonormal columns spanning T_x M). Throws SingularPointError at a
  // singular point and ConvergenceError if P(x) B_ref is rank deficient (x too far from the reference).
  Eigen::MatrixXd tangent_basis(const Eigen::Ref<const Eigen::VectorXd>& x) const;
  // sigma_min(P(x) B_ref) in [0, 1]; 1 at the reference point.
  double basis_quality(const Eigen::Ref<const Eigen::VectorXd>& x) const;
  const Eigen::MatrixXd& reference_basis() const { return reference_basis_; }
  const TwoLayerModel& reduced_model() const { return model_; }
  // Number of Plus calls that needed the Newton-projection fallback (diagnostics).
  long fallback_count() const;

 private:
  struct Cache;
  const Cache& cached(const double* x) const;  // B(x) and the Jacobian data at x, cached for the last x
  // Solves f(base + J(x)^T mu) = y for mu by Newton from *mu; writes the point to *u.
  bool orthographic_solve(const Cache& c, const Eigen::VectorXd& base, double tol, Eigen::VectorXd* mu,
                          Eigen::VectorXd* u) const;

  TwoLayerModel model_;  // shares the model's data (O(1) copy)
  ProjectionOptions options_;
  int ambient_ = 0, tangent_ = 0;
  Eigen::MatrixXd reference_basis_;
  mutable std::mutex mutex_;
  mutable std::unique_ptr<Cache> cache_;
  mutable long fallbacks_ = 0;
};

// An objective on weights in full coordinates: returns F(Theta) and, if `gradient` is not null, writes
// the Euclidean gradient dF/dTheta (m x d) into it.
using ManifoldObjective = std::function<double(const Eigen::MatrixXd& theta, Eigen::MatrixXd* gradient)>;

struct ManifoldMinimizationResult {
  Eigen::MatrixXd theta;  // m x d, the perpendicular components of the start unchanged
  ManifoldMinimizationSummary summary;
};

// Minimizes F over M with Ceres' L-BFGS (GradientProblemSolver) on ZeroLossManifold, from theta0
// (projected onto M first if it is not on M: project_newton, or project_gradient_flow if Newton fails), with the L-BFGS loop
// of manifold/riemannian_lbfgs.hpp (same contract). Reports non-convergence in the summary (converged = false) rather than
// throwing; throws InputError on bad options, SingularPointError at singular points, ConvergenceError if the start cannot be projected.
ManifoldMinimizationResult minimize_on_manifold(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                const ManifoldObjective& objective,
                                                const ManifoldMinimizationOptions& options = {});

// The same for the sharpness T (THEORY 3), evaluated in reduced coordinates by SharpnessGeometry.
ManifoldMinimizationResult minimize_sharpness_on_manifold(const TwoLayerModel& model,
                                                          const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                          const ManifoldMinimizationOptions& options = {});

}  // namespace zeroloss
