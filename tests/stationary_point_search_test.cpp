// The stationary-point search (sharpness/stationary_point_search.hpp) against independent routes:
// the closed-form global minimum of THEORY 5 (n <= d), central finite differences of T along
// retracted tangent directions (first derivative 0 at a converged point, second derivative with the
// sign of the reported eigenvalue), and the symmetry of a start whose neurons coincide.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/model/two_layer_random_start.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"
#include "zeroloss/sharpness/stationary_point_search.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss {
namespace {

struct ReducedProblem {
  std::shared_ptr<const TwoLayerNetwork> model;
  TwoLayerModel full;
  Eigen::MatrixXd Z;
};

ReducedProblem reduced(const TwoLayerModel& full) {
  const ReducedCoordinates rc(full.X());
  TwoLayerModel red = rc.reduce(full);
  Eigen::MatrixXd Z = red.X();
  return {std::make_shared<const TwoLayerNetwork>(std::move(red)), full, Z};
}

// T at the Newton projection of theta + t v.
double sharpness_along(const ReducedProblem& p, const Eigen::VectorXd& theta, const Eigen::VectorXd& v, double t) {
  const Eigen::VectorXd x = project_newton(p.model, theta + t * v).theta;
  return RiemannianSharpness(p.model, x).value();
}

// A unit tangent vector at theta from a seeded random vector.
Eigen::VectorXd random_tangent(const ReducedProblem& p, const Eigen::VectorXd& theta, unsigned seed) {
  const ManifoldPoint at(p.model, theta);
  const Eigen::MatrixXd r = test::random_matrix(static_cast<int>(theta.size()), 1, seed);
  Eigen::VectorXd v = at.tangent_projection(r.col(0));
  return v / v.norm();
}

TEST(StationaryPointSearch, FindsTheClosedFormMinimumWhenNAtMostD) {
  for (bool mixed : {false, true}) {
    const test::RandomProblem rp = test::random_problem(3, 5, 4, "cubic", mixed, 11);
    const ReducedProblem p = reduced(rp.model);
    const SharpnessMinimum star = sharpness_minimum(rp.model, rp.theta);
    ASSERT_TRUE(star.closed_form);
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
      const Weights w = random_two_layer_start(p.Z, 4, 1.0, false, seed);
      const StationaryPointSearchSummary s = find_stationary_point(p.model, p.model->parameters(w.theta));
      ASSERT_TRUE(s.converged()) << to_string(s.termination) << " " << s.message << " seed " << seed;
      EXPECT_NEAR(s.sharpness, star.sharpness, 1e-10 * star.sharpness) << "mixed " << mixed << " seed " << seed;
      EXPECT_GT(s.hessian_eigenvalues.minCoeff(), 0);
      EXPECT_LE(s.gradient_norm, 1e-10 * s.euclidean_gradient_norm);
    }
  }
}

// On an n > d problem (no closed form) the search reaches saddles as well as minima; at each converged
// point T is stationary along random tangent directions (central differences of T through the Newton
// retraction, relative to the step), and along the eigenvector of the smallest reported eigenvalue the
// second difference has its sign and size.
TEST(StationaryPointSearch, ConvergedPointsAreStationaryWithTheReportedCurvature) {
  const test::RandomProblem rp = test::random_problem(6, 3, 4, "cubic", false, 5);
  const ReducedProblem p = reduced(rp.model);
  int saddles = 0, minima = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    const Weights w = random_two_layer_start(p.Z, 4, 1.0, false, seed);
    const StationaryPointSearchSummary s = find_stationary_point(p.model, p.model->parameters(w.theta));
    if (!s.converged()) continue;
    const double lmin = s.hessian_eigenvalues(0);
    (lmin < 0 ? saddles : minima) += 1;
    const double h = 1e-4;
    for (unsigned k = 0; k < 3; ++k) {
      const Eigen::VectorXd v = random_tangent(p, s.theta, 100 + k);
      const double d1 = (sharpness_along(p, s.theta, v, h) - sharpness_along(p, s.theta, v, -h)) / (2 * h);
      EXPECT_LT(std::abs(d1), 1e-6 * s.sharpness) << "seed " << seed;
    }
    // The eigenvector of lambda_min in ambient coordinates.
    const RiemannianSharpness at(p.model, s.theta);
    const TangentHessian H = at.riemannian_hessian_matrix();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(H.matrix);
    const Eigen::VectorXd u = H.basis * eig.eigenvectors().col(0);
    const double d2 = (sharpness_along(p, s.theta, u, h) - 2 * s.sharpness + sharpness_along(p, s.theta, u, -h)) / (h * h);
    EXPECT_NEAR(d2, lmin, 1e-3 * s.hessian_eigenvalues.cwiseAbs().maxCoeff()) << "seed " << seed;
  }
  EXPECT_GE(saddles, 1);
  EXPECT_GE(minima, 1);
}

// A start whose neurons coincide in groups stays in that symmetric subspace (a = 1), and the point the
// search reaches there is a stationary point of M, not only of the subspace: T is stationary along
// random tangent directions that break the symmetry.
TEST(StationaryPointSearch, CoincidingNeuronsStayTogetherAtAStationaryPointOfM) {
  const test::RandomProblem rp = test::random_problem(6, 3, 4, "cubic", false, 5);
  const ReducedProblem p = reduced(rp.model);
  int found = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    Weights w = random_two_layer_start(p.Z, 4, 1.0, false, seed);
    w.theta.row(3) = w.theta.row(0);  // neurons 0 and 3 coincide
    const StationaryPointSearchSummary s = find_stationary_point(p.model, p.model->parameters(w.theta));
    if (!s.converged()) continue;
    ++found;
    const Eigen::MatrixXd beta = p.model->weights(s.theta);
    EXPECT_LT((beta.row(3) - beta.row(0)).norm(), 1e-9 * beta.norm()) << "seed " << seed;
    for (unsigned k = 0; k < 3; ++k) {
      const Eigen::VectorXd v = random_tangent(p, s.theta, 200 + k);
      const double d1 = (sharpness_along(p, s.theta, v, 1e-4) - sharpness_along(p, s.theta, v, -1e-4)) / 2e-4;
      EXPECT_LT(std::abs(d1), 1e-6 * s.sharpness) << "seed " << seed;
    }
  }
  EXPECT_GE(found, 2);
}

TEST(StationaryPointSearch, RefusesInvalidOptionsAndReportsAFailedStart) {
  const test::RandomProblem rp = test::random_problem(3, 5, 4, "cubic", false, 11);
  const ReducedProblem p = reduced(rp.model);
  const Weights w = random_two_layer_start(p.Z, 4, 1.0, false, 1);
  StationaryPointSearchOptions o;
  o.gradient_tolerance = 0;
  EXPECT_THROW(find_stationary_point(p.model, p.model->parameters(w.theta), o), InputError);
  o = {};
  o.max_iterations = 0;
  EXPECT_THROW(find_stationary_point(p.model, p.model->parameters(w.theta), o), InputError);
  // A budget of one trial ends the search early, with the point it reached.
  o = {};
  o.max_iterations = 1;
  const StationaryPointSearchSummary s = find_stationary_point(p.model, p.model->parameters(w.theta), o);
  EXPECT_EQ(s.termination, StationaryPointTermination::IterationLimit);
  EXPECT_EQ(s.iterations, 1);
}

}  // namespace
}  // namespace zeroloss
