#pragma once
// The Riemannian gradient flow of the sharpness T on the zero-loss manifold of any
// SquaredLossModel (THEORY 7; the limiting flow of label-noise SGD):
//
//     d theta / dt = -C grad_M T(theta),        flow time tau = C t,
//
// with C = s^2 / (4 B) when t is SGD time eta^2 k. Integrated with an error-controlled method from
// Boost.Odeint (explicit Fehlberg 7(8) by default; Dormand-Prince 5(4); linearly implicit
// Rosenbrock 4 for stiff runs): THEORY 8 records that fixed-step schemes diverge on this stiff flow.
// After every accepted step the state is put back on M by Newton projection
// (manifold/newton_projection.hpp, a retraction), and the largest constraint residual seen before
// re-projection (the drift) is reported with the accepted and rejected steps. This is the one
// projected integration loop of the library; the two-layer network's integrate_sharpness_flow
// (dynamics/sharpness_flow.hpp) runs it on its reduced coordinates.
//
// Steps are shortened to land exactly on the requested sample times, where an observer sees the
// state. The start must lie on M (project it first).

#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <memory>

#include "zeroloss/dynamics/flow_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

// The state handed to the observer.
struct ParameterFlowSample {
  double t = 0;
  double tau = 0;                          // C t
  const Eigen::VectorXd* theta = nullptr;  // on M
  double gradient_norm = 0;                // ||grad_M T(theta)||
  double sharpness = 0;                    // T(theta)
  std::uint64_t accepted = 0, rejected = 0;
};

// Return false to stop the integration (e.g. on an interrupt).
using ParameterFlowObserver = std::function<bool(const ParameterFlowSample&)>;

struct ParameterFlowResult {
  Eigen::VectorXd theta;  // final state (on M)
  FlowSummary summary;
};

// The observer (if any) is called at t = 0, at every sample time reached, and at the final time.
// A step whose stages, re-projection or end point cannot be evaluated (non-finite, or singular
// J J^T at a trial point) is undone and retried with a quarter of the step. If the flow cannot be
// continued because it runs into a singular point of M, the integration stops there and says so
// (summary.stopped_at_singular_point). Throws InputError on bad options or a start off M,
// SingularPointError if the start itself is singular, ConvergenceError when the step size
// underflows for any other reason.
ParameterFlowResult integrate_sharpness_flow(const std::shared_ptr<const SquaredLossModel>& model,
                                             const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                             const FlowOptions& options, const ParameterFlowObserver& observer = {});

// -C grad_M T at theta (the right-hand side), for tests and callers that step themselves.
Eigen::VectorXd sharpness_flow_velocity(const std::shared_ptr<const SquaredLossModel>& model,
                                        const Eigen::Ref<const Eigen::VectorXd>& theta, double coefficient);

}  // namespace zeroloss
