// The decision rules of the verification report's claims (zeroloss/verification/*_rule.hpp), on
// hand-made evidence: for each claim a case that passes, and for each rule a case that crosses its
// threshold and fails that rule alone, so that every rule is shown able to fail.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "zeroloss/errors.hpp"
#include "zeroloss/rate_fit.hpp"
#include "zeroloss/verification/flow_rate_rule.hpp"
#include "zeroloss/verification/global_minimum_rule.hpp"
#include "zeroloss/verification/local_convexity_rule.hpp"
#include "zeroloss/verification/outside_assumptions_rule.hpp"
#include "zeroloss/verification/rank_one_sgd_rule.hpp"
#include "zeroloss/verification/sgd_tracks_flow_rule.hpp"

namespace {

using namespace zeroloss;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// The rules of `d` that did not hold.
std::vector<std::string> failed_rules(const Decision& d) {
  std::vector<std::string> failed;
  for (const auto& r : d.rules)
    if (!r.held) failed.push_back(r.rule);
  return failed;
}

// `d` fails, and `rule` is the only rule that did not hold.
void expect_fails_only(const Decision& d, const std::string& rule) {
  EXPECT_EQ(d.status, VerdictStatus::Fail);
  EXPECT_EQ(failed_rules(d), std::vector<std::string>{rule});
}

TEST(Decision, PassesOnlyWhenEveryRuleHolds) {
  EXPECT_EQ(decide_by_rules({{"a", true}, {"b", true}}).status, VerdictStatus::Pass);
  const Decision d = decide_by_rules({{"a", true}, {"b", false}});
  EXPECT_EQ(d.status, VerdictStatus::Fail);
  EXPECT_TRUE(d.held("a"));
  EXPECT_FALSE(d.held("b"));
  EXPECT_THROW(d.held("c"), std::out_of_range);
}

TEST(Decision, StatusWordsRoundTrip) {
  for (VerdictStatus s : {VerdictStatus::Pass, VerdictStatus::Fail, VerdictStatus::NotApplicable,
                          VerdictStatus::Reported, VerdictStatus::Error, VerdictStatus::Inconclusive})
    EXPECT_EQ(verdict_status_from_string(to_string(s)), s);
  EXPECT_EQ(to_string(VerdictStatus::NotApplicable), "not-applicable");
  EXPECT_EQ(to_string(VerdictStatus::Inconclusive), "inconclusive");
  EXPECT_THROW(verdict_status_from_string("passed"), InputError);
}

// --- Claim 1 -------------------------------------------------------------------------------------

GlobalMinimumThresholds minimum_thresholds() {
  GlobalMinimumThresholds t;
  t.relative_tolerance = 1e-6;
  t.rank_tolerance = 1e-6;
  t.until_gradient = 1e-9;
  return t;
}

GlobalMinimumRun minimum_run(bool mixed, MinimumSearch method) {
  GlobalMinimumRun r;
  r.mixed_second_layer = mixed;
  r.method = method;
  r.completed = true;
  r.relative_gap = 1e-9;
  r.grad_norm = 5e-10;
  r.dist_R_opt = 1e-5;
  r.rank_one_ratio = mixed ? 0.3 : 1e-8;  // for mixed a, R itself is not rank one (THEORY 5)
  r.phi2_rank_one_ratio = 1e-8;
  return r;
}

// One run of each kind: a = 1 and mixed a, flow and L-BFGS (indices 0..3 in this order).
GlobalMinimumEvidence minimum_evidence() {
  GlobalMinimumEvidence e;
  for (bool mixed : {false, true})
    for (MinimumSearch m : {MinimumSearch::Flow, MinimumSearch::Lbfgs}) e.runs.push_back(minimum_run(mixed, m));
  return e;
}

TEST(GlobalMinimumRule, EveryRunAtTheOptimumPasses) {
  const Decision d = decide_global_minimum(minimum_evidence(), minimum_thresholds());
  EXPECT_EQ(d.status, VerdictStatus::Pass);
  EXPECT_TRUE(failed_rules(d).empty());
  for (const auto& run : minimum_evidence().runs) EXPECT_TRUE(reached_global_minimum(run, minimum_thresholds()));
}

TEST(GlobalMinimumRule, NoRunsTestNothingAndFail) {
  expect_fails_only(decide_global_minimum({}, minimum_thresholds()), kRuleRunsCompleted);
}

TEST(GlobalMinimumRule, ARunThatDidNotCompleteFails) {
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[3].completed = false;
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleRunsCompleted);
  EXPECT_FALSE(reached_global_minimum(e.runs[3], minimum_thresholds()));
}

