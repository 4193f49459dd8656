// Claim 8, the claims at scale (verification/claims_at_scale_rule.hpp): the rule on hand-made
// evidence (a case that passes, and for each rule a falsified variant that fails that rule alone),
// and the claim through the real program at a small size (its quick mode), where the verdict, its
// mutants and its reproduce block are checked and a falsified configuration flips it.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/verification/claims_at_scale_rule.hpp"
#include "zeroloss/verification/verification_config.hpp"

namespace {

using namespace zeroloss;
using nlohmann::json;

std::vector<std::string> failed_rules(const Decision& d) {
  std::vector<std::string> failed;
  for (const auto& r : d.rules)
    if (!r.held) failed.push_back(r.rule);
  return failed;
}

void expect_fails_only(const ClaimsAtScaleEvidence& e, const std::string& rule) {
  const Decision d = decide_claims_at_scale(e, ClaimsAtScaleThresholds());
  EXPECT_EQ(d.status, VerdictStatus::Fail);
  EXPECT_EQ(failed_rules(d), std::vector<std::string>{rule});
}

// Evidence as the default problem gave it (T* = 1004.85, lambda_min = 0.0186 with residual 6.5e-13):
// both runs at T* to rounding, Phi rank one to 5e-9, 24 convex geodesic points and the anchor.
ClaimsAtScaleEvidence at_scale() {
  ClaimsAtScaleEvidence e;
  e.optimum_completed = true;
  e.sharpness_star = 1004.850021219771;
  e.lambda_min = {true, 0.0186039, 6.5e-13, 7.05e-12};
  e.flow = {true, true, 1004.8500212197714, 4.3e-11, {4.65e-9, 8.3e-10, 5e-10}};
  e.trust_region = {true, true, 1004.850021219771, 2.9e-14, {}};
  e.convexity_completed = true;
  e.curvature.push_back({true, 1e-14, false});  // the anchor
  for (int k = 1; k <= 24; ++k) e.curvature.push_back({false, 0.027 * k, false});
  return e;
}

TEST(ClaimsAtScaleRule, TheEvidenceAtScalePasses) {
  const Decision d = decide_claims_at_scale(at_scale(), ClaimsAtScaleThresholds());
  EXPECT_EQ(d.status, VerdictStatus::Pass) << testing::PrintToString(failed_rules(d));
  EXPECT_EQ(d.rules.size(), 7u);
}

TEST(ClaimsAtScaleRule, AFlowStoppedEarlyFailsTheValueRule) {
  // The flow's T after a tenth of its time on the default problem: T - T* about 1e-6 T*.
  ClaimsAtScaleEvidence e = at_scale();
  e.flow.sharpness = e.sharpness_star * (1 + 1e-6);
  expect_fails_only(e, kRuleFlowReachesOptimum);
  e.flow.sharpness = e.sharpness_star * (1 + 2e-10);  // just outside the tolerance 1e-10
  expect_fails_only(e, kRuleFlowReachesOptimum);
  e.flow.sharpness = std::nan("");
  expect_fails_only(e, kRuleFlowReachesOptimum);
  e.flow.sharpness = e.sharpness_star * (1 - 5e-11);  // within it, from below (rounding)
  EXPECT_EQ(decide_claims_at_scale(e, ClaimsAtScaleThresholds()).status, VerdictStatus::Pass);
}

TEST(ClaimsAtScaleRule, ATrustRegionAboveItsGradientToleranceFails) {
  ClaimsAtScaleEvidence e = at_scale();
  e.trust_region.grad_norm = 3e-12;  // converged by its own test, but not to 1e-12
  expect_fails_only(e, kRuleTrustRegionStationary);
  e = at_scale();
  e.trust_region.converged = false;
  expect_fails_only(e, kRuleTrustRegionStationary);
}

TEST(ClaimsAtScaleRule, ATrustRegionAtAnotherValueFails) {
  ClaimsAtScaleEvidence e = at_scale();
  e.trust_region.sharpness = e.sharpness_star * (1 + 1e-9);
  expect_fails_only(e, kRuleTrustRegionReachesOptimum);
}

TEST(ClaimsAtScaleRule, ARankTwoFeatureMatrixFails) {
  ClaimsAtScaleEvidence e = at_scale();
  e.flow.feature_ratios = {0.3, 1e-9};
  expect_fails_only(e, kRuleMinimiserRankOne);
  e.flow.feature_ratios = {2e-6};  // above the threshold 1e-6
  expect_fails_only(e, kRuleMinimiserRankOne);
  e.flow.feature_ratios = {};  // nothing measured: not rank one
  expect_fails_only(e, kRuleMinimiserRankOne);
}

TEST(ClaimsAtScaleRule, ALambdaMinNotSeparatedFromZeroFails) {
  ClaimsAtScaleEvidence e = at_scale();
  e.lambda_min.residual = 0.02;  // the certificate's interval [lambda - r, lambda + r] contains 0
  expect_fails_only(e, kRuleLambdaMinCertified);
  e = at_scale();
  e.lambda_min.lambda_min = 5e-12;  // below the threshold tau: zero, not positive
  expect_fails_only(e, kRuleLambdaMinCertified);
  e = at_scale();
  e.lambda_min.converged = false;
  expect_fails_only(e, kRuleLambdaMinCertified);
  e = at_scale();
  e.lambda_min = {true, -1.275, 1.8e-14, 1.3e-10};  // tanh's stationary point (the phi3_negative mutant)
  expect_fails_only(e, kRuleLambdaMinCertified);
}

TEST(ClaimsAtScaleRule, NegativeCurvatureBelowTheThresholdFails) {
  ClaimsAtScaleEvidence e = at_scale();
  e.curvature[3].negative = true;  // one geodesic point, ||grad_M T|| = 0.081, below the largest 0.648
  expect_fails_only(e, kRuleConvexNearMinimiser);
  const CurvatureNearMinimiser c = curvature_near_minimiser(e.curvature, ClaimsAtScaleThresholds());
  EXPECT_EQ(c.negative, 1);
  EXPECT_EQ(c.counted, 23);
  EXPECT_EQ(c.convex_up_to, 0);
}

TEST(ClaimsAtScaleRule, TheAnchorAndStationaryPointsNeverCount) {
  const ClaimsAtScaleThresholds t;
  ClaimsAtScaleEvidence e = at_scale();
  CurvatureNearMinimiser c = curvature_near_minimiser(e.curvature, t);
  EXPECT_EQ(c.counted, 24);
  EXPECT_DOUBLE_EQ(c.convex_up_to, 0.027 * 24);
  // 19 geodesic points and the anchor are 20 observations, but only 19 count: too few.
  e.curvature.resize(20);
  expect_fails_only(e, kRuleConvexNearMinimiser);
  // Points at the minimiser itself (||grad_M T|| below stationary_gradient) do not count either.
  e = at_scale();
  for (int k = 1; k <= 5; ++k) e.curvature[k].grad_norm = 1e-12;
  EXPECT_EQ(curvature_near_minimiser(e.curvature, t).counted, 19);
  expect_fails_only(e, kRuleConvexNearMinimiser);
  // A negative anchor is the subject of lambda_min_certified_positive, not of this rule.
  e = at_scale();
  e.curvature[0].negative = true;
  EXPECT_EQ(decide_claims_at_scale(e, t).status, VerdictStatus::Pass);
  // A NaN gradient norm is never counted.
  e.curvature[1].grad_norm = std::nan("");
  EXPECT_EQ(curvature_near_minimiser(e.curvature, t).counted, 23);
}

TEST(ClaimsAtScaleRule, ARunThatDidNotCompleteFailsTheFirstRuleOnly) {
  ClaimsAtScaleEvidence e = at_scale();
  e.flow = ScaleRunEnd{};
  expect_fails_only(e, kRuleScaleCommandsCompleted);
  e = at_scale();
  e.convexity_completed = false;
  e.curvature.clear();
  expect_fails_only(e, kRuleScaleCommandsCompleted);
}

TEST(ClaimsAtScaleConfig, TheSectionIsValidated) {
  const auto message = [](const std::string& text) {
    try {
      (void)parse_verification_config(text, "c.json", false);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message(R"({"claims_at_scale": {"n": 20, "d": 10}})").find("must be at most claims_at_scale.d"),
            std::string::npos);
  EXPECT_NE(message(R"({"claims_at_scale": {"loose_trust_region_gradient": 1e-13}})").find("must exceed"),
            std::string::npos);
  EXPECT_NE(message(R"({"claims_at_scale": {"min_convex_points": 30}})").find("geodesic_points"), std::string::npos);
  EXPECT_NE(message(R"({"claims_at_scale": {"short_flow_fraction": 1}})").find("strictly between 0 and 1"),
            std::string::npos);
  EXPECT_NE(message(R"({"quick": {"claims_at_scale": {"relative_tolerance": 0}}})").find("quick.claims_at_scale"),
            std::string::npos);
  const json full = parse_verification_config("{}", "c.json", false), quick = parse_verification_config("{}", "c.json", true);
  EXPECT_EQ(full["claims_at_scale"]["n"], 100);
  EXPECT_EQ(full["claims_at_scale"]["d"], 1000);
  EXPECT_EQ(full["claims_at_scale"]["m"], 1000);
  EXPECT_EQ(quick["claims_at_scale"]["m"], 20);
}

// `zeroloss run` (quick) with this claim alone, in a fresh folder; returns its verdict.
json run_claim(const std::string& name, json config, int expected_rc, std::string* dir_out = nullptr) {
  const std::string dir = test::temp_dir(name);
  config["claims"] = {"claims_at_scale"};
  std::ofstream(dir + "/config.json") << config.dump(2);
  std::string out, err;
  EXPECT_EQ(test::run_command("cd " + dir + " && " + test::zeroloss_binary() + " run config.json --quick --out report",
                              &out, &err),
            expected_rc)
      << out << err;
  if (dir_out) *dir_out = dir;
  return json::parse(test::slurp(dir + "/report/summary.json"))["verdicts"]["claims_at_scale"];
}

TEST(ClaimsAtScaleReport, TheSmallProblemPassesAndEveryMutantIsRejected) {
  std::string dir;
  const json v = run_claim("scale-quick", json::object(), 0, &dir);
  ASSERT_EQ(v["status"], "pass") << v["evidence"];
  const json& x = v["numbers"];
  EXPECT_EQ(x["n"], 10);
  EXPECT_EQ(x["spectrum_method"], "dense");
  // Two routes to the minimum agree with the closed form: the flow and the trust region.
  EXPECT_LT(x["flow"]["relative_gap"].get<double>(), 1e-12);
  EXPECT_LT(x["trust_region"]["relative_gap"].get<double>(), 1e-12);
  EXPECT_LE(x["trust_region"]["grad_norm"].get<double>(), 1e-12);
  EXPECT_LT(x["flow"]["feature_sigma2_over_sigma1"].get<double>(), 1e-8);
  EXPECT_GT(x["lambda_min"].get<double>(), 0.01);
  EXPECT_EQ(x["near_minimiser"]["points_counted"], 24);
  EXPECT_EQ(x["near_minimiser"]["negative"], 0);
  ASSERT_EQ(v["power"].size(), 5u);
  for (const auto& m : v["power"]) EXPECT_TRUE(m["rejected"].get<bool>()) << m;
  const json& mutants = x["mutants"];
  EXPECT_EQ(mutants["short_flow"]["rules_failed"][0], kRuleFlowReachesOptimum);
  EXPECT_EQ(mutants["loose_trust_region"]["rules_failed"], json::array({kRuleTrustRegionStationary}));
  EXPECT_EQ(mutants["phi3_negative"]["rules_failed"],
            json::array({kRuleLambdaMinCertified, kRuleConvexNearMinimiser}));
  EXPECT_EQ(mutants["start_features"]["rules_failed"], json::array({kRuleMinimiserRankOne}));
  // The reproduce block runs as written from an empty folder and makes the claim's outputs.
  const std::string fresh = test::temp_dir("scale-reproduce");
  std::ofstream(fresh + "/block.sh") << "set -e\n" << v["command"].get<std::string>() << "\n";
  const std::string bin = std::filesystem::path(test::zeroloss_binary()).parent_path().string();
  std::string out, err;
  EXPECT_EQ(test::run_command("cd " + fresh + " && PATH=" + bin + ":$PATH sh block.sh", &out, &err), 0) << err;
  for (const char* f : {"flow/summary.json", "convexity/points.csv", "trust_region.csv", "optimum.csv"})
    EXPECT_TRUE(std::filesystem::exists(fresh + "/report/claims_at_scale/" + f)) << f;
}

TEST(ClaimsAtScaleReport, AFlowTooShortFlipsTheVerdict) {
  // Half a decade of the final decay from a random start: the flow ends far from T*.
  const json v = run_claim("scale-short", {{"quick", {{"claims_at_scale", {{"flow_decades", 0.5}}}}}}, 8);
  EXPECT_EQ(v["status"], "fail") << v["evidence"];
  EXPECT_FALSE(v["numbers"]["rules"][kRuleFlowReachesOptimum].get<bool>());
  EXPECT_TRUE(v["numbers"]["rules"][kRuleTrustRegionReachesOptimum].get<bool>());
}

}  // namespace
