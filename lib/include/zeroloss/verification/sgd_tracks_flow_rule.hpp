#pragma once
// Claim 3 (THEORY 7, Li-Wang-Arora): label-noise SGD with step eta, on the time scale t = eta^2 k,
// follows the Riemannian flow dTheta/dt = -(s^2/(4B)) grad_M T, closer as eta shrinks. The evidence
// is the order p of the fit error ~ C eta^p (`zeroloss compare`'s order_fit) with its interval.

#include <optional>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

struct SgdTracksFlowEvidence {
  double order = 0;                    // p
  std::optional<double> order_ci_low;  // its 95% interval (none with two step sizes only)
  std::optional<double> order_ci_high;
};

struct SgdTracksFlowThresholds {
  double min_order = 0;  // the error must shrink: the interval's lower end (or p) above this
};

// The lower end of the interval, or p itself when there is no interval.
double order_lower_bound(const SgdTracksFlowEvidence& evidence);

inline constexpr const char* kRuleErrorShrinks = "error_shrinks";  // order_lower_bound > min_order

Decision decide_sgd_tracks_flow(const SgdTracksFlowEvidence& evidence, const SgdTracksFlowThresholds& thresholds);

}  // namespace zeroloss