TEST(GlobalMinimumRule, AValueAboveTheToleranceFails) {
  for (size_t k = 0; k < 4; ++k) {
    GlobalMinimumEvidence e = minimum_evidence();
    e.runs[k].relative_gap = 1e-6;  // at the tolerance: still the optimum
    EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass) << k;
    e.runs[k].relative_gap = 1.01e-6;
    expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleOptimalValue);
  }
}

TEST(GlobalMinimumRule, AFlowThatIsNotStationaryFails) {
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[1].grad_norm = 1.0;  // L-BFGS: the rule concerns flows only
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass);
  e.runs[2].grad_norm = 1e-8;  // 10 G: not below it
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleStationary);
}

TEST(GlobalMinimumRule, NotRankOneFails) {
  // a = 1, flow: sigma_2/sigma_1 of R above rank_tolerance.
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[0].rank_one_ratio = 2e-6;
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleRankOne);
  // a = 1, L-BFGS: allowed up to 10 rank_tolerance.
  e = minimum_evidence();
  e.runs[1].rank_one_ratio = 9e-6;
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass);
  e.runs[1].rank_one_ratio = 1.1e-5;
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleRankOne);
  // mixed a, L-BFGS: the phi''-image must be rank one.
  e = minimum_evidence();
  e.runs[3].phi2_rank_one_ratio = 1.1e-5;
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleRankOne);
}

TEST(GlobalMinimumRule, AMixedFlowAwayFromTheOptimumFails) {
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[2].dist_R_opt = 1.1e-2;  // above 10 sqrt(1e-6)
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleOptimalPoint);
  e.runs[2].dist_R_opt = kNaN;  // not reported: not evidence of the optimum
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleOptimalPoint);
}

TEST(GlobalMinimumRule, TheThresholdsComeFromTheCaller) {
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[0].relative_gap = 1e-4;
  GlobalMinimumThresholds loose = minimum_thresholds();
  loose.relative_tolerance = 1e-3;
  EXPECT_EQ(decide_global_minimum(e, loose).status, VerdictStatus::Pass);
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Fail);
}

// --- Claim 2 -------------------------------------------------------------------------------------

// One member that reached T* and decayed at the predicted rate.
FlowRateMember converged_member() {
  FlowRateMember m;
  m.name = "gaussian seed 1";
  m.completed = true;
  m.sharpness_star = 3.5;
  m.lambda_min = 0.0468;
  m.predicted_rate = 0.0936;
  m.initial_gap = 0.26;
  m.final_gap = 3e-14;
  m.fitted = true;
  m.fitted_rate = 0.0936 * 1.001;
  return m;
}

FlowRateEvidence converged_population() {
  FlowRateEvidence e;
  e.members = {converged_member(), converged_member()};
  e.members[1].name = "figure1 seed 1";
  e.members[1].lambda_min = 7.8e-7;
  e.members[1].predicted_rate = 1.56e-6;
  e.members[1].fitted_rate = 1.56e-6 * (1 - 4e-5);
  return e;
}

TEST(FlowRateRule, APopulationThatReachesTheOptimumAtThePredictedRatePasses) {
  const Decision d = decide_flow_rate(converged_population(), FlowRateThresholds());
  EXPECT_EQ(d.status, VerdictStatus::Pass);
  EXPECT_EQ(d.rules.size(), 4u);
  const FlowRateThresholds t;
  EXPECT_EQ(t.reach_tolerance, 1e-12);
  EXPECT_EQ(t.rate_tolerance, 0.05);
}

TEST(FlowRateRule, WithoutAClosedFormOptimumItDoesNotApply) {
  FlowRateEvidence e = converged_population();
  e.optimum_known = false;
  const Decision d = decide_flow_rate(e, FlowRateThresholds());
  EXPECT_EQ(d.status, VerdictStatus::NotApplicable);
  EXPECT_TRUE(d.rules.empty());
}

