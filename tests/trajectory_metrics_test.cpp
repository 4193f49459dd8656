// Rank-one diagnostics and the trajectory table (diagnostics/trajectory_metrics.hpp).

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/numerics/singular_values.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"

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

// compute_trajectory_metrics shares one evaluation between all metrics, takes singular values by
// the Gram route when that is accurate, computes ||grad_M T|| from n x m and n x n matrices and runs
// the Newton projection on the pre-activations. Each value is checked against the separate routes
// it replaced: evaluate + JacobiSVD, SharpnessGeometry, project_newton + SharpnessGeometry.
// Documented tolerances: singular values relative 1e-12 (plus 1e-14 sigma_1 for values far below
// sigma_1), loss and T equal to 4 ulps, ||grad_M T|| and T on M relative 1e-12 (plus
// 1e-12 ||grad T|| for the gradient, whose subtraction grad T - J^T lambda cancels near M's
// stationary points in both routes).
void expect_matches_separate_routes(const TwoLayerModel& model, const Eigen::MatrixXd& beta,
                                    const RankOneOptimum* optimum, const std::string& what) {
  SCOPED_TRACE(what);
  const TrajectoryMetrics m = compute_trajectory_metrics(model, beta, optimum, true, true);
  const NetworkEvaluation e = evaluate(model, beta);
  EXPECT_DOUBLE_EQ(m.loss, e.loss);
  const SharpnessGeometry g(model, beta);
  EXPECT_DOUBLE_EQ(m.sharpness, g.sharpness());
  const Eigen::VectorXd svR = Eigen::JacobiSVD<Eigen::MatrixXd>(e.R).singularValues();
  const Eigen::VectorXd svPhi = Eigen::JacobiSVD<Eigen::MatrixXd>(e.phi).singularValues();
  ASSERT_EQ(m.preactivation_singular_values.size(), svR.size());
  ASSERT_EQ(m.feature_singular_values.size(), svPhi.size());
  for (Eigen::Index k = 0; k < svR.size(); ++k) {
    EXPECT_NEAR(m.preactivation_singular_values(k), svR(k), 1e-12 * svR(k) + 1e-14 * svR(0)) << "sv_R_" << k + 1;
    EXPECT_NEAR(m.feature_singular_values(k), svPhi(k), 1e-12 * svPhi(k) + 1e-14 * svPhi(0)) << "sv_phi_" << k + 1;
  }
  try {
    const double ref = g.riemannian_gradient().norm();
    ASSERT_TRUE(m.gradient_norm.has_value());
    EXPECT_NEAR(*m.gradient_norm, ref, 1e-12 * (ref + g.euclidean_gradient().norm()));
  } catch (const SingularPointError&) {
    EXPECT_FALSE(m.gradient_norm.has_value());
  }
  try {
    const ProjectionResult pr = project_newton(model, beta);
    const double ref = SharpnessGeometry(model, pr.theta).sharpness();
    ASSERT_TRUE(m.sharpness_on_manifold.has_value());
    EXPECT_NEAR(*m.sharpness_on_manifold, ref, 1e-12 * ref);
    if (optimum) {
      EXPECT_NEAR(*m.sharpness_gap_on_manifold, ref - optimum->sharpness, 1e-12 * ref);
    }
  } catch (const Error&) {
    EXPECT_FALSE(m.sharpness_on_manifold.has_value());
    EXPECT_FALSE(m.sharpness_gap_on_manifold.has_value());
  }
  EXPECT_EQ(m.mean_pairwise_cosine, mean_pairwise_cosine(beta));
  if (optimum) {
    EXPECT_EQ(*m.distance_to_optimum, (e.R - optimum->preactivations).norm());
  }
}

