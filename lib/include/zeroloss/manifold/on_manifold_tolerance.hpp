#pragma once
// When a point counts as lying on the zero-loss manifold M = {theta : f_i(theta) = y_i for all i}.
//
// Every tolerance here is relative to the labels' scale: a residual bound
//   max_i |f_i(theta) - y_i| <= tolerance * max(1, max_i |y_i|)
// (absolute for labels below 1). Two thresholds with two meanings, and the projections' target:
//
//   kOnManifoldTolerance      a point given by the user counts as on M. Commands that need a point
//                             on M accept it within this (and may polish it by Newton) and refuse it
//                             with an InputError beyond: the convexity diagnostics, the flow's and the
//                             geodesics' start (FlowOptions / GeodesicOptions::start_tolerance).
//                             1e-8 leaves room for weights written with 17 significant digits and
//                             re-read, and for the rounding of f on larger problems.
//   kProjectedStartTolerance  a start of a long integration is used exactly as given when within
//                             this, and is projected onto M first otherwise (flow, compare, the
//                             convexity diagnostics along a flow). Tighter than the acceptance above
//                             because the point is not refused: a start on M only to 1e-8 would carry
//                             that residual into every later step, so it is projected to the
//                             projection's own target instead.
//   ProjectionOptions::residual_tolerance (1e-13, projection_options.hpp) is where a projection
//                             stops: machine precision for the residual, far inside both.
//
// `zeroloss inspect --manifold-tolerance` (default kOnManifoldTolerance) only reports whether the
// point is within a tolerance the user chooses; it refuses nothing.

#include <Eigen/Dense>

#include <algorithm>

namespace zeroloss {

inline constexpr double kOnManifoldTolerance = 1e-8;
inline constexpr double kProjectedStartTolerance = 1e-10;

// max(1, max_i |y_i|): the scale the relative tolerances multiply (1 for no labels).
inline double residual_scale(const Eigen::Ref<const Eigen::VectorXd>& labels) {
  return std::max(1.0, labels.size() ? labels.cwiseAbs().maxCoeff() : 0.0);
}

}  // namespace zeroloss
