#pragma once
// Claim 5 (THEORY 6): T is geodesically convex near its stationary points (Hess_M T positive
// semidefinite where ||grad_M T|| is small), but not globally. The evidence: the spectrum at the
// minimizer, `zeroloss convexity`'s sampled threshold and adversarial search anchored there, and
// THEORY 6's explicit counterexample.

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

struct LocalConvexityEvidence {
  double lambda_min_at_minimizer = 0;       // lambda_min(Hess_M T) at the closed-form stationary point
  int points_below_threshold = 0;           // sampled points below the sampled threshold (none negative)
  bool search_run = false;                  // the adversarial search ran (it has rungs)
  double search_convex_up_to = 0;           // the largest eps whose rung found no negative curvature
  bool sampled_negative_curvature = false;  // some sampled point has lambda_min < 0
  double theory6_lambda_min = 0;            // lambda_min at THEORY 6's point
};

struct LocalConvexityThresholds {
  int min_points_below_threshold = 1;  // sampled points near stationarity needed as evidence
};

// lambda_min > 0 at the minimizer.
inline constexpr const char* kRulePositiveDefiniteAtMinimizer = "positive_definite_at_minimizer";
// At least min_points_below_threshold sampled points below the threshold, and the search (when
// run) found no negative curvature for some eps > 0.
inline constexpr const char* kRuleConvexNearStationarity = "convex_near_stationarity";
// Negative curvature somewhere: at THEORY 6's point or at a sampled point (convexity is only local).
inline constexpr const char* kRuleNotGloballyConvex = "not_globally_convex";

Decision decide_local_convexity(const LocalConvexityEvidence& evidence, const LocalConvexityThresholds& thresholds);

}  // namespace zeroloss
