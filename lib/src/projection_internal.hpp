#pragma once
// Private helpers shared by the projection methods (not installed, not part of the public API).

#include <Eigen/Dense>

#include <algorithm>
#include <sstream>
#include <string>

#include "zeroloss/network.hpp"
#include "zeroloss/projection.hpp"

namespace zeroloss::detail {

// Absolute residual tolerance: residual_tolerance * max(1, max_i |y_i|).
inline double residual_tolerance(const TwoLayerModel& model, const ProjectionOptions& options) {
  return options.residual_tolerance * std::max(1.0, model.y().cwiseAbs().maxCoeff());
}

// %.3g-style formatting for messages.
inline std::string short_number(double x) {
  std::ostringstream s;
  s.precision(3);
  s << x;
  return s.str();
}

}  // namespace zeroloss::detail
