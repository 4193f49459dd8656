// The comparison planner and statistics of `zeroloss compare` (runs/sgd_flow_comparison.hpp),
// called directly: the grid against its definition, the statistics and the order fit against
// closed forms, one SGD run against LabelNoiseSgd and project_newton driven by hand.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <vector>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/runs/sgd_flow_comparison.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/dynamics/sharpness_flow.hpp"

namespace zeroloss {
namespace {

SgdFlowComparisonOptions options(std::vector<double> etas, double time, int points) {
  SgdFlowComparisonOptions o;
  o.label_noise = 1;
  o.batch_size = 2;
  o.learning_rates = std::move(etas);
  o.time = time;
  o.points = points;
  o.seeds = {0, 1, 2};
  return o;
}

TEST(SgdFlowComparison, GridMeetsEachComparisonTimeWithTheNearestStepCount) {
  const ComparisonPlan plan = plan_sgd_flow_comparison(options({0.01, 0.25, 0.05}, 0.3, 4));
  EXPECT_DOUBLE_EQ(plan.coefficient, 1.0 / 8);  // s^2 / (4B)
  ASSERT_EQ(plan.grids.size(), 3u);
  EXPECT_EQ(plan.grids[0].eta, 0.25);  // decreasing
  EXPECT_EQ(plan.grids[2].eta, 0.01);
  for (const ComparisonGrid& g : plan.grids) {
    ASSERT_EQ(g.k.size(), 4u);
    for (std::size_t q = 0; q < g.k.size(); ++q) {
      EXPECT_EQ(g.t[q], g.eta * g.eta * static_cast<double>(g.k[q]));
      // The step count nearest to t_q = 0.3 (q + 1) / 4.
      EXPECT_LE(std::abs(g.t[q] - 0.075 * static_cast<double>(q + 1)), g.eta * g.eta / 2 * (1 + 1e-12));
      if (q > 0) {
        EXPECT_GT(g.k[q], g.k[q - 1]);
      }
    }
    EXPECT_EQ(g.steps, g.k.back());
  }
  // eta = 0.25 (exact in binary): t_q / eta^2 = 1.2 q -> 1, 2, 4, 5, so t_end = 5 / 16.
  EXPECT_EQ(plan.grids[0].k, (std::vector<std::uint64_t>{1, 2, 4, 5}));
  EXPECT_EQ(plan.t_end, 0.3125);
  EXPECT_EQ(plan.sample_times.size(), 12u + 100u);
  // Two comparison times that round to the same step count are met once.
  EXPECT_EQ(plan_sgd_flow_comparison(options({0.5}, 0.3, 4)).grids[0].k, (std::vector<std::uint64_t>{1}));
  EXPECT_THROW(plan_sgd_flow_comparison(options({2.0}, 0.3, 4)), InputError);      // fewer than one step
  EXPECT_THROW(plan_sgd_flow_comparison(options({1e-12}, 10.0, 4)), InputError);   // more than 2^63 steps
  EXPECT_THROW(plan_sgd_flow_comparison(options({0.1}, 0.0, 4)), InputError);
  SgdFlowComparisonOptions no_noise = options({0.1}, 0.3, 4);
  no_noise.label_noise = 0;
  EXPECT_THROW(plan_sgd_flow_comparison(no_noise), InputError);
}

TEST(SgdFlowComparison, StatisticsDivergedSeedsAndTheOrderFit) {
  const SampleStatistics s = sample_statistics({1.0, 2.0, 6.0});
  EXPECT_EQ(s.count, 3);
  EXPECT_DOUBLE_EQ(s.mean, 3.0);
  EXPECT_DOUBLE_EQ(s.std, std::sqrt(7.0));  // ((4 + 1 + 9) / 2)
  EXPECT_EQ(s.min, 1.0);
  EXPECT_EQ(s.max, 6.0);
  EXPECT_EQ(sample_statistics({4.0}).std, 0.0);

  // Synthetic runs whose final distances are exactly 3 eta^1.5: the fit must return p = 1.5, C = 3.
  const ComparisonPlan plan = plan_sgd_flow_comparison(options({0.04, 0.02, 0.01}, 0.3, 2));
  ComparisonFlow flow;
  for (const auto& g : plan.grids)
    for (double t : g.t) flow.sharpness[t] = 1.0;
  std::vector<std::vector<ComparisonRun>> runs(plan.grids.size());
  for (std::size_t p = 0; p < plan.grids.size(); ++p) {
    const double e = 3 * std::pow(plan.grids[p].eta, 1.5);
    for (double f : {0.5, 1.5}) {  // two seeds around the value, mean exactly e
      ComparisonRun r;
      r.distance = {10 * e, f * e};
      r.sgd_sharpness = {1.25, 1.5};
      r.gap = {0.25, 0.5};
      runs[p].push_back(r);
    }
    ComparisonRun bad;
    bad.diverged = true;
    bad.reason = "loss above the bound";
    bad.distance = {1e9};
    runs[p].push_back(bad);
  }
  const SgdFlowComparisonSummary sum = summarize_sgd_flow_comparison(plan, runs, flow);
  ASSERT_EQ(sum.per_eta.size(), 3u);
  for (const ComparisonPerEta& e : sum.per_eta) {
    EXPECT_EQ(e.completed, 2);
    EXPECT_EQ(e.diverged, 1);
    EXPECT_EQ(e.divergence_reason, "loss above the bound");
    EXPECT_NEAR(e.final_distance.mean, 3 * std::pow(e.eta, 1.5), 1e-15);
    EXPECT_NEAR(e.max_distance.mean, 30 * std::pow(e.eta, 1.5), 1e-14);
    EXPECT_DOUBLE_EQ(e.final_gap.mean, 0.5);
  }
  ASSERT_EQ(sum.rows.size(), 6u);
  EXPECT_DOUBLE_EQ(sum.rows[0].tau, plan.coefficient * sum.rows[0].t);
  EXPECT_EQ(sum.rows[0].distance.count, 2);
  ASSERT_TRUE(sum.fit.has_value());
  EXPECT_NEAR(sum.fit->exponent, 1.5, 1e-12);
  EXPECT_NEAR(sum.fit->prefactor, 3.0, 1e-11);
  // The tables: one line per row (plus the header), one per step size.
  const std::string rows = comparison_rows_csv(sum), per_eta = comparison_per_eta_csv(sum);
  EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 7);
  EXPECT_EQ(std::count(per_eta.begin(), per_eta.end(), '\n'), 4);
  EXPECT_NE(comparison_table_text(sum).find("dist at t_end"), std::string::npos);
  // The figures: the fitted line goes through the (exact power-law) measurements; the gap figure only with T*.
  const std::vector<double> tau = {0.0, 0.1}, T = {5.0, 4.5};
  const auto figs = comparison_figures(plan, sum, tau, T, 4.0, [](int k) { return "c" + std::to_string(k); });
  ASSERT_EQ(figs.size(), 4u);
  EXPECT_EQ(figs[0].first, "error_vs_eta.svg");
  const PlotSeries& line = figs[0].second.series[1];
  EXPECT_NEAR(line.y.front(), 3 * std::pow(line.x.front(), 1.5), 1e-12);
  EXPECT_NEAR(line.y.back(), 3 * std::pow(line.x.back(), 1.5), 1e-12);
  EXPECT_EQ(figs[3].first, "sharpness_gap_vs_tau.svg");
  EXPECT_EQ(figs[3].second.series[0].y, (std::vector<double>{1.0, 0.5}));
  EXPECT_EQ(figs[1].second.series[2].color, "c2");
  EXPECT_EQ(comparison_figures(plan, sum, tau, T, std::nullopt, [](int) { return "k"; }).size(), 3u);
}

TEST(SgdFlowComparison, OneRunEqualsLabelNoiseSgdProjectedByHand) {
  Eigen::MatrixXd X(3, 4);
  X << 0.9, -0.2, 0.4, 0.1, 0.3, 0.8, -0.5, 0.2, -0.1, 0.4, 0.7, -0.6;
  const TwoLayerModel full(X, Eigen::Vector3d(0.5, -0.3, 0.8), Eigen::Vector2d(1, 1), Activation::cubic());
  const ReducedCoordinates rc(full.X());
  const TwoLayerModel reduced = rc.reduce(full);
  Eigen::MatrixXd beta0(2, 3);
  beta0 << 0.3, -0.2, 0.5, 0.1, 0.4, -0.3;
  const SgdFlowComparisonOptions o = options({0.05}, 0.01, 2);
  const ComparisonPlan plan = plan_sgd_flow_comparison(o);
  const ComparisonGrid& g = plan.grids[0];
  ComparisonFlow flow;  // a fake "flow" that stays at beta0: the distance is then ||Phi(beta_k) - beta0||
  for (double t : g.t) {
    flow.states[t] = beta0;
    flow.sharpness[t] = 0.0;
  }
  std::atomic<std::uint64_t> steps{0};
  const ComparisonProjection newton = [&](const Eigen::MatrixXd& b, const std::string&) {
    return project_newton(reduced, b).theta;
  };
  ComparisonRun r = run_projected_sgd(reduced, beta0, g, o, 7, newton, steps, {});
  ASSERT_FALSE(r.diverged);
  ASSERT_EQ(r.projected.size(), g.k.size());
  EXPECT_TRUE(r.distance.empty());  // the SGD run does not see the flow
  measure_against_flow(reduced, g, flow, r);
  ASSERT_EQ(r.distance.size(), g.k.size());
  EXPECT_EQ(steps.load(), g.steps);
  SgdParameters sp;
  sp.learning_rate = 0.05;
  sp.label_noise = 1;
  sp.batch_size = 2;
  sp.seed = 7;
  LabelNoiseSgd sgd(reduced, beta0, sp);
  for (std::size_t q = 0; q < g.k.size(); ++q) {
    sgd.advance(g.k[q] - sgd.step());
    const Eigen::MatrixXd on_M = project_newton(reduced, sgd.weights()).theta;
    EXPECT_EQ(r.projected[q], on_M);
    EXPECT_EQ(r.distance[q], (on_M - beta0).norm());
    EXPECT_NEAR(r.sgd_sharpness[q], SharpnessGeometry(reduced, on_M).sharpness(), 1e-13);
    EXPECT_EQ(r.gap[q], r.sgd_sharpness[q]);
  }
}

TEST(SgdFlowComparison, TheCoefficientScaleAndTheTimeScaleChangeOnlyTheReferenceFlow) {
  SgdFlowComparisonOptions o = options({0.25, 0.05}, 0.3, 4);
  o.flow_coefficient_scale = 2;
  o.time_scale = SgdFlowTimeScale::EtaSteps;
  const ComparisonPlan plan = plan_sgd_flow_comparison(o);
  EXPECT_DOUBLE_EQ(plan.limiting_coefficient, 1.0 / 8);
  EXPECT_DOUBLE_EQ(plan.coefficient, 2.0 / 8);
  const ComparisonPlan claim = plan_sgd_flow_comparison(options({0.25, 0.05}, 0.3, 4));
  EXPECT_DOUBLE_EQ(claim.coefficient, 1.0 / 8);
  for (std::size_t g = 0; g < plan.grids.size(); ++g) {
    const ComparisonGrid &a = plan.grids[g], &b = claim.grids[g];
    EXPECT_EQ(a.k, b.k);  // the SGD runs are the same
    EXPECT_EQ(a.t, b.t);
    EXPECT_EQ(b.flow_t, b.t);  // the claim: eta^2 k
    for (std::size_t q = 0; q < a.k.size(); ++q) EXPECT_EQ(a.flow_t[q], a.eta * static_cast<double>(a.k[q]));
  }
  EXPECT_EQ(plan.flow_t_end, 0.05 * static_cast<double>(plan.grids[1].k.back()));
  EXPECT_EQ(plan.sample_times.back(), plan.flow_t_end);
  EXPECT_EQ(plan.t_end, claim.t_end);
  EXPECT_EQ(parse_sgd_flow_time_scale(sgd_flow_time_scale_name(SgdFlowTimeScale::EtaSteps)), SgdFlowTimeScale::EtaSteps);
  EXPECT_EQ(parse_sgd_flow_time_scale("eta-squared-k"), SgdFlowTimeScale::EtaSquaredSteps);
  EXPECT_THROW(parse_sgd_flow_time_scale("eta2k"), InputError);
  for (double bad : {0.0, -1.0, std::nan("")}) {
    o.flow_coefficient_scale = bad;
    EXPECT_THROW(plan_sgd_flow_comparison(o), InputError) << bad;
  }
}

TEST(SgdFlowComparison, BiasIsTheMeanPathsDistanceAndFluctuationItsSpread) {
  // Two seeds at flow + b +- d with b = 3 eta B0 and d = 2 sqrt(eta) D0 at every time: the mean path
  // is flow + b, so bias = ||b|| and fluctuation = sqrt(2 ||d||^2 / 1); orders 1 and 1/2.
  const ComparisonPlan plan = plan_sgd_flow_comparison(options({0.04, 0.02, 0.01}, 0.3, 3));
  Eigen::MatrixXd B0(2, 2), D0(2, 2), F0(2, 2);
  B0 << 1, -2, 0.5, 1;
  D0 << 0.3, 0.1, -0.2, 0.4;
  F0 << 0.7, 0.2, -0.1, 0.9;
  ComparisonFlow flow;
  std::vector<std::vector<ComparisonRun>> runs(plan.grids.size());
  for (std::size_t g = 0; g < plan.grids.size(); ++g) {
    const ComparisonGrid& grid = plan.grids[g];
    const Eigen::MatrixXd b = 3 * grid.eta * B0, d = 2 * std::sqrt(grid.eta) * D0;
    for (std::size_t q = 0; q < grid.k.size(); ++q) {
      flow.states[grid.flow_t[q]] = (1.0 + static_cast<double>(q)) * F0;
      flow.sharpness[grid.flow_t[q]] = 1.0;
    }
    for (double sign : {1.0, -1.0}) {
      ComparisonRun r;
      for (std::size_t q = 0; q < grid.k.size(); ++q) {
        r.projected.push_back(flow.states[grid.flow_t[q]] + b + sign * d);
        r.distance.push_back((b + sign * d).norm());
        r.gap.push_back(0);
        r.sgd_sharpness.push_back(1);
      }
      runs[g].push_back(r);
    }
  }
  const SgdFlowComparisonSummary sum = summarize_sgd_flow_comparison(plan, runs, flow);
  for (const ComparisonPerEta& e : sum.per_eta) {
    EXPECT_NEAR(e.final_bias, 3 * e.eta * B0.norm(), 1e-14);
    EXPECT_NEAR(e.path_bias, 3 * e.eta * B0.norm(), 1e-14);
    EXPECT_NEAR(e.final_fluctuation, std::sqrt(2.0) * 2 * std::sqrt(e.eta) * D0.norm(), 1e-14);
    EXPECT_NEAR(e.path_fluctuation, e.final_fluctuation, 1e-14);
  }
  for (const ComparisonRow& r : sum.rows) EXPECT_EQ(r.flow_t, r.t);
  ASSERT_TRUE(sum.bias_fit && sum.fluctuation_fit);
  EXPECT_NEAR(sum.bias_fit->exponent, 1.0, 1e-10);
  EXPECT_NEAR(sum.bias_fit->prefactor, 3 * B0.norm(), 1e-9);
  EXPECT_NEAR(sum.fluctuation_fit->exponent, 0.5, 1e-10);
  const std::string csv = bias_fluctuation_csv(sum);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "eta,step,t,flow_t,seeds,bias,fluctuation");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 10);
  EXPECT_THROW(path_ensemble({}), InputError);
}

