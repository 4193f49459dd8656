#include "zeroloss/dynamics/label_noise_time_scale.hpp"

#include <cmath>
#include <string>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

void check(double label_noise, int batch_size) {
  if (!(std::isfinite(label_noise) && label_noise >= 0))
    throw InputError("label-noise scale s = " + std::to_string(label_noise) + ": expected a finite number >= 0");
  if (batch_size < 1) throw InputError("batch size B = " + std::to_string(batch_size) + ": expected B >= 1");
}

}  // namespace

double limiting_flow_coefficient(double label_noise, int batch_size) {
  check(label_noise, batch_size);
  return label_noise * label_noise / (4.0 * batch_size);
}

double flow_time_per_step(double label_noise, int batch_size, double step_size) {
  check(label_noise, batch_size);
  if (!(std::isfinite(step_size) && step_size >= 0))
    throw InputError("step size eta = " + std::to_string(step_size) + ": expected a finite number >= 0");
  return label_noise * label_noise * step_size * step_size / (4.0 * batch_size);
}

}  // namespace zeroloss
