#pragma once
// Phi_GF: the limit of the gradient flow of the loss, for any SquaredLossModel (THEORY 2a and the
// limiting-flow map of Li, Wang, Arora 2022):
//   d theta / dt = -grad L(theta) = -(1/n) J^T (f(theta) - y)     (time in THEORY's units).
// Integrated with an error-controlled Runge-Kutta-Fehlberg 7(8) stepper (Boost.Odeint, relative and
// absolute tolerance options.ode_tolerance) until the Newton correction ||J^T (J J^T)^{-1} (f - y)||
// is below ode_tolerance * max(1, ||theta||), then finished by project_newton. Near M the remaining
// flow moves theta by that Newton correction up to second order in it, so the switch costs
// O(correction^2), far below the integrator's own error.
//
// The returned point approximates the exact limit to the accuracy of the integration: with
// options.estimate_limit_error the flow is integrated again at a 100x looser tolerance and the
// distance between the two limits is reported (summary.limit_error_estimate, an upper estimate).
// summary.integration_time, ode_steps, ode_rejected_steps and newton_correction describe the run.
//
// Throws InputError on a malformed start or ode_tolerance <= 0; ConvergenceError if the flow
// diverges (non-finite parameters, or the residual grows by 1e8), if the adaptive integrator cannot
// make progress, or if it does not approach M within options.max_ode_steps accepted steps (e.g. it
// converges to a critical point of L with L > 0); SingularPointError from the Newton finish.

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

ParameterProjection project_gradient_flow(const std::shared_ptr<const SquaredLossModel>& model,
                                          const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                          const ProjectionOptions& options = {});

}  // namespace zeroloss
