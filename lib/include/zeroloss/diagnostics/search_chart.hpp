#pragma once
// The retraction chart of the adversarial convexity search (diagnostics/convexity.hpp,
// search_negative_curvature) and the first derivatives, in that chart, of the two functions the
// search's objective is made of: lambda(c) = lambda_min(Hess_M T) and g(c) = ||grad_M T|| at x(c)
// (THEORY 3, 6; docs/convexity.md section 3).
//
// Chart: c in R^k -> x(c) = project(center + B c), B (N x k) orthonormal tangent vectors at the
// centre: a basis of the whole non-trivial tangent space (ConvexityGeometry::tangent_basis) where the
// dense spectrum runs, or of a subspace of it (subspace_chart_basis) above; project the Newton
// projection onto M (ConvexityGeometry::project).
//
// Gradient of lambda where lambda_min is simple (CurvatureGradient::Eigenvector). Let u be the unit
// eigenvector of lambda_min at x(c) and, for c' near c, w(c') = P_{x(c')} u its tangent projection at
// x(c') (ConvexityGeometry::tangent_projection). The Rayleigh quotient of the frozen eigenvector,
//     rho(c') = Hess_M T(x(c'))[w(c'), w(c')] / ||w(c')||^2      (ConvexityGeometry::hessian_form),
// is at least lambda(c') (lambda_min is the minimum of the quotient over the tangent space at x(c'))
// and equals it at c' = c (w(c) = u). So rho - lambda has a minimum at c and, lambda being
// differentiable there, grad lambda(c) = grad rho(c): componentwise v^T (dH/dc_i) v
// (Hellmann-Feynman). rho is a smooth function of c' whatever the spectrum does, and its gradient is
// taken here by CENTRAL DIFFERENCES of rho (not analytically: the differential of the Newton
// projection away from the chart's centre has no closed form, and the derivative of the Hessian
// form along it would need phi'''' and the derivative of the multipliers). Each coordinate costs two
// projections, two tangent projections and two quadratic forms (O(n m p) each for the two-layer
// network), no eigendecomposition: one gradient is one dense eigenpair at c plus 2k cheap point
// evaluations, where the differences of lambda_min itself (CurvatureGradient::EigenvalueDifferences)
// need 2k dense k x k eigendecompositions.
//
// Where lambda_min is not simple (gap lambda_2 - lambda_1 <= simple_gap * max_k |lambda_k|) lambda is
// not differentiable, and the computed eigenvector is determined only to within residual / gap
// (Davis-Kahan; the dense pair's residual is about 1e-15 max_k |lambda_k|). There the gradient falls
// back to central differences of the dense lambda_min. The default relative gap 1e-10 keeps that
// angle below about 1e-5, so the gradient's error (2 sin(angle) |dH/dc|) stays below about 2e-5 of
// its scale. The quotient rho is smooth however close lambda_2 comes, so its differences need no
// larger gap; where the two smallest eigenvalues cross within a difference step, the differences of
// lambda_min (the fallback) are no better, they average the two branches. Measured on the Figure 1
// problem (docs/performance.md section 17): gaps 1e-6 and 1e-10 give the same search results (0: the
// negative rungs to 0.2%), with 61%, 38% (and 0%) of the gradients by the fallback.
//
// The gradient of g is the central difference of g at the same projected points (one Riemannian
// gradient each); the stage objective (barrier or penalty in g) applies the chain rule to both.

#include <Eigen/Dense>

#include <atomic>
#include <functional>
#include <random>

#include "zeroloss/diagnostics/convexity_geometry.hpp"
#include "zeroloss/manifold/projection_options.hpp"

