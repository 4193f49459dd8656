#pragma once
// The settings of `zeroloss convexity` (what its options say) and how they become the
// ConvexityOptions of analyze_convexity (diagnostics/convexity.hpp): a preset (ConvexityOptions::quick or full)
// with the given overrides. validate() refuses contradictory or out-of-range settings with the
// messages the command prints.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/diagnostics/convexity.hpp"

namespace zeroloss {

struct ConvexitySettings {
  bool quick = false;  // the seconds-scale preset instead of the thorough one
  // Overrides of the preset (unset: keep the preset's value).
  std::optional<int> directions, profile_points, random_points, geodesic_points;
  std::optional<int> rungs, starts, stages, iterations;
  std::optional<long> max_evaluations;
  std::optional<double> profile_length, max_distance, negative_tolerance;
  std::optional<std::pair<double, double>> random_scale;  // LO, HI
  std::vector<double> eps;  // the search ladder (empty: automatic)
  bool search = true;
  bool default_anchor = true;
  bool figures = true;
  // Seeds: the point's directions use `seed`, the sampling `seed + 1`, the SGD run `seed`.
  std::uint64_t seed = 0;
  // Trajectories: the flow to flow time along_flow, label-noise SGD with `sgd` for `sgd_steps`.
  std::optional<double> along_flow;
  std::optional<SgdParameters> sgd;  // learning rate, label noise, noise kind, batch size (seed: `seed`)
  std::uint64_t sgd_steps = 0;
  std::optional<int> trajectory_points;  // default 200; quick 40
  ProjectionMethod trajectory_projection = ProjectionMethod::GradientFlow;
  Eigen::MatrixXd trajectory_start;      // caller's coordinates; empty: the point, else the anchor

  // Throws InputError: random_scale with LO > HI, a flow time that is not a finite number > 0,
  // trajectory_points < 1, an SGD run with a learning rate or label noise that is not a finite
  // number > 0 or with no steps.
  void validate() const;
  // The preset with the overrides (validates first). The preset is ConvexityOptions::matrix_free when
  // the non-trivial tangent dimension exceeds kDenseSpectrumMaxDimension (the geometry then runs
  // Lanczos), else quick() or full(); trajectory points default to 40 (quick) or 200, and 10 or 40
  // above that dimension.
  ConvexityOptions options(long tangent_dimension = 0) const;
};

}  // namespace zeroloss
