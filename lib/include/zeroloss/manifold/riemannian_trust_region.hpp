#pragma once
// Riemannian trust-region Newton minimisation of the sharpness T on the zero-loss manifold
// M = {theta : f(theta) = y} of any SquaredLossModel (Absil, Baker and Gallivan 2007, "Trust-region
// methods on Riemannian manifolds"; the algorithm of Manopt's trustregions.m and trs_tCG.m).
//
// At an iterate x on M (THEORY 3, 8; riemannian_sharpness.hpp):
//   g = grad_M T(x) = P grad T,   H[v] = Hess_M T(x)[v] = P (Hess T v - sum_i lambda_i Hess f_i v),
// both from model products (J v, J^T mu, Hessian-vector products and one Cholesky factor of the
// n x n matrix J J^T): no object of size P^2 is formed, one H[v] costs what the model's products
// cost (O(n m p) for the two-layer network in reduced coordinates).
//
// Inner problem: the model m(eta) = T(x) + <g, eta> + 1/2 <eta, H[eta]> is minimised over tangent eta
// with ||eta|| <= Delta by truncated conjugate gradients from eta = 0 (Steihaug-Toint): CG stops at
// negative curvature (<d, H d> <= 0) or at the trust-region boundary (following the last direction
// to ||eta|| = Delta), when the model does not decrease (rounding), or when the residual
// r = g + H eta satisfies ||r|| <= ||g|| min(||g||^theta, kappa) (kappa: linear; theta = 1: the
// superlinear rule that gives local quadratic convergence), or after max_inner_iterations products.
// CG directions are re-projected onto T_x M at each step so rounding does not leave it, and ||eta||^2,
// <eta, d> and ||d||^2 are recomputed rather than updated by CG's recurrences (which assume exact
// orthogonality and drift once ||g|| nears its rounding floor, placing "boundary" steps inside).
//
// Outer step: the candidate is R_x(eta) = the minimum-norm Newton projection of x + eta onto M
// (newton_projection.hpp; a second-order retraction). With
//   rho = (T(x) - T(R_x(eta)) + s) / (-<g, eta> - 1/2 <eta, H[eta]> + s),
//   s = rho_regularization * eps * max(1, |T(x)|)
// (Manopt's rounding-error safeguard: near convergence both differences are at rounding level, and
// the shift sends rho to 1 instead of letting noise reject Newton steps), the step is accepted when
// the regularised model decrease is >= 0 and rho > rho_prime. The radius is divided by 4 when the
// step is rejected or rho < 1/4, doubled (at most to max_radius) when rho > 3/4 and CG stopped at
// the boundary. A candidate the retraction cannot compute (Newton diverges, a singular point) is a
// rejected step (rho = NaN in the log).
//
// Termination: ||grad_M T|| <= gradient_tolerance (absolute; converged), the iteration limit, a
// radius below radius_floor * max(1, ||x||) (no representable step is left), or a gradient stalled at
// its rounding floor: over the last stall_iterations outer iterations ||grad_M T|| never fell below
// half of its smallest earlier value, and no accepted step changed T by more than the rounding
// level s above. Near a minimum Newton halves the gradient at every step; when both tests fail for
// that long the gradient is rounding noise (it is computed from sums of O(1) terms, so its floor is
// about eps times their size, which an absolute tolerance cannot know), rho sits at 1 through the
// regularisation, the radius never shrinks and no other stop would fire. The summary reports the
// floor reached (gradient_floor); the result is then not converged (the tolerance was not met).
//
// For the two-layer network, run it on the network in reduced coordinates (TwoLayerNetwork of
// ReducedCoordinates::reduce(model), THEORY 4) where M has no trivial tangent directions;
// minimize_sharpness_trust_region(TwoLayerModel, ...) below does that and lifts the result.

#include <Eigen/Dense>

#include <memory>
#include <string>
#include <vector>

#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss {

// Why truncated CG stopped (Manopt's stop reasons).
enum class TruncatedCgStop {
  None,                 // no inner iteration ran (the starting point of the log)
  NegativeCurvature,    // <d, H d> <= 0: step to the boundary along d
  TrustRegionBoundary,  // the CG step would leave the region: step to the boundary
  ModelIncreased,       // the model value did not decrease (rounding): previous eta kept
  LinearResidual,       // ||r|| <= kappa ||g||
  SuperlinearResidual,  // ||r|| <= ||g||^(1 + theta)
  MaxInnerIterations,
};
const char* to_string(TruncatedCgStop stop);

