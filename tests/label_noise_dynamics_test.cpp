// Convexity along trajectories on the model interface (diagnostics/trajectory_convexity.hpp with
// dynamics/label_noise_dynamics.hpp):
//   - the generic path (ModelConvexityGeometry and ModelLabelNoiseDynamics: generic flow,
//     GenericLabelNoiseSgd, generic projections, RiemannianSharpness) on the two-layer network as a SquaredLossModel against the
//     two-layer path (reduced coordinates, the SGD kernel, SharpnessGeometry): every logged number
//     to 1e-12;
//   - the diagonal linear network against its closed forms (THEORY 9): T = (4/n) sum_k c_k (u_k^2 +
//     v_k^2), and grad_M T and the spectrum of Hess_M T from dense formulas with J = [2 X diag(u),
//     -2 X diag(v)], Hess f_i = diag(2 x_i, -2 x_i) and a null-space basis from an SVD.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>

#include "test_support.hpp"
#include "zeroloss/diagnostics/trajectory_convexity.hpp"
#include "zeroloss/diagnostics/model_convexity_geometry.hpp"
#include "zeroloss/dynamics/label_noise_dynamics.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/random/portable_distributions.hpp"

using namespace zeroloss;

namespace {

double relative_gap(double a, double b) { return std::abs(a - b) / std::max(1.0, std::abs(b)); }

// Every logged state of `generic` (parameter columns of the reduced network) against `two_layer`
// (m x d weights of the full network) to 1e-12.
void expect_same_states(const TrajectoryConvexity& generic, const TrajectoryConvexity& two_layer,
                        const ReducedCoordinates& rc) {
  EXPECT_EQ(generic.completed, two_layer.completed) << generic.termination << " / " << two_layer.termination;
  ASSERT_EQ(generic.points.size(), two_layer.points.size());
  ASSERT_FALSE(generic.points.empty());
  for (std::size_t k = 0; k < generic.points.size(); ++k) {
    const TrajectoryConvexityPoint& g = generic.points[k];
    const TrajectoryConvexityPoint& t = two_layer.points[k];
    EXPECT_EQ(g.step, t.step) << k;
    EXPECT_LE(relative_gap(g.tau, t.tau), 1e-12) << k;
    EXPECT_LE(relative_gap(g.sharpness, t.sharpness), 1e-12) << k;
    EXPECT_LE(relative_gap(g.grad_norm, t.grad_norm), 1e-12) << k;
    const double scale = std::max(std::abs(t.lambda_min), std::abs(t.lambda_max));
    EXPECT_LE(std::abs(g.lambda_min - t.lambda_min), 1e-12 * scale) << k;
    EXPECT_LE(std::abs(g.lambda_max - t.lambda_max), 1e-12 * scale) << k;
    EXPECT_EQ(g.negative, t.negative) << k;
    EXPECT_LE(std::abs(g.projection_distance - t.projection_distance), 1e-12 * std::max(1.0, t.projection_distance));
    EXPECT_LE(std::abs(g.iterate_loss - t.iterate_loss), 1e-12 * std::max(1.0, t.iterate_loss));
    const Eigen::VectorXd expected = vectorize(rc.reduce(t.theta));
    EXPECT_LE((g.theta - expected).norm(), 1e-12 * expected.norm()) << k;
  }
  EXPECT_EQ(generic.onset.tau.has_value(), two_layer.onset.tau.has_value());
  EXPECT_EQ(generic.onset.negative_points, two_layer.onset.negative_points);
}

TEST(TrajectoryConvexityOnModels, GenericPathMatchesTheTwoLayerPathTo1e12) {
  // The problem of trajectory_convexity_test: negative curvature at the start, convex by tau ~ 0.25.
  const test::RandomProblem p = test::random_problem(3, 5, 4, "cubic", false, 16, 0.8);
  const ReducedCoordinates rc(p.model.X());
  const auto network = std::make_shared<const TwoLayerNetwork>(rc.reduce(p.model));
  const ModelConvexityGeometry geometry(network, "cubic");
  const ModelLabelNoiseDynamics generic(network);
  const Eigen::MatrixXd start = vectorize(rc.reduce(p.theta));

  FlowConvexityOptions fo;
  fo.flow_time = 0.5;
  fo.points = 10;
  const TrajectoryConvexity flow_generic = flow_convexity(geometry, generic, start, fo);
  const TrajectoryConvexity flow_two_layer = flow_convexity(p.model, p.theta, fo);
  ASSERT_TRUE(flow_two_layer.completed) << flow_two_layer.termination;
  EXPECT_TRUE(flow_two_layer.points.front().negative);
  EXPECT_LE(relative_gap(flow_generic.start_projection_distance, flow_two_layer.start_projection_distance), 1e-12);
  expect_same_states(flow_generic, flow_two_layer, rc);
  ASSERT_TRUE(flow_generic.refined_low && flow_two_layer.refined_low) << flow_generic.refine_note;
  EXPECT_LE(relative_gap(*flow_generic.refined_low, *flow_two_layer.refined_low), 1e-12);
  EXPECT_LE(relative_gap(*flow_generic.refined_high, *flow_two_layer.refined_high), 1e-12);

  for (ProjectionMethod method : {ProjectionMethod::GradientFlow, ProjectionMethod::Newton}) {
    SgdConvexityOptions so;
    so.sgd.learning_rate = 0.005;
    so.sgd.label_noise = 1.0;
    so.sgd.batch_size = 2;
    so.sgd.seed = 7;
    so.steps = 4000;
    so.points = 8;
    so.projection = method;
    const TrajectoryConvexity sgd_generic = sgd_convexity(geometry, generic, start, so);
    const TrajectoryConvexity sgd_two_layer = sgd_convexity(p.model, p.theta, so);
    ASSERT_TRUE(sgd_two_layer.completed) << sgd_two_layer.termination;
    EXPECT_TRUE(sgd_generic.failures.empty() && sgd_two_layer.failures.empty());
    EXPECT_EQ(sgd_generic.tau_end, sgd_two_layer.tau_end);
    expect_same_states(sgd_generic, sgd_two_layer, rc);
  }
}

// Dense closed forms of THEORY 9 at theta = (u, v).
struct DiagonalReference {
  double sharpness = 0;
  Eigen::VectorXd riemannian_gradient;
  Eigen::VectorXd hessian_eigenvalues;  // of Hess_M T on ker J, ascending
};

DiagonalReference diagonal_reference(const Eigen::MatrixXd& X, const Eigen::VectorXd& theta) {
  const int n = static_cast<int>(X.rows()), d = static_cast<int>(X.cols());
  const Eigen::VectorXd u = theta.head(d), v = theta.tail(d);
  const Eigen::VectorXd c = X.array().square().colwise().sum().transpose();
  DiagonalReference r;
  r.sharpness = 4.0 / n * (c.array() * (u.array().square() + v.array().square())).sum();
  Eigen::MatrixXd J(n, 2 * d);
  J << 2 * X * u.asDiagonal(), -2 * X * v.asDiagonal();
  Eigen::VectorXd grad(2 * d);
  grad << 8.0 / n * c.cwiseProduct(u), 8.0 / n * c.cwiseProduct(v);
  const Eigen::VectorXd lambda = (J * J.transpose()).ldlt().solve(J * grad);
  r.riemannian_gradient = grad - J.transpose() * lambda;
  const Eigen::VectorXd xl = X.transpose() * lambda;
  Eigen::VectorXd w(2 * d);  // Hess T - sum_i lambda_i Hess f_i, diagonal
  w << 8.0 / n * c - 2 * xl, 8.0 / n * c + 2 * xl;
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(J, Eigen::ComputeFullV);
  const Eigen::MatrixXd B = svd.matrixV().rightCols(2 * d - n);
  const Eigen::MatrixXd H = B.transpose() * w.asDiagonal() * B;
  r.hessian_eigenvalues = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(0.5 * (H + H.transpose())).eigenvalues();
  return r;
}

void expect_closed_forms(const TrajectoryConvexity& tr, const DiagonalLinearNetwork& model) {
  ASSERT_FALSE(tr.points.empty());
  for (std::size_t k = 0; k < tr.points.size(); ++k) {
    const TrajectoryConvexityPoint& s = tr.points[k];
    ASSERT_EQ(s.theta.rows(), model.num_parameters());
    EXPECT_LT(model.max_residual(s.theta.col(0)), 1e-10) << k;
    const DiagonalReference r = diagonal_reference(model.X(), s.theta.col(0));
    EXPECT_LE(relative_gap(s.sharpness, r.sharpness), 1e-12) << k;
    EXPECT_NEAR(s.grad_norm, r.riemannian_gradient.norm(), 1e-9 * std::max(1.0, r.sharpness)) << k;
    const double scale = r.hessian_eigenvalues.cwiseAbs().maxCoeff();
    EXPECT_NEAR(s.lambda_min, r.hessian_eigenvalues(0), 1e-9 * scale) << k;
    EXPECT_NEAR(s.lambda_max, r.hessian_eigenvalues.maxCoeff(), 1e-9 * scale) << k;
  }
}

TEST(TrajectoryConvexityOnModels, DiagonalNetworkStatesMatchTheClosedForms) {
  const int n = 3, d = 8;
  std::mt19937_64 rng(21);
  StandardNormal normal;
  Eigen::MatrixXd X(n, d);
  for (Eigen::Index k = 0; k < X.size(); ++k) X.data()[k] = normal(rng);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) y(i) = normal(rng);
  const auto model = std::make_shared<const DiagonalLinearNetwork>(X, y);
  const ModelConvexityGeometry geometry(model, "diagonal-linear");
  const ModelLabelNoiseDynamics dynamics(model);
  const Eigen::MatrixXd start = random_diagonal_start(d, 1.0, 3);  // off M: projected with Phi_GF first

