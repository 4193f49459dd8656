// The decision rules of the verification report's claims (zeroloss/verification/*_rule.hpp), on
// hand-made evidence: for each claim a case that passes, and for each rule a case that crosses its
// threshold and fails that rule alone, so that every rule is shown able to fail.

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
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

// `d` is inconclusive (not refuted, not covered), and the coverage rule `rule` is the only rule that
// did not hold.
void expect_inconclusive_only(const Decision& d, const std::string& rule) {
  EXPECT_EQ(d.status, VerdictStatus::Inconclusive);
  EXPECT_EQ(failed_rules(d), std::vector<std::string>{rule});
}

TEST(Decision, AFailedCoverageRuleLeavesTheClaimUntestedAFailedEvidenceRuleRefutesIt) {
  const RuleOutcome evidence_ok{"e", true}, evidence_bad{"e", false};
  const RuleOutcome covered{"c", true, RuleKind::Coverage}, uncovered{"c", false, RuleKind::Coverage};
  EXPECT_EQ(RuleOutcome{}.kind, RuleKind::Evidence);
  EXPECT_EQ(decide_by_rules({evidence_ok, covered}).status, VerdictStatus::Pass);
  EXPECT_EQ(decide_by_rules({evidence_ok, uncovered}).status, VerdictStatus::Inconclusive);
  EXPECT_EQ(decide_by_rules({evidence_bad, covered}).status, VerdictStatus::Fail);
  EXPECT_EQ(decide_by_rules({evidence_bad, uncovered}).status, VerdictStatus::Fail);  // refuted wins
  // A mutant is rejected only when evidence refutes it; an uncovered mutant is not a rejection.
  EXPECT_TRUE(rejects(decide_by_rules({evidence_bad, covered})));
  EXPECT_TRUE(rejects(decide_by_rules({evidence_bad, uncovered})));
  EXPECT_FALSE(rejects(decide_by_rules({evidence_ok, uncovered})));
  EXPECT_FALSE(rejects(decide_by_rules({evidence_ok, covered})));
  const Decision anchor = decide_by_rules({evidence_ok, covered});
  EXPECT_EQ(status_with_power(anchor, {{"m", "changes", true}}), VerdictStatus::Pass);
  EXPECT_EQ(status_with_power(decide_by_rules({evidence_ok, uncovered}), {{"m", "changes", true}}),
            VerdictStatus::Inconclusive);
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
  t.lbfgs_gradient = 1e-6;
  t.safety_factor = 2;
  return t;
}

// At T* = 2 with lambda_min = 0.05 and sigma_max(X) = 2: displacement bound 2 g / 0.05 = 40 g.
GlobalMinimumRun minimum_run(bool mixed, MinimumSearch method) {
  GlobalMinimumRun r;
  r.mixed_second_layer = mixed;
  r.method = method;
  r.completed = true;
  r.sharpness_star = 2.0;
  r.sharpness = 2.0 * (1 + 1e-9);
  r.grad_norm = 5e-10;
  r.dist_R_opt = 1e-8;
  r.rank_one_ratio = mixed ? 0.3 : 1e-8;  // for mixed a, R itself is not rank one (THEORY 5)
  r.preactivation_norm = 1.0;
  r.phi2_rank_one_ratio = 1e-8;
  r.second_derivative_norm = 1.0;
  r.third_derivative_bound = mixed ? 2.0 : 0.0;  // |phi'''| = 2 for the cubic
  r.lambda_min = 0.05;
  r.data_norm = 2.0;
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
    e.runs[k].sharpness = 2.0 * (1 + 0.99e-6);  // within the tolerance: still the optimum
    EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass) << k;
    e.runs[k].sharpness = 2.0 * (1 - 1.01e-6);  // below T* counts as much as above
    expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleOptimalValue);
  }
}

TEST(GlobalMinimumRule, WrongTStarMutantFailsTheValueRule) {
  // The same end points compared with T* scaled by 1 + 4 relative_tolerance (the claim's mutant).
  GlobalMinimumEvidence e = minimum_evidence();
  for (auto& r : e.runs) r.sharpness_star *= 1 + 4e-6;
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleOptimalValue);
}

TEST(GlobalMinimumRule, ARunThatIsNotStationaryFails) {
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[2].grad_norm = 1e-8;  // flow: 10 G, not below it
  e.runs[2].dist_R_opt = 0;    // (keep the point rule out of it)
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleStationary);
  e = minimum_evidence();
  e.runs[1].grad_norm = 2e-6;  // L-BFGS: at lbfgs_gradient |T*| = 1e-6 * 2 is allowed
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass);
  e.runs[1].grad_norm = 2.02e-6;
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleStationary);
}

TEST(GlobalMinimumRule, RankToleranceFollowsTheConditioning) {
  GlobalMinimumRun r = minimum_run(false, MinimumSearch::Lbfgs);
  // 1e-6 + 2 * (2 * 5e-10 / 0.05) / 1 = 1e-6 + 4e-8.
  EXPECT_NEAR(displacement_bound(r), 2e-8, 1e-22);
  EXPECT_NEAR(rank_one_tolerance(r, minimum_thresholds()), 1.04e-6, 1e-18);
  EXPECT_NEAR(optimal_point_tolerance(r, minimum_thresholds()), 1.04e-6, 1e-18);
  // The ill-conditioned draw of issue 12 (uniform seed 1): L-BFGS at ||grad_M T|| = 6.7e-9 with
  // lambda_min = 7.8e-7 may be 8.6e-3 / sigma_max(X) from the minimiser: sigma_2/sigma_1 = 1.6e-5 is
  // not evidence against rank one there, while the same ratio at lambda_min = 0.05 is.
  r.grad_norm = 6.7e-9;
  r.rank_one_ratio = 1.6e-5;
  r.lambda_min = 0.05;
  EXPECT_FALSE(reached_global_minimum(r, minimum_thresholds()));
  r.lambda_min = 7.8e-7;
  EXPECT_TRUE(reached_global_minimum(r, minimum_thresholds()));
  // No positive curvature at the minimiser: nothing is certified.
  r.lambda_min = 0;
  EXPECT_TRUE(std::isnan(displacement_bound(r)));
  EXPECT_FALSE(reached_global_minimum(r, minimum_thresholds()));
}

