#pragma once
// Options and summary shared by every method that puts a point onto the zero-loss manifold, for
// any model (manifold/newton_projection.hpp) and for the two-layer network's methods
// (manifold/projection.hpp).

#include <Eigen/Dense>

#include <algorithm>
#include <limits>
#include <string>

namespace zeroloss {

enum class ProjectionMethod {
  Newton,        // minimum-norm Gauss-Newton (newton_projection.hpp): a second-order retraction
  Nearest,       // the metric projection, KKT Newton (nearest_point_projection.hpp)
  GradientFlow,  // Phi_GF, the limit of the loss's gradient flow (gradient_flow_projection.hpp)
  Ceres,         // Ceres' Levenberg-Marquardt on f - y (ceres_projection.hpp)
};

// "newton", "nearest", "gradient-flow", "ceres": the names the command line and the files use
// (projection_method.hpp parses them).
const char* to_string(ProjectionMethod method);

struct ProjectionOptions {
  // Converged when max_i |f_i - y_i| <= residual_tolerance * max(1, max_i |y_i|).
  double residual_tolerance = 1e-13;
  int max_iterations = 50;
  double max_condition = 1e13;  // of J J^T; beyond it the point counts as singular

  // project_nearest: converged when also ||P (Theta' - Theta)|| <= optimality_tolerance * max(1, ||Theta' - Theta||)
  // (P the tangent projection at Theta'), i.e. Theta' - Theta is normal to M up to that tolerance.
  double optimality_tolerance = 1e-11;

  // project_gradient_flow: relative and absolute error tolerance of the adaptive Runge-Kutta-Fehlberg
  // 7(8) integrator; the flow is integrated until the remaining Newton correction is below
  // ode_tolerance * max(1, ||Theta||), then finished by Newton.
  double ode_tolerance = 1e-11;
  long max_ode_steps = 2000000;  // accepted steps; beyond them ConvergenceError
  // Also integrate at a 100x looser tolerance and report the difference of the two limits as an
  // estimate of the distance between the returned point and the exact Phi_GF (summary.limit_error_estimate).
  bool estimate_limit_error = true;
};

// The on-M tolerance: a point is on M when max_i |f_i - y_i| <= this, i.e.
// options.residual_tolerance * max(1, max_i |y_i|) (relative to the labels' scale, absolute below 1).
// Every projection stops on it and every "is this point on M" check uses it.
inline double absolute_residual_tolerance(const ProjectionOptions& options, const Eigen::Ref<const Eigen::VectorXd>& labels) {
  return options.residual_tolerance * std::max(1.0, labels.size() ? labels.cwiseAbs().maxCoeff() : 0.0);
}

struct ProjectionSummary {
  ProjectionMethod method = ProjectionMethod::Newton;
  int iterations = 0;           // Newton / KKT / LM iterations (gradient flow: Newton finish iterations)
  double initial_residual = 0;  // max_i |f_i - y_i| at the start
  double final_residual = 0;    // at the returned point
  double distance_moved = 0;    // ||Theta_out - Theta_in||_F
  bool converged = false;
  std::string termination;      // human-readable reason

  // nearest only (NaN otherwise): ||P (Theta' - Theta)|| / ||Theta' - Theta|| at the result,
  // the sine of the angle between Theta' - Theta and the normal space (0 when Theta is on M).
  double normal_defect = std::numeric_limits<double>::quiet_NaN();
  // project_nearest only: smallest eigenvalue of the Lagrangian Hessian I + sum_i mu_i Hess f_i over
  // the (non-trivial) tangent space at the result (> 0: strict local minimum of the distance).
  double lagrangian_hessian_min_eigenvalue = std::numeric_limits<double>::quiet_NaN();

  // project_gradient_flow only (NaN / 0 otherwise).
  double integration_time = std::numeric_limits<double>::quiet_NaN();  // flow time t integrated (THEORY units)
  long ode_steps = 0;            // accepted steps of the adaptive integrator
  long ode_rejected_steps = 0;   // rejected (step-size reduced) attempts
  double newton_correction = std::numeric_limits<double>::quiet_NaN();  // ||Theta_out - Theta(t)|| of the Newton finish
  // Estimated ||Theta_out - Phi_GF(Theta_in)||: difference to the limit computed at a 100x looser
  // ODE tolerance (an upper estimate: the returned run is the more accurate one). NaN if not estimated.
  double limit_error_estimate = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace zeroloss
