#pragma once
// What `zeroloss project` prints, for every model and method: one JSON object (--json; keys in
// docs/formats.md) or a table. The method-specific keys appear for their method only: normal_defect
// and lagrangian_hessian_min_eigenvalue for nearest; integration_time, ode_steps,
// ode_rejected_steps, newton_correction and limit_error_estimate for gradient-flow.

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>

#include "zeroloss/manifold/projection_options.hpp"

namespace zeroloss {

struct ProjectionReport {
  ProjectionSummary summary;
  double sharpness_before = 0;  // T at the input point
  double sharpness_after = 0;   // T at the projected point
  std::string model;            // the model's description; printed when not empty
  std::string distance_norm;    // names the norm of summary.distance_moved, e.g. "||Theta_out - Theta_in||_F"
  std::string out;              // the file written
};

nlohmann::ordered_json projection_json(const ProjectionReport& report);
void print_projection(std::ostream& out, const ProjectionReport& report);

}  // namespace zeroloss
