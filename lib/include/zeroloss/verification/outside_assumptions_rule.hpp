#pragma once
// Claim 6 (reported, not asserted): outside the theory's assumptions (phi' > 0 or phi''' > 0 fails,
// n > d) nothing is asserted: the flow is run from several starts per case, and where each flow ends
// is described, with status Reported. The readings of the numbers are the functions below; there is
// no decide_ function because no rule is asserted. Only a converged flow (a stationary point) or a
// detected escape to infinity is reported as where a flow ends; anything else is "not converged".

#include <string>
#include <vector>

namespace zeroloss {

struct OutsideAssumptionsCase {
  double grad_norm = 0;       // ||grad_M T|| where the flow stopped
  double rank_one_ratio = 0;  // sigma_2/sigma_1 of R there
};

struct OutsideAssumptionsThresholds {
  double until_gradient = 1e-8;  // outside_assumptions.until_gradient: stationary below this
  double rank_one_ratio = 1e-6;  // described as rank one below this
  // outside_assumptions.escape_growth: a flow that is not stationary at its end escapes when the
  // Frobenius norm of its pre-activations R grew at every logged state of the second half of its flow
  // time, by more than this fraction in all.
  double escape_growth = 0.01;
  double same_sharpness = 1e-6;  // two stationary points are one when their T agree to this (relative)
  double zero_eigenvalue = 1e-8;  // |lambda| <= this * max |lambda| counts as a zero eigenvalue
};

bool reached_stationary_point(const OutsideAssumptionsCase& c, const OutsideAssumptionsThresholds& t);
bool described_as_rank_one(const OutsideAssumptionsCase& c, const OutsideAssumptionsThresholds& t);

enum class FlowEnding { Stationary, Escaping, NotConverged };
// "stationary point", "escaping to infinity", "not converged".
std::string to_string(FlowEnding ending);

// How one flow ended, from ||grad_M T|| at its end and its logged states (flow time tau, ascending,
// and ||R||_F at each): Stationary when ||grad_M T|| < until_gradient; else Escaping when over the
// states with tau >= tau_end / 2 (at least 3) ||R||_F never decreased and grew by more than
// escape_growth in all; else NotConverged. Throws InputError on columns of different lengths.
FlowEnding classify_flow_ending(double final_grad_norm, const std::vector<double>& tau,
                                const std::vector<double>& preactivation_norm, const OutsideAssumptionsThresholds& t);

// The inertia of a Riemannian Hessian: how many eigenvalues are negative, zero (|lambda| <=
// zero_eigenvalue * max |lambda|) and positive.
struct HessianInertia {
  int negative = 0, zero = 0, positive = 0;
  bool operator==(const HessianInertia& o) const {
    return negative == o.negative && zero == o.zero && positive == o.positive;
  }
};
HessianInertia hessian_inertia(const std::vector<double>& eigenvalues, const OutsideAssumptionsThresholds& t);

// One stationary point reached by a flow.
struct StationaryEnd {
  double sharpness = 0;
  HessianInertia inertia;
  double rank_one_ratio = 0;  // sigma_2/sigma_1 of R
};

// A distinct stationary point (same T to same_sharpness, same inertia; up to the symmetries of the
// network, which keep both) and how many starts reached it, in order of first appearance.
struct DistinctStationaryPoint {
  StationaryEnd point;  // the first start's
  int starts = 0;
};
std::vector<DistinctStationaryPoint> distinct_stationary_points(const std::vector<StationaryEnd>& ends,
                                                                const OutsideAssumptionsThresholds& t);

}  // namespace zeroloss