TEST(TrajectoryMetrics, FusedRouteMatchesTheSeparateRoutesOnRandomProblems) {
  struct Case {
    int n, d, m;
    const char* activation;
    bool mixed_a, reduce;
    double offset;    // distance scale from M (0: on M)
    bool gram_route;  // the singular values of Phi take the Gram route (else the triangular or direct one)
  };
  const Case cases[] = {
      {20, 40, 80, "cubic", false, true, 1e-3, true},  // reduced (p = n): Gram route, K W products
      {24, 30, 60, "sinh", true, true, 1e-2, false},   // Phi's sigma_min < 0.05 sigma_1: triangular route
      {20, 6, 50, "tanh", true, false, 1e-3, false},   // d < n / 2: the X (X^T W) products
      {16, 50, 40, "gelu", false, false, 1e-3, true},  // full coordinates, d > n
      {3, 3, 10, "cubic", false, false, 1e-3, false},  // Figure 1 size: direct SVD route
      {20, 40, 80, "cubic", false, true, 0.0, true},   // on M: the projection is the point itself
  };
  unsigned seed = 30;
  for (const Case& c : cases) {
    auto p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, ++seed, 0.5);
    Eigen::MatrixXd theta = p.theta + c.offset * test::random_matrix(c.m, c.d, seed + 100);
    TwoLayerModel model = p.model;
    if (c.reduce) {
      const ReducedCoordinates rc(p.model.X());
      model = rc.reduce(p.model);
      theta = rc.reduce(theta);
    }
    RankOneOptimum opt;
    opt.preactivations = test::random_matrix(c.n, c.m, seed + 200);
    opt.sharpness = 0.75;
    const std::string what = std::string(c.activation) + " n=" + std::to_string(c.n) + " d=" + std::to_string(c.d) +
                             " m=" + std::to_string(c.m);
    expect_matches_separate_routes(model, theta, &opt, what);
    SingularValueRoute route;
    singular_values(evaluate(model, theta).phi, &route);
    EXPECT_EQ(route == SingularValueRoute::Gram, c.gram_route) << what;
  }
}

TEST(TrajectoryMetrics, FusedRouteOnANearlyRankOnePoint) {
  // All neurons equal up to 1e-9: sigma_2 / sigma_1 of R is ~1e-9 (Figure 1 ends near 2e-9).
  auto p = test::random_problem(20, 20, 60, "cubic", false, 12, 0.5);
  Eigen::MatrixXd beta(60, 20);
  for (int j = 0; j < 60; ++j) beta.row(j) = p.theta.row(0);
  beta += 1e-9 * test::random_matrix(60, 20, 13);
  // Labels near the outputs: a point 1e-4 off M.
  const TwoLayerModel model = p.model.with_labels(network_outputs(p.model, beta) + 1e-4 * test::random_matrix(20, 1, 14).col(0));
  const NetworkEvaluation e = evaluate(model, beta);
  const Eigen::VectorXd svR = Eigen::JacobiSVD<Eigen::MatrixXd>(e.R).singularValues();
  ASSERT_LT(svR(1), 1e-8 * svR(0));
  ASSERT_GT(svR(1), 1e-11 * svR(0));
  expect_matches_separate_routes(model, beta, nullptr, "nearly rank one");
  const TrajectoryMetrics m = compute_trajectory_metrics(model, beta);
  EXPECT_NEAR(m.preactivation_singular_values(1) / m.preactivation_singular_values(0), svR(1) / svR(0),
              1e-5 * svR(1) / svR(0));
}

TEST(TrajectoryMetrics, SingularPointLeavesGradientAndProjectionEmptyLikeTheSeparateRoutes) {
  // Two equal data rows: J J^T = K o (D D^T) is singular everywhere.
  auto p = test::random_problem(20, 30, 60, "cubic", false, 15, 0.5);
  Eigen::MatrixXd X = p.model.X();
  X.row(5) = X.row(4);
  const TwoLayerModel model(X, p.model.y(), p.model.a(), p.model.activation());
  EXPECT_THROW(SharpnessGeometry(model, p.theta).riemannian_gradient(), SingularPointError);
  EXPECT_THROW(project_newton(model, p.theta), SingularPointError);
  const TrajectoryMetrics m = compute_trajectory_metrics(model, p.theta, nullptr, true, true);
  EXPECT_FALSE(m.gradient_norm.has_value());
  EXPECT_FALSE(m.sharpness_on_manifold.has_value());
  expect_matches_separate_routes(model, p.theta, nullptr, "singular");
}

