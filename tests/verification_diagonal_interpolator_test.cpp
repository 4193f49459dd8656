// Claim 7 of the report (diagonal_sparse_interpolator_rule.hpp): the rule on hand-made evidence (a
// population that passes, and each rule failing alone), the mutant's effect on the status
// (status_with_power), the power list in a saved verdict, and the predicted off-support decay rate
// against the Riemannian gradient of T computed by the model interface (an independent route).

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/presentation/report_document.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"
#include "zeroloss/verification/diagonal_sparse_interpolator_rule.hpp"
#include "zeroloss/verification/verification_report.hpp"
#include "zeroloss/verification/verification_config.hpp"
#include "test_support.hpp"

namespace {

using namespace zeroloss;

std::vector<std::string> failed_rules(const Decision& d) {
  std::vector<std::string> failed;
  for (const auto& r : d.rules)
    if (!r.held) failed.push_back(r.rule);
  return failed;
}

void expect_fails_only(const Decision& d, const std::string& rule) {
  EXPECT_EQ(d.status, VerdictStatus::Fail);
  EXPECT_EQ(failed_rules(d), std::vector<std::string>{rule});
}

// A member at its interpolator w* = (0, 2, 0, -1, 0.5, 0) (support {1, 3, 4}, ||w*|| = 2.29).
DiagonalInterpolatorMember at_interpolator(int seed) {
  DiagonalInterpolatorMember m;
  m.data_seed = seed;
  m.completed = true;
  m.w_star = {0, 2, 0, -1, 0.5, 0};
  m.certified_support = {1, 3, 4};
  m.w = {1e-12, 2, 0, -1, 0.5, -1e-13};
  m.sharpness_star = 1.7;
  m.sharpness = 1.7 * (1 + 1e-12);
  return m;
}

DiagonalInterpolatorEvidence population() { return {{at_interpolator(1), at_interpolator(2), at_interpolator(3)}}; }

TEST(DiagonalSparseInterpolatorRule, PassesWhenEveryMemberReachesTheInterpolator) {
  const Decision d = decide_diagonal_sparse_interpolator(population(), DiagonalInterpolatorThresholds());
  EXPECT_EQ(d.status, VerdictStatus::Pass);
  EXPECT_TRUE(failed_rules(d).empty());
}

TEST(DiagonalSparseInterpolatorRule, AnEmptyPopulationOrAnIncompleteMemberFailsTheFirstRuleAlone) {
  expect_fails_only(decide_diagonal_sparse_interpolator({}, DiagonalInterpolatorThresholds()), kRuleMembersCompleted);
  DiagonalInterpolatorEvidence e = population();
  e.members[1].completed = false;  // e.g. the projection failed: SGD lost a coordinate of the support
  e.members[1].w.clear();
  expect_fails_only(decide_diagonal_sparse_interpolator(e, DiagonalInterpolatorThresholds()), kRuleMembersCompleted);
}

TEST(DiagonalSparseInterpolatorRule, ADistantEndPointFailsNearInterpolatorAlone) {
  DiagonalInterpolatorEvidence e = population();
  e.members[2].w[1] = 2.01;  // same support, T unchanged by hand: only the distance (4.4e-3) is off
  expect_fails_only(decide_diagonal_sparse_interpolator(e, DiagonalInterpolatorThresholds()), kRuleNearInterpolator);
  DiagonalInterpolatorThresholds loose;
  loose.relative_distance_tolerance = 5e-3;
  EXPECT_EQ(decide_diagonal_sparse_interpolator(e, loose).status, VerdictStatus::Pass);
}

TEST(DiagonalSparseInterpolatorRule, ASharpnessAboveTStarFailsSharpnessGapAlone) {
  DiagonalInterpolatorEvidence e = population();
  e.members[0].sharpness = 1.7 * (1 + 2e-4);
  expect_fails_only(decide_diagonal_sparse_interpolator(e, DiagonalInterpolatorThresholds()), kRuleSharpnessGap);
  e.members[0].sharpness = 1.7 * (1 - 2e-4);  // below T* on M: T* was wrong, also a failure
  expect_fails_only(decide_diagonal_sparse_interpolator(e, DiagonalInterpolatorThresholds()), kRuleSharpnessGap);
  e.members[0].sharpness = std::numeric_limits<double>::quiet_NaN();
  expect_fails_only(decide_diagonal_sparse_interpolator(e, DiagonalInterpolatorThresholds()), kRuleSharpnessGap);
}

TEST(DiagonalSparseInterpolatorRule, AnExtraNonzeroFailsSupportRecoveredAlone) {
  DiagonalInterpolatorEvidence e = population();
  e.members[1].w[5] = 1.5e-3;  // relative distance 6.5e-4, within the default 1e-3
  DiagonalInterpolatorThresholds t;
  t.support_threshold = 5e-4;  // counts |w_k| > 5e-4 max|w| = 1e-3 as nonzero: w_5 is an extra nonzero
  expect_fails_only(decide_diagonal_sparse_interpolator(e, t), kRuleSupportRecovered);
  // The default threshold (1e-3 max|w| = 2e-3) counts it as zero.
  EXPECT_EQ(decide_diagonal_sparse_interpolator(e, DiagonalInterpolatorThresholds()).status, VerdictStatus::Pass);
}

TEST(DiagonalSparseInterpolatorRule, OneMissedMemberFailsThePopulation) {
  DiagonalInterpolatorEvidence e = population();
  DiagonalInterpolatorMember gd = at_interpolator(4);  // the s = 0 mutant's kind of end point: dense
  gd.w = {0.3, 1.6, -0.2, -0.7, 0.6, 0.1};
  gd.sharpness = 1.7 * 1.8;
  e.members.push_back(gd);
  const Decision d = decide_diagonal_sparse_interpolator(e, DiagonalInterpolatorThresholds());
  EXPECT_EQ(d.status, VerdictStatus::Fail);
  EXPECT_EQ(failed_rules(d), (std::vector<std::string>{kRuleNearInterpolator, kRuleSharpnessGap, kRuleSupportRecovered}));
}

TEST(DiagonalSparseInterpolatorRule, DistanceAndSupport) {
  EXPECT_DOUBLE_EQ(relative_distance({3, 4}, {0, 5}), std::sqrt(10.0) / 5);
  EXPECT_THROW(relative_distance({1}, {1, 2}), InputError);
  EXPECT_THROW(relative_distance({1, 2}, {0, 0}), InputError);
  EXPECT_EQ(recovered_support({0.5, -2, 1e-4, 0.0021}, 1e-3), (std::vector<int>{0, 1, 3}));
  EXPECT_TRUE(recovered_support({0, 0}, 1e-3).empty());
}

TEST(Power, AnUnrejectedMutantMakesAPassInconclusive) {
  const Decision pass = decide_by_rules({{"a", true}});
  const Decision fail = decide_by_rules({{"a", false}});
  const MutantOutcome rejected{"m1", "changes x", true}, accepted{"m2", "changes y", false};
  EXPECT_EQ(status_with_power(pass, {}), VerdictStatus::Pass);
  EXPECT_EQ(status_with_power(pass, {rejected}), VerdictStatus::Pass);
  EXPECT_EQ(status_with_power(pass, {rejected, accepted}), VerdictStatus::Inconclusive);
  EXPECT_EQ(status_with_power(fail, {accepted}), VerdictStatus::Fail);
}

TEST(Power, TheListRoundTripsThroughASavedVerdict) {
  Verdict v;
  v.key = "k";
  v.claim = "c";
  v.status = VerdictStatus::Inconclusive;
  v.power = {{"no_label_noise", "s = 0", false}, {"other", "x", true}};
  const nlohmann::json j = verdict_json(v);
  ASSERT_EQ(j.at("power").size(), 2u);
  EXPECT_EQ(j["power"][0], (nlohmann::json{{"mutant", "no_label_noise"}, {"changes", "s = 0"}, {"rejected", false}}));
  const Verdict back = verdict_from_json(j);
  EXPECT_EQ(back.status, VerdictStatus::Inconclusive);
  ASSERT_EQ(back.power.size(), 2u);
  EXPECT_EQ(back.power[1].mutant, "other");
  EXPECT_TRUE(back.power[1].rejected);
  nlohmann::json old = j;
  old.erase("power");  // saved before mutants existed
  EXPECT_TRUE(verdict_from_json(old).power.empty());
}

// The rate against the model interface: at the certified optimum with one off-support coordinate
// switched on (u_k = eps, or v_k = eps), grad_M T there is (rate_u/2) eps e_{u_k} (or rate_v/2 eps
// e_{v_k}) to O(eps^2), with rate_u = (16/n)(c_k - (X^T mu)_k), rate_v = (16/n)(c_k + (X^T mu)_k)
// (w_k = u_k^2 decays at twice the rate of u_k); the predicted rate is their minimum over k and signs.
TEST(OffSupportDecayRate, MatchesTheRiemannianGradientNearTheOptimum) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const int n = 3, d = 6;
    std::mt19937 gen(seed);
    std::normal_distribution<double> g(0.0, 1.0);
    Eigen::MatrixXd X(n, d);
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < d; ++k) X(i, k) = g(gen);
    Eigen::VectorXd y(n);
    for (int i = 0; i < n; ++i) y(i) = g(gen);
    const auto model = std::make_shared<const DiagonalLinearNetwork>(X, y);
    Eigen::VectorXd start = Eigen::VectorXd::Constant(2 * d, 1.0);
    for (int k = 0; k < 2 * d; ++k) start(k) += 0.1 * k / d;
    const DiagonalLinearOptimum opt = diagonal_linear_optimum(*model, start);
    ASSERT_EQ(static_cast<int>(opt.support.size()), n);
    const std::vector<double> dual(opt.dual.data(), opt.dual.data() + opt.dual.size());
    const double predicted = off_support_decay_rate(X, dual, opt.support);

    const double eps = 1e-6;
    double measured = std::numeric_limits<double>::infinity();
    for (int k = 0; k < d; ++k) {
      if (std::find(opt.support.begin(), opt.support.end(), k) != opt.support.end()) continue;
      for (int half : {0, 1}) {  // u_k, then v_k
        Eigen::VectorXd theta = opt.theta;
        theta(half * d + k) = eps;
        const Eigen::VectorXd grad = RiemannianSharpness(model, theta).riemannian_gradient();
        measured = std::min(measured, 2 * grad(half * d + k) / eps);
      }
    }
    EXPECT_GT(predicted, 0) << "seed " << seed;
    EXPECT_NEAR(measured, predicted, 1e-6 * std::max(1.0, predicted)) << "seed " << seed;
  }
  EXPECT_THROW(off_support_decay_rate(Eigen::MatrixXd::Ones(2, 3), {1.0}, {0}), InputError);
  EXPECT_TRUE(std::isinf(off_support_decay_rate(Eigen::MatrixXd::Ones(2, 2), {0.1, 0.1}, {0, 1})));
}

