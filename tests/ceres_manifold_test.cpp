// The zero-loss manifold as a ceres::Manifold: Ceres' own invariant checks (Plus/Minus inverse
// pairs, numerically differentiated Jacobians), the orthographic-retraction and smooth-basis
// properties, and Riemannian L-BFGS with a general objective against the nearest-point projection.

#include <gtest/gtest.h>
#include <ceres/manifold_test_utils.h>

#include "test_support.hpp"
#include "zeroloss/manifold/ceres_manifold.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"

using namespace zeroloss;

namespace {

using Config = zeroloss::test::ProblemConfig;
using zeroloss::test::config_name;

// A problem in reduced coordinates with a point on M.
struct ReducedSetup {
  test::RandomProblem problem;
  ReducedCoordinates rc;
  TwoLayerModel red;
  Eigen::MatrixXd beta;
};

ReducedSetup reduced_setup(const Config& c, unsigned seed) {
  auto p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, seed, 0.4);
  ReducedCoordinates rc(p.model.X());
  TwoLayerModel red = rc.reduce(p.model);
  Eigen::MatrixXd beta = rc.reduce(p.theta);
  return ReducedSetup{p, rc, red, beta};
}

class ManifoldInvariants : public testing::TestWithParam<Config> {};

TEST_P(ManifoldInvariants, CeresInvariantsHold) {
  using namespace ceres;  // the macro uses ceres::Vector and the ceres matchers unqualified
  const ReducedSetup s = reduced_setup(GetParam(), 77);
  const ZeroLossManifold manifold(s.red, s.beta);
  const int k = manifold.TangentSize();
  ASSERT_EQ(manifold.AmbientSize(), s.red.m() * s.red.d());
  ASSERT_EQ(k, s.red.m() * s.red.d() - s.red.n());
  // Points near the reference, so that the basis is not the reference basis itself.
  const Eigen::VectorXd x0 = vectorize(s.beta);
  const Eigen::VectorXd kick = test::random_matrix(k, 1, 5).col(0) * (0.05 * x0.norm() / std::sqrt(double(k)));
  Vector x(manifold.AmbientSize());
  ASSERT_TRUE(manifold.Plus(x0.data(), kick.data(), x.data()));
  Vector delta = test::random_matrix(k, 1, 6).col(0) * (0.1 * x0.norm() / std::sqrt(double(k)));
  Vector y(manifold.AmbientSize());
  const Eigen::VectorXd step = test::random_matrix(k, 1, 7).col(0) * (0.05 * x0.norm() / std::sqrt(double(k)));
  ASSERT_TRUE(manifold.Plus(x.data(), step.data(), y.data()));
  EXPECT_THAT_MANIFOLD_INVARIANTS_HOLD(manifold, x, delta, y, 1e-8);
}

TEST_P(ManifoldInvariants, BasisIsOrthonormalTangentAndSmooth) {
  const ReducedSetup s = reduced_setup(GetParam(), 78);
  const ZeroLossManifold manifold(s.red, s.beta);
  const int k = manifold.TangentSize(), m = s.red.m(), p = s.red.d();
  const Eigen::VectorXd x0 = vectorize(s.beta);
  EXPECT_LT((manifold.tangent_basis(x0) - manifold.reference_basis()).norm(), 1e-12);
  EXPECT_NEAR(manifold.basis_quality(x0), 1.0, 1e-12);

  const Eigen::VectorXd dir = test::random_matrix(k, 1, 8).col(0).normalized() * (0.3 * x0.norm());
  Eigen::VectorXd x(x0.size());
  ASSERT_TRUE(manifold.Plus(x0.data(), dir.data(), x.data()));
  const Eigen::MatrixXd B = manifold.tangent_basis(x);
  EXPECT_LT((B.transpose() * B - Eigen::MatrixXd::Identity(k, k)).norm(), 1e-12);
  const ConstraintJacobian J(s.red, evaluate(s.red, unvectorize(x, m, p)));
  for (int c = 0; c < k; ++c) EXPECT_LT(J.apply(unvectorize(B.col(c), m, p)).norm(), 1e-12 * J.gram().norm()) << c;
  EXPECT_LT(manifold.basis_quality(x), 1.0);
  EXPECT_GT(manifold.basis_quality(x), 0.0);
  // Polar factor: B(x) is the orthonormal matrix closest to P(x) B_ref, so B^T P B_ref is symmetric
  // positive definite.
  const Eigen::MatrixXd PB = [&] {
    Eigen::MatrixXd out(B.rows(), k);
    for (int c = 0; c < k; ++c)
      out.col(c) = vectorize(J.tangent_projection(unvectorize(manifold.reference_basis().col(c), m, p)));
    return out;
  }();
  const Eigen::MatrixXd S = B.transpose() * PB;
  EXPECT_LT((S - S.transpose()).norm(), 1e-12);
  EXPECT_GT(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(S).eigenvalues()(0), 0);

  // Smooth (Lipschitz) in x: ||B(Plus(x, t v)) - B(x)|| / t settles to a constant as t -> 0.
  const Eigen::VectorXd v = test::random_matrix(k, 1, 9).col(0).normalized();
  std::vector<double> ratios;
  for (double t : {1e-2, 1e-3, 1e-4}) {
    const Eigen::VectorXd tv = t * v;
    Eigen::VectorXd xt(x.size());
    ASSERT_TRUE(manifold.Plus(x.data(), tv.data(), xt.data()));
    ratios.push_back((manifold.tangent_basis(xt) - B).norm() / t);
  }
  EXPECT_GT(ratios[2], 0);
  EXPECT_NEAR(ratios[2] / ratios[1], 1.0, 0.05);
  EXPECT_NEAR(ratios[1] / ratios[0], 1.0, 0.2);
}