TEST(FlowRateRule, EachRuleCanFailOnOneMember) {
  const FlowRateThresholds t;
  expect_fails_only(decide_flow_rate(FlowRateEvidence{}, t), kRuleFlowsCompleted);  // nothing tested
  FlowRateEvidence e = converged_population();
  e.members[1].completed = false;
  expect_fails_only(decide_flow_rate(e, t), kRuleFlowsCompleted);
  // On a plateau: T - T* still 2 (relative) at the end of the budget.
  e = converged_population();
  e.members[1].final_gap = 2.0;
  expect_fails_only(decide_flow_rate(e, t), kRuleReachesOptimum);
  e.members[1].final_gap = 1.01e-12;  // just above the tolerance
  expect_fails_only(decide_flow_rate(e, t), kRuleReachesOptimum);
  e.members[1].final_gap = kNaN;
  expect_fails_only(decide_flow_rate(e, t), kRuleReachesOptimum);
  e = converged_population();
  e.members[0].fitted = false;
  expect_fails_only(decide_flow_rate(e, t), kRuleRateFitted);
  // The plateau rate of Figure 1 seed 1 (3.4e-4) against its final rate 1.56e-6.
  e = converged_population();
  e.members[1].fitted_rate = 3.4e-4;
  expect_fails_only(decide_flow_rate(e, t), kRuleRateMatches);
  e = converged_population();
  e.members[0].fitted_rate = e.members[0].predicted_rate * 1.06;  // 6% off, tolerance 5%
  expect_fails_only(decide_flow_rate(e, t), kRuleRateMatches);
  e.members[0].fitted_rate = kNaN;
  expect_fails_only(decide_flow_rate(e, t), kRuleRateMatches);
}

TEST(FlowRateRule, AWrongPredictionIsRejected) {
  // The mutants: 2 lambda_min replaced by lambda_min or 4 lambda_min.
  for (const double factor : {0.5, 2.0}) {
    FlowRateEvidence e = converged_population();
    for (auto& m : e.members) m.predicted_rate *= factor;
    expect_fails_only(decide_flow_rate(e, FlowRateThresholds()), kRuleRateMatches);
  }
}

TEST(FlowRateRule, TheThresholdsComeFromTheCaller) {
  FlowRateEvidence e = converged_population();
  e.members[0].fitted_rate = e.members[0].predicted_rate * 1.08;
  e.members[0].final_gap = 5e-12;
  FlowRateThresholds loose;
  loose.rate_tolerance = 0.1;
  loose.reach_tolerance = 1e-11;
  EXPECT_EQ(decide_flow_rate(e, loose).status, VerdictStatus::Pass);
  EXPECT_EQ(decide_flow_rate(e, FlowRateThresholds()).status, VerdictStatus::Fail);
}

TEST(FlowRateRule, MemberRulesAndRateError) {
  FlowRateMember m = converged_member();
  EXPECT_NEAR(relative_rate_error(m), 1e-3, 1e-12);
  m.predicted_rate = 0;
  EXPECT_TRUE(std::isnan(relative_rate_error(m)));
  const std::vector<RuleOutcome> rules = flow_rate_member_rules(converged_member(), FlowRateThresholds());
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].rule, kRuleFlowsCompleted);
  EXPECT_EQ(rules[1].rule, kRuleReachesOptimum);
  EXPECT_EQ(rules[2].rule, kRuleRateFitted);
  EXPECT_EQ(rules[3].rule, kRuleRateMatches);
  for (const auto& r : rules) EXPECT_TRUE(r.held) << r.rule;
}

// --- Claim 3 -------------------------------------------------------------------------------------

TEST(SgdTracksFlowRule, AnOrderWhoseIntervalIsAboveZeroPasses) {
  SgdTracksFlowEvidence e;
  e.order = 1.0;
  e.order_ci_low = 0.6;
  e.order_ci_high = 1.4;
  EXPECT_EQ(decide_sgd_tracks_flow(e, SgdTracksFlowThresholds()).status, VerdictStatus::Pass);
  EXPECT_EQ(order_lower_bound(e), 0.6);
}

TEST(SgdTracksFlowRule, AnIntervalReachingZeroFails) {
  SgdTracksFlowEvidence e;
  e.order = 0.4;  // positive, but not provably
  e.order_ci_low = -0.1;
  e.order_ci_high = 0.9;
  expect_fails_only(decide_sgd_tracks_flow(e, SgdTracksFlowThresholds()), kRuleErrorShrinks);
  e.order_ci_low = 0.0;  // the bound itself is not above zero
  expect_fails_only(decide_sgd_tracks_flow(e, SgdTracksFlowThresholds()), kRuleErrorShrinks);
}

TEST(SgdTracksFlowRule, WithoutAnIntervalTheOrderItselfDecides) {
  SgdTracksFlowEvidence e;
  e.order = 0.5;
  EXPECT_EQ(decide_sgd_tracks_flow(e, SgdTracksFlowThresholds()).status, VerdictStatus::Pass);
  e.order = -0.2;
  expect_fails_only(decide_sgd_tracks_flow(e, SgdTracksFlowThresholds()), kRuleErrorShrinks);
}