TEST(GlobalMinimumRule, NotRankOneFails) {
  // a = 1: sigma_2/sigma_1 of R above 1e-6 + 2 * 40 g = 1.04e-6 (flow and L-BFGS alike).
  for (size_t k : {0, 1}) {
    GlobalMinimumEvidence e = minimum_evidence();
    e.runs[k].rank_one_ratio = 1.03e-6;
    EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass) << k;
    e.runs[k].rank_one_ratio = 1.05e-6;
    expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleRankOne);
    e.runs[k].rank_one_ratio = kNaN;
    expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleRankOne);
  }
  // mixed a, L-BFGS: the phi''-image must be rank one: 10 rank_tolerance + 2 * 2 * 40 g / 1 = 1.008e-5.
  GlobalMinimumEvidence e = minimum_evidence();
  EXPECT_NEAR(phi2_rank_one_tolerance(e.runs[3], minimum_thresholds()), 1.008e-5, 1e-17);
  e.runs[3].phi2_rank_one_ratio = 1.0e-5;
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass);
  e.runs[3].phi2_rank_one_ratio = 1.1e-5;
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleRankOne);
  // ... and its tolerance grows with the gradient over lambda_min, as for a = 1.
  e.runs[3].lambda_min = 1e-3;
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass);
}

TEST(GlobalMinimumRule, AMixedFlowAwayFromTheOptimumFails) {
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[2].dist_R_opt = 1.05e-6;  // above 1e-6 * 1 + 2 * 40 * 5e-10
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleOptimalPoint);
  e.runs[2].dist_R_opt = kNaN;  // not reported: not evidence of the optimum
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleOptimalPoint);
}

TEST(GlobalMinimumRule, ThePerturbedEndpointMutantIsNotStationary) {
  // A flow end point moved by 1e-5 and put back on M: T within 1e-10 of T*, sigma_2/sigma_1 within
  // its (gradient-scaled) tolerance, but ||grad_M T|| about 1e-6: rejected as not stationary.
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[0].sharpness = 2.0 * (1 + 1e-10);
  e.runs[0].grad_norm = 1e-6;
  e.runs[0].rank_one_ratio = 1e-5;
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleStationary);
}

TEST(GlobalMinimumRule, TheThresholdsComeFromTheCaller) {
  GlobalMinimumEvidence e = minimum_evidence();
  e.runs[0].sharpness = 2.0 * (1 + 1e-4);
  GlobalMinimumThresholds loose = minimum_thresholds();
  loose.relative_tolerance = 1e-3;
  EXPECT_EQ(decide_global_minimum(e, loose).status, VerdictStatus::Pass);
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Fail);
}

// Four searches at T* = 2: three converged to the positive definite minimum, one stalled.
GlobalMinimumEvidence searched_evidence() {
  GlobalMinimumEvidence e = minimum_evidence();
  e.search_starts = 4;
  for (int k = 0; k < 4; ++k) e.search.push_back({k != 3, 2.0 * (1 + 1e-9), 2.0, 0, 0});
  return e;
}

TEST(GlobalMinimumRule, ASearchWhoseConvergedPointsAreTheMinimumPasses) {
  EXPECT_EQ(decide_global_minimum(searched_evidence(), minimum_thresholds()).status, VerdictStatus::Pass);
  // A stalled start with any T is not a stationary point and does not count against the claim.
  GlobalMinimumEvidence e = searched_evidence();
  e.search[3].sharpness = 50;
  e.search[3].negative_eigenvalues = 2;
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass);
}

TEST(GlobalMinimumRule, ASaddleOrAHigherStationaryPointFails) {
  GlobalMinimumEvidence e = searched_evidence();
  e.search[1].negative_eigenvalues = 1;  // a saddle at the optimal value
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleEveryStationaryPointGlobal);
  e = searched_evidence();
  e.search[2].sharpness = 2.0 * (1 + 3e-6);  // a strict local minimum above T*
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleEveryStationaryPointGlobal);
  e = searched_evidence();
  e.search[0].zero_eigenvalues = 1;  // degenerate: THEORY 5 says positive definite
  expect_fails_only(decide_global_minimum(e, minimum_thresholds()), kRuleEveryStationaryPointGlobal);
  EXPECT_FALSE(stationary_point_is_global_minimum(e.search[0], minimum_thresholds()));
  EXPECT_TRUE(stationary_point_is_global_minimum(e.search[1], minimum_thresholds()));
}

