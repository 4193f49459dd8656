#include "zeroloss/verification/sgd_tracks_flow_rule.hpp"

#include "zeroloss/verification/population_coverage.hpp"

namespace zeroloss {

Decision decide_sgd_tracks_flow(const SgdTracksFlowEvidence& e, const SgdTracksFlowThresholds& t) {
  const bool order_interval = e.bias_order && e.bias_order_ci_low && e.bias_order_ci_high;
  const bool order_in_band =
      order_interval && *e.bias_order_ci_low >= t.min_bias_order && *e.bias_order_ci_high <= t.max_bias_order;
  const bool order_outside_band =
      order_interval && (*e.bias_order_ci_high < t.min_bias_order || *e.bias_order_ci_low > t.max_bias_order);
  const double ref = e.reference_coefficient;
  const bool fitted = e.coefficient && e.coefficient_ci_low && e.coefficient_ci_high;
  const bool matches = fitted && *e.coefficient_ci_low <= ref && ref <= *e.coefficient_ci_high;
  const bool resolved = fitted && *e.coefficient_ci_low > (1 - t.coefficient_tolerance) * ref &&
                        *e.coefficient_ci_high < (1 + t.coefficient_tolerance) * ref;
  return decide_by_rules({{kRuleBiasOrderNearOne, !order_outside_band},
                          {kRuleBiasOrderResolved, order_in_band || order_outside_band, RuleKind::Coverage},
                          {kRuleCoefficientMatches, matches},
                          {kRuleCoefficientResolved, resolved, RuleKind::Coverage}});
}

bool sgd_tracks_flow_decidable(const SgdTracksFlowEvidence& e, const SgdTracksFlowThresholds& t) {
  const bool narrow = e.coefficient && e.coefficient_ci_low && e.coefficient_ci_high &&
                      *e.coefficient_ci_high - *e.coefficient_ci_low < t.coefficient_tolerance * e.reference_coefficient;
  const Decision d = decide_sgd_tracks_flow(e, t);
  return narrow && (d.held(kRuleBiasOrderResolved) || !d.held(kRuleCoefficientMatches));
}

Decision decide_sgd_tracks_flow_population(const std::vector<SgdTracksFlowEvidence>& members,
                                           const SgdTracksFlowThresholds& t) {
  bool holds = true;
  std::vector<PopulationMemberTest> coverage;
  for (const auto& m : members) {
    const bool decidable = sgd_tracks_flow_decidable(m, t);
    coverage.push_back({m.family, decidable});
    if (decidable) holds = holds && decide_sgd_tracks_flow(m, t).status == VerdictStatus::Pass;
  }
  return decide_by_rules({{kRuleTrackingPopulationTested, population_covered(coverage, t.min_tested_fraction),
                           RuleKind::Coverage},
                          {kRuleTrackingPopulationHolds, holds}});
}

}  // namespace zeroloss