// The claim through the report (in process; its commands run as child processes of the built
// zeroloss): two draws pass and the s = 0 mutant is rejected; with almost no label noise the same
// pipeline stays at the start's interpolator and the claim fails.
nlohmann::json run_claim(const std::string& name, const nlohmann::json& section) {
  const std::string dir = zeroloss::test::temp_dir(name);
  const nlohmann::json config = resolve_verification_config(
      {{"claims", {"diagonal_sparse_interpolator"}}, {"diagonal_sparse_interpolator", section}}, "test.json", true);
  VerificationReportOptions options;
  options.out = dir + "/report";
  options.program = zeroloss::test::zeroloss_binary();
  const VerificationReportResult r = write_verification_report(config, options, {});
  EXPECT_EQ(r.document.verdicts.size(), 1u);
  return read_json_file(dir + "/report/summary.json")["verdicts"]["diagonal_sparse_interpolator"];
}

TEST(DiagonalSparseInterpolatorClaim, PassesAndRejectsTheNoiselessMutant) {
  const nlohmann::json v = run_claim("diagonal-claim", {{"draws", 2}, {"steps", 300000}, {"max_steps", 300000}});
  EXPECT_EQ(v["status"], "pass") << v["evidence"];
  ASSERT_EQ(v["power"].size(), 1u);
  EXPECT_EQ(v["power"][0]["mutant"], "no_label_noise");
  EXPECT_EQ(v["power"][0]["rejected"], true);
  ASSERT_EQ(v["numbers"]["members"].size(), 2u);
  for (const auto& m : v["numbers"]["members"]) {
    EXPECT_EQ(m["status"], "reached");
    EXPECT_LT(m["relative_distance"].get<double>(), 1e-3);
    EXPECT_EQ(m["recovered_support"].size(), 3u);  // n nonzeros
  }
  for (const auto& m : v["numbers"]["mutant_no_label_noise"]["members"]) {
    EXPECT_EQ(m["status"], "missed");
    EXPECT_GT(m["relative_distance"].get<double>(), 1e-2);
  }
}

TEST(DiagonalSparseInterpolatorClaim, FailsWithoutEnoughLabelNoise) {
  const nlohmann::json v =
      run_claim("diagonal-claim-weak", {{"draws", 1}, {"label_noise", 0.001}, {"steps", 300000}, {"max_steps", 300000}});
  EXPECT_EQ(v["status"], "fail") << v["evidence"];
  EXPECT_EQ(v["numbers"]["rules"]["near_interpolator"], false);
}

}  // namespace
