#pragma once
// Claim 3 (THEORY 7, Li-Wang-Arora): label-noise SGD with step eta, on the time scale t = eta^2 k,
// follows the Riemannian flow dTheta/dt = -(s^2/(4B)) grad_M T, closer as eta shrinks. The evidence
// (`zeroloss compare`'s flow_tracking.json, runs/sgd_flow_comparison.hpp) separates the error into
// the bias, the distance of the MEAN projected SGD path (over the seeds) from the reference flow,
// which the theory makes of order eta, and each path's own fluctuation about the mean (not
// asserted); and it fits the flow coefficient c that best explains the mean paths, extrapolated to
// eta -> 0, with an interval over the seeds. The rules: the bias order is near 1, and the fitted
// coefficient agrees with the reference flow's coefficient, resolved to within a tolerance; each
// with a coverage rule that says whether its interval can decide it (below).

#include <optional>
#include <string>
#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

struct SgdTracksFlowEvidence {
  // The order of the path bias ~ b eta^p over the step sizes, with its 95% interval (none with two
  // step sizes only, or no fit at all when fewer than two step sizes had a positive bias).
  std::optional<double> bias_order;
  std::optional<double> bias_order_ci_low, bias_order_ci_high;
  // The fitted flow coefficient (extrapolated to eta -> 0) and its interval; none without a fit.
  std::optional<double> coefficient;
  std::optional<double> coefficient_ci_low, coefficient_ci_high;
  // The coefficient of the flow the SGD runs are compared with: F s^2/(4B) (F = 1 is the claim).
  double reference_coefficient = 0;
  // A population member's family (population_coverage.hpp); empty for the configured problem.
  std::string family;
};

// From the configuration's "sgd_tracks_flow" section.
struct SgdTracksFlowThresholds {
  double min_bias_order = 0.5;  // the band [min, max] of bias orders the claim allows (order 1)
  double max_bias_order = 2.0;
  double coefficient_tolerance = 0.1;  // the coefficient must be resolved to this fraction of ref
  // population.min_tested_fraction: of the population's members, the share that decide the claim
  // (sgd_tracks_flow_decidable), with a deciding member in every family.
  double min_tested_fraction = 0.5;
  // Degrees of freedom of a population member's bias-order interval (Student t over the member's step
  // sizes: their number minus 2), for the family-wise widening below.
  int population_order_dof = 2;
};

// Each rule is an evidence rule (failing it contradicts the claim) or a coverage rule (failing it
// leaves the claim undecided), decision.hpp. The bias order: its 95% interval within the band
// passes, wholly outside the band fails (under the claim, a true order in the band, a valid 95%
// interval does that with probability at most 2.5%: evidence), and one that straddles an end of the
// band decides nothing (it occurs whatever the truth: for a true order 1, an interval 0.9 wide fitted
// on four step sizes reaches below 0.5 about a third of the time). The coefficient: its interval must contain ref (evidence) and lie within
// ((1 - tol) ref, (1 + tol) ref) (coverage: a wider interval cannot tell 10% apart).
inline constexpr const char* kRuleBiasOrderNearOne = "bias_order_near_one";     // evidence: interval meets the band
inline constexpr const char* kRuleBiasOrderResolved = "bias_order_resolved";    // coverage: within the band or wholly outside
inline constexpr const char* kRuleCoefficientMatches = "coefficient_matches";   // evidence: interval contains ref
inline constexpr const char* kRuleCoefficientResolved = "coefficient_resolved"; // coverage: interval within the tolerance

// A missing bias-order interval fails bias_order_resolved alone (nothing measured contradicts the
// order); a missing coefficient fit fails both coefficient rules (NaN fails every comparison).
Decision decide_sgd_tracks_flow(const SgdTracksFlowEvidence& evidence, const SgdTracksFlowThresholds& thresholds);

// The population (one problem per member, each with its own SGD ensembles and flow):
// population_covered (population_coverage.hpp) with sgd_tracks_flow_decidable and min_tested_fraction:
inline constexpr const char* kRuleTrackingPopulationTested = "population_tested";
inline constexpr const char* kRuleTrackingPopulationHolds = "population_holds";    // no member fails

// Whether a member's evidence decides the claim, for or against: the coefficient's interval is
// shorter than tol ref (then an interval that contains ref lies within the tolerance, so only missing
// ref can fail it: a wider interval that misses ref, as on an ill-conditioned draw outside the
// small-eta regime, says nothing either way), and either it misses ref (a failure, whatever the
// bias order) or the bias order's interval lies within the band or wholly outside it. An undecided
// member is untested, never a pass.
bool sgd_tracks_flow_decidable(const SgdTracksFlowEvidence& member, const SgdTracksFlowThresholds& thresholds);

// Family-wise error control over a population of N members (Bonferroni). Each member's intervals are
// 95% intervals; "the claim fails if any member refutes it" over N members would refute a true claim
// with probability up to 1 - 0.95^N (75% at N = 27). So a member refutes only at the level 1 - 0.05/N:
// its intervals widened about their midpoints, the coefficient's (a normal, delta-method interval) by
// z(1 - 0.025/N) / z(0.975) and the bias order's (Student t, population_order_dof degrees of freedom)
// by t(1 - 0.025/N) / t(0.975) (factors 1.59 and 5.49 at N = 28 with 2 degrees of freedom).
SgdTracksFlowEvidence widened_to_family_level(const SgdTracksFlowEvidence& member, std::size_t members,
                                              int order_dof);

// A member's standing: Holds when its 95% intervals decide (sgd_tracks_flow_decidable) and pass;
// Refutes when its intervals widened to the family level (widened_to_family_level) decide and fail;
// otherwise Undecided (untested, never a pass).
enum class MemberStanding { Holds, Refutes, Undecided };
MemberStanding sgd_tracks_flow_member_standing(const SgdTracksFlowEvidence& member,
                                               const SgdTracksFlowThresholds& thresholds, std::size_t members);

// Fail when a member refutes the claim (sgd_tracks_flow_member_standing, population_holds);
// otherwise Pass when the population is covered (at least min_tested_fraction of the members hold or
// refute, at least one, and one in every family: the coverage rule population_tested), else
// Inconclusive (an empty population included).
Decision decide_sgd_tracks_flow_population(const std::vector<SgdTracksFlowEvidence>& members,
                                           const SgdTracksFlowThresholds& thresholds);

}  // namespace zeroloss
