#pragma once
// Claim 4 (the paper's Figure 1): label-noise SGD drives the feature matrix Phi = phi(X Theta^T) to
// rank one. The evidence is a population of data draws of the Figure 1 setting. The time the limiting
// flow needs to reach rank one varies over draws by orders of magnitude and follows the smallest
// eigenvalue lambda_min of Hess_M T at the minimiser (THEORY 10: about A lambda_min^-b flow time), so
// each draw gets its own budget: `budget_factor` times that predicted flow time, converted to SGD
// steps on the time scale tau = s^2 eta^2 k / (4B) (THEORY 7). A draw whose budget exceeds the cap
// `max_steps` is not run; it is reported as untested, never counted as evidence.

#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

// One data draw of the population.
struct RankOneSgdMember {
  int data_seed = 0;
  double lambda_min = 0;           // smallest eigenvalue of Hess_M T at the closed-form minimiser
  double predicted_flow_time = 0;  // A lambda_min^-b (rank_one_predicted_flow_time)
  long long budget_steps = 0;      // the SGD steps this draw gets
  bool tested = false;             // budget_steps <= max_steps: the run was made
  bool completed = false;          // tested and `zeroloss sgd` exited 0 (the numbers below are then set)
  std::vector<double> final_ratios;  // sigma_k(Phi)/sigma_1(Phi), k = 2, 3, ..., at the last step
  // Flow time from which sigma_2/sigma_1 of Phi stayed <= the threshold (the run's rank_one.feature_step
  // times the flow time per step); NaN when it never did.
  double rank_one_flow_time = 0;
};

struct RankOneSgdEvidence {
  std::vector<RankOneSgdMember> members;
};

// From the configuration's "rank_one_sgd" section.
struct RankOneSgdThresholds {
  double rank_one_threshold = 0.01;   // rank_one_threshold: sigma_2/sigma_1 must end below it
  double min_tested_fraction = 0.75;  // min_tested_fraction: of the draws, the share that must fit the cap
};

// The rules:
inline constexpr const char* kRulePopulationTested = "population_tested";  // tested / draws >= min_tested_fraction
inline constexpr const char* kRuleSgdRunsCompleted = "runs_completed";   // every tested draw's SGD exited 0
// Every tested draw ends with sigma_2/sigma_1 < rank_one_threshold (within its budget).
inline constexpr const char* kRuleFeatureRankOne = "feature_rank_one";

// The flow time to rank one predicted from lambda_min: prefactor * lambda_min^-exponent; throws
// InputError unless lambda_min, prefactor > 0 and all are finite.
double rank_one_predicted_flow_time(double lambda_min, double prefactor, double exponent);

// The SGD steps for flow time `flow_time` at `flow_time_per_step` (= s^2 eta^2 / (4B)), rounded up,
// at least 1; returns LLONG_MAX when that does not fit a long long. Throws InputError unless both are
// finite and > 0.
long long steps_for_flow_time(double flow_time, double flow_time_per_step);

// Whether the member ended rank one (tested, completed, sigma_2/sigma_1 < threshold).
bool reached_rank_one(const RankOneSgdMember& member, const RankOneSgdThresholds& thresholds);

// Pass when enough draws were tested and every tested draw reached rank one within its budget (no
// draws: Fail, nothing was tested).
Decision decide_rank_one_sgd(const RankOneSgdEvidence& evidence, const RankOneSgdThresholds& thresholds);

}  // namespace zeroloss
