#pragma once
// Claim 1 (THEORY 5): every stationary point of T on M is the global minimum, and it is rank one.
// The evidence is a set of runs (the Riemannian flow until ||grad_M T|| < G, and Riemannian L-BFGS)
// from random starts, for a = 1 and for a mixed-sign second layer; the rules compare their end
// points with the closed-form optimum T*, R*.

#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

enum class MinimumSearch { Flow, Lbfgs };

// The end point of one run.
struct GlobalMinimumRun {
  bool mixed_second_layer = false;
  MinimumSearch method = MinimumSearch::Flow;
  bool completed = false;          // the command exited 0 (the numbers below are then set)
  double relative_gap = 0;         // |T - T*| / |T*|
  double grad_norm = 0;            // ||grad_M T|| (the flow's; not used for L-BFGS)
  double dist_R_opt = 0;           // flow: distance of R to R* (NaN when not reported)
  double rank_one_ratio = 0;       // sigma_2/sigma_1 of the pre-activation matrix R
  double phi2_rank_one_ratio = 0;  // L-BFGS: sigma_2/sigma_1 of phi''(R) (the rank-one image for any a)
};

struct GlobalMinimumEvidence {
  std::vector<GlobalMinimumRun> runs;
};

// From the configuration's "global_minimum" section.
struct GlobalMinimumThresholds {
  double relative_tolerance = 1e-6;  // relative_tolerance: |T - T*| / |T*| allowed
  double rank_tolerance = 1e-6;      // rank_tolerance: sigma_2/sigma_1 allowed (10x for L-BFGS)
  double until_gradient = 1e-9;      // until_gradient G: a flow must end with ||grad_M T|| < 10 G
};

// The rules, each over every run it concerns (a run the rule does not concern counts as held):
inline constexpr const char* kRuleRunsCompleted = "runs_completed";  // every command exited 0
inline constexpr const char* kRuleOptimalValue = "optimal_value";    // relative gap <= relative_tolerance
inline constexpr const char* kRuleStationary = "stationary";         // flows: ||grad_M T|| < 10 G
// a = 1: sigma_2/sigma_1 of R <= rank_tolerance (flow) or 10 rank_tolerance (L-BFGS); mixed a,
// L-BFGS: sigma_2/sigma_1 of phi''(R) <= 10 rank_tolerance.
inline constexpr const char* kRuleRankOne = "rank_one";
// mixed a, flows: ||R - R*|| <= 10 sqrt(relative_tolerance) (R* is unique, THEORY 5).
inline constexpr const char* kRuleOptimalPoint = "optimal_point";

// The rules on one run; the run reached the global minimum when all held.
std::vector<RuleOutcome> global_minimum_run_rules(const GlobalMinimumRun& run, const GlobalMinimumThresholds& t);
bool reached_global_minimum(const GlobalMinimumRun& run, const GlobalMinimumThresholds& t);

// Pass when every run reached the global minimum (no runs: Fail, nothing was tested).
Decision decide_global_minimum(const GlobalMinimumEvidence& evidence, const GlobalMinimumThresholds& thresholds);

}  // namespace zeroloss
