#pragma once
// Claim 1 (THEORY 5): every stationary point of T on M is the global minimum, and it is rank one.
// The evidence is a set of runs (the Riemannian flow until ||grad_M T|| < G, and Riemannian L-BFGS)
// from random starts, for a = 1 and for a mixed-sign second layer; the rules compare their end
// points with the closed-form optimum T*, R*.

#include <string>
#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

enum class MinimumSearch { Flow, Lbfgs };

// The end point of one run.
struct GlobalMinimumRun {
  bool mixed_second_layer = false;
  MinimumSearch method = MinimumSearch::Flow;
  bool completed = false;          // the command exited 0 (the numbers below are then set)
  double sharpness = 0;            // T at the end point
  double sharpness_star = 0;       // the closed-form T* of this second layer
  double grad_norm = 0;            // ||grad_M T|| at the end point
  double dist_R_opt = 0;           // flow: ||R - R*||_F (NaN when not reported)
  double rank_one_ratio = 0;       // sigma_2/sigma_1 of the pre-activation matrix R
  double preactivation_norm = 0;   // sigma_1(R)
  double phi2_rank_one_ratio = 0;  // L-BFGS: sigma_2/sigma_1 of phi''(R) (the rank-one image for any a)
  double second_derivative_norm = 0;  // L-BFGS: sigma_1(phi''(R))
  double third_derivative_bound = 0;  // L-BFGS, mixed a: max |phi'''| over the entries of R
  // The problem's conditioning: lambda_min of Hess_M T at the closed-form minimiser of this second
  // layer (`zeroloss inspect` there) and sigma_max(X) of the data.
  double lambda_min = 0;
  double data_norm = 0;
};

// One search for a stationary point of any index (sharpness/stationary_point_search.hpp: Riemannian
// Levenberg-Marquardt on ||grad_M T||^2, attracted by saddles as much as by minima) from one start.
struct StationarySearchPoint {
  bool converged = false;       // ||grad_M T|| <= gradient_tolerance ||grad T|| (else stalled, failed, ...)
  double sharpness = 0;         // T at the point found
  double sharpness_star = 0;    // the closed-form T* of this second layer
  int negative_eigenvalues = 0;  // inertia of Hess_M T there (zero: |lambda| <= 1e-8 max |lambda|)
  int zero_eigenvalues = 0;
};

// One member (problem and second layer) of the search's population: its family (population_coverage.hpp)
// and how many of its starts converged.
struct StationarySearchMember {
  std::string family;
  int starts = 0;
  int converged = 0;
};

struct GlobalMinimumEvidence {
  std::vector<GlobalMinimumRun> runs;
  // The stationary-point search: its starts (0: not run, its two rules then hold vacuously) and the
  // point each start reached (on the problem and on every population member).
  int search_starts = 0;
  std::vector<StationarySearchPoint> search;
  // The population's members (empty: no population, search_population_tested holds vacuously).
  std::vector<StationarySearchMember> population;
};

// From the configuration's "global_minimum" section.
struct GlobalMinimumThresholds {
  double relative_tolerance = 1e-6;  // relative_tolerance: |T - T*| / |T*| allowed
  double rank_tolerance = 1e-6;      // rank_tolerance: the rounding floor of the rank tolerances below
  double until_gradient = 1e-9;      // until_gradient G: a flow must end with ||grad_M T|| < 10 G
  double lbfgs_gradient = 1e-6;      // lbfgs_gradient: L-BFGS must end with ||grad_M T|| <= this |T*|
  double safety_factor = 2;          // safety_factor: multiplies the first-order displacement bound
  // search_min_converged_fraction: at least this fraction of the search's starts must converge to a
  // stationary point (a search that finds nothing tests nothing).
  double search_min_converged_fraction = 0.5;
  // population.min_tested_fraction: the share of population members that must be tested
  // (stationary_search_member_tested), with a tested member in every family (population_covered).
  double population_min_tested_fraction = 0.5;
};

