#include "zeroloss/verification/global_minimum_rule.hpp"

#include <cmath>

namespace zeroloss {

std::vector<RuleOutcome> global_minimum_run_rules(const GlobalMinimumRun& r, const GlobalMinimumThresholds& t) {
  // A run that did not complete measured nothing: it fails the first rule only.
  if (!r.completed)
    return {{kRuleRunsCompleted, false},
            {kRuleOptimalValue, true},
            {kRuleStationary, true},
            {kRuleRankOne, true},
            {kRuleOptimalPoint, true}};
  const bool flow = r.method == MinimumSearch::Flow;
  bool rank_one = true, optimal_point = true;
  if (!r.mixed_second_layer)
    rank_one = r.rank_one_ratio <= (flow ? t.rank_tolerance : t.rank_tolerance * 10);
  else if (flow)
    optimal_point = r.dist_R_opt <= std::sqrt(t.relative_tolerance) * 10;
  else
    rank_one = r.phi2_rank_one_ratio <= t.rank_tolerance * 10;
  return {{kRuleRunsCompleted, true},
          {kRuleOptimalValue, r.relative_gap <= t.relative_tolerance},
          {kRuleStationary, !flow || r.grad_norm < t.until_gradient * 10},
          {kRuleRankOne, rank_one},
          {kRuleOptimalPoint, optimal_point}};
}

bool reached_global_minimum(const GlobalMinimumRun& run, const GlobalMinimumThresholds& t) {
  for (const auto& rule : global_minimum_run_rules(run, t))
    if (!rule.held) return false;
  return true;
}

Decision decide_global_minimum(const GlobalMinimumEvidence& e, const GlobalMinimumThresholds& t) {
  std::vector<RuleOutcome> rules = {{kRuleRunsCompleted, !e.runs.empty()},
                                    {kRuleOptimalValue, true},
                                    {kRuleStationary, true},
                                    {kRuleRankOne, true},
                                    {kRuleOptimalPoint, true}};
  for (const auto& run : e.runs) {
    const std::vector<RuleOutcome> on_run = global_minimum_run_rules(run, t);
    for (size_t k = 0; k < rules.size(); ++k) rules[k].held = rules[k].held && on_run[k].held;
  }
  return decide_by_rules(std::move(rules));
}

}  // namespace zeroloss
