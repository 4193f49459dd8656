#include "zeroloss/runs/optimum_run.hpp"

#include <utility>

#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/weights.hpp"
#include "zeroloss/presentation/trust_region_outputs.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

// The minimizer from `weights` (Theta with the full model, or beta with the reduced one), checked
// before anything is written, and the report of the input point.
OptimumRun minimize_checked(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& weights,
                            const OptimumRunOptions& o) {
  OptimumRun r;
  SharpnessMinimum& s = r.minimum;
  s = sharpness_minimum(model, weights, o.minimum);
  if (s.trust_region && !s.trust_region->converged)
    throw ConvergenceError("Riemannian trust-region Newton did not converge: " + s.trust_region->message +
                           "; no output written (raise --max-iterations or --tr-gradient-tolerance?)");
  if (!s.closed_form && !s.fallback_summary.converged) {
    throw ConvergenceError(std::string(o.lbfgs_requested ? "Riemannian L-BFGS did not converge: "
                                                         : "no closed form (rank X < n) and the Riemannian L-BFGS "
                                                           "fallback did not converge: ") +
                           s.fallback_summary.termination + "; no output written (raise --max-iterations?)");
  }
  if (s.kind == OptimumKind::StationaryPoint && !o.accept_stationary) {
    throw DomainError("the point found is not a minimum of T: " + s.verdict + " (" + s.message +
                      "); no output written. Pass --accept-stationary to write it anyway");
  }
  r.report = OptimumReport{o.lbfgs_requested, SharpnessGeometry(model, weights).sharpness(),
                           max_residual(model, weights), model.activation().name(), o.out};
  return r;
}

}  // namespace

void check_optimum_output_name(const std::string& weights, const std::string& out) {
  const bool reduced_in = is_reduced_weights_path(weights), reduced_out = is_reduced_weights_path(out);
  if (reduced_in && !reduced_out) {
    throw InputError("--out " + out + ": the weights " + weights + " are reduced weights, so the optimum is written as "
                     "reduced weights too (an m x d CSV is what they avoid): give --out a manifest name NAME.json, "
                     "which writes NAME.json, NAME.csv and NAME_basis.csv");
  }
  if (!reduced_in && reduced_out) {
    throw InputError("--out " + out + ": a name ending in .json is read back as a reduced-weights manifest, but from "
                     "the weights CSV " + weights + " the optimum is written as a weights CSV; give --out a .csv "
                     "name (reduced weights are written from reduced weights, --weights R.json)");
  }
}

OptimumRun run_two_layer_optimum(const OptimumRunOptions& o) {
  check_optimum_output_name(o.problem.weights, o.out);
  OptimumRun r;
  if (is_reduced_weights_path(o.problem.weights)) {
    bool perpendicular_dropped = false;
    const DynamicsSetup setup = reduced_start_dynamics(o.problem, perpendicular_dropped, ManifoldPolicy::Require);
    r = minimize_checked(setup.reduced, setup.beta0, o);
    r.report.coordinates = PointCoordinates::Reduced;
    r.report.perpendicular_dropped = perpendicular_dropped;
    write_reduced_weights(o.out, r.minimum.theta, setup.reduced.a(), setup.coordinates.basis(), perpendicular_dropped);
  } else {
    const LoadedProblem P = load_problem(o.problem);
    r = minimize_checked(P.model, P.weights.theta, o);
    write_weights_csv(o.out, r.minimum.theta, P.model.a());
  }
  if (!o.log.empty() && r.minimum.trust_region) write_file_atomic(o.log, trust_region_log_csv(*r.minimum.trust_region));
  return r;
}

}  // namespace zeroloss
