#pragma once
// Claim 5 (THEORY 6): T is geodesically convex near its stationary points (Hess_M T positive
// semidefinite where ||grad_M T|| is small), but not globally.
//
// The evidence is a population of data draws of the configured problem. On each, `zeroloss
// convexity` anchored at the stationary point of `zeroloss optimum` samples M (random starts
// projected onto M, geodesics out of the anchor) and searches it adversarially: for each eps of a
// ladder it minimizes lambda_min subject to ||grad_M T|| <= eps. Every point it measured is a
// curvature observation. From them, per draw:
//   g_hi = the smallest ||grad_M T|| at which negative curvature was found (a counterexample; the
//          anchor included: a stationary point with negative curvature is a counterexample at ~0);
//   g_lo = the largest eps below g_hi at which the search found no negative curvature anywhere in
//          {||grad_M T|| <= eps}.
// The threshold of the claim (the largest g such that Hess_M T is PSD wherever ||grad_M T|| < g) lies
// in [g_lo, g_hi] as far as the search can tell. The points that populate the region below g_lo are
// counted, never the anchor nor a point stationary to within `stationary_gradient` (stationary
// points are the first rule's subject, not evidence of convexity *near* stationarity).

#include <limits>
#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

// One point whose curvature a draw's convexity run measured (a sampled point or a search result).
struct CurvatureObservation {
  bool anchor = false;    // the stationary point the run is anchored at (or the same point analyzed)
  double grad_norm = 0;   // ||grad_M T|| there
  bool negative = false;  // lambda_min < -tol max_k |lambda_k| (zeroloss convexity's criterion)
  double search_eps = 0;  // > 0: the best point of the search rung over {||grad_M T|| <= search_eps}
};

// One data draw of the population.
struct LocalConvexityMember {
  int data_seed = 0;
  bool completed = false;  // the optimum and convexity commands ran and their outputs were read
  double lambda_min_at_minimizer = std::numeric_limits<double>::quiet_NaN();  // at the stationary point
  int convex_points_below = 0;  // observations with ||grad_M T|| < g_lo: not the anchor, not stationary
  double convex_up_to = 0;      // g_lo (0: no rung below g_hi found the region convex)
  double counterexample_at = std::numeric_limits<double>::infinity();  // g_hi (+infinity: none found)
};

struct LocalConvexityEvidence {
  std::vector<LocalConvexityMember> members;
};

// From the configuration's "local_convexity" section.
struct LocalConvexityThresholds {
  double stationary_gradient = 1e-9;  // ||grad_M T|| below this: a stationary point, not evidence near one
  int min_convex_points = 10;         // observations below g_lo needed on each draw
  double max_bracket_ratio = 10;      // g_hi / g_lo allowed: the threshold is located to this factor
};

// g_lo, g_hi and the count of convex observations from one draw's observations (the member's
// data_seed, completed and lambda_min_at_minimizer are left at their defaults).
LocalConvexityMember curvature_bracket(const std::vector<CurvatureObservation>& observations,
                                       const LocalConvexityThresholds& thresholds);

// The rules, each over every member:
inline constexpr const char* kRuleConvexityMembersCompleted = "members_completed";  // population not empty, all ran
// lambda_min(Hess_M T) > 0 at the stationary point of every draw.
inline constexpr const char* kRulePositiveDefiniteAtMinimizer = "positive_definite_at_minimizer";
// On every draw, g_lo > 0 (a search rung found no negative curvature) and at least
// min_convex_points observations (not the anchor, not stationary) below g_lo.
inline constexpr const char* kRuleConvexNearStationarity = "convex_near_stationarity";
// On every draw, the draw's own search found negative curvature (g_hi finite): convexity is only local.
inline constexpr const char* kRuleNotGloballyConvex = "not_globally_convex";
// On every draw where both ends exist, g_hi / g_lo <= max_bracket_ratio.
inline constexpr const char* kRuleThresholdLocated = "threshold_located";

// The rules on one member; a member that did not complete fails the first rule only.
std::vector<RuleOutcome> local_convexity_member_rules(const LocalConvexityMember& member,
                                                      const LocalConvexityThresholds& thresholds);

// Pass when every rule holds on every member (no members: Fail, nothing was tested).
Decision decide_local_convexity(const LocalConvexityEvidence& evidence, const LocalConvexityThresholds& thresholds);

}  // namespace zeroloss
