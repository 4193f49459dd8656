#pragma once
// Claim 2 (THEORY 5-6): the Riemannian flow of T converges exponentially, T - T* ~ A exp(-mu tau).
// The evidence is the exponential fit to the tail of the gap T - T* along one flow (rate_fit.hpp's
// fit_exponential_tail, reported by `zeroloss flow` as rate_fit); the rules are that fit's own
// test of exponential decay, applied to the reported numbers.

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

struct FlowRateEvidence {
  bool optimum_known = false;                        // a closed-form T* exists (else the gap cannot be formed)
  bool fitted = false;                               // enough tail points above the noise floor for a fit
  double rate = 0;                                   // mu over the whole tail
  double first_half_rate = 0, second_half_rate = 0;  // mu on each half of the tail
  double r_squared = 0;                              // of log(T - T*) against tau on the tail
};

// The defaults are ExponentialTailOptions' (the thresholds `zeroloss flow` applies).
struct FlowRateThresholds {
  double min_r_squared;    // log(T - T*) linear in tau: R^2 >= this
  double max_rate_change;  // |mu_2nd half - mu_1st half| / mu <= this
  FlowRateThresholds();
};

inline constexpr const char* kRuleTailFitted = "tail_fitted";  // a tail fit exists
inline constexpr const char* kRuleDecays = "decays";           // mu > 0
inline constexpr const char* kRuleSteadyRate = "steady_rate";  // the half-tail rates agree
inline constexpr const char* kRuleLogLinear = "log_linear";    // R^2 >= min_r_squared

// NotApplicable (no rules) without a closed-form T*; otherwise Pass when every rule held.
Decision decide_flow_rate(const FlowRateEvidence& evidence, const FlowRateThresholds& thresholds);

}  // namespace zeroloss
