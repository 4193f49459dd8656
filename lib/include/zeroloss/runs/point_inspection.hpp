#pragma once
// The run of `zeroloss inspect` for the two-layer network (docs/commands/inspect.md): the files read
// and the point summarized (diagnostics/two_layer_point_summary.hpp). From a weights CSV the point
// is Theta (full coordinates); from a reduced-weights manifest (*.json) it stays in reduced
// coordinates (reduced_start_dynamics: beta and Z = X U, THEORY 4) and no m x d matrix is formed.

#include "zeroloss/diagnostics/two_layer_point_summary.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/model/problem_checks.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"

namespace zeroloss {

struct PointInspectionOptions {
  double manifold_tolerance = kOnManifoldTolerance;  // relative to max(1, max_i |y_i|)
  bool hessian_spectrum = true;
  SpectrumMethod spectrum = SpectrumMethod::Auto;
  LanczosOptions lanczos;
};

struct PointInspection {
  TwoLayerPointSummary summary;  // coordinates: Full (weights CSV) or Reduced (manifest)
  DataDiagnostics diagnostics;   // what the data imply for M (loaded under ManifoldPolicy::Warn)
};

// Reads the files (load_problem, or reduced_start_dynamics for a manifest: the data must span the
// saved basis) under ManifoldPolicy::Warn and summarizes the point. Throws as those and
// summarize_two_layer_point do; a singular point is reported in the summary, not thrown.
PointInspection inspect_two_layer_point(const ProblemFiles& files, const PointInspectionOptions& options = {});

}  // namespace zeroloss
