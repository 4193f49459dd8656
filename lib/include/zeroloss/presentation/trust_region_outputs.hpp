#pragma once
// What `zeroloss optimum --method trust-region` prints and writes about the trust-region run
// (manifold/riemannian_trust_region.hpp): its iteration log as JSON, as a table and as CSV
// (columns in docs/formats.md), and the diagonal network's result compared with the certified optimum.

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>

#include "zeroloss/manifold/riemannian_trust_region.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"

namespace zeroloss {

// {"termination", "converged", "iterations", "hessian_products", "retraction_failures",
//  "start_projected", "initial_sharpness", "message", "log": [{iteration, sharpness,
//  riemannian_grad_norm, radius, rho, step_norm, inner_iterations, inner_stop, accepted}, ...]}
nlohmann::ordered_json trust_region_json(const TrustRegionSummary& s);
// One line per outer iteration.
void print_trust_region_log(std::ostream& out, const TrustRegionSummary& s);
// Header iteration,sharpness,riemannian_grad_norm,radius,rho,step_norm,inner_iterations,inner_stop,accepted.
std::string trust_region_log_csv(const TrustRegionSummary& s);

// Diagonal network: the trust-region point and the certified weighted-l1 optimum (THEORY 9)
// computed from it; `out` is the u,v file written.
nlohmann::ordered_json diagonal_trust_region_json(const TrustRegionMinimization& r, const DiagonalLinearNetwork& model,
                                                  const DiagonalLinearOptimum& certified, const std::string& out);
void print_diagonal_trust_region(std::ostream& out, const TrustRegionMinimization& r, const DiagonalLinearNetwork& model,
                                 const DiagonalLinearOptimum& certified, const std::string& file);

}  // namespace zeroloss
