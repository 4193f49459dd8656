// Rank-one diagnostics and the trajectory table (trajectory_metrics.hpp).

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/sharpness.hpp"
#include "zeroloss/trajectory_metrics.hpp"

using namespace zeroloss;

namespace {

TEST(TrajectoryMetrics, ReducedCoordinatesGiveTheFullCoordinateSpectraAndSharpness) {
  auto p = test::random_problem(4, 9, 6, "sinh", true, 3, 0.5);
  const ReducedCoordinates rc(p.model.X());
  const TwoLayerModel reduced = rc.reduce(p.model);
  const TrajectoryMetrics m = compute_trajectory_metrics(reduced, rc.reduce(p.theta), nullptr, true);
  // Independent route: full coordinates, dense SVDs, SharpnessGeometry.
  const NetworkEvaluation e = evaluate(p.model, p.theta);
  const Eigen::VectorXd svR = Eigen::JacobiSVD<Eigen::MatrixXd>(e.R).singularValues();
  const Eigen::VectorXd svPhi = Eigen::JacobiSVD<Eigen::MatrixXd>(e.phi).singularValues();
  ASSERT_EQ(m.preactivation_singular_values.size(), 4);
  EXPECT_LT((m.preactivation_singular_values - svR).norm(), 1e-12 * svR.norm());
  EXPECT_LT((m.feature_singular_values - svPhi).norm(), 1e-12 * svPhi.norm());
  const SharpnessGeometry g(p.model, p.theta);
  EXPECT_NEAR(m.sharpness, g.sharpness(), 1e-12 * g.sharpness());
  EXPECT_NEAR(m.loss, e.loss, 1e-12 * e.loss);
  ASSERT_TRUE(m.gradient_norm.has_value());
  EXPECT_NEAR(*m.gradient_norm, g.riemannian_gradient().norm(), 1e-10 * g.riemannian_gradient().norm());
  EXPECT_FALSE(m.sharpness_gap.has_value());
  EXPECT_FALSE(m.distance_to_optimum.has_value());
}

TEST(TrajectoryMetrics, RankOnePointAndOptimumDistance) {
  auto p = test::random_problem(3, 3, 5, "cubic", false, 4, 0.5);
  Eigen::MatrixXd beta(5, 3);
  for (int j = 0; j < 5; ++j) beta.row(j) = p.theta.row(0);  // all neurons equal: R has rank one
  RankOneOptimum opt;
  opt.preactivations = p.model.X() * beta.transpose();
  opt.sharpness = 0.25;
  const TrajectoryMetrics m = compute_trajectory_metrics(p.model, beta, &opt);
  EXPECT_LT(m.preactivation_singular_values(1), 1e-12 * m.preactivation_singular_values(0));
  EXPECT_LT(m.feature_singular_values(1), 1e-12 * m.feature_singular_values(0));
  EXPECT_NEAR(*m.mean_pairwise_cosine, 1.0, 1e-14);
  EXPECT_NEAR(*m.distance_to_optimum, 0.0, 1e-14);
  EXPECT_NEAR(*m.sharpness_gap, m.sharpness - 0.25, 1e-15);
  // Move one neuron: the distance is the Frobenius norm of the change in R.
  Eigen::MatrixXd moved = beta;
  moved(2, 1) += 0.1;
  const TrajectoryMetrics m2 = compute_trajectory_metrics(p.model, moved, &opt);
  EXPECT_NEAR(*m2.distance_to_optimum, 0.1 * p.model.X().col(1).norm(), 1e-14);
  opt.preactivations.resize(2, 2);
  EXPECT_THROW(compute_trajectory_metrics(p.model, beta, &opt), InputError);
}

TEST(TrajectoryMetrics, SharpnessOnManifoldIsTAtTheNewtonProjection) {
  auto p = test::random_problem_on_manifold(3, 4, 5, "cubic", true, 9, 0.5);
  RankOneOptimum opt;
  opt.preactivations = Eigen::MatrixXd::Zero(3, 5);
  opt.sharpness = 1.5;
  const Eigen::MatrixXd off = p.theta + 1e-3 * test::random_matrix(5, 4, 2);  // near M, not on it
  const TrajectoryMetrics m = compute_trajectory_metrics(p.model, off, &opt, false, true);
  ASSERT_TRUE(m.sharpness_on_manifold.has_value());
  const Eigen::MatrixXd on = project_newton(p.model, off).theta;
  EXPECT_NEAR(*m.sharpness_on_manifold, SharpnessGeometry(p.model, on).sharpness(), 1e-12);
  EXPECT_NEAR(*m.sharpness_gap_on_manifold, *m.sharpness_on_manifold - 1.5, 1e-15);
  EXPECT_GT(std::abs(*m.sharpness_on_manifold - m.sharpness), 1e-6);  // off M the two differ
  const TrajectoryMetrics at = compute_trajectory_metrics(p.model, p.theta, &opt, false, true);
  EXPECT_NEAR(*at.sharpness_on_manifold, at.sharpness, 1e-12);  // on M they agree
}

TEST(TrajectoryMetrics, MeanPairwiseCosineByHand) {
  Eigen::MatrixXd b(4, 2);
  b << 1, 0, 0, 2, 3, 3, 0, 0;  // the zero neuron is left out
  EXPECT_NEAR(*mean_pairwise_cosine(b), (0.0 + std::sqrt(0.5) + std::sqrt(0.5)) / 3.0, 1e-15);
  EXPECT_FALSE(mean_pairwise_cosine(Eigen::MatrixXd::Ones(1, 3)).has_value());
}

TEST(TrajectoryMetrics, CsvRoundTripsBitsAndLeavesMissingCellsEmpty) {
  auto p = test::random_problem(3, 3, 4, "cubic", false, 4, 0.5);
  TrajectoryRow row;
  row.step = 12345678901ULL;
  row.t = 0.1 / 3.0;
  row.tau = 1e-7 / 7.0;
  row.metrics = compute_trajectory_metrics(p.model, p.theta);
  const std::string csv = trajectory_csv({row}, 3);
  std::istringstream in(csv);
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  auto split = [](const std::string& s) {
    std::vector<std::string> c;
    std::string x;
    std::stringstream ss(s);
    while (std::getline(ss, x, ',')) c.push_back(x);
    if (!s.empty() && s.back() == ',') c.push_back("");
    return c;
  };
  const auto h = split(header), c = split(line);
  ASSERT_EQ(h.size(), 11u + 6u);
  ASSERT_EQ(c.size(), h.size());
  EXPECT_EQ(h[5], "sharpness_gap");
  EXPECT_EQ(c[5], "");  // no optimum supplied
  EXPECT_EQ(c[0], "12345678901");
  EXPECT_EQ(std::stod(c[1]), row.t);
  EXPECT_EQ(std::stod(c[2]), row.tau);
  EXPECT_EQ(std::stod(c[4]), row.metrics.sharpness);
  EXPECT_EQ(h[9], "sharpness_on_M");
  EXPECT_EQ(c[9], "");  // not asked
  EXPECT_EQ(std::stod(c[11]), row.metrics.feature_singular_values(0));
  EXPECT_EQ(h[14], "sv_R_1");
  EXPECT_EQ(std::stod(c[14]), row.metrics.preactivation_singular_values(0));
}

}  // namespace