TEST(GlobalMinimumRule, ASearchThatRarelyConvergesTestsNothing) {
  GlobalMinimumEvidence e = searched_evidence();
  e.search[1].converged = false;  // 2 of 4 converged: exactly the default fraction 0.5
  EXPECT_EQ(decide_global_minimum(e, minimum_thresholds()).status, VerdictStatus::Pass);
  e.search[2].converged = false;  // 1 of 4
  expect_inconclusive_only(decide_global_minimum(e, minimum_thresholds()), kRuleSearchConverged);
  GlobalMinimumThresholds low = minimum_thresholds();
  low.search_min_converged_fraction = 0.25;
  EXPECT_EQ(decide_global_minimum(e, low).status, VerdictStatus::Pass);
  e.search[0].converged = false;  // none: fails whatever the fraction
  expect_inconclusive_only(decide_global_minimum(e, low), kRuleSearchConverged);
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

// The full run's evidence (docs/report.md, claim 3): bias order 1.07 [1.008, 1.132], coefficient
// 0.24982 [0.24833, 0.25130] against s^2/(4B) = 0.25.
SgdTracksFlowEvidence tracking_evidence() {
  SgdTracksFlowEvidence e;
  e.bias_order = 1.07;
  e.bias_order_ci_low = 1.008;
  e.bias_order_ci_high = 1.132;
  e.coefficient = 0.24982;
  e.coefficient_ci_low = 0.24833;
  e.coefficient_ci_high = 0.25130;
  e.reference_coefficient = 0.25;
  return e;
}

TEST(SgdTracksFlowRule, ABiasOfOrderOneAndTheTheorysCoefficientPass) {
  const Decision d = decide_sgd_tracks_flow(tracking_evidence(), SgdTracksFlowThresholds());
  EXPECT_EQ(d.status, VerdictStatus::Pass);
  ASSERT_EQ(d.rules.size(), 4u);
}

TEST(SgdTracksFlowRule, ABiasOrderIntervalWhollyOutsideTheBandFailsOneThatStraddlesItDecidesNothing) {
  const SgdTracksFlowThresholds t;
  SgdTracksFlowEvidence e = tracking_evidence();
  e.bias_order = 0.04;  // the coefficient-x0.5 mutant: the bias does not shrink
  e.bias_order_ci_low = 0.016;
  e.bias_order_ci_high = 0.064;
  expect_fails_only(decide_sgd_tracks_flow(e, t), kRuleBiasOrderNearOne);
  e.bias_order_ci_low = -0.23;  // the quick coefficient-x1.1 mutant: [-0.23, 0.47], just below 0.5
  e.bias_order_ci_high = 0.47;
  expect_fails_only(decide_sgd_tracks_flow(e, t), kRuleBiasOrderNearOne);
  e.bias_order_ci_low = 2.05;  // too fast for a bias of order eta
  e.bias_order_ci_high = 2.6;
  expect_fails_only(decide_sgd_tracks_flow(e, t), kRuleBiasOrderNearOne);
  // Measured, full run: Gaussian (3, 5, 4) seed 3, a = 1: order 0.89 [0.44, 1.34]. It contains 1; an
  // interval that straddles an end of the band neither supports nor refutes the claim.
  e = tracking_evidence();
  e.bias_order = 0.89;
  e.bias_order_ci_low = 0.44;
  e.bias_order_ci_high = 1.34;
  expect_inconclusive_only(decide_sgd_tracks_flow(e, t), kRuleBiasOrderResolved);
  e.bias_order_ci_high = 2.2;  // straddles both ends
  expect_inconclusive_only(decide_sgd_tracks_flow(e, t), kRuleBiasOrderResolved);
  e.bias_order_ci_high = 0.5;  // touches the band: not wholly outside
  expect_inconclusive_only(decide_sgd_tracks_flow(e, t), kRuleBiasOrderResolved);
  e = tracking_evidence();
  e.bias_order_ci_low.reset();  // two step sizes only: no interval, no verdict on the order
  e.bias_order_ci_high.reset();
  expect_inconclusive_only(decide_sgd_tracks_flow(e, t), kRuleBiasOrderResolved);
  e.bias_order.reset();
  expect_inconclusive_only(decide_sgd_tracks_flow(e, t), kRuleBiasOrderResolved);
  // The band's ends are inclusive.
  e = tracking_evidence();
  e.bias_order_ci_low = 0.5;
  e.bias_order_ci_high = 2.0;
  EXPECT_EQ(decide_sgd_tracks_flow(e, t).status, VerdictStatus::Pass);
}

TEST(SgdTracksFlowRule, ACoefficientIntervalMissingTheReferenceFailsCoefficientMatchesAlone) {
  SgdTracksFlowEvidence e = tracking_evidence();
  e.coefficient_ci_low = 0.2485;  // resolved, but shifted off the reference
  e.coefficient = 0.2490;
  e.coefficient_ci_high = 0.2495;
  expect_fails_only(decide_sgd_tracks_flow(e, SgdTracksFlowThresholds()), kRuleCoefficientMatches);
}

TEST(SgdTracksFlowRule, ACoefficientIntervalWiderThanTheToleranceDecidesNothing) {
  const SgdTracksFlowThresholds t;
  SgdTracksFlowEvidence e = tracking_evidence();
  e.coefficient_ci_low = 0.22;  // contains 0.25, but also 0.9 x 0.25 = 0.225
  expect_inconclusive_only(decide_sgd_tracks_flow(e, t), kRuleCoefficientResolved);
  e = tracking_evidence();
  e.coefficient_ci_high = 0.2751;  // reaches 1.1 x 0.25
  expect_inconclusive_only(decide_sgd_tracks_flow(e, t), kRuleCoefficientResolved);
  SgdTracksFlowThresholds loose = t;
  loose.coefficient_tolerance = 0.2;
  EXPECT_EQ(decide_sgd_tracks_flow(e, loose).status, VerdictStatus::Pass);
}

// The measured quick population (docs/report.md, claim 3): Gaussian (3, 5, 4), data seed 2, 32 seeds.
// a = 1: c 0.24777 [0.24096, 0.25458] (width 5.4%), order 1.080 [0.578, 1.582] (width 1.004, in the band).
SgdTracksFlowEvidence quick_member() {
  SgdTracksFlowEvidence e;
  e.bias_order = 1.080;
  e.bias_order_ci_low = 0.578;
  e.bias_order_ci_high = 1.582;
  e.coefficient = 0.24777;
  e.coefficient_ci_low = 0.24096;
  e.coefficient_ci_high = 0.25458;
  e.reference_coefficient = 0.25;
  return e;
}

TEST(SgdTracksFlowPopulationRule, AMemberIsTestedWhenItsCoefficientIsResolvedAndItsOrderIntervalDecides) {
  const SgdTracksFlowThresholds t;  // tol 0.1 (coefficient widths below 0.025), order band [0.5, 2]
  EXPECT_TRUE(sgd_tracks_flow_decidable(tracking_evidence(), t));
  // The quick population's a = 1 member: order [0.578, 1.582] (1.004 wide) lies in the band.
  EXPECT_TRUE(sgd_tracks_flow_decidable(quick_member(), t));
  SgdTracksFlowEvidence e = quick_member();
  e.bias_order_ci_low = 0.44;  // straddles 0.5: undecided, however narrow
  e.bias_order_ci_high = 0.7;
  EXPECT_FALSE(sgd_tracks_flow_decidable(e, t));
  e.bias_order_ci_high = 0.49;  // wholly below the band: decides (against)
  EXPECT_TRUE(sgd_tracks_flow_decidable(e, t));
  // A narrow coefficient interval that misses ref decides (against) whatever the order interval:
  // measured on a Figure 1 draw started on M, c 0.2476 [0.2453, 0.2498], order 0.22 [-0.10, 0.54].
  e.bias_order = 0.22;
  e.bias_order_ci_low = -0.10;
  e.bias_order_ci_high = 0.54;
  e.coefficient = 0.2476;
  e.coefficient_ci_low = 0.2453;
  e.coefficient_ci_high = 0.2498;
  EXPECT_TRUE(sgd_tracks_flow_decidable(e, t));
  EXPECT_EQ(decide_sgd_tracks_flow(e, t).status, VerdictStatus::Fail);
  e = quick_member();
  e.coefficient_ci_high = e.coefficient_ci_low.value() + 0.0251;  // width 0.0251 > 0.1 x 0.25
  EXPECT_FALSE(sgd_tracks_flow_decidable(e, t));
  // Measured, full run: (10, 50, 30) seed 2, mixed a: c [0.2229, 0.2724] (width 19.8%) contains 0.25
  // but reaches below 0.225; with a width under 10% that cannot happen to an interval containing 0.25.
  SgdTracksFlowEvidence big = e;
  big.coefficient_ci_low = 0.2229;
  big.coefficient_ci_high = 0.2724;
  EXPECT_FALSE(sgd_tracks_flow_decidable(big, t));
  e.coefficient_ci_high = e.coefficient_ci_low.value() + 0.0249;
  EXPECT_TRUE(sgd_tracks_flow_decidable(e, t));
  // A wide coefficient interval that misses ref (a Figure 1 draw outside the small-eta regime:
  // c 0.155 [0.119, 0.190]) decides nothing either.
  e.coefficient_ci_low = 0.119;
  e.coefficient = 0.155;
  e.coefficient_ci_high = 0.190;
  EXPECT_FALSE(sgd_tracks_flow_decidable(e, t));
  e.coefficient.reset();  // no fit: nothing to decide
  EXPECT_FALSE(sgd_tracks_flow_decidable(e, t));
}

TEST(SgdTracksFlowPopulationRule, EveryTestedMemberMustPassAndUntestedMembersAreNeverCountedAsPasses) {
  SgdTracksFlowThresholds t;
  t.min_tested_fraction = 0.5;
  // One tested member that passes, one untested (its order interval straddles 0.5): 1 of 2 tested.
  SgdTracksFlowEvidence straddling = quick_member();
  straddling.bias_order_ci_low = 0.44;
  Decision d = decide_sgd_tracks_flow_population({tracking_evidence(), straddling}, t);
  EXPECT_EQ(d.status, VerdictStatus::Pass);
  ASSERT_EQ(d.rules.size(), 2u);
  // An untested member whose interval misses the claim does not fail the population...
  SgdTracksFlowEvidence wide_off = straddling;
  wide_off.coefficient_ci_low = 0.119;  // measured on a Figure 1 draw: c 0.155 [0.119, 0.190]
  wide_off.coefficient = 0.155;
  wide_off.coefficient_ci_high = 0.190;
  EXPECT_EQ(decide_sgd_tracks_flow_population({tracking_evidence(), wide_off}, t).status, VerdictStatus::Pass);
  // ... but it does not count either: too few tested.
  t.min_tested_fraction = 0.6;
  expect_inconclusive_only(decide_sgd_tracks_flow_population({tracking_evidence(), wide_off}, t),
                           kRuleTrackingPopulationTested);
  // Only untested members: nothing was tested, nothing refuted: inconclusive, as is an empty population.
  d = decide_sgd_tracks_flow_population({straddling, wide_off}, t);
  expect_inconclusive_only(d, kRuleTrackingPopulationTested);
  EXPECT_TRUE(d.held(kRuleTrackingPopulationHolds));
  EXPECT_EQ(decide_sgd_tracks_flow_population({}, t).status, VerdictStatus::Inconclusive);
  // A tested member that fails (narrow interval off the claim) fails the population alone.
  t.min_tested_fraction = 0.5;
  SgdTracksFlowEvidence off = tracking_evidence();
  off.coefficient_ci_low = 0.2485;
  off.coefficient = 0.2490;
  off.coefficient_ci_high = 0.2495;
  ASSERT_TRUE(sgd_tracks_flow_decidable(off, t));
  expect_fails_only(decide_sgd_tracks_flow_population({tracking_evidence(), tracking_evidence(), off}, t),
                    kRuleTrackingPopulationHolds);
  // A tested member whose order interval lies wholly below the band fails the population alone (also
  // once widened to the family level of 2 members: x 2.06 about its midpoint, [-0.03, 0.28]).
  SgdTracksFlowEvidence slow = tracking_evidence();
  slow.bias_order = 0.125;
  slow.bias_order_ci_low = 0.05;
  slow.bias_order_ci_high = 0.2;
  ASSERT_TRUE(sgd_tracks_flow_decidable(slow, t));
  expect_fails_only(decide_sgd_tracks_flow_population({tracking_evidence(), slow}, t), kRuleTrackingPopulationHolds);
  // The 1.1x mutant's reference on a tested member: its interval excludes 0.275.
  SgdTracksFlowEvidence x11 = tracking_evidence();
  x11.reference_coefficient = 0.275;
  expect_fails_only(decide_sgd_tracks_flow_population({tracking_evidence(), x11}, t), kRuleTrackingPopulationHolds);
}

// Family-wise widening: the factors against independent routes (the normal CDF through std::erfc;
// Student t with 2 degrees of freedom in closed form, t_p = (2p - 1) / sqrt(2 p (1 - p))).
TEST(SgdTracksFlowPopulationRule, RefutationsAreAtTheFamilyWiseLevel) {
  const std::size_t N = 28;
  const double tail = 0.025 / N;
  SgdTracksFlowEvidence e = tracking_evidence();
  const SgdTracksFlowEvidence w = widened_to_family_level(e, N, 2);
  const double z_factor = (*w.coefficient_ci_high - *w.coefficient_ci_low) / (*e.coefficient_ci_high - *e.coefficient_ci_low);
  const double z975 = 1.959963984540054;
  EXPECT_NEAR(0.5 * std::erfc(z_factor * z975 / std::sqrt(2.0)), tail, 1e-12);
  EXPECT_NEAR(0.5 * (*w.coefficient_ci_low + *w.coefficient_ci_high), 0.5 * (*e.coefficient_ci_low + *e.coefficient_ci_high), 1e-15);
  auto t2 = [](double p) { return (2 * p - 1) / std::sqrt(2 * p * (1 - p)); };
  const double t_factor = (*w.bias_order_ci_high - *w.bias_order_ci_low) / (*e.bias_order_ci_high - *e.bias_order_ci_low);
  EXPECT_NEAR(t_factor, t2(1 - tail) / t2(0.975), 1e-9);
  EXPECT_NEAR(t_factor, 5.49, 0.01);
  // One member: nothing to correct.
  const SgdTracksFlowEvidence one = widened_to_family_level(e, 1, 2);
  EXPECT_EQ(*one.coefficient_ci_low, *e.coefficient_ci_low);
  EXPECT_EQ(*one.bias_order_ci_high, *e.bias_order_ci_high);

  // The member that failed the full run of 2026-12-06 (Gaussian (3, 5, 4) seed 3, mixed a; seeds 32-63
  // gave c = 0.2509 [0.2468, 0.2549]): alone it refutes, among 28 members it decides nothing.
  SgdTracksFlowEvidence m;
  m.bias_order = 0.607;
  m.bias_order_ci_low = -0.102;
  m.bias_order_ci_high = 1.317;
  m.coefficient = 0.25318;
  m.coefficient_ci_low = 0.25079;
  m.coefficient_ci_high = 0.25556;
  m.reference_coefficient = 0.25;
  const SgdTracksFlowThresholds t;
  EXPECT_EQ(sgd_tracks_flow_member_standing(m, t, 1), MemberStanding::Refutes);
  EXPECT_EQ(sgd_tracks_flow_member_standing(m, t, N), MemberStanding::Undecided);
  std::vector<SgdTracksFlowEvidence> population(N - 1, tracking_evidence());
  population.push_back(m);
  EXPECT_EQ(decide_sgd_tracks_flow_population(population, t).status, VerdictStatus::Pass);
  // A miss far beyond the family-wise interval still refutes (the 1.1x mutant's reference), and a
  // member that holds on its 95% intervals holds whatever N.
  SgdTracksFlowEvidence x11 = tracking_evidence();
  x11.reference_coefficient = 0.275;
  EXPECT_EQ(sgd_tracks_flow_member_standing(x11, t, N), MemberStanding::Refutes);
  population.back() = x11;
  expect_fails_only(decide_sgd_tracks_flow_population(population, t), kRuleTrackingPopulationHolds);
  EXPECT_EQ(sgd_tracks_flow_member_standing(tracking_evidence(), t, N), MemberStanding::Holds);
}

SgdTracksFlowEvidence tested_member(const std::string& family) {
  SgdTracksFlowEvidence e = tracking_evidence();
  e.family = family;
  return e;
}

// A member that was not run (its SGD plan exceeded max_steps_per_seed): no fits at all.
SgdTracksFlowEvidence not_run_member(const std::string& family) {
  SgdTracksFlowEvidence e;
  e.reference_coefficient = 0.25;
  e.family = family;
  return e;
}

TEST(SgdTracksFlowPopulationRule, EveryFamilyNeedsATestedMember) {
  SgdTracksFlowThresholds t;
  t.min_tested_fraction = 0.5;
  EXPECT_FALSE(sgd_tracks_flow_decidable(not_run_member("figure1"), t));
  // 6 of 8 tested, but the Figure 1 family (2 members, not run) has none: population_tested fails.
  std::vector<SgdTracksFlowEvidence> members = {not_run_member("figure1"), not_run_member("figure1")};
  for (int k = 0; k < 6; ++k) members.push_back(tested_member(k < 3 ? "gaussian (3, 5, 4)" : "gaussian (10, 50, 30)"));
  expect_inconclusive_only(decide_sgd_tracks_flow_population(members, t), kRuleTrackingPopulationTested);
  // One Figure 1 member tested: covered, and it passes.
  members[0] = tested_member("figure1");
  EXPECT_EQ(decide_sgd_tracks_flow_population(members, t).status, VerdictStatus::Pass);
  // A tested Figure 1 member that misses the claim fails the population (widened to the level of 8
  // members, x 1.40, [0.2446, 0.2474] still misses 0.25).
  members[0].coefficient_ci_low = 0.2450;
  members[0].coefficient = 0.2460;
  members[0].coefficient_ci_high = 0.2470;
  EXPECT_EQ(failed_rules(decide_sgd_tracks_flow_population(members, t)), std::vector<std::string>{kRuleTrackingPopulationHolds});
}

TEST(SgdTracksFlowRule, AReferenceFlowOffByTenPercentFailsCoefficientMatches) {
  // The coefficient-x1.1 mutant's coefficient evidence: the same fitted interval against 1.1 x 0.25
  // (still resolved to 10% of 0.275: only the match fails).
  SgdTracksFlowEvidence e = tracking_evidence();
  e.reference_coefficient = 0.275;
  expect_fails_only(decide_sgd_tracks_flow(e, SgdTracksFlowThresholds()), kRuleCoefficientMatches);
  e.reference_coefficient = 0.2;  // 0.8 x: the interval is not within 10% of it either
  const Decision d = decide_sgd_tracks_flow(e, SgdTracksFlowThresholds());
  EXPECT_EQ(d.status, VerdictStatus::Fail);
  EXPECT_FALSE(d.held(kRuleCoefficientMatches));
  EXPECT_FALSE(d.held(kRuleCoefficientResolved));
  EXPECT_TRUE(d.held(kRuleBiasOrderNearOne));
  e = tracking_evidence();
  e.coefficient.reset();  // no fit: both coefficient rules fail
  e.coefficient_ci_low.reset();
  e.coefficient_ci_high.reset();
  const Decision none = decide_sgd_tracks_flow(e, SgdTracksFlowThresholds());
  EXPECT_FALSE(none.held(kRuleCoefficientMatches));
  EXPECT_FALSE(none.held(kRuleCoefficientResolved));
  EXPECT_TRUE(none.held(kRuleBiasOrderNearOne));
}

// --- Claim 4 -------------------------------------------------------------------------------------

// A population of three draws that all reached rank one within their budgets, and one draw whose
// budget did not fit the cap (untested: 3 of 4 >= the default 0.75).
RankOneSgdEvidence rank_one_population() {
  RankOneSgdEvidence e;
  for (int k = 0; k < 4; ++k) {
    RankOneSgdMember m;
    m.data_seed = k + 1;
    m.lambda_min = std::pow(10.0, -k);
    m.predicted_flow_time = rank_one_predicted_flow_time(m.lambda_min, 5.8, 0.87);
    m.budget_steps = 1000000 * (k + 1);
    m.tested = k < 3;
    m.completed = m.tested;
    if (m.tested) {
      m.final_ratios = {0.005 / (k + 1), 1e-4};
      m.rank_one_flow_time = 0.8 * m.predicted_flow_time;
    }
    e.members.push_back(m);
  }
  return e;
}

TEST(RankOneSgdRule, EveryTestedDrawBelowTheThresholdPasses) {
  const RankOneSgdEvidence e = rank_one_population();
  EXPECT_EQ(decide_rank_one_sgd(e, RankOneSgdThresholds()).status, VerdictStatus::Pass);
  for (int k = 0; k < 3; ++k) EXPECT_TRUE(reached_rank_one(e.members[k], RankOneSgdThresholds()));
  EXPECT_FALSE(reached_rank_one(e.members[3], RankOneSgdThresholds()));  // untested is not evidence
}

TEST(RankOneSgdRule, OneDrawAtOrAboveTheThresholdFails) {
  RankOneSgdEvidence e = rank_one_population();
  e.members[1].final_ratios = {0.01, 1e-4};  // at the threshold: not below it
  expect_fails_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRuleFeatureRankOne);
  e.members[1].final_ratios = {0.2, 1e-4};
  expect_fails_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRuleFeatureRankOne);
  e.members[1].final_ratios = {kNaN, 1e-4};
  expect_fails_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRuleFeatureRankOne);
  e.members[1].final_ratios = {};
  expect_fails_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRuleFeatureRankOne);
  e.members[1].final_ratios = {0.2, 1e-4};
  RankOneSgdThresholds loose;
  loose.rank_one_threshold = 0.3;
  EXPECT_EQ(decide_rank_one_sgd(e, loose).status, VerdictStatus::Pass);
}

