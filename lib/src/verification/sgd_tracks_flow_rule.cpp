#include "zeroloss/verification/sgd_tracks_flow_rule.hpp"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

#include <utility>

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

namespace {

// [lo, hi] widened by `factor` about its midpoint.
void widen(std::optional<double>& lo, std::optional<double>& hi, double factor) {
  if (!lo || !hi) return;
  const double mid = 0.5 * (*lo + *hi), half = 0.5 * (*hi - *lo) * factor;
  lo = mid - half;
  hi = mid + half;
}

}  // namespace

SgdTracksFlowEvidence widened_to_family_level(const SgdTracksFlowEvidence& member, std::size_t members,
                                              int order_dof) {
  SgdTracksFlowEvidence e = member;
  if (members <= 1) return e;
  const double tail = 0.025 / static_cast<double>(members);
  const boost::math::normal z;
  widen(e.coefficient_ci_low, e.coefficient_ci_high,
        boost::math::quantile(z, 1 - tail) / boost::math::quantile(z, 0.975));
  if (order_dof >= 1) {
    const boost::math::students_t t(order_dof);
    widen(e.bias_order_ci_low, e.bias_order_ci_high,
          boost::math::quantile(t, 1 - tail) / boost::math::quantile(t, 0.975));
  }
  return e;
}

MemberStanding sgd_tracks_flow_member_standing(const SgdTracksFlowEvidence& member, const SgdTracksFlowThresholds& t,
                                               std::size_t members) {
  if (sgd_tracks_flow_decidable(member, t) && decide_sgd_tracks_flow(member, t).status == VerdictStatus::Pass)
    return MemberStanding::Holds;
  const SgdTracksFlowEvidence wide = widened_to_family_level(member, members, t.population_order_dof);
  if (sgd_tracks_flow_decidable(wide, t) && decide_sgd_tracks_flow(wide, t).status == VerdictStatus::Fail)
    return MemberStanding::Refutes;
  return MemberStanding::Undecided;
}

Decision decide_sgd_tracks_flow_population(const std::vector<SgdTracksFlowEvidence>& members,
                                           const SgdTracksFlowThresholds& t) {
  bool holds = true;
  std::vector<PopulationMemberTest> coverage;
  for (const auto& m : members) {
    const MemberStanding standing = sgd_tracks_flow_member_standing(m, t, members.size());
    coverage.push_back({m.family, standing != MemberStanding::Undecided});
    holds = holds && standing != MemberStanding::Refutes;
  }
  return decide_by_rules({{kRuleTrackingPopulationTested, population_covered(coverage, t.min_tested_fraction),
                           RuleKind::Coverage},
                          {kRuleTrackingPopulationHolds, holds}});
}

}  // namespace zeroloss
