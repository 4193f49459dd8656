#include "zeroloss/verification/sgd_tracks_flow_rule.hpp"

namespace zeroloss {

Decision decide_sgd_tracks_flow(const SgdTracksFlowEvidence& e, const SgdTracksFlowThresholds& t) {
  const bool order = e.bias_order && e.bias_order_ci_low && e.bias_order_ci_high &&
                     *e.bias_order_ci_low >= t.min_bias_order && *e.bias_order_ci_high <= t.max_bias_order;
  const bool fitted = e.coefficient && e.coefficient_ci_low && e.coefficient_ci_high;
  const double ref = e.reference_coefficient;
  const bool matches = fitted && *e.coefficient_ci_low <= ref && ref <= *e.coefficient_ci_high;
  const bool resolved = fitted && *e.coefficient_ci_low > (1 - t.coefficient_tolerance) * ref &&
                        *e.coefficient_ci_high < (1 + t.coefficient_tolerance) * ref;
  return decide_by_rules({{kRuleBiasOrderNearOne, order},
                          {kRuleCoefficientMatches, matches},
                          {kRuleCoefficientResolved, resolved}});
}

}  // namespace zeroloss
