// Riemannian L-BFGS through the two-layer entry points (manifold/riemannian_lbfgs_two_layer.hpp:
// full weights, the generic path on the reduced network, lifted) with a general objective against
// the nearest-point projection (KKT Newton, an independent algorithm). The manifold itself
// (ModelManifold on the two-layer network) is checked in tests/model_manifold_test.cpp.

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/manifold/riemannian_lbfgs_two_layer.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/support/errors.hpp"

using namespace zeroloss;

namespace {

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

// The objective's gradient must have the weights' shape; bad options are refused before any work.
TEST(MinimizeOnManifold, RefusesAWrongGradientShapeAndBadOptions) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", true, 21, 0.4);
  const ManifoldObjective wrong = [](const Eigen::MatrixXd& th, Eigen::MatrixXd* grad) {
    if (grad) *grad = Eigen::MatrixXd::Zero(th.rows() + 1, th.cols());
    return th.squaredNorm();
  };
  EXPECT_THROW(minimize_on_manifold(p.model, p.theta, wrong), InputError);
  ManifoldMinimizationOptions bad;
  bad.lbfgs_rank = 0;
  EXPECT_THROW(minimize_sharpness_on_manifold(p.model, p.theta, bad), InputError);
}

}  // namespace
