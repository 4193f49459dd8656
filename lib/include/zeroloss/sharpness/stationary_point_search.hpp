#pragma once
// Stationary points of the sharpness T on the zero-loss manifold M of any SquaredLossModel, of every
// index (minima, saddles, maxima): a Riemannian Levenberg-Marquardt method on the merit function
// ||grad_M T||^2 (THEORY 3, 5).
//
// At x on M let g = grad_M T(x), B an orthonormal basis of T_x M and A = B^T Hess_M T B (dense, k x k,
// k = P - n). Near a stationary point x*, grad_M T(R_x(B y)) = B A y + g + O(|y|^2 + |g| |y|) for the
// Newton retraction R_x (the Riemannian Hessian is the covariant derivative of the gradient, and the
// two differ by terms proportional to g), so the residual g has "Jacobian" A in the basis B. The
// Levenberg-Marquardt step solves (A^2 + mu I) y = -A B^T g through the eigen-decomposition
// A = V diag(l) V^T:  y = -V diag(l / (l^2 + mu)) V^T B^T g. With mu -> 0 this is Newton's step
// -A^+ B^T g on the eigen-directions with l != 0, whatever the signs of l: unlike a descent method it
// is attracted by saddles as much as by minima. Directions with l = 0 (for instance the trivial
// directions of the two-layer network in full coordinates, THEORY 3) get no step. The trial point
// x + B y is put back on M by Newton's projection (manifold/newton_projection.hpp) and accepted when
// ||grad_M T|| decreased; then mu shrinks threefold, else it doubles (gentler than tenfold both ways,
// which alternated accept/reject at one level on ill-conditioned draws).
//
// Convergence: ||grad_M T|| <= gradient_tolerance ||grad T|| (||grad T|| the Euclidean gradient: the
// Riemannian gradient is the difference grad T - J^T lambda of two vectors of that size, so its
// rounding floor scales with it and the test is invariant under rescaling T). The spectrum of A at
// the end (every eigenvalue, ascending) gives the inertia of the point.
//
// Cost per iteration: k + 1 Riemannian-Hessian products, a k x k symmetric eigen-decomposition and
// a Newton projection per trial; the dense Hessian is refused beyond the dense limit (numerics/dense_limit.hpp).
// For the two-layer network pass the model in reduced coordinates (model/reduced_coordinates.hpp), whose
// tangent space is the non-trivial part (no structural zero eigenvalues).

#include <Eigen/Dense>

#include <memory>
#include <string>
#include <vector>

#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

struct StationaryPointSearchOptions {
  double gradient_tolerance = 1e-10;  // converged when ||grad_M T|| <= this ||grad T||
  int max_iterations = 200;           // accepted or rejected trial steps in all
  double initial_damping = 1e-4;      // mu_0 = this max_k l_k^2
  double max_damping = 1e8;           // relative to max_k l_k^2: beyond it the search has stalled
  ProjectionOptions projection;       // the start and every trial point are projected with these
  bool is_valid() const;
  // Why not valid, naming the field ("" when valid).
  std::string invalid_reason() const;
};

enum class StationaryPointTermination {
  Converged,       // ||grad_M T|| <= gradient_tolerance ||grad T||
  Stalled,         // no trial decreased ||grad_M T|| up to max_damping: a local minimum of the merit
                   // function that is not a stationary point of T, or the rounding floor above the tolerance
  IterationLimit,  // max_iterations trials without converging
  Failed,          // the start could not be projected onto M, or the point became singular
};
// "converged", "stalled", "iteration limit", "failed".
const char* to_string(StationaryPointTermination termination);

struct StationaryPointSearchSummary {
  StationaryPointTermination termination = StationaryPointTermination::Failed;
  std::string message;       // why it failed (Failed), else empty
  Eigen::VectorXd theta;     // the last accepted point (on M); empty when Failed at the start
  double sharpness = 0;      // T there
  double gradient_norm = 0;  // ||grad_M T|| there
  double euclidean_gradient_norm = 0;  // ||grad T|| there
  int iterations = 0;        // trial steps (accepted and rejected)
  int accepted = 0;          // accepted steps
  Eigen::VectorXd hessian_eigenvalues;  // of Hess_M T on T_theta M at the end, ascending (empty when Failed)
  std::vector<double> gradient_history;  // ||grad_M T|| at the start and after each accepted step
  bool converged() const { return termination == StationaryPointTermination::Converged; }
};

// One search from theta0 (projected onto M first). Throws InputError for invalid options or a
// malformed theta0, ResourceError beyond the dense limit; a projection that fails or a singular point
// ends the search with termination Failed (never an exception, so that many starts can be run).
StationaryPointSearchSummary find_stationary_point(const std::shared_ptr<const SquaredLossModel>& model,
                                                   const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                                   const StationaryPointSearchOptions& options = {});

}  // namespace zeroloss
