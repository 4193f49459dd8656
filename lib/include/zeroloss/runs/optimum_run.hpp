#pragma once
// The run of `zeroloss optimum` for the two-layer network (docs/commands/optimum.md): the files read,
// the minimizer of T on M computed (sharpness/sharpness_minimum.hpp), checked, and written.
//
// Coordinates. From a weights CSV everything is in full coordinates (Theta, m x d) and the point is
// written as a weights CSV. From a reduced-weights manifest (*.json) everything runs on the reduced
// model (Z = X U) and beta (m x p, THEORY 4: T, grad_M T, the Hessian spectrum and the closed form
// depend on Theta only through beta) and the point is written as reduced weights with the data's
// basis U: no m x d matrix is formed. The output name follows the input: `out` must end in ".json"
// exactly when the weights are a manifest (InputError before anything is read otherwise).

#include <string>

#include "zeroloss/presentation/optimum_outputs.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss {

struct OptimumRunOptions {
  ProblemFiles problem;
  std::string out;                   // weights CSV, or a reduced-weights manifest *.json (see above)
  SharpnessMinimumOptions minimum;   // use_closed_form / use_trust_region select the method
  bool lbfgs_requested = false;      // --method lbfgs (names the method in the report)
  bool accept_stationary = false;    // write a stationary point certified not to be a minimum
  std::string log;                   // trust-region iteration log CSV, or empty
};

struct OptimumRun {
  SharpnessMinimum minimum;  // theta: Theta* (m x d), or beta* (m x p) when report.coordinates is Reduced
  OptimumReport report;
};

// InputError unless `out` ends in ".json" exactly when `weights` is a reduced-weights manifest; the
// message says which files a manifest name writes.
void check_optimum_output_name(const std::string& weights, const std::string& out);

// Reads the files (ManifoldPolicy::Require), minimizes, and writes `out` (and `log`) only after the
// point has been verified. Throws ConvergenceError when L-BFGS or the trust region did not
// converge, DomainError when the point is certified not to be a minimum (unless accept_stationary),
// and whatever reading and sharpness_minimum throw; nothing is written then.
OptimumRun run_two_layer_optimum(const OptimumRunOptions& options);

}  // namespace zeroloss
