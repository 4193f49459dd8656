#include "zeroloss/presentation/projection_outputs.hpp"

#include <cmath>
#include <ostream>

#include "zeroloss/presentation/printed_numbers.hpp"

namespace zeroloss {

nlohmann::ordered_json projection_json(const ProjectionReport& r) {
  const ProjectionSummary& s = r.summary;
  nlohmann::ordered_json j;
  if (!r.model.empty()) j["model"] = r.model;
  j["method"] = to_string(s.method);
  j["converged"] = s.converged;
  j["iterations"] = s.iterations;
  j["initial_residual"] = json_number(s.initial_residual);
  j["final_residual"] = json_number(s.final_residual);
  j["distance_moved"] = json_number(s.distance_moved);
  j["sharpness_before"] = json_number(r.sharpness_before);
  j["sharpness_after"] = json_number(r.sharpness_after);
  j["termination"] = s.termination;
  if (s.method == ProjectionMethod::Nearest) {
    j["normal_defect"] = json_number(s.normal_defect);
    j["lagrangian_hessian_min_eigenvalue"] = json_number(s.lagrangian_hessian_min_eigenvalue);
  }
  if (s.method == ProjectionMethod::GradientFlow) {
    j["integration_time"] = json_number(s.integration_time);
    j["ode_steps"] = s.ode_steps;
    j["ode_rejected_steps"] = s.ode_rejected_steps;
    j["newton_correction"] = json_number(s.newton_correction);
    j["limit_error_estimate"] = json_number(s.limit_error_estimate);
  }
  j["out"] = r.out;
  return j;
}

void print_projection(std::ostream& out, const ProjectionReport& r) {
  const ProjectionSummary& s = r.summary;
  auto row = [&](const std::string& key, const std::string& value) { table_row(out, 24, key, value); };
  if (!r.model.empty()) row("model", r.model);
  row("method", to_string(s.method));
  row("iterations", std::to_string(s.iterations));
  row("initial residual", g6(s.initial_residual) + "  (max_i |f_i - y_i| at the input weights)");
  row("final residual", g6(s.final_residual) + "  (at the written weights)");
  row("distance moved", g6(s.distance_moved) + "  (" + r.distance_norm + ")");
  row("sharpness", g6(r.sharpness_before) + " -> " + g6(r.sharpness_after) + "  (T at input -> output)");
  if (s.method == ProjectionMethod::Nearest) {
    row("normal defect", g6(s.normal_defect) + "  (||P(out - in)|| / ||out - in||; 0 = KKT)");
    row("Lagrangian Hessian", ">= " + g6(s.lagrangian_hessian_min_eigenvalue) +
                                  "  (smallest eigenvalue on the tangent space; > 0 = local minimum of the distance)");
  }
  if (s.method == ProjectionMethod::GradientFlow) {
    row("integration time", g6(s.integration_time) + "  (flow time t of d theta/dt = -grad L)");
    row("ODE steps", std::to_string(s.ode_steps) + " accepted, " + std::to_string(s.ode_rejected_steps) + " rejected");
    row("Newton finish", g6(s.newton_correction) + "  (distance of the final Newton correction)");
    row("limit error estimate",
        (std::isfinite(s.limit_error_estimate) ? g6(s.limit_error_estimate) : std::string("not estimated")) +
            "  (estimated distance to the exact limit Phi_GF)");
  }
  row("termination", s.termination);
  row("written", r.out);
}

}  // namespace zeroloss
