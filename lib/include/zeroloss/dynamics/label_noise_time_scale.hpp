#pragma once
// The time scale that ties label-noise SGD to its limiting flow (THEORY 7): SGD with step eta,
// batch size B and label noise of variance s^2 follows, on the time t = eta^2 k after k steps,
//   d theta / dt = -C grad_M T,   C = s^2 / (4 B),
// so one step moves the flow time tau = C t by s^2 eta^2 / (4 B). These two functions are the only
// place the constant is written.

namespace zeroloss {

// C = s^2 / (4 B). Throws InputError unless s is finite and >= 0 and B >= 1.
double limiting_flow_coefficient(double label_noise, int batch_size);

// s^2 eta^2 / (4 B), the flow time tau one SGD step moves. Throws InputError unless s, eta are
// finite and >= 0 and B >= 1.
double flow_time_per_step(double label_noise, int batch_size, double step_size);

}  // namespace zeroloss
