#pragma once
// Getting onto the zero-loss manifold M = {Theta : f(Theta) = y} (THEORY section 2).
//
//   project_newton: minimum-norm Gauss-Newton, Theta <- Theta - J^T (J J^T)^{-1} (f - y);
//                   quadratic convergence near M. From Theta = Theta0 + t v (Theta0 on M, v tangent)
//                   it is a second-order retraction: the result differs from the metric projection
//                   by O(t^3).
//
// Every method returns a ProjectionSummary and never returns a point it did not verify: a method
// that fails throws ConvergenceError (or SingularPointError at a singular point) with its history.

#include <Eigen/Dense>

#include <string>

#include "zeroloss/network.hpp"

namespace zeroloss {

struct ProjectionOptions {
  // Converged when max_i |f_i - y_i| <= residual_tolerance * max(1, max_i |y_i|).
  double residual_tolerance = 1e-13;
  int max_iterations = 50;
  double max_condition = 1e13;  // of J J^T; beyond it the point counts as singular
};

struct ProjectionSummary {
  std::string method;
  int iterations = 0;
  double initial_residual = 0;  // max_i |f_i - y_i| at the start
  double final_residual = 0;    // at the returned point
  double distance_moved = 0;    // ||Theta_out - Theta_in||_F
  bool converged = false;
  std::string termination;      // human-readable reason
};

struct ProjectionResult {
  Eigen::MatrixXd theta;
  ProjectionSummary summary;
};

// Minimum-norm Gauss-Newton. Throws ConvergenceError if the residual does not reach the tolerance
// within max_iterations (or grows without bound), SingularPointError if J J^T becomes singular.
ProjectionResult project_newton(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                const ProjectionOptions& options = {});

// max_i |f_i(Theta) - y_i|.
double max_residual(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta);

}  // namespace zeroloss
