#pragma once
// Claim 6 (reported, not asserted): outside the theory's assumptions (phi' > 0 or phi''' > 0 fails, n > d) nothing is
// asserted: the flow is run towards stationarity from one start per case and its end point is
// described, with status Reported. Its two readings of the numbers are the functions below; there is
// no decide_ function because no rule is asserted.

namespace zeroloss {

struct OutsideAssumptionsCase {
  double grad_norm = 0;       // ||grad_M T|| where the flow stopped
  double rank_one_ratio = 0;  // sigma_2/sigma_1 of R there
};

struct OutsideAssumptionsThresholds {
  double until_gradient = 1e-8;  // outside_assumptions.until_gradient: stationary below this
  double rank_one_ratio = 1e-6;  // described as rank one below this
};

bool reached_stationary_point(const OutsideAssumptionsCase& c, const OutsideAssumptionsThresholds& t);
bool described_as_rank_one(const OutsideAssumptionsCase& c, const OutsideAssumptionsThresholds& t);

}  // namespace zeroloss
