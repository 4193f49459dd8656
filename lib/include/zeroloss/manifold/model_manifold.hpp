#pragma once
// The zero-loss manifold M = {theta : f(theta) = y} of any SquaredLossModel as a ceres::Manifold, so
// that Ceres' solvers (GradientProblemSolver: Riemannian L-BFGS, riemannian_lbfgs.hpp) can move on it.
//
// Coordinates. The ambient space is the model's parameter space R^P (its own parameter order); the
// tangent space at x is ker J(x), of dimension P - n at a regular point (J J^T positive definite).
// A model with directions that no output depends on (the two-layer network's components orthogonal
// to the data) should be wrapped in coordinates without them (reduced coordinates, THEORY 4), or
// those directions stay free tangent directions of M.
//
// Axioms (ceres::Manifold's contract; tests/model_manifold_test.cpp checks them for both models):
//   PlusJacobian(x) = B(x), an orthonormal basis of T_x M (P x (P - n)): B^T B = I, J(x) B = 0;
//   Plus(x, delta) lies on M (max_i |f_i - y_i| within the on-M tolerance), Plus(x, 0) = x;
//   Minus(Plus(x, delta), x) = delta for small delta (Minus is the inverse of Plus near x);
//   MinusJacobian(x) = B(x)^T.
//
// Tangent basis. L-BFGS stores steps and gradient differences expressed in the bases of earlier
// iterates, so B(x) must vary smoothly with x: B(x) is the polar (closest orthonormal) factor of
// P(x) B_ref, with P(x) the tangent projection at x and B_ref an orthonormal basis of T M at a
// reference point fixed at construction (the last P - n columns of the Q factor of J^T there):
//   A = P(x) B_ref,  B(x) = A (A^T A)^{-1/2}.
// It is smooth wherever A has full rank, i.e. while no tangent direction at x is orthogonal to
// T_ref M; basis_quality(x) = sigma_min(A) (the cosine of the largest principal angle between T_x M
// and T_ref M) says how far that is. Riemannian L-BFGS re-anchors (a new manifold with the current
// point as reference, memory cleared) when the quality drops below a threshold.
//
// Retraction. Plus(x, delta) = x + B(x) delta + J(x)^T mu with mu solved by Newton's method from 0
// so that f = y (the orthographic retraction: second order, with an explicit inverse); Newton's
// matrix is J(u) J(x)^T. Long steps are computed by continuation along s -> x + s B(x) delta, s from
// 0 to 1 (K = 1, 2, 4, ..., 256 substeps). Hence Minus(y, x) = B(x)^T (y - x) exactly inverts Plus
// for y near x. If the orthographic Newton iteration fails (a step beyond the retraction's domain),
// Plus falls back to the minimum-norm Newton projection (newton_projection.hpp) of x + B(x) delta:
// still a point of M, but then Minus does not invert Plus (fallback_count() counts these). If that
// fails too, Plus returns false and Ceres shortens the step.
//
// Size. The manifold holds dense matrices of size at most P x P (the full Q factor of J^T at the
// reference, B(x), P(x) B_ref and J(x), n x P): memory grows like P^2 and time like P^3 per new
// point. The dense limit (numerics/dense_limit.hpp) is asked before anything is allocated; a larger model
// is refused with a ResourceError naming P.
//
// Thread safety: the const members may be called from several threads (a mutex guards the cache of
// the last point's basis). The manifold shares ownership of the model: it cannot dangle.

#include <ceres/manifold.h>
#include <Eigen/Dense>

#include <memory>
#include <mutex>

#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

class ModelManifold final : public ceres::Manifold {
 public:
  // `reference` (P entries) must lie on M (max residual within the on-M tolerance of `options`, else
  // InputError) and be a regular point (else SingularPointError); P - n must be positive (else
  // InputError) and P x P doubles must fit the dense limit (else ResourceError).
  ModelManifold(std::shared_ptr<const SquaredLossModel> model, const Eigen::Ref<const Eigen::VectorXd>& reference,
                const ProjectionOptions& options = {});
  ~ModelManifold() override;

  int AmbientSize() const override { return ambient_; }
  int TangentSize() const override { return tangent_; }
  bool Plus(const double* x, const double* delta, double* x_plus_delta) const override;
  bool PlusJacobian(const double* x, double* jacobian) const override;  // row-major ambient x tangent
  bool Minus(const double* y, const double* x, double* y_minus_x) const override;
  bool MinusJacobian(const double* x, double* jacobian) const override;  // row-major tangent x ambient

  // B(x) (P x (P - n), orthonormal columns spanning T_x M). Throws InputError for a point of the
  // wrong size, SingularPointError at a singular point and ConvergenceError if P(x) B_ref is rank
  // deficient (x too far from the reference).
  Eigen::MatrixXd tangent_basis(const Eigen::Ref<const Eigen::VectorXd>& x) const;
  // sigma_min(P(x) B_ref) in [0, 1]; 1 at the reference point, 0 where B(x) is unavailable.
  double basis_quality(const Eigen::Ref<const Eigen::VectorXd>& x) const;
  const Eigen::MatrixXd& reference_basis() const { return reference_basis_; }
  const SquaredLossModel& model() const { return *model_; }
  const std::shared_ptr<const SquaredLossModel>& shared_model() const { return model_; }
  const ProjectionOptions& options() const { return options_; }
  // Number of Plus calls that needed the Newton-projection fallback (diagnostics).
  long fallback_count() const;

 private:
  struct Cache;
  const Cache& cached(const double* x) const;  // B(x) and J(x) at x, cached for the last x
  // Solves f(base + J(x)^T mu) = y for mu by Newton from *mu; writes the point to *u.
  bool orthographic_solve(const Cache& c, const Eigen::VectorXd& base, double tol, Eigen::VectorXd* mu,
                          Eigen::VectorXd* u) const;

  std::shared_ptr<const SquaredLossModel> model_;
  ProjectionOptions options_;
  int ambient_ = 0, tangent_ = 0;
  Eigen::MatrixXd reference_basis_;
  mutable std::mutex mutex_;
  mutable std::unique_ptr<Cache> cache_;
  mutable long fallbacks_ = 0;
};

}  // namespace zeroloss
