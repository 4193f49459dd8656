#pragma once
// Options and statistics of geodesic integration, for any model (manifold/geodesics.hpp) and for
// the two-layer network's GeodesicIntegrator (manifold/geodesic.hpp).

#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/manifold/projection_options.hpp"

namespace zeroloss {

enum class GeodesicMethod { ProjectedRungeKutta, Rattle };

struct GeodesicOptions {
  GeodesicMethod method = GeodesicMethod::ProjectedRungeKutta;
  // ProjectedRungeKutta: local error control on the state (theta, theta').
  double relative_tolerance = 1e-12;
  double absolute_tolerance = 1e-12;
  double initial_step = 1e-2;  // first trial step in the geodesic parameter s
  // Rattle: fixed step in s.
  double rattle_step = 1e-3;
  // Either method gives up (ConvergenceError) after this many steps per call.
  long max_steps = 1000000;
  // Re-projection onto M after each step (and the Newton solve inside RATTLE).
  ProjectionOptions projection{};
  // The start must satisfy max_i |f_i - y_i| <= start_tolerance * max(1, max |y_i|), and the initial
  // velocity ||J v|| <= tangent_tolerance * ||J||_F ||v||; otherwise InputError.
  double start_tolerance = kOnManifoldTolerance;
  double tangent_tolerance = 1e-8;
};

// Bookkeeping of one integration.
struct GeodesicStatistics {
  long accepted_steps = 0;
  long rejected_steps = 0;
  double max_residual = 0;                // max_i |f_i - y_i| after each step (after projection)
  double max_drift_before_projection = 0;  // max_i |f_i - y_i| the integrator left before projecting
  // max | ||theta'(s)|| / ||theta'(0)|| - 1 | over accepted steps, of the velocity integrated (for the two-layer
  // network in reduced coordinates, the in-span part; the rest is constant).
  double max_relative_speed_drift = 0;
};

}  // namespace zeroloss