TEST_P(ManifoldInvariants, PlusIsTheOrthographicRetraction) {
  const ReducedSetup s = reduced_setup(GetParam(), 79);
  const ZeroLossManifold manifold(s.red, s.beta);
  const int k = manifold.TangentSize(), m = s.red.m(), p = s.red.d();
  const Eigen::VectorXd x = vectorize(s.beta);
  const Eigen::MatrixXd B = manifold.tangent_basis(x);
  const ConstraintJacobian J(s.red, evaluate(s.red, s.beta));
  const Eigen::VectorXd dir = test::random_matrix(k, 1, 10).col(0).normalized();
  for (double t : {0.3, 0.03}) {
    const Eigen::VectorXd delta = t * x.norm() * dir;
    Eigen::VectorXd y(x.size());
    ASSERT_TRUE(manifold.Plus(x.data(), delta.data(), y.data()));
    EXPECT_LT(max_residual(s.red, unvectorize(y, m, p)), 1e-12);
    // y - x = B delta + (normal at x): the tangential part at x is exactly B delta.
    const Eigen::MatrixXd tangential = J.tangent_projection(unvectorize(y - x, m, p));
    EXPECT_LT((vectorize(tangential) - B * delta).norm(), 1e-12 * delta.norm()) << "t = " << t;
  }
  EXPECT_EQ(manifold.fallback_count(), 0);
  // Ceres' tangent gradient B^T g has the norm of the Riemannian gradient P g.
  const Eigen::MatrixXd g = test::random_matrix(m, p, 11);
  EXPECT_NEAR((B.transpose() * vectorize(g)).norm(), J.tangent_projection(g).norm(), 1e-12 * g.norm());
}

INSTANTIATE_TEST_SUITE_P(Configs, ManifoldInvariants,
                         testing::Values(Config{3, 5, 4, "cubic", false}, Config{3, 5, 4, "sinh", true},
                                         Config{2, 4, 3, "tanh", true}, Config{6, 3, 4, "cubic", true}),
                         config_name);

TEST(ZeroLossManifold, RejectsAReferenceOffTheManifold) {
  auto p = test::random_problem(3, 4, 3, "cubic", false, 12);
  EXPECT_THROW(ZeroLossManifold(p.model, p.theta), InputError);
}

// Riemannian L-BFGS with a general objective: F(Theta) = ||Theta - C||^2 is minimized over M by the
// nearest point of C, which project_nearest computes by a different algorithm (KKT Newton).
TEST(MinimizeOnManifold, GeneralObjectiveFindsTheNearestPoint) {
  for (const char* act : {"cubic", "sinh", "softplus"}) {
    SCOPED_TRACE(act);
    auto p = test::random_problem_on_manifold(3, 5, 4, act, true, 21, 0.4);
    Eigen::MatrixXd C = p.theta + 0.2 * test::random_matrix(4, 5, 22);
    const ProjectionResult nearest = project_nearest(p.model, C);
    ManifoldObjective F = [&](const Eigen::MatrixXd& th, Eigen::MatrixXd* grad) {
      if (grad) *grad = 2 * (th - C);
      return (th - C).squaredNorm();
    };
    // Start at the Newton projection of C (off M by nothing) and at a point off M (projected first).
    const Eigen::MatrixXd newton = project_newton(p.model, C).theta;
    const ManifoldMinimizationResult r = minimize_on_manifold(p.model, newton, F);
    EXPECT_TRUE(r.summary.converged) << r.summary.termination;
    EXPECT_FALSE(r.summary.start_projected);
    EXPECT_LT(r.summary.final_residual, 1e-12);
    EXPECT_NEAR(std::sqrt(r.summary.final_value), nearest.summary.distance_moved, 1e-10);
    EXPECT_LT((r.theta - nearest.theta).norm(), 1e-5);
    // Off M by a perturbation inside span(X)^m (the perpendicular components are not optimized).
    const ReducedCoordinates rc(p.model.X());
    const Eigen::MatrixXd off = nearest.theta + 0.05 * test::random_matrix(4, 5, 23) * rc.basis() * rc.basis().transpose();
    const ManifoldMinimizationResult r2 = minimize_on_manifold(p.model, off, F);
    EXPECT_TRUE(r2.summary.start_projected);
    EXPECT_NEAR(std::sqrt(r2.summary.final_value), nearest.summary.distance_moved, 1e-10);
  }
}

}  // namespace