TEST(SgdTracksFlowRule, ARaisedMinimumOrderFailsAWeakOrder) {
  SgdTracksFlowEvidence e;
  e.order = 1.0;
  e.order_ci_low = 0.6;
  e.order_ci_high = 1.4;
  SgdTracksFlowThresholds t;
  t.min_order = 0.7;
  expect_fails_only(decide_sgd_tracks_flow(e, t), kRuleErrorShrinks);
}

// --- Claim 4 -------------------------------------------------------------------------------------

TEST(RankOneSgdRule, SigmaTwoBelowTheThresholdPasses) {
  RankOneSgdEvidence e;
  e.final_ratios = {0.005, 1e-4};
  EXPECT_EQ(decide_rank_one_sgd(e, RankOneSgdThresholds()).status, VerdictStatus::Pass);
}

TEST(RankOneSgdRule, SigmaTwoAtOrAboveTheThresholdFails) {
  RankOneSgdEvidence e;
  e.final_ratios = {0.01, 1e-4};  // at the threshold: not below it
  expect_fails_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRuleFeatureRankOne);
  e.final_ratios = {0.2, 1e-4};
  expect_fails_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRuleFeatureRankOne);
  RankOneSgdThresholds loose;
  loose.rank_one_threshold = 0.3;
  EXPECT_EQ(decide_rank_one_sgd(e, loose).status, VerdictStatus::Pass);
}

TEST(RankOneSgdRule, NoSecondSingularValueIsNoEvidence) {
  expect_fails_only(decide_rank_one_sgd(RankOneSgdEvidence{}, RankOneSgdThresholds()), kRuleFeatureRankOne);
}

// --- Claim 5 -------------------------------------------------------------------------------------

LocalConvexityEvidence locally_convex() {
  LocalConvexityEvidence e;
  e.lambda_min_at_minimizer = 0.05;
  e.points_below_threshold = 12;
  e.search_run = true;
  e.search_convex_up_to = 0.1;
  e.sampled_negative_curvature = false;
  e.theory6_lambda_min = -14.76;
  return e;
}

TEST(LocalConvexityRule, ConvexNearTheMinimumAndNotGloballyPasses) {
  EXPECT_EQ(decide_local_convexity(locally_convex(), LocalConvexityThresholds()).status, VerdictStatus::Pass);
}

TEST(LocalConvexityRule, NoPositiveCurvatureAtTheMinimizerFails) {
  for (double lambda : {0.0, -0.01, kNaN}) {
    LocalConvexityEvidence e = locally_convex();
    e.lambda_min_at_minimizer = lambda;
    expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRulePositiveDefiniteAtMinimizer);
  }
}

TEST(LocalConvexityRule, NoEvidenceNearStationarityFails) {
  LocalConvexityEvidence e = locally_convex();
  e.points_below_threshold = 0;
  expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRuleConvexNearStationarity);
  e = locally_convex();
  e.search_convex_up_to = 0;  // the search found negative curvature on its lowest rung
  expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRuleConvexNearStationarity);
  e.search_run = false;  // a search that did not run says nothing
  EXPECT_EQ(decide_local_convexity(e, LocalConvexityThresholds()).status, VerdictStatus::Pass);
  e = locally_convex();
  e.points_below_threshold = 3;
  LocalConvexityThresholds more;
  more.min_points_below_threshold = 4;
  expect_fails_only(decide_local_convexity(e, more), kRuleConvexNearStationarity);
}

TEST(LocalConvexityRule, ConvexEverywhereFailsTheLocalClaim) {
  LocalConvexityEvidence e = locally_convex();
  e.theory6_lambda_min = 0.2;
  expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRuleNotGloballyConvex);
  e.sampled_negative_curvature = true;  // a sampled counterexample is enough
  EXPECT_EQ(decide_local_convexity(e, LocalConvexityThresholds()).status, VerdictStatus::Pass);
}

// --- Claim 6 -------------------------------------------------------------------------------------

TEST(OutsideAssumptionsReading, StationaryAndRankOneAreStrictlyBelowTheirThresholds) {
  OutsideAssumptionsThresholds t;
  t.until_gradient = 1e-8;
  t.rank_one_ratio = 1e-6;
  EXPECT_TRUE(reached_stationary_point({5e-9, 0.5}, t));
  EXPECT_FALSE(reached_stationary_point({1e-8, 0.5}, t));
  EXPECT_TRUE(described_as_rank_one({1.0, 1e-7}, t));
  EXPECT_FALSE(described_as_rank_one({1.0, 1e-6}, t));
}

}  // namespace
