#include "zeroloss/verification/sgd_tracks_flow_rule.hpp"

namespace zeroloss {

double order_lower_bound(const SgdTracksFlowEvidence& e) { return e.order_ci_low ? *e.order_ci_low : e.order; }

Decision decide_sgd_tracks_flow(const SgdTracksFlowEvidence& e, const SgdTracksFlowThresholds& t) {
  return decide_by_rules({{kRuleErrorShrinks, order_lower_bound(e) > t.min_order}});
}

}  // namespace zeroloss