TEST(RankOneSgdRule, AnUntestedDrawIsNeitherEvidenceNorFailure) {
  // The untested draw has a huge ratio recorded by mistake: it is not read.
  RankOneSgdEvidence e = rank_one_population();
  e.members[3].final_ratios = {0.9};
  e.members[3].completed = true;
  EXPECT_EQ(decide_rank_one_sgd(e, RankOneSgdThresholds()).status, VerdictStatus::Pass);
}

TEST(RankOneSgdRule, TooFewTestedDrawsFail) {
  RankOneSgdEvidence e = rank_one_population();
  e.members[2].tested = false;  // 2 of 4 tested < 0.75
  expect_inconclusive_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRulePopulationTested);
  RankOneSgdThresholds half;
  half.min_tested_fraction = 0.5;
  EXPECT_EQ(decide_rank_one_sgd(e, half).status, VerdictStatus::Pass);
  // No draw at all, or none tested, is no evidence.
  expect_inconclusive_only(decide_rank_one_sgd(RankOneSgdEvidence{}, RankOneSgdThresholds()), kRulePopulationTested);
  for (auto& m : e.members) m.tested = false;
  half.min_tested_fraction = 1e-9;
  expect_inconclusive_only(decide_rank_one_sgd(e, half), kRulePopulationTested);
}