TEST(SgdFlowComparison, TheFittedCoefficientIsTheFlowsWhenTheMeanPathIsAFlow) {
  // Mean paths that are exactly flows with c(eta) = C (1 + 2 eta), two seeds at +- eps D about them:
  // each step size's fit returns c(eta), the extrapolation from the two smallest returns C (c is
  // linear in eta), its allowance is c(eta_min) - C, and the standard error is the delta method's
  // eps |sum_q <D, J_q>| / sum_q ||J_q||^2 with J_q = t_q (-grad_M T) at the flow.
  Eigen::MatrixXd X(3, 4);
  X << 0.9, -0.2, 0.4, 0.1, 0.3, 0.8, -0.5, 0.2, -0.1, 0.4, 0.7, -0.6;
  const TwoLayerModel full(X, Eigen::Vector3d(0.5, -0.3, 0.8), Eigen::Vector2d(1, 1), Activation::cubic());
  const ReducedCoordinates rc(full.X());
  const TwoLayerModel reduced = rc.reduce(full);
  Eigen::MatrixXd beta0(2, 3);
  beta0 << 0.3, -0.2, 0.5, 0.1, 0.4, -0.3;
  const Eigen::MatrixXd start = project_newton(reduced, beta0).theta;
  const ComparisonPlan plan = plan_sgd_flow_comparison(options({0.04, 0.02, 0.01}, 0.5, 4));
  const double C = plan.limiting_coefficient, eps = 1e-4;
  Eigen::MatrixXd D(2, 3);
  D << 1, -1, 0.5, 0.2, 0.3, -0.7;
  FlowOptions fo;
  fo.rtol = 1e-12;
  fo.atol = 1e-14;
  std::vector<std::vector<ComparisonRun>> runs(plan.grids.size());
  double expected_se = 0;
  for (std::size_t g = 0; g < plan.grids.size(); ++g) {
    const ComparisonGrid& grid = plan.grids[g];
    FlowOptions f = fo;
    f.coefficient = C * (1 + 2 * grid.eta);
    f.t_end = grid.flow_t.back();
    f.sample_times = grid.flow_t;
    std::map<double, Eigen::MatrixXd> at;
    integrate_sharpness_flow(reduced, start, f, [&](const FlowSample& s) {
      at[s.t] = *s.beta;
      return true;
    });
    double num = 0, den = 0;
    for (double t : grid.flow_t) {
      const Eigen::MatrixXd J = t * sharpness_flow_velocity(reduced, at.at(t), 1.0);
      num += (D.array() * J.array()).sum();
      den += J.squaredNorm();
    }
    if (g + 1 == plan.grids.size()) expected_se = eps * std::abs(num) / den;
    for (double sign : {1.0, -1.0}) {
      ComparisonRun r;
      for (double t : grid.flow_t) r.projected.push_back(at.at(t) + sign * eps * D);
      runs[g].push_back(r);
    }
  }
  const FlowCoefficientFit fit = fit_flow_coefficient(reduced, start, plan, runs, fo);
  ASSERT_EQ(fit.per_eta.size(), 3u);
  for (const CoefficientEstimate& e : fit.per_eta) {
    EXPECT_TRUE(e.converged);
    EXPECT_EQ(e.seeds, 2);
    EXPECT_NEAR(e.estimate, C * (1 + 2 * e.eta), 1e-7 * C) << e.eta;
    EXPECT_LT(e.ci_low, e.estimate);
    EXPECT_GT(e.ci_high, e.estimate);
  }
  EXPECT_NEAR(fit.per_eta.back().standard_error, expected_se, 1e-3 * expected_se);
  ASSERT_TRUE(fit.extrapolated.has_value());
  const CoefficientEstimate& e0 = *fit.extrapolated;
  EXPECT_EQ(e0.eta, 0);
  EXPECT_NEAR(e0.estimate, C, 1e-7 * C);
  EXPECT_NEAR(e0.allowance, 2 * 0.01 * C, 1e-7 * C);
  EXPECT_LT(e0.ci_low, C - e0.allowance + 1e-7 * C);
  EXPECT_GT(e0.ci_high, C + e0.allowance - 1e-7 * C);
  // A diverged seed at the smallest step size leaves one path there: no estimate for it (it needs
  // two), and the extrapolation then uses the two smallest step sizes that have one.
  runs.back()[1].diverged = true;
  const FlowCoefficientFit fewer = fit_flow_coefficient(reduced, start, plan, runs, fo);
  ASSERT_EQ(fewer.per_eta.size(), 2u);
  EXPECT_EQ(fewer.per_eta.back().eta, 0.02);
  ASSERT_TRUE(fewer.extrapolated.has_value());
  EXPECT_NEAR(fewer.extrapolated->estimate, C, 1e-7 * C);
}

}  // namespace
}  // namespace zeroloss