enum class TrustRegionTermination {
  GradientTolerance,  // ||grad_M T|| <= gradient_tolerance: converged
  MaxIterations,      // outer iteration limit
  RadiusCollapsed,    // radius below radius_floor * max(1, ||x||)
  GradientStalled,    // ||grad_M T|| at its rounding floor, above the tolerance (see above)
};
const char* to_string(TrustRegionTermination termination);

struct TrustRegionOptions {
  int max_iterations = 500;          // outer iterations, >= 0
  double gradient_tolerance = 1e-12;  // absolute bound on ||grad_M T||, > 0
  // Largest radius Delta_bar (> 0; 0: sqrt(P - n), Manopt's default for an unknown manifold) and the
  // initial radius (0: Delta_bar / 8; otherwise in (0, Delta_bar]).
  double max_radius = 0;
  double initial_radius = 0;
  double rho_prime = 0.1;             // acceptance threshold, in [0, 1/4)
  double rho_regularization = 1e3;    // s above, >= 0
  double kappa = 0.1;                 // tCG linear rule, in (0, 1)
  double theta = 1.0;                 // tCG superlinear rule exponent, > 0
  // tCG products per outer step; 0: max(2 (P - n), 50). More than P - n: CG in floating point loses
  // orthogonality on an ill-conditioned Hessian and needs extra steps to reach the superlinear rule
  // (with exactly P - n the rate near the minimum degraded to linear, factor ~1e-3, in the tests).
  int max_inner_iterations = 0;
  double radius_floor = 1e-15;        // relative radius at which the method stops, > 0
  // Outer iterations without halving ||grad_M T|| and with every accepted change of T at rounding
  // level after which the method stops as GradientStalled; >= 1, or 0 to never stop so.
  int stall_iterations = 20;
  ProjectionOptions projection;       // the retraction (Newton) and the initial projection onto M

  bool is_valid() const { return validation_error().empty(); }
  // Empty when the options are usable; otherwise what is wrong, naming the option.
  std::string validation_error() const;
};

// One row of the iteration log. Row 0 is the (projected) start: rho NaN, no inner iterations.
// Row k > 0 describes outer iteration k: the radius and rho used for its step, the tCG statistics,
// and T and ||grad_M T|| at the iterate after it (unchanged when the step was rejected).
struct TrustRegionIteration {
  int iteration = 0;
  double value = 0;          // T
  double gradient_norm = 0;  // ||grad_M T||
  double radius = 0;         // Delta used for the step
  double rho = 0;            // regularised ratio (NaN: retraction failed or no step)
  double step_norm = 0;      // ||eta||
  int inner_iterations = 0;  // tCG Hessian products
  TruncatedCgStop stop = TruncatedCgStop::None;
  bool accepted = false;
};

struct TrustRegionSummary {
  std::vector<TrustRegionIteration> log;
  TrustRegionTermination termination = TrustRegionTermination::MaxIterations;
  bool converged = false;         // termination == GradientTolerance
  int iterations = 0;             // outer iterations done
  long hessian_products = 0;      // tCG products in total
  int retraction_failures = 0;    // candidates the retraction could not compute
  bool start_projected = false;   // the start was off M and was projected first
  double initial_value = 0, final_value = 0;
  double gradient_norm = 0;       // ||grad_M T|| at the result
  // The smallest ||grad_M T|| seen (GradientStalled: the rounding floor that stopped the method;
  // a tolerance at or above it is reachable from this start).
  double gradient_floor = 0;
  double final_residual = 0;      // max_i |f_i - y_i| at the result
  std::string message;            // one sentence: how it ended
};

struct TrustRegionMinimization {
  Eigen::VectorXd theta;  // the result (model parameters), on M
  TrustRegionSummary summary;
};

// Minimises T over the model's M from theta0 (projected onto M by Newton first if it is off M).
// Throws InputError for invalid options or a malformed theta0, ConvergenceError if the start cannot
// be projected, SingularPointError at a singular start. Non-convergence is reported in the summary.
TrustRegionMinimization minimize_sharpness_trust_region(const std::shared_ptr<const SquaredLossModel>& model,
                                                        const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                                        const TrustRegionOptions& options = {});

// Two-layer network: the same method in reduced coordinates beta = Theta U (P = m p); the result is
// lifted with the components of theta0 orthogonal to span{x_i} (m x d).
struct TwoLayerTrustRegionMinimization {
  Eigen::MatrixXd theta;
  TrustRegionSummary summary;
};
TwoLayerTrustRegionMinimization minimize_sharpness_trust_region(const TwoLayerModel& model,
                                                                const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                                const TrustRegionOptions& options = {});

}  // namespace zeroloss
