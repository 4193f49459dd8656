#include "zeroloss/verification/global_minimum_rule.hpp"

#include <cmath>

#include "zeroloss/verification/population_coverage.hpp"

namespace zeroloss {

double displacement_bound(const GlobalMinimumRun& r) {
  if (!(r.lambda_min > 0)) return std::nan("");
  return r.data_norm * r.grad_norm / r.lambda_min;
}

double rank_one_tolerance(const GlobalMinimumRun& r, const GlobalMinimumThresholds& t) {
  return t.rank_tolerance + t.safety_factor * displacement_bound(r) / r.preactivation_norm;
}

double optimal_point_tolerance(const GlobalMinimumRun& r, const GlobalMinimumThresholds& t) {
  return t.rank_tolerance * r.preactivation_norm + t.safety_factor * displacement_bound(r);
}

double phi2_rank_one_tolerance(const GlobalMinimumRun& r, const GlobalMinimumThresholds& t) {
  return t.rank_tolerance * 10 +
         t.safety_factor * r.third_derivative_bound * displacement_bound(r) / r.second_derivative_norm;
}

std::vector<RuleOutcome> global_minimum_run_rules(const GlobalMinimumRun& r, const GlobalMinimumThresholds& t) {
  // A run that did not complete measured nothing: it fails the first rule only.
  if (!r.completed)
    return {{kRuleRunsCompleted, false},
            {kRuleOptimalValue, true},
            {kRuleStationary, true},
            {kRuleRankOne, true},
            {kRuleOptimalPoint, true}};
  const bool flow = r.method == MinimumSearch::Flow;
  // Comparisons with a NaN fail (x <= NaN is false).
  bool rank_one = true, optimal_point = true;
  if (!r.mixed_second_layer)
    rank_one = r.rank_one_ratio <= rank_one_tolerance(r, t);
  else if (flow)
    optimal_point = r.dist_R_opt <= optimal_point_tolerance(r, t);
  else
    rank_one = r.phi2_rank_one_ratio <= phi2_rank_one_tolerance(r, t);
  const double gap = std::abs(r.sharpness - r.sharpness_star) / std::abs(r.sharpness_star);
  return {{kRuleRunsCompleted, true},
          {kRuleOptimalValue, gap <= t.relative_tolerance},
          {kRuleStationary, flow ? r.grad_norm < t.until_gradient * 10
                                : r.grad_norm <= t.lbfgs_gradient * std::abs(r.sharpness_star)},
          {kRuleRankOne, rank_one},
          {kRuleOptimalPoint, optimal_point}};
}

bool stationary_point_is_global_minimum(const StationarySearchPoint& p, const GlobalMinimumThresholds& t) {
  const double gap = std::abs(p.sharpness - p.sharpness_star) / std::abs(p.sharpness_star);
  return gap <= t.relative_tolerance && p.negative_eigenvalues == 0 && p.zero_eigenvalues == 0;
}

bool stationary_search_member_tested(const StationarySearchMember& m, const GlobalMinimumThresholds& t) {
  return m.converged >= 1 && m.converged >= t.search_min_converged_fraction * m.starts;
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
  int converged = 0;
  bool every_global = true;
  for (const auto& p : e.search) {
    if (!p.converged) continue;
    ++converged;
    every_global = every_global && stationary_point_is_global_minimum(p, t);
  }
  const bool enough = e.search_starts == 0 ||
                      (converged >= 1 && converged >= t.search_min_converged_fraction * e.search_starts);
  rules.push_back({kRuleSearchConverged, enough, RuleKind::Coverage});
  rules.push_back({kRuleEveryStationaryPointGlobal, every_global});
  std::vector<PopulationMemberTest> members;
  for (const auto& m : e.population) members.push_back({m.family, stationary_search_member_tested(m, t)});
  rules.push_back({kRuleSearchPopulationTested,
                   members.empty() || population_covered(members, t.population_min_tested_fraction), RuleKind::Coverage});
  return decide_by_rules(std::move(rules));
}

}  // namespace zeroloss
