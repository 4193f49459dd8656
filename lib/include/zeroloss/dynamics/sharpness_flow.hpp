#pragma once
// The limiting flow of label-noise SGD (THEORY 7) for the two-layer network, in reduced
// coordinates (pass the reduced model and beta; THEORY 4):
//
//     d beta / dt = -C grad_M T(beta),        flow time tau = C t.
//
// integrate_sharpness_flow runs the library's one projected integration loop
// (dynamics/riemannian_flow.hpp: error-controlled Boost.Odeint steppers, Newton re-projection after
// every accepted step, drift and step statistics) on the network as a SquaredLossModel
// (model/two_layer_network.hpp); options and summary are in dynamics/flow_options.hpp. The start
// must lie on M (project with Phi_GF first; manifold/projection.hpp).

#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "zeroloss/dynamics/flow_options.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/manifold/projection.hpp"

namespace zeroloss {

// The state handed to the observer.
struct FlowSample {
  double t = 0;
  double tau = 0;                // C t
  const Eigen::MatrixXd* beta = nullptr;  // m x p, on M
  double gradient_norm = 0;      // ||grad_M T(beta)||
  double sharpness = 0;          // T(beta)
  std::uint64_t accepted = 0, rejected = 0;
};

// Return false to stop the integration (e.g. on an interrupt).
using FlowObserver = std::function<bool(const FlowSample&)>;

struct FlowResult {
  Eigen::MatrixXd beta;  // final state (on M)
  FlowSummary summary;
};

// The observer (if any) is called at t = 0, at every sample time reached, and at the final time.
// A step whose stages, re-projection or end point cannot be evaluated (non-finite, or singular
// J J^T at a trial point) is undone and retried with a quarter of the step. If the flow cannot be
// continued because it runs into a singular point of M, the integration stops there and says so
// (summary.stopped_at_singular_point). Throws InputError on bad options or a start off M,
// SingularPointError if the start itself is singular, ConvergenceError when the step size
// underflows for any other reason.
FlowResult integrate_sharpness_flow(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta0,
                                    const FlowOptions& options, const FlowObserver& observer = {});

// -C grad_M T at beta (the right-hand side), for tests and callers that step themselves.
Eigen::MatrixXd sharpness_flow_velocity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                        double coefficient);

}  // namespace zeroloss