TEST(TrajectoryMetrics, ProjectionFailuresAgreeWithProjectNewton) {
  // From increasingly far off M, Newton either converges (same T on M) or fails (empty) in both.
  auto p = test::random_problem_on_manifold(16, 40, 40, "sinh", true, 16, 0.5);
  int failures = 0, successes = 0;
  for (double offset : {1e-2, 1e-1, 0.5, 2.0, 8.0}) {
    const Eigen::MatrixXd theta = p.theta + offset * test::random_matrix(40, 40, 17);
    expect_matches_separate_routes(p.model, theta, nullptr, "offset " + std::to_string(offset));
    (compute_trajectory_metrics(p.model, theta, nullptr, false, true).sharpness_on_manifold ? successes : failures)++;
  }
  EXPECT_GT(successes, 0);
  EXPECT_GT(failures, 0);
}

// The overload that takes R (the state of SGD in pre-activation coordinates) must be the same
// computation as the one that forms R = Z beta^T: given that same R, every value is bit for bit equal;
// given another R, the values follow R (not beta); a wrong shape is refused.
TEST(TrajectoryMetrics, SuppliedPreactivationsAreUsedAsTheyAre) {
  auto p = test::random_problem_on_manifold(5, 5, 7, "cubic", true, 21, 0.5);
  const Eigen::MatrixXd R = p.model.X() * p.theta.transpose();
  const RankOneOptimum opt{Eigen::MatrixXd::Constant(5, 7, 0.1), 0.5};
  const TrajectoryMetrics a = compute_trajectory_metrics(p.model, p.theta, &opt, true, true);
  const TrajectoryMetrics b = compute_trajectory_metrics(p.model, p.theta, R, &opt, true, true);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.sharpness, b.sharpness);
  EXPECT_TRUE((a.feature_singular_values.array() == b.feature_singular_values.array()).all());
  EXPECT_TRUE((a.preactivation_singular_values.array() == b.preactivation_singular_values.array()).all());
  EXPECT_EQ(a.distance_to_optimum, b.distance_to_optimum);
  EXPECT_EQ(a.gradient_norm, b.gradient_norm);
  ASSERT_TRUE(a.sharpness_on_manifold.has_value());
  EXPECT_EQ(a.sharpness_on_manifold, b.sharpness_on_manifold);
  EXPECT_EQ(a.mean_pairwise_cosine, b.mean_pairwise_cosine);
  // Another R: the loss is the one of that R (off M), the cosine still the one of beta.
  const TrajectoryMetrics c = compute_trajectory_metrics(p.model, p.theta, 1.1 * R, &opt, false, false);
  EXPECT_GT(c.loss, 1e-6);
  EXPECT_EQ(c.mean_pairwise_cosine, a.mean_pairwise_cosine);
  EXPECT_NEAR(c.preactivation_singular_values(0), 1.1 * a.preactivation_singular_values(0),
              1e-12 * a.preactivation_singular_values(0));
  EXPECT_THROW(compute_trajectory_metrics(p.model, p.theta, Eigen::MatrixXd(R.transpose()), nullptr, false, false),
               InputError);
  // Without beta (Z square): the cosine from L^{-1} R agrees with the one of beta to rounding, and
  // everything else is bit for bit the same.
  const TrajectoryMetrics d = compute_trajectory_metrics(p.model, Eigen::MatrixXd(), R, &opt, true, true);
  ASSERT_TRUE(d.mean_pairwise_cosine.has_value());
  EXPECT_NEAR(*d.mean_pairwise_cosine, *a.mean_pairwise_cosine, 1e-13);
  EXPECT_GT(std::abs(*a.mean_pairwise_cosine), 1e-3);
  EXPECT_EQ(d.gradient_norm, a.gradient_norm);
  EXPECT_EQ(d.sharpness_on_manifold, a.sharpness_on_manifold);
  const auto rect = test::random_problem_on_manifold(4, 6, 7, "cubic", true, 22, 0.5);
  EXPECT_THROW(compute_trajectory_metrics(rect.model, Eigen::MatrixXd(), rect.model.X() * rect.theta.transpose(),
                                          nullptr, false, false),
               InputError);
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