TEST(RankOneSgdRule, ARunThatDidNotCompleteFails) {
  RankOneSgdEvidence e = rank_one_population();
  e.members[0].completed = false;
  e.members[0].final_ratios.clear();
  expect_fails_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRuleSgdRunsCompleted);
}

TEST(RankOneSgdRule, ShortBudgetMutantIsRejected) {
  // The mutant: the same draws with 1/100 of the predicted time, ending far from rank one.
  RankOneSgdEvidence e = rank_one_population();
  for (auto& m : e.members)
    if (m.tested) m.final_ratios = {0.3, 0.05};
  expect_fails_only(decide_rank_one_sgd(e, RankOneSgdThresholds()), kRuleFeatureRankOne);
}

TEST(RankOneSgdRule, PredictedTimeAndBudget) {
  EXPECT_NEAR(rank_one_predicted_flow_time(1.0, 5.8, 0.87), 5.8, 1e-15);
  EXPECT_NEAR(rank_one_predicted_flow_time(0.01, 5.8, 0.87), 5.8 * std::pow(100.0, 0.87), 1e-9);
  EXPECT_THROW(rank_one_predicted_flow_time(0.0, 5.8, 0.87), InputError);
  EXPECT_THROW(rank_one_predicted_flow_time(-1e-3, 5.8, 0.87), InputError);
  EXPECT_THROW(rank_one_predicted_flow_time(kNaN, 5.8, 0.87), InputError);
  // Figure 1, s = 0.03, eta = 0.05: 5.625e-7 flow time per step.
  EXPECT_EQ(steps_for_flow_time(56.25, 0.03 * 0.03 * 0.05 * 0.05 / 4), 100000000);
  EXPECT_EQ(steps_for_flow_time(1e-12, 1.0), 1);
  EXPECT_EQ(steps_for_flow_time(1e300, 1e-300), LLONG_MAX);
  EXPECT_THROW(steps_for_flow_time(1.0, 0.0), InputError);
  EXPECT_THROW(steps_for_flow_time(-1.0, 1.0), InputError);
}

