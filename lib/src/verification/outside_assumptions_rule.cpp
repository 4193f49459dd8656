#include "zeroloss/verification/outside_assumptions_rule.hpp"

namespace zeroloss {

bool reached_stationary_point(const OutsideAssumptionsCase& c, const OutsideAssumptionsThresholds& t) {
  return c.grad_norm < t.until_gradient;
}

bool described_as_rank_one(const OutsideAssumptionsCase& c, const OutsideAssumptionsThresholds& t) {
  return c.rank_one_ratio < t.rank_one_ratio;
}

}  // namespace zeroloss
