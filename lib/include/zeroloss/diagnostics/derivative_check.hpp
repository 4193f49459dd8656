#pragma once
// Derivative checkers in the Manopt tradition (checkgradient / checkhessian) for any smooth function
// F over the zero-loss manifold M = {theta : f_i(theta) = y_i} of any SquaredLossModel.
//
// The function is given as callbacks: its value, its Riemannian gradient and its Riemannian Hessian
// applied to a tangent vector. At a point x (first moved onto M by the retraction, R(x, 0)) and
// along a random unit tangent direction v:
//
//   gradient check   E1(t) = | f(R(x, t v)) - f(x) - t <g, v> |                   ~ t^2 if g is right
//   Hessian check    E2(t) = | f(R(x, t v)) - f(x) - t <g, v> - t^2/2 <H v, v> |  ~ t^3 if H is right
//
// over log-spaced t. A wrong gradient leaves a term linear in t in E1 (slope 1), a wrong Hessian a
// quadratic one in E2 (slope 2). The slope of log E against log t is fitted on the smallest-t window
// of consecutive points that lie above the rounding floor and fit a straight line (the asymptotic
// regime t -> 0 is the one that matters). The Hessian check needs a second-order retraction: the
// default is the Newton projection of x + t v (minimum-norm Gauss-Newton, THEORY 2, as in
// project_newton), iterated to rounding level; it agrees with the metric projection to O(t^3).
//
// Residuals (all relative, see the fields): tangency of g and of H v (the normal part relative to the
// vector, ||N g|| / ||g|| with N = J^T (J J^T)^{-1} J, denominators floored by the function's scales), symmetry
// <u, H v> - <H u, v> and linearity H(alpha u + beta v) - alpha H u - beta H v of H.
//
// check_sharpness_derivatives runs all of this on the sharpness T with the Riemannian gradient and
// Hessian of RiemannianSharpness (sharpness/riemannian_sharpness.hpp). The two-layer network's
// version (diagnostics/two_layer_derivative_check.hpp) runs it in reduced coordinates (THEORY 4).

#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <memory>

#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

// A smooth function over M as callbacks. Points and tangent vectors are parameter vectors in R^P (the
// model's order). `hessian_apply` may be left empty: then only the gradient checks run.
struct ManifoldFunction {
  std::function<double(const Eigen::VectorXd& x)> value;
  std::function<Eigen::VectorXd(const Eigen::VectorXd& x)> gradient;  // Riemannian gradient at x
  std::function<Eigen::VectorXd(const Eigen::VectorXd& x, const Eigen::VectorXd& v)> hessian_apply;
  // Magnitudes used as floors in the denominators of the relative residuals, so that a gradient
  // that vanishes (a stationary point) does not turn rounding noise into a relative residual of
  // order one. For T: ||grad T|| (Euclidean) and ||Hess T v|| for unit v. 0 = no floor.
  double gradient_scale = 0;
  double hessian_scale = 0;
};

// A retraction R(x, v) onto M (v tangent at x). Must be at least second order for the Hessian check.
using Retraction = std::function<Eigen::VectorXd(const Eigen::VectorXd& x, const Eigen::VectorXd& v)>;

// The default retraction: minimum-norm Gauss-Newton from x + v (at least one step unless the residual
// is exactly 0), iterated until the residual max_i |f_i - y_i| is below 1e-10 * max(1, max |y_i|) and
// stops decreasing fourfold per step (rounding level); returns the iterate with the smallest residual.
// Throws ConvergenceError if that tolerance is not reached within 30 steps, SingularPointError at a
// singular point.
Eigen::VectorXd newton_retraction(const std::shared_ptr<const SquaredLossModel>& model,
                                  const Eigen::Ref<const Eigen::VectorXd>& x, const Eigen::Ref<const Eigen::VectorXd>& v);

struct DerivativeCheckOptions {
  // t = 10^k for k log-spaced from log10_t_min to log10_t_max (points in total), direction ||v|| = 1.
  double log10_t_min = -8;
  double log10_t_max = 0;
  int points = 51;
  // Number of consecutive points in the fitted window (10 of 51 = 1.44 decades, as in Manopt).
  int window = 10;
  // A window "fits a line" when the RMS deviation of log10 E from the fitted line is below this.
  double max_fit_rms = 0.05;
  // E(t) counts as rounding noise when below noise_factor * eps * (|f(x)| + |f(R(x,tv))| + |t <g,v>|
  // + |t^2/2 <Hv,v>|); such points are excluded from the fit.
  double noise_factor = 1e3;
  // Pass when the fitted slope is at least (expected slope - slope_tolerance): 2 for the gradient,
  // 3 for the Hessian (a higher slope is fine: the next Taylor term may vanish along v).
  double slope_tolerance = 0.2;
  // Pass thresholds of the relative residuals.
  double tangency_tolerance = 1e-8;
  double symmetry_tolerance = 1e-8;
  double linearity_tolerance = 1e-8;
  // Seed of the random tangent directions (same seed -> same directions -> same bits). The Gaussian
  // draws fill the parameter vector in the model's order.
  std::uint64_t seed = 0;
  // Retraction; empty = newton_retraction on the model.
  Retraction retraction;
};