// The rules, each over every run it concerns (a run the rule does not concern counts as held):
inline constexpr const char* kRuleRunsCompleted = "runs_completed";  // every command exited 0
inline constexpr const char* kRuleOptimalValue = "optimal_value";    // |T - T*| / |T*| <= relative_tolerance
// flows: ||grad_M T|| < 10 G; L-BFGS: ||grad_M T|| <= lbfgs_gradient |T*| (its own stopping rule).
inline constexpr const char* kRuleStationary = "stationary";
// a = 1: sigma_2/sigma_1 of R <= rank_one_tolerance(run); mixed a, L-BFGS: sigma_2/sigma_1 of
// phi''(R) <= phi2_rank_one_tolerance(run).
inline constexpr const char* kRuleRankOne = "rank_one";
// mixed a, flows: ||R - R*||_F <= optimal_point_tolerance(run) (R* is unique, THEORY 5).
inline constexpr const char* kRuleOptimalPoint = "optimal_point";

// How far from the minimiser a point with Riemannian gradient g can be, to first order: near the
// minimiser grad_M T = Hess_M T [delta] + O(|delta|^2) for the tangent displacement delta, so
// |delta| <= g / lambda_min, and R = X Theta^T moves by at most sigma_max(X) |delta|:
//   ||R - R*||_F <~ sigma_max(X) g / lambda_min.
// NaN when lambda_min <= 0 (then no point is certified and the rules that use it fail).
double displacement_bound(const GlobalMinimumRun& run);
// sigma_2(R*) = 0 for a = 1 and sigma_2 is 1-Lipschitz, so sigma_2/sigma_1 of R is at most
// ||R - R*|| / sigma_1(R): the tolerance is rank_tolerance + safety_factor displacement_bound / sigma_1(R).
double rank_one_tolerance(const GlobalMinimumRun& run, const GlobalMinimumThresholds& t);
// rank_tolerance sigma_1(R) + safety_factor displacement_bound.
double optimal_point_tolerance(const GlobalMinimumRun& run, const GlobalMinimumThresholds& t);
// phi''(R*) is rank one and phi''(R) - phi''(R*) is at most max |phi'''| ||R - R*|| entrywise, so:
// 10 rank_tolerance + safety_factor third_derivative_bound displacement_bound / sigma_1(phi''(R)).
double phi2_rank_one_tolerance(const GlobalMinimumRun& run, const GlobalMinimumThresholds& t);

// The stationary-point search: at least search_min_converged_fraction of its starts converged (and at
// least one), and every point it converged to is the global minimum: |T - T*| / |T*| <=
// relative_tolerance and Hess_M T positive definite there (no negative, no zero eigenvalue: THEORY 5).
inline constexpr const char* kRuleSearchConverged = "search_converged";
inline constexpr const char* kRuleEveryStationaryPointGlobal = "every_stationary_point_global";
bool stationary_point_is_global_minimum(const StationarySearchPoint& point, const GlobalMinimumThresholds& t);

// The population: a member is tested when at least search_min_converged_fraction of its own starts
// converged (and at least one did): an ill-conditioned member on which the search mostly fails tests
// nothing and cannot hide behind the other members' searches. Its converged points still count
// against the claim (a non-global stationary point found anywhere fails it), never for it.
inline constexpr const char* kRuleSearchPopulationTested = "search_population_tested";
bool stationary_search_member_tested(const StationarySearchMember& member, const GlobalMinimumThresholds& t);

// The rules on one run; the run reached the global minimum when all held.
std::vector<RuleOutcome> global_minimum_run_rules(const GlobalMinimumRun& run, const GlobalMinimumThresholds& t);
bool reached_global_minimum(const GlobalMinimumRun& run, const GlobalMinimumThresholds& t);

// Pass when every run reached the global minimum (no runs: Fail, nothing was tested), the
// stationary-point search rules above held and the population is covered (population_covered over
// its members with stationary_search_member_tested, population_min_tested_fraction).
Decision decide_global_minimum(const GlobalMinimumEvidence& evidence, const GlobalMinimumThresholds& thresholds);

}  // namespace zeroloss