// --- Claim 5 -------------------------------------------------------------------------------------

// One draw that holds every rule: lambda_min > 0 at the stationary point, no negative curvature found
// by the search up to g_lo = 2.9 (40 points below it), the first counterexample at g_hi = 3.0.
LocalConvexityMember convex_draw(int seed) {
  LocalConvexityMember m;
  m.data_seed = seed;
  m.completed = true;
  m.lambda_min_at_minimizer = 0.05;
  m.convex_points_below = 40;
  m.convex_up_to = 2.9;
  m.counterexample_at = 3.0;
  return m;
}

LocalConvexityEvidence locally_convex() { return {{convex_draw(1), convex_draw(2), convex_draw(3)}}; }

TEST(LocalConvexityRule, ConvexNearTheMinimumAndNotGloballyPasses) {
  EXPECT_EQ(decide_local_convexity(locally_convex(), LocalConvexityThresholds()).status, VerdictStatus::Pass);
}

TEST(LocalConvexityRule, AnEmptyOrIncompletePopulationFails) {
  expect_fails_only(decide_local_convexity(LocalConvexityEvidence{}, LocalConvexityThresholds()),
                    kRuleConvexityMembersCompleted);
  LocalConvexityEvidence e = locally_convex();
  e.members[1] = LocalConvexityMember{};  // a draw whose commands failed, numbers at their defaults
  expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRuleConvexityMembersCompleted);
}

