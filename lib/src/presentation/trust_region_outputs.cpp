#include "zeroloss/presentation/trust_region_outputs.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/presentation/printed_numbers.hpp"

namespace zeroloss {

using ojson = nlohmann::ordered_json;

ojson trust_region_json(const TrustRegionSummary& s) {
  ojson log = ojson::array();
  for (const TrustRegionIteration& r : s.log)
    log.push_back({{"iteration", r.iteration},
                   {"sharpness", json_number(r.value)},
                   {"riemannian_grad_norm", json_number(r.gradient_norm)},
                   {"radius", json_number(r.radius)},
                   {"rho", json_number(r.rho)},
                   {"step_norm", json_number(r.step_norm)},
                   {"inner_iterations", r.inner_iterations},
                   {"inner_stop", to_string(r.stop)},
                   {"accepted", r.accepted}});
  return {{"termination", to_string(s.termination)},
          {"converged", s.converged},
          {"iterations", s.iterations},
          {"hessian_products", s.hessian_products},
          {"gradient_floor", json_number(s.gradient_floor)},
          {"retraction_failures", s.retraction_failures},
          {"start_projected", s.start_projected},
          {"initial_sharpness", json_number(s.initial_value)},
          {"message", s.message},
          {"log", log}};
}

void print_trust_region_log(std::ostream& out, const TrustRegionSummary& s) {
  char line[256];
  std::snprintf(line, sizeof line, "%5s  %-22s %-10s %-10s %-10s %-10s %5s  %s\n", "iter", "T", "||grad_M T||",
                "radius", "rho", "||eta||", "tCG", "tCG stop / step");
  out << line;
  for (const TrustRegionIteration& r : s.log) {
    std::snprintf(line, sizeof line, "%5d  %-22.16g %-10.3e %-10.3e %-10.4g %-10.3e %5d  %s%s\n", r.iteration, r.value,
                  r.gradient_norm, r.radius, r.rho, r.step_norm, r.inner_iterations,
                  r.iteration == 0 ? "start" : to_string(r.stop),
                  r.iteration == 0 ? "" : (r.accepted ? ", accepted" : ", rejected"));
    out << line;
  }
}

std::string trust_region_log_csv(const TrustRegionSummary& s) {
  std::ostringstream o;
  o << "iteration,sharpness,riemannian_grad_norm,radius,rho,step_norm,inner_iterations,inner_stop,accepted\n";
  for (const TrustRegionIteration& r : s.log)
    o << r.iteration << ',' << format_double(r.value) << ',' << format_double(r.gradient_norm) << ','
      << format_double(r.radius) << ',' << format_double(r.rho) << ',' << format_double(r.step_norm) << ','
      << r.inner_iterations << ",\"" << to_string(r.stop) << "\"," << (r.accepted ? 1 : 0) << '\n';
  return o.str();
}

ojson diagonal_trust_region_json(const TrustRegionMinimization& r, const DiagonalLinearNetwork& model,
                                 const DiagonalLinearOptimum& certified, const std::string& out) {
  ojson j;
  j["model"] = model.description();
  j["method"] = "trust-region";
  j["sharpness"] = json_number(r.summary.final_value);
  j["riemannian_grad_norm"] = json_number(r.summary.gradient_norm);
  j["residual_max"] = json_number(r.summary.final_residual);
  j["certified_sharpness"] = json_number(certified.sharpness);
  j["sharpness_minus_certified"] = json_number(r.summary.final_value - certified.sharpness);
  j["certified_max_dual_violation"] = json_number(certified.max_dual_violation);
  j["w"] = json_numbers(model.linear_weights(r.theta));
  j["trust_region"] = trust_region_json(r.summary);
  j["out"] = out;
  return j;
}

void print_diagonal_trust_region(std::ostream& out, const TrustRegionMinimization& r, const DiagonalLinearNetwork& model,
                                 const DiagonalLinearOptimum& certified, const std::string& file) {
  auto row = [&](const std::string& key, const std::string& value) { table_row(out, 24, key, value); };
  row("model", model.description());
  row("method", "Riemannian trust-region Newton (truncated CG on the Hessian of T on M)");
  row("how", r.summary.message);
  row("T", g6(r.summary.final_value) + "  (at the written point)");
  row("||grad_M T||", g6(r.summary.gradient_norm));
  row("residual_max", g6(r.summary.final_residual) + "  (max_i |x_i . w - y_i|)");
  row("certified T*", g6(certified.sharpness) + "  (weighted l1 optimum with dual certificate; T - T* = " +
                          g6(r.summary.final_value - certified.sharpness) + ")");
  row("written", file);
  print_trust_region_log(out, r.summary);
}

}  // namespace zeroloss
