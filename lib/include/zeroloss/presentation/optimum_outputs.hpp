#pragma once
// What `zeroloss optimum` prints: one JSON object (--json; keys in docs/formats.md) or a table, for
// the two-layer network's minimizer of T (sharpness/sharpness_minimum.hpp) and the diagonal network's
// certified weighted-l1 interpolator (sharpness/diagonal_linear_optimum.hpp).

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>

#include "zeroloss/manifold/riemannian_lbfgs.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss {

// The two-layer optimum with what the command knows besides it.
struct OptimumReport {
  bool lbfgs_requested = false;     // --method lbfgs (not the fallback of a missing closed form)
  double input_sharpness = 0;       // T at the input weights
  double input_residual_max = 0;    // max_i |f_i - y_i| there
  std::string activation;           // names the activation in THEORY's assumptions
  std::string out;                  // the file written
  // Reduced: the input was a reduced-weights manifest and everything ran on beta (m x p); the
  // point written is reduced weights whose perpendicular part is zero or dropped as in the input.
  PointCoordinates coordinates = PointCoordinates::Full;
  bool perpendicular_dropped = false;
};

// "closed-form", "lbfgs" (requested) or "lbfgs-fallback" (no closed form).
std::string optimum_method_name(const SharpnessMinimum& s, bool lbfgs_requested);
nlohmann::ordered_json optimum_json(const SharpnessMinimum& s, const OptimumReport& report);
void print_optimum(std::ostream& out, const SharpnessMinimum& s, const OptimumReport& report);

// `model` is the model's description, `out` the u,v file written.
nlohmann::ordered_json optimum_json(const DiagonalLinearOptimum& r, const std::string& model, const std::string& out);
void print_optimum(std::ostream& out, const DiagonalLinearOptimum& r, const std::string& model, const std::string& file);

// The diagonal network's minimizer of T by Riemannian L-BFGS (`--method lbfgs`, no certificate):
// T there, ||grad_M T||, the residual, the weighted l1 norm (4/n) sum_k c_k |w_k| <= T (equal iff
// u_k v_k = 0 for every k, THEORY 9) and the solver's statistics.
nlohmann::ordered_json optimum_json(const ParameterMinimization& r, const DiagonalLinearNetwork& model,
                                    const std::string& out);
void print_optimum(std::ostream& out, const ParameterMinimization& r, const DiagonalLinearNetwork& model,
                   const std::string& file);

}  // namespace zeroloss