  FlowConvexityOptions fo;
  fo.flow_time = 1.0;
  fo.points = 100;  // fine enough for the trapezoid rule below on the fast initial decrease of T
  const TrajectoryConvexity flow = flow_convexity(geometry, dynamics, start, fo);
  ASSERT_TRUE(flow.completed) << flow.termination;
  EXPECT_GT(flow.start_projection_distance, 0);
  ASSERT_EQ(flow.points.size(), 101u);
  expect_closed_forms(flow, *model);
  // A gradient flow of T: dT/dtau = -||grad_M T||^2 (trapezoid over each logged interval).
  for (std::size_t k = 1; k < flow.points.size(); ++k) {
    const auto& a = flow.points[k - 1];
    const auto& b = flow.points[k];
    EXPECT_LE(b.sharpness, a.sharpness);
    const double predicted = -0.5 * (a.grad_norm * a.grad_norm + b.grad_norm * b.grad_norm) * (b.tau - a.tau);
    EXPECT_NEAR(b.sharpness - a.sharpness, predicted, 0.15 * std::abs(predicted) + 1e-12) << k;
  }

  SgdConvexityOptions so;
  so.sgd.learning_rate = 0.01;
  so.sgd.label_noise = 0.5;
  so.sgd.batch_size = 1;
  so.sgd.seed = 5;
  so.steps = 20000;  // flow time s^2 eta^2 K / (4 B) = 0.125
  so.points = 5;
  const TrajectoryConvexity sgd = sgd_convexity(geometry, dynamics, start, so);
  ASSERT_TRUE(sgd.completed) << sgd.termination;
  EXPECT_TRUE(sgd.failures.empty());
  EXPECT_NEAR(sgd.tau_end, 0.125, 1e-15);
  for (const auto& s : sgd.points) EXPECT_NEAR(s.tau, 0.25 * 0.25 * 1e-4 * static_cast<double>(s.step), 1e-15);
  expect_closed_forms(sgd, *model);
  // Same seed, same bits.
  const TrajectoryConvexity again = sgd_convexity(geometry, dynamics, start, so);
  for (std::size_t k = 0; k < sgd.points.size(); ++k) EXPECT_EQ(sgd.points[k].theta, again.points[k].theta);
}

}  // namespace
