#pragma once
// Options and summary of the Riemannian sharpness flow, for any model (dynamics/riemannian_flow.hpp)
// and for the two-layer network in reduced coordinates (dynamics/sharpness_flow.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/manifold/projection_options.hpp"

namespace zeroloss {

// Fehlberg78 and DormandPrince5 are explicit (cheap steps; limited by stability where the flow is
// stiff); Rosenbrock4 is linearly implicit (Kaps-Rentrop, 4th order) with the Jacobian of the
// velocity field from central differences (2 P evaluations per step, P the number of parameters): for stiff stretches, e.g.
// saturating activations drifting slowly towards phi' -> 0.
enum class FlowStepper { Fehlberg78, DormandPrince5, Rosenbrock4 };

// "rkf78" / "dopri5" / "rosenbrock4"; throws InputError on anything else.
FlowStepper parse_flow_stepper(const std::string& name);
const char* flow_stepper_name(FlowStepper stepper);

struct FlowOptions {
  double coefficient = 1.0;   // C > 0
  double t_end = 1.0;         // integrate t in [0, t_end]
  double rtol = 1e-9;         // error control per component: |err_i| <= atol + rtol |theta_i|
  double atol = 1e-12;
  double until_gradient = 0;  // > 0: stop once ||grad_M T|| < until_gradient
  FlowStepper stepper = FlowStepper::Fehlberg78;
  std::vector<double> sample_times;  // times in (0, t_end] where the observer is called (any order)
  // true: steps are shortened to land on each sample time, where the observer is called. false: no
  // step is shortened for a sample (the integration is that of no samples); the observer is called
  // at the first accepted step at or after each sample time, once per step however many sample
  // times it passes. A logged row then costs a fraction of a step, never an extra step.
  bool land_on_samples = true;
  double initial_step = 0;           // first trial step in t; 0 picks 1e-3 / (C (1 + ||grad_M T||))
  std::uint64_t max_steps = 50'000'000;  // accepted + rejected; exceeding it stops the run
  // Newton re-projection after each accepted step (tolerance relative to max(1, max|y_i|)).
  ProjectionOptions projection;
  // How far (max_i |f_i - y_i| / max(1, max|y_i|)) the start may be from M; it is Newton-polished.
  double start_tolerance = kOnManifoldTolerance;
};

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

}  // namespace zeroloss
