#include "zeroloss/verification/local_convexity_rule.hpp"

namespace zeroloss {

Decision decide_local_convexity(const LocalConvexityEvidence& e, const LocalConvexityThresholds& t) {
  return decide_by_rules({{kRulePositiveDefiniteAtMinimizer, e.lambda_min_at_minimizer > 0},
                          {kRuleConvexNearStationarity, e.points_below_threshold >= t.min_points_below_threshold &&
                                                            (!e.search_run || e.search_convex_up_to > 0)},
                          {kRuleNotGloballyConvex, e.theory6_lambda_min < 0 || e.sampled_negative_curvature}});
}

}  // namespace zeroloss
