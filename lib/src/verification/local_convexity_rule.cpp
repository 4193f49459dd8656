#include "zeroloss/verification/local_convexity_rule.hpp"

#include <algorithm>
#include <cmath>

namespace zeroloss {

LocalConvexityMember curvature_bracket(const std::vector<CurvatureObservation>& observations,
                                       const LocalConvexityThresholds& t) {
  LocalConvexityMember m;
  for (const auto& o : observations)
    if (o.negative) m.counterexample_at = std::min(m.counterexample_at, o.grad_norm);
  for (const auto& o : observations)
    if (o.search_eps > 0 && !o.negative && o.search_eps < m.counterexample_at)
      m.convex_up_to = std::max(m.convex_up_to, o.search_eps);
  for (const auto& o : observations) {
    // Below g_lo every observation is convex (g_lo < g_hi); a NaN gradient norm is never counted.
    if (o.anchor || !(o.grad_norm >= t.stationary_gradient) || !(o.grad_norm < m.convex_up_to)) continue;
    ++m.convex_points_below;
  }
  return m;
}

std::vector<RuleOutcome> local_convexity_member_rules(const LocalConvexityMember& m, const LocalConvexityThresholds& t) {
  if (!m.completed)
    return {{kRuleConvexityMembersCompleted, false},
            {kRulePositiveDefiniteAtMinimizer, true},
            {kRuleConvexNearStationarity, true},
            {kRuleNotGloballyConvex, true},
            {kRuleThresholdLocated, true}};
  const bool bracket = std::isfinite(m.counterexample_at) && m.convex_up_to > 0;
  return {{kRuleConvexityMembersCompleted, true},
          {kRulePositiveDefiniteAtMinimizer, m.lambda_min_at_minimizer > 0},
          {kRuleConvexNearStationarity, m.convex_points_below >= t.min_convex_points && m.convex_up_to > 0},
          {kRuleNotGloballyConvex, std::isfinite(m.counterexample_at)},
          {kRuleThresholdLocated, !bracket || m.counterexample_at <= t.max_bracket_ratio * m.convex_up_to}};
}

Decision decide_local_convexity(const LocalConvexityEvidence& e, const LocalConvexityThresholds& t) {
  std::vector<RuleOutcome> rules = {{kRuleConvexityMembersCompleted, !e.members.empty()},
                                    {kRulePositiveDefiniteAtMinimizer, true},
                                    {kRuleConvexNearStationarity, true},
                                    {kRuleNotGloballyConvex, true},
                                    {kRuleThresholdLocated, true}};
  for (const auto& member : e.members) {
    const std::vector<RuleOutcome> on_member = local_convexity_member_rules(member, t);
    for (size_t k = 0; k < rules.size(); ++k) rules[k].held = rules[k].held && on_member[k].held;
  }
  return decide_by_rules(std::move(rules));
}

}  // namespace zeroloss
