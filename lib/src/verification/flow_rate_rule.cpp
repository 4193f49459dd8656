#include "zeroloss/verification/flow_rate_rule.hpp"

#include <algorithm>
#include <cmath>

#include "zeroloss/rate_fit.hpp"

namespace zeroloss {

FlowRateThresholds::FlowRateThresholds()
    : min_r_squared(ExponentialTailOptions{}.min_r_squared),
      max_rate_change(ExponentialTailOptions{}.max_rate_change) {}

Decision decide_flow_rate(const FlowRateEvidence& e, const FlowRateThresholds& t) {
  if (!e.optimum_known) return Decision{VerdictStatus::NotApplicable, {}};
  if (!e.fitted)
    return decide_by_rules(
        {{kRuleTailFitted, false}, {kRuleDecays, true}, {kRuleSteadyRate, true}, {kRuleLogLinear, true}});
  // Written as fit_exponential_tail writes them, so that on the same numbers the two always agree.
  const double change = std::abs(e.second_half_rate - e.first_half_rate) / std::max(std::abs(e.rate), 1e-300);
  return decide_by_rules({{kRuleTailFitted, true},
                          {kRuleDecays, e.rate > 0},
                          {kRuleSteadyRate, !(change > t.max_rate_change)},
                          {kRuleLogLinear, !(e.r_squared < t.min_r_squared)}});
}

}  // namespace zeroloss
