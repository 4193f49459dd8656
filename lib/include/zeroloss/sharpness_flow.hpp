#pragma once
// The limiting flow of label-noise SGD (THEORY 7): the Riemannian gradient flow of the sharpness T
// on the zero-loss manifold M,
//
//     d beta / dt = -C grad_M T(beta),        flow time tau = C t,
//
// with C = s^2 / (4 B) when t is SGD time eta^2 k. Integrated in reduced coordinates (pass the
// reduced model and beta; THEORY 4) with an error-controlled method from Boost.Odeint (explicit
// Fehlberg 7(8) by default; Dormand-Prince 5(4); linearly implicit Rosenbrock 4 for stiff runs):
// THEORY 8 records that fixed-step schemes diverge on this stiff flow. After every accepted step the state is put
// back on M by Newton projection (project_newton, a retraction), and the largest constraint
// residual seen before re-projection (the drift) is reported with the accepted and rejected steps.
//
// Steps are shortened to land exactly on the requested sample times, where an observer sees the
// state. The start must lie on M (project with Phi_GF first; projection.hpp).

#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "zeroloss/network.hpp"
#include "zeroloss/projection.hpp"

namespace zeroloss {

// Fehlberg78 and DormandPrince5 are explicit (cheap steps; limited by stability where the flow is
// stiff); Rosenbrock4 is linearly implicit (Kaps-Rentrop, 4th order) with the Jacobian of the
// velocity field from central differences (2 m p evaluations per step): for stiff stretches, e.g.
// saturating activations drifting slowly towards phi' -> 0.
enum class FlowStepper { Fehlberg78, DormandPrince5, Rosenbrock4 };

// "rkf78" / "dopri5" / "rosenbrock4"; throws InputError on anything else.
FlowStepper parse_flow_stepper(const std::string& name);
const char* flow_stepper_name(FlowStepper stepper);

struct FlowOptions {
  double coefficient = 1.0;   // C > 0
  double t_end = 1.0;         // integrate t in [0, t_end]
  double rtol = 1e-9;         // error control per component: |err_i| <= atol + rtol |beta_i|
  double atol = 1e-12;
  double until_gradient = 0;  // > 0: stop once ||grad_M T|| < until_gradient
  FlowStepper stepper = FlowStepper::Fehlberg78;
  std::vector<double> sample_times;  // times in (0, t_end] where the observer is called (any order)
  double initial_step = 0;           // first trial step in t; 0 picks 1e-3 / (C (1 + ||grad_M T||))
  std::uint64_t max_steps = 50'000'000;  // accepted + rejected; exceeding it stops the run
  // Newton re-projection after each accepted step (tolerance relative to max(1, max|y_i|)).
  ProjectionOptions projection;
  // How far (max_i |f_i - y_i| / max(1, max|y_i|)) the start may be from M; it is Newton-polished.
  double start_tolerance = 1e-8;
};

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

struct FlowSummary {
  std::string stepper;
  double t_reached = 0;
  double tau_reached = 0;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;
  double max_constraint_drift = 0;  // largest max_i |f_i - y_i| before a re-projection
  int max_projection_iterations = 0;
  double initial_gradient_norm = 0;
  double final_gradient_norm = 0;
  double final_sharpness = 0;
  double smallest_step = 0, largest_step = 0;  // accepted step sizes in t
  // "reached t_end", "reached ||grad_M T|| < G at t = ...", "stopped by the observer",
  // "step limit reached (...)", "stopped at t = ...: the flow runs into a singular point ...":
  // only the first two mean the requested integration finished.
  std::string termination;
  bool completed = false;
  // The flow heads into a point where J J^T degenerates (e.g. phi' -> 0, which lowers T for
  // activations outside THEORY's assumptions): every step beyond t_reached fails. The result is the
  // last regular point reached; singular_condition is the condition number of J J^T met there.
  bool stopped_at_singular_point = false;
  double singular_condition = 0;
};

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
