#pragma once
// Getting onto the zero-loss manifold M = {Theta : f(Theta) = y} (THEORY section 2).
//
//   project_newton:        minimum-norm Gauss-Newton, Theta <- Theta - J^T (J J^T)^{-1} (f - y);
//                          quadratic convergence near M. From Theta = Theta0 + t v (Theta0 on M, v
//                          tangent) it is a second-order retraction: the result differs from the
//                          metric projection by O(t^3).
//   project_nearest:       the nearest point argmin ||Theta' - Theta|| over M, from Newton's method on
//                          the KKT system of the Lagrangian 1/2 ||Theta' - Theta||^2 + mu^T (f - y)
//                          with the exact Lagrangian Hessian I + sum_i mu_i Hess f_i (block diagonal,
//                          block j = I + X^T diag(mu o a_j phi''(r_:j)) X) and a Schur complement on the
//                          multipliers; started at the Newton projection, safeguarded by backtracking
//                          on the KKT residual. The result is verified: Theta' - Theta lies in the
//                          normal space (summary.normal_defect), the Lagrangian Hessian is positive
//                          definite on the tangent space (a strict local minimum of the distance),
//                          and it is not farther than the Newton projection.
//   project_gradient_flow: Phi_GF(Theta), the limit of the gradient flow dTheta/dt = -grad L (the map
//                          of Li-Wang-Arora's limiting-flow theory). See the function for what the
//                          returned point approximates and how well.
//   project_ceres:         Ceres Levenberg-Marquardt on the residuals f - y with the analytic Jacobian.
//
// All methods except project_newton work in reduced coordinates (THEORY 4): the components of each
// theta_j orthogonal to span{x_i} are returned unchanged (they are constant along the gradient flow,
// and the nearest point keeps them because the constraints do not depend on them).
//
// Every method returns a ProjectionSummary and never returns a point it did not verify: a method
// that fails throws ConvergenceError (or SingularPointError at a singular point) with its history.

#include <Eigen/Dense>

#include <limits>
#include <string>
#include <vector>

#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss {

struct ProjectionResult {
  Eigen::MatrixXd theta;
  ProjectionSummary summary;
};

// Minimum-norm Gauss-Newton. Throws ConvergenceError if the residual does not reach the tolerance
// within max_iterations (or grows without bound), SingularPointError if J J^T becomes singular.
ProjectionResult project_newton(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                const ProjectionOptions& options = {});

// Nearest point of M (see the file comment). Throws ConvergenceError if the KKT iteration fails,
// ends at a saddle of the distance, or ends farther away than the Newton projection.
ProjectionResult project_nearest(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                 const ProjectionOptions& options = {});

// Phi_GF(Theta): integrates dTheta/dt = -grad L = -(1/n) J^T (f - y) (time in THEORY's units) in
// reduced coordinates with an error-controlled Runge-Kutta-Fehlberg 7(8) stepper (Boost.Odeint)
// until the Newton correction ||J^T (J J^T)^{-1} (f - y)|| is below ode_tolerance * max(1, ||Theta||),
// then applies project_newton. Near M the remaining flow moves Theta by that Newton correction up to
// second order in it, so the switch costs O(correction^2) -- far below the ODE's own error.
// The returned point approximates the exact limit Phi_GF(Theta) to the accuracy of the integration:
// summary.limit_error_estimate estimates the distance (see ProjectionOptions::estimate_limit_error);
// summary.integration_time, ode_steps and newton_correction describe the run.
// Throws ConvergenceError if the flow diverges or does not approach M within max_ode_steps (e.g. it
// converges to a critical point of L with L > 0).
ProjectionResult project_gradient_flow(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                       const ProjectionOptions& options = {});

// Ceres Levenberg-Marquardt (dense QR) on the n residuals f - y over the m*p reduced weights, with
// the analytic Jacobian (row i, block j = a_j phi'(r_ij) z_i). Throws ConvergenceError if Ceres stops
// above the residual tolerance.
ProjectionResult project_ceres(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                               const ProjectionOptions& options = {});

// Dispatches on method = "newton" | "nearest" | "gradient-flow" | "ceres" (projection_method_names());
// InputError otherwise.
ProjectionResult project(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                         ProjectionMethod method, const ProjectionOptions& options = {});


// max_i |f_i(Theta) - y_i|.
double max_residual(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta);

}  // namespace zeroloss
