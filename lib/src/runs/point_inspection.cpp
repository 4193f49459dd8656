#include "zeroloss/runs/point_inspection.hpp"

#include <utility>

#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"

namespace zeroloss {

PointInspection inspect_two_layer_point(const ProblemFiles& files, const PointInspectionOptions& o) {
  PointInspection out;
  if (is_reduced_weights_path(files.weights)) {
    bool perpendicular_dropped = false;
    DynamicsSetup setup = reduced_start_dynamics(files, perpendicular_dropped, ManifoldPolicy::Warn);
    out.summary = summarize_reduced_two_layer_point(setup.reduced, setup.beta0, setup.coordinates,
                                                    o.manifold_tolerance, o.hessian_spectrum, o.spectrum, o.lanczos);
    out.summary.perpendicular_dropped = perpendicular_dropped;
    out.diagnostics = std::move(setup.problem.diagnostics);
    return out;
  }
  LoadedProblem P = load_problem(files, ManifoldPolicy::Warn);
  out.summary = summarize_two_layer_point(P.model, P.weights.theta, o.manifold_tolerance, o.hessian_spectrum,
                                          o.spectrum, o.lanczos);
  out.diagnostics = std::move(P.diagnostics);
  return out;
}

}  // namespace zeroloss
