#include "zeroloss/verification/flow_rate_rule.hpp"

#include <cmath>
#include <limits>

namespace zeroloss {

double relative_rate_error(const FlowRateMember& m) {
  if (!(m.predicted_rate > 0)) return std::numeric_limits<double>::quiet_NaN();
  return std::abs(m.fitted_rate / m.predicted_rate - 1.0);
}

std::vector<RuleOutcome> flow_rate_member_rules(const FlowRateMember& m, const FlowRateThresholds& t) {
  if (!m.completed)
    return {{kRuleFlowsCompleted, false}, {kRuleReachesOptimum, true}, {kRuleRateFitted, true}, {kRuleRateMatches, true}};
  // A NaN fails the comparison it enters (x <= tol is false for NaN).
  return {{kRuleFlowsCompleted, true},
          {kRuleReachesOptimum, m.final_gap <= t.reach_tolerance},
          {kRuleRateFitted, m.fitted},
          {kRuleRateMatches, !m.fitted || relative_rate_error(m) <= t.rate_tolerance}};
}

Decision decide_flow_rate(const FlowRateEvidence& e, const FlowRateThresholds& t) {
  if (!e.optimum_known) return Decision{VerdictStatus::NotApplicable, {}};
  std::vector<RuleOutcome> rules = {{kRuleFlowsCompleted, !e.members.empty()},
                                    {kRuleReachesOptimum, true},
                                    {kRuleRateFitted, true},
                                    {kRuleRateMatches, true}};
  for (const auto& member : e.members) {
    const std::vector<RuleOutcome> on_member = flow_rate_member_rules(member, t);
    for (size_t k = 0; k < rules.size(); ++k) rules[k].held = rules[k].held && on_member[k].held;
  }
  return decide_by_rules(std::move(rules));
}

}  // namespace zeroloss