TEST(LocalConvexityRule, NoPositiveCurvatureAtOneMinimizerFails) {
  for (double lambda : {0.0, -0.01, kNaN}) {
    LocalConvexityEvidence e = locally_convex();
    e.members[2].lambda_min_at_minimizer = lambda;
    expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRulePositiveDefiniteAtMinimizer);
  }
}

TEST(LocalConvexityRule, TooLittleEvidenceNearStationarityFails) {
  LocalConvexityEvidence e = locally_convex();
  e.members[0].convex_points_below = 9;  // one short of the default 10
  expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRuleConvexNearStationarity);
  LocalConvexityThresholds fewer;
  fewer.min_convex_points = 9;
  EXPECT_EQ(decide_local_convexity(e, fewer).status, VerdictStatus::Pass);
  // Negative curvature below every search rung (a saddle found at ||grad_M T|| ~ 0): g_lo = 0.
  e = locally_convex();
  e.members[1].convex_points_below = 0;
  e.members[1].convex_up_to = 0;
  e.members[1].counterexample_at = 1e-15;
  expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRuleConvexNearStationarity);
}

TEST(LocalConvexityRule, NoCounterexampleOfTheDrawItselfFailsTheLocalClaim) {
  LocalConvexityEvidence e = locally_convex();
  e.members[0].counterexample_at = std::numeric_limits<double>::infinity();
  expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRuleNotGloballyConvex);
}

TEST(LocalConvexityRule, AWideBracketFailsToLocateTheThreshold) {
  LocalConvexityEvidence e = locally_convex();
  e.members[2].convex_up_to = 0.29;  // g_hi / g_lo = 10.34 > 10
  expect_fails_only(decide_local_convexity(e, LocalConvexityThresholds()), kRuleThresholdLocated);
  e.members[2].convex_up_to = 0.3;  // exactly 10: held
  EXPECT_EQ(decide_local_convexity(e, LocalConvexityThresholds()).status, VerdictStatus::Pass);
}

