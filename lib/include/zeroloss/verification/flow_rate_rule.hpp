#pragma once
// Claim 2 (THEORY 5, 6, 10): the Riemannian flow of T reaches the minimum T* at the predicted rate.
// Near the minimiser T - T* decays like exp(-2 lambda_min tau) (flow coefficient 1), lambda_min the
// smallest eigenvalue of the Riemannian Hessian of T at T* on the non-trivial tangent part (THEORY
// 10), so the claim makes two testable statements on every problem of a population: the flow
// actually gets there (T - T* falls to the rounding level of T*, not onto a plateau), and the rate
// of its final decay is the predicted one. The evidence per member is `zeroloss optimum --json`
// (T*, hessian_lambda_min) and the flow's trajectory (T - T* against tau).

#include <string>
#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

// One problem of the population (a data draw and its start).
struct FlowRateMember {
  std::string name;             // e.g. "gaussian seed 3", for tables and messages
  // The flow ran to its end and its trajectory was read; the numbers below are then set.
  bool completed = false;
  double sharpness_star = 0;    // T* (closed form)
  double lambda_min = 0;        // of Hess_M T at T*
  double predicted_rate = 0;    // 2 lambda_min (a mutant may change it)
  double initial_gap = 0;       // (T - T*)/T* at tau = 0
  double final_gap = 0;         // |T - T*|/T* at the end of the flow
  bool fitted = false;          // enough points in the fit window for a rate
  double fitted_rate = 0;       // mu of T - T* ~ A exp(-mu tau) over the window
};

struct FlowRateEvidence {
  // A closed-form global minimum T* exists for the configured problem (else the claim does not apply).
  bool optimum_known = true;
  std::vector<FlowRateMember> members;
};

// From the configuration's "flow_rate" section (docs/report.md justifies the defaults).
struct FlowRateThresholds {
  double reach_tolerance = 1e-12;  // |T - T*|/T* at the end must be at most this
  double rate_tolerance = 0.05;    // |fitted / predicted - 1| allowed
};

inline constexpr const char* kRuleFlowsCompleted = "flows_completed";  // population not empty, every flow ran
inline constexpr const char* kRuleReachesOptimum = "reaches_optimum";      // final |T - T*|/T* <= reach_tolerance
inline constexpr const char* kRuleRateFitted = "rate_fitted";              // the fit window held enough points
inline constexpr const char* kRuleRateMatches = "rate_matches";            // |fitted/predicted - 1| <= rate_tolerance

// |fitted / predicted - 1| (NaN when the prediction is not > 0).
double relative_rate_error(const FlowRateMember& member);

// The rules on one member, in the order above; a member that did not complete fails the first rule
// only, one without a fit fails rate_fitted only (and not rate_matches).
std::vector<RuleOutcome> flow_rate_member_rules(const FlowRateMember& member, const FlowRateThresholds& thresholds);

// NotApplicable (no rules) without a closed-form T*; otherwise Pass when every rule held on every
// member (no members: Fail, nothing was tested).
Decision decide_flow_rate(const FlowRateEvidence& evidence, const FlowRateThresholds& thresholds);

}  // namespace zeroloss
