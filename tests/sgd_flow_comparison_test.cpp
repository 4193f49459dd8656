// The comparison planner and statistics of `zeroloss compare` (runs/sgd_flow_comparison.hpp),
// called directly: the grid against its definition, the statistics and the order fit against
// closed forms, one SGD run against LabelNoiseSgd and project_newton driven by hand.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "zeroloss/errors.hpp"
#include "zeroloss/label_noise_sgd.hpp"
#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/runs/sgd_flow_comparison.hpp"
#include "zeroloss/sharpness.hpp"

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
  const ComparisonRun r = run_sgd_against_flow(reduced, beta0, g, o, 7, flow, newton, steps, {});
  ASSERT_FALSE(r.diverged);
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
    EXPECT_EQ(r.distance[q], (on_M - beta0).norm());
    EXPECT_NEAR(r.sgd_sharpness[q], SharpnessGeometry(reduced, on_M).sharpness(), 1e-13);
    EXPECT_EQ(r.gap[q], r.sgd_sharpness[q]);
  }
}

}  // namespace
}  // namespace zeroloss