TEST(LocalConvexityBracket, TheSearchBoundsTheThresholdAndTheAnchorIsNeverEvidence) {
  const LocalConvexityThresholds t;  // stationary below 1e-9
  const std::vector<CurvatureObservation> obs = {
      {true, 1e-15, false},                           // the anchor: never counted
      {false, 3e-10, false, 0.03},                    // a rung whose best point is stationary: its eps counts, not the point
      {false, 0.5, false}, {false, 0.9, false},       // sampled, convex, below g_lo = 1
      {false, 2.5, false}, {false, 7.0, false},       // sampled, convex, above g_lo: a single point bounds nothing
      {false, 0.95, false, 1.0},                      // rung eps = 1: no negative curvature with ||grad_M T|| <= 1
      {false, 4.0, true},  {false, 9.0, true, 9.0},   // counterexamples: g_hi = 4
      {false, 3.9, false, 8.0},                       // a rung above g_hi that found nothing: no evidence
      {false, kNaN, false}};                          // not measured: never counted
  const LocalConvexityMember m = curvature_bracket(obs, t);
  EXPECT_EQ(m.counterexample_at, 4.0);
  EXPECT_EQ(m.convex_up_to, 1.0);
  EXPECT_EQ(m.convex_points_below, 3);  // 0.5, 0.9 and the rung's 0.95
  // Without a search nothing bounds the threshold from below.
  const LocalConvexityMember n = curvature_bracket({{true, 1e-15, false}, {false, 0.5, false}, {false, 4.0, true}}, t);
  EXPECT_EQ(n.convex_up_to, 0);
  EXPECT_EQ(n.convex_points_below, 0);
  EXPECT_EQ(n.counterexample_at, 4.0);
  // Only the anchor: nothing is evidence, and no counterexample.
  const LocalConvexityMember a = curvature_bracket({{true, 1e-15, false}}, t);
  EXPECT_EQ(a.convex_points_below, 0);
  EXPECT_EQ(a.convex_up_to, 0);
  EXPECT_FALSE(std::isfinite(a.counterexample_at));
  // An anchor with negative curvature (a stationary point that is not a minimum) is a counterexample
  // at ~0: no rung lies below it.
  const LocalConvexityMember s = curvature_bracket({{true, 1e-15, true}, {false, 0.3, false, 0.4}}, t);
  EXPECT_EQ(s.counterexample_at, 1e-15);
  EXPECT_EQ(s.convex_up_to, 0);
  EXPECT_EQ(s.convex_points_below, 0);
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

TEST(OutsideAssumptionsReading, AFlowEndsStationaryEscapingOrNotConverged) {
  const OutsideAssumptionsThresholds t;  // stationary below 1e-8, escape above 1% growth
  const std::vector<double> tau = {0, 1, 2, 3, 4, 5, 6};
  // tanh-like: ||R||_F grows like log(tau) to the end (+5% over the second half).
  const std::vector<double> growing = {1.0, 6.0, 7.0, 7.5, 7.7, 7.9, 8.1};
  EXPECT_EQ(classify_flow_ending(2e-6, tau, growing, t), FlowEnding::Escaping);
  // The same states with a gradient below the threshold: stationary, whatever the norm did.
  EXPECT_EQ(classify_flow_ending(5e-9, tau, growing, t), FlowEnding::Stationary);
  // Slow convergence: the norm still creeps up, by less than 1% over the second half.
  const std::vector<double> creeping = {1.0, 6.0, 6.88, 6.89, 6.895, 6.9, 6.905};
  EXPECT_EQ(classify_flow_ending(1e-7, tau, creeping, t), FlowEnding::NotConverged);
  // Growth that is not monotone over the second half is no escape.
  const std::vector<double> wobbling = {1.0, 6.0, 7.0, 8.0, 7.5, 8.5, 9.0};
  EXPECT_EQ(classify_flow_ending(1e-3, tau, wobbling, t), FlowEnding::NotConverged);
  // Fewer than three states in the second half say nothing.
  EXPECT_EQ(classify_flow_ending(1e-3, {0, 10}, {1.0, 5.0}, t), FlowEnding::NotConverged);
  EXPECT_THROW(classify_flow_ending(1e-3, {0, 1}, {1.0}, t), InputError);
  EXPECT_EQ(to_string(FlowEnding::Escaping), "escaping to infinity");
}

TEST(OutsideAssumptionsReading, DistinctStationaryPointsByValueAndInertia) {
  OutsideAssumptionsThresholds t;
  const HessianInertia minimum = hessian_inertia({0.5, 1e-3, 2.0}, t);
  EXPECT_EQ(minimum, (HessianInertia{0, 0, 3}));
  EXPECT_EQ(hessian_inertia({-0.2, 1e-12, 2.0}, t), (HessianInertia{1, 1, 1}));  // 1e-12 <= 1e-8 * 2
  const HessianInertia saddle{1, 0, 2};
  // 42.4848 twice (to 1e-6), 33.957 once, and a saddle at the value of the first.
  const std::vector<DistinctStationaryPoint> d = distinct_stationary_points(
      {{42.4848, minimum, 0.668}, {33.957, minimum, 0.5}, {42.4848 * (1 + 5e-7), minimum, 0.668}, {42.4848, saddle, 0.7}},
      t);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].starts, 2);
  EXPECT_EQ(d[0].point.sharpness, 42.4848);
  EXPECT_EQ(d[1].starts, 1);
  EXPECT_EQ(d[1].point.sharpness, 33.957);
  EXPECT_EQ(d[2].point.inertia, saddle);
  EXPECT_TRUE(distinct_stationary_points({}, t).empty());
}

}  // namespace