namespace zeroloss {

// How the gradient of lambda_min in the chart is computed.
enum class CurvatureGradient {
  Eigenvector,            // central differences of the frozen eigenvector's Rayleigh quotient (above)
  EigenvalueDifferences,  // central differences of the dense lambda_min (the fallback)
};
// "eigenvector", "eigenvalue-differences".
const char* to_string(CurvatureGradient method);

// The retraction chart c -> project(center + B c).
struct SearchChart {
  Eigen::MatrixXd center;  // a point of M (working coordinates)
  Eigen::MatrixXd basis;   // N x k, orthonormal tangent vectors at center (see Chart above)
  // x(c); throws Error when the projection fails.
  Eigen::MatrixXd point(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::VectorXd>& c,
                        const ProjectionOptions& projection) const;
};

// lambda_min of Hess_M T at a point with its unit eigenvector and the next eigenvalue.
struct SmallestEigenpair {
  double value = 0;
  double next = 0;         // lambda_2 (+infinity when the tangent dimension is 1)
  double scale = 0;        // max_k |lambda_k|
  Eigen::MatrixXd vector;  // unit, tangent at the point, working coordinates
  double residual = 0;     // ||A y - lambda y|| of the dense pair (A the k x k matrix)
  // Lanczos only (empty for the dense path): the run's eigenvectors, the warm start of the next run
  // at a nearby point (sharpness/hessian_spectrum.hpp, "Warm start").
  LanczosWarmStart lanczos_vectors;
  // Whether lambda_min is simple: next - value > relative_gap * scale.
  bool simple(double relative_gap) const { return next - value > relative_gap * scale; }
};
// By the geometry's spectrum method (ConvexityGeometry::spectrum_method): from the dense matrix of
// ConvexityGeometry::hessian (dense_extremes of sharpness/hessian_spectrum.hpp: one
// tridiagonalisation and inverse iteration for the vector), or by Lanczos for the two smallest and
// the largest eigenvalue (scale = max(|lambda_min|, |lambda_max|); the gap test then rests on the
// Lanczos lambda_2). Throws at a singular point, and ConvergenceError when Lanczos did not converge.
// `near` (Lanczos only): the pair at a nearby point, whose vectors start the runs (a warm start; the
// search passes the previous evaluation of the same chart); without it the runs start cold.
SmallestEigenpair smallest_eigenpair(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x,
                                     const SmallestEigenpair* near = nullptr);

// lambda_min and lambda_max of Hess_M T at x by the geometry's spectrum method (the dense values are
// those of every eigenvalue; Lanczos: the certified extremes, ConvergenceError when not converged).
struct CurvatureExtremes {
  double lambda_min = 0, lambda_max = 0;
};
CurvatureExtremes curvature_extremes(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x);

// The basis of a subspace chart at x (N x k, orthonormal, flattened tangent vectors; k = min(dimension,
// tangent dimension)): the tangent projections of `eigenvector` (may be empty) and of grad_M T, then
// uniform random tangent directions (random_tangent_direction), orthonormalised in that order
// (Gram-Schmidt, twice). The search uses it where a basis of the whole tangent space would be an
// N x (N - n) matrix (docs/convexity.md, "The search at size"): the chart then explores the directions
// along which lambda_min and ||grad_M T|| change first and a random sample of the rest, and every
// stage re-centres it with new random directions.
Eigen::MatrixXd subspace_chart_basis(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x,
                                     const Eigen::Ref<const Eigen::MatrixXd>& eigenvector, int dimension,
                                     std::mt19937_64& rng);

struct ChartGradientOptions {
  double step = 1e-6;         // central-difference step in chart coordinates
  double simple_gap = 1e-10;  // relative gap below which lambda_min counts as not simple
  CurvatureGradient method = CurvatureGradient::Eigenvector;  // EigenvalueDifferences forces the fallback
  ProjectionOptions projection{};
  const std::atomic<bool>* interrupt = nullptr;  // set: the gradient is abandoned (ok = false)
};

// d lambda / dc and d g / dc at c.
struct ChartGradient {
  bool ok = false;                 // false: some coordinate had neither side projected (or interrupted)
  CurvatureGradient method = CurvatureGradient::Eigenvector;  // the route actually taken
  Eigen::VectorXd lambda_min;      // d lambda_min / dc
  Eigen::VectorXd grad_norm;       // d ||grad_M T|| / dc
  long evaluations = 0;            // perturbed points evaluated (2 k unless a projection failed)
};

// Called for every perturbed point at which the dense lambda_min was computed (the fallback route
// only), with the point, its g and its lambda_min: the search keeps its best feasible point this way.
using ChartPointObserver = std::function<void(const Eigen::MatrixXd& x, double grad_norm, double lambda_min)>;

// The gradients at chart coordinates c, where x = x(c) has gradient norm g and smallest eigenpair
// `pair` (the caller has them from the value at c). One-sided differences where one side's
// projection fails.
ChartGradient chart_gradient(const ConvexityGeometry& geometry, const SearchChart& chart,
                             const Eigen::Ref<const Eigen::VectorXd>& c, double g, const SmallestEigenpair& pair,
                             const ChartGradientOptions& options, const ChartPointObserver& observe = {});

}  // namespace zeroloss