// One Taylor-remainder test.
struct TaylorCheck {
  std::string name;               // "gradient" or "hessian"
  bool ran = false;               // false when no Hessian callback was given
  double expected_slope = 0;      // 2 or 3
  std::vector<double> t;          // step sizes, ascending
  std::vector<double> error;      // E(t); NaN where the retraction failed
  std::vector<double> noise_floor;
  std::vector<bool> above_noise;  // used for the fit
  double slope = 0;               // fitted slope (NaN if no window could be fitted)
  double intercept = 0;           // log10 E ~ intercept + slope log10 t on the window
  int fit_begin = -1, fit_end = -1;  // fitted window [fit_begin, fit_end) into t
  double fit_rms = 0;             // RMS deviation in log10 units on the window
  bool at_rounding_level = false; // E(t) below the noise floor at (almost) every t: exact to rounding
  bool passed = false;
  std::string verdict;            // one line: what was measured and why it passes or fails
};

// A residual that should vanish, with the tolerance it was compared against.
struct ResidualCheck {
  std::string name;
  bool ran = false;
  double value = 0;  // relative residual
  double tolerance = 0;
  bool passed = false;
  std::string meaning;  // the formula, for the table
};

struct DerivativeCheckResult {
  DerivativeCheckOptions options;  // the options used (tolerances included); retraction not reported
  double base_point_shift = 0;     // ||R(x, 0) - x||: how far the given point was from M
  double value = 0;                // f at the base point
  double gradient_norm = 0;        // ||g||
  double directional_derivative = 0;  // <g, v>
  double curvature = 0;               // <H v, v> (0 if no Hessian)
  TaylorCheck gradient;
  TaylorCheck hessian;
  // s_g = ManifoldFunction::gradient_scale, s_H = hessian_scale; u, v unit tangent vectors.
  ResidualCheck gradient_tangency;  // ||N g|| / max(||g||, s_g)
  ResidualCheck hessian_tangency;   // ||N H v|| / max(||H v||, s_H)
  ResidualCheck symmetry;           // |<u,Hv> - <Hu,v>| / (||Hu|| + ||Hv|| + s_H)
  ResidualCheck linearity;          // ||H(au+bv) - aHu - bHv|| / (|a| ||Hu|| + |b| ||Hv|| + s_H)
  bool passed() const;
};

// Runs every check of F at x (in R^P, on or near M) on the zero-loss manifold of `model`.
// Throws SingularPointError if J J^T is singular at the base point, InputError on bad sizes.
DerivativeCheckResult check_derivatives(const std::shared_ptr<const SquaredLossModel>& model,
                                        const Eigen::Ref<const Eigen::VectorXd>& x, const ManifoldFunction& f,
                                        const DerivativeCheckOptions& options = {});

// `injected` adds deliberate errors (for demonstrations and for testing the checker itself): the
// gradient gets injected.gradient * ||grad T|| * w, w the check's own unit tangent direction (so the
// error is visible in <g, v>), and the Hessian injected.hessian * s * P v (P the tangent projection,
// s the Hessian scale of ManifoldFunction: visible along every direction). Zero = none.
struct InjectedError {
  double gradient = 0;
  double hessian = 0;
};

// The checks for the sharpness T = (1/n) sum_i ||grad f_i||^2 with RiemannianSharpness's Riemannian
// gradient and Hessian. gradient_scale is ||grad T|| (Euclidean) at the base point; hessian_scale, the
// rounding scale of the Hessian's residuals, is the given value when > 0 (a model's structured bound)
// and otherwise max over four random unit w of ||Hess T w|| + ||sum_i lambda_i Hess f_i w|| (lambda
// the multipliers of grad T), the two terms of the Riemannian Hessian before projection.
DerivativeCheckResult check_sharpness_derivatives(const std::shared_ptr<const SquaredLossModel>& model,
                                                  const Eigen::Ref<const Eigen::VectorXd>& theta,
                                                  const DerivativeCheckOptions& options = {},
                                                  const InjectedError& injected = {}, double hessian_scale = 0);

// Prints a short table: one line per check with the measured slope or residual, the criterion and
// PASS/FAIL, then the Taylor remainders at a few t with the fitted window marked.
void print_derivative_check(std::ostream& out, const DerivativeCheckResult& result);

}  // namespace zeroloss
