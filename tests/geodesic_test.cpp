// Geodesics, exponential and logarithm maps (THEORY 2-3) against independent routes: the dense
// reference formulas for the acceleration, the Taylor expansion, the THEORY 3 identities for the
// derivatives of T along a geodesic, a second integrator (RATTLE), and exp/log round trips.

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/geodesic.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/sharpness/reference.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

using namespace zeroloss;
using zeroloss::test::rel_error;

namespace {

using Config = zeroloss::test::ProblemConfig;
using zeroloss::test::config_name;

// A random unit tangent vector at theta (it has components orthogonal to span X when d > n).
Eigen::MatrixXd unit_tangent(const TwoLayerModel& model, const Eigen::MatrixXd& theta, unsigned seed) {
  const SharpnessGeometry g(model, theta);
  Eigen::MatrixXd v = g.jacobian().tangent_projection(test::random_matrix(model.m(), model.d(), seed));
  return v / v.norm();
}

double frob_dot(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a.array() * b.array()).sum(); }

class Geodesics : public testing::TestWithParam<Config> {
 protected:
  test::RandomProblem problem() const {
    const Config c = GetParam();
    return test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 4321 + 11 * c.n + c.m);
  }
};

TEST_P(Geodesics, StaysOnManifoldWithConstantSpeed) {
  auto p = problem();
  const Eigen::MatrixXd v = unit_tangent(p.model, p.theta, 17);
  const GeodesicIntegrator integ(p.model);
  std::vector<double> s;
  for (int k = 1; k <= 20; ++k) s.push_back(0.1 * k);
  const GeodesicPath path = integ.trace(p.theta, v, s);
  ASSERT_EQ(path.samples.size(), s.size());
  for (const auto& g : path.samples) {
    EXPECT_LT(max_residual(p.model, g.theta), 1e-10) << "s = " << g.s;
    EXPECT_LT(std::abs(g.velocity.norm() - 1.0), 1e-8) << "s = " << g.s;
    const SharpnessGeometry geo(p.model, g.theta);
    EXPECT_LT(geo.jacobian().apply(g.velocity).norm(), 1e-10 * std::sqrt(geo.jacobian().gram().trace()));
  }
  EXPECT_LT(path.statistics.max_residual, 1e-10);
  EXPECT_LT(path.statistics.max_relative_speed_drift, 1e-8);
  EXPECT_GT(path.statistics.accepted_steps, 0);
  // The geodesic really moved (it is not the trivial path).
  EXPECT_GT((path.samples.back().theta - p.theta).norm(), 1.0);
}

TEST_P(Geodesics, AccelerationMatchesDenseReference) {
  auto p = problem();
  const Eigen::MatrixXd v = unit_tangent(p.model, p.theta, 18);
  // gamma''(0) = -J^T (J J^T)^{-1} q, q_i = v^T Hess f_i v, from the dense full-coordinate matrices.
  const Eigen::MatrixXd J = reference::jacobian(p.model, p.theta);
  Eigen::VectorXd q(p.model.n());
  const Eigen::VectorXd vv = vectorize(v);
  for (int i = 0; i < p.model.n(); ++i) q(i) = vv.dot(reference::constraint_hessian(p.model, p.theta, i) * vv);
  const Eigen::VectorXd acc = -J.transpose() * (J * J.transpose()).fullPivLu().solve(q);
  EXPECT_LT(rel_error(vectorize(geodesic_acceleration(p.model, p.theta, v)), acc), 1e-10);
}

TEST_P(Geodesics, ShortGeodesicsMatchSecondOrderTaylorExpansion) {
  auto p = problem();
  const Eigen::MatrixXd v = unit_tangent(p.model, p.theta, 19);
  const Eigen::MatrixXd J = reference::jacobian(p.model, p.theta);
  Eigen::VectorXd q(p.model.n());
  const Eigen::VectorXd vv = vectorize(v);
  for (int i = 0; i < p.model.n(); ++i) q(i) = vv.dot(reference::constraint_hessian(p.model, p.theta, i) * vv);
  const Eigen::MatrixXd acc =
      unvectorize(-J.transpose() * (J * J.transpose()).fullPivLu().solve(q), p.model.m(), p.model.d());
  ASSERT_GT(acc.norm(), 1e-3);  // the test is only meaningful when the geodesic curves
  const GeodesicIntegrator integ(p.model);
  const std::vector<double> s = {0.005, 0.01, 0.02};
  const GeodesicPath path = integ.trace(p.theta, v, s);
  std::vector<double> err;
  for (std::size_t k = 0; k < s.size(); ++k) {
    const Eigen::MatrixXd taylor = p.theta + s[k] * v + 0.5 * s[k] * s[k] * acc;
    err.push_back((path.samples[k].theta - taylor).norm());
    // Far below the size of the second-order term: the curvature is right.
    EXPECT_LT(err.back(), 0.05 * 0.5 * s[k] * s[k] * acc.norm()) << "s = " << s[k];
  }
  // Third-order remainder: halving s divides the error by about 8.
  EXPECT_GT(err[1] / err[0], 6.0);
  EXPECT_LT(err[1] / err[0], 10.0);
  EXPECT_GT(err[2] / err[1], 6.0);
  EXPECT_LT(err[2] / err[1], 10.0);
}

TEST_P(Geodesics, DerivativesOfSharpnessAlongGeodesicAreRiemannianGradientAndHessian) {
  auto p = problem();
  const SharpnessGeometry geo(p.model, p.theta);
  const GeodesicIntegrator integ(p.model);
  for (unsigned seed : {21u, 22u}) {
    const Eigen::MatrixXd v = unit_tangent(p.model, p.theta, seed);
    auto T_at = [&](double s) {
      if (s == 0) return geo.sharpness();
      const Eigen::MatrixXd dir = s > 0 ? v : Eigen::MatrixXd(-v);
      const GeodesicPath path = integ.trace(p.theta, dir, {std::abs(s)});
      return SharpnessGeometry(p.model, path.samples.front().theta).sharpness();
    };
    // Central differences at h and h/2, Richardson-extrapolated (error O(h^4)).
    const double h = 1e-2;
    const double T0 = T_at(0), Tp = T_at(h), Tm = T_at(-h), Tp2 = T_at(h / 2), Tm2 = T_at(-h / 2);
    const double d1 = (4 * (Tp2 - Tm2) / h - (Tp - Tm) / (2 * h)) / 3;
    const double d2 = (4 * (Tp2 - 2 * T0 + Tm2) / (h * h / 4) - (Tp - 2 * T0 + Tm) / (h * h)) / 3;
    const double grad_v = frob_dot(geo.riemannian_gradient(), v);
    const double hess_vv = geo.riemannian_hessian_form(v);
    const double scale = std::abs(hess_vv) + geo.riemannian_gradient().norm() + 1e-3 * T0;
    EXPECT_NEAR(d1, grad_v, 1e-7 * scale) << "seed " << seed;
    EXPECT_NEAR(d2, hess_vv, 1e-6 * scale) << "seed " << seed;
    // The Euclidean second derivative differs by sum_i lambda_i v^T Hess f_i v: not what a geodesic sees.
    const double euclid = frob_dot(geo.euclidean_hessian_apply(v), v);
    EXPECT_GT(std::abs(euclid - hess_vv), 1e3 * std::abs(d2 - hess_vv)) << "seed " << seed;
  }
}

TEST_P(Geodesics, RattleConvergesAtSecondOrderToTheAdaptiveIntegrator) {
  auto p = problem();
  const Eigen::MatrixXd v = unit_tangent(p.model, p.theta, 23);
  const Eigen::MatrixXd exact = GeodesicIntegrator(p.model).exp(p.theta, v);
  std::vector<double> err;
  for (double h : {0.02, 0.01}) {
    GeodesicOptions o;
    o.method = GeodesicMethod::Rattle;
    o.rattle_step = h;
    const GeodesicPath path = GeodesicIntegrator(p.model, o).trace(p.theta, v, {0.5, 1.0});
    EXPECT_LT(path.statistics.max_residual, 1e-10);
    for (const auto& g : path.samples) EXPECT_LT(max_residual(p.model, g.theta), 1e-10);
    err.push_back((path.samples.back().theta - exact).norm());
  }
  EXPECT_LT(err[1], 1e-3);
  EXPECT_GT(err[0] / err[1], 3.0);
  EXPECT_LT(err[0] / err[1], 5.0);
}

TEST_P(Geodesics, ExponentialMapIsHomogeneousAndReversible) {
  auto p = problem();
  const Eigen::MatrixXd v = unit_tangent(p.model, p.theta, 24);
  const GeodesicIntegrator integ(p.model);
  // exp_x(2 v) = gamma_v(2): reparametrization of the same geodesic.
  const GeodesicPath path = integ.trace(p.theta, v, {1.0, 2.0});
  EXPECT_LT(rel_error(integ.exp(p.theta, 2 * v), path.samples[1].theta), 1e-9);
  EXPECT_LT(rel_error(integ.exp(p.theta, v), path.samples[0].theta), 1e-12);
  // Going back along -gamma'(1) from gamma(1) returns to x.
  const Eigen::MatrixXd back = integ.exp(path.samples[0].theta, -path.samples[0].velocity);
  EXPECT_LT((back - p.theta).norm(), 1e-9 * p.theta.norm());
}

TEST_P(Geodesics, LogarithmInvertsExponential) {
  auto p = problem();
  const Eigen::MatrixXd v = 0.2 * unit_tangent(p.model, p.theta, 25);
  const Eigen::MatrixXd y = exponential_map(p.model, p.theta, v);
  const LogarithmResult log = logarithm_map(p.model, p.theta, y);
  EXPECT_LT(rel_error(log.velocity, v), 1e-7);
  EXPECT_NEAR(log.length, 0.2, 1e-8);
  EXPECT_LT(log.mismatch, 1e-9 * std::max(1.0, y.norm()));
  // A geodesic is at least as long as the chord, and the distance is symmetric.
  EXPECT_GE(log.length, (y - p.theta).norm() * (1 - 1e-12));
  EXPECT_NEAR(geodesic_distance(p.model, y, p.theta), log.length, 1e-8);
}

INSTANTIATE_TEST_SUITE_P(Activations, Geodesics,
                         testing::Values(Config{3, 5, 4, "cubic", false}, Config{3, 5, 4, "cubic", true},
                                         Config{2, 4, 3, "sinh", true}, Config{3, 6, 3, "tanh", false},
                                         Config{3, 4, 3, "softplus", true}, Config{5, 3, 4, "cubic", true}),
                         config_name);

TEST(GeodesicErrors, StartOffManifoldAndNonTangentVelocityAreRejected) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", false, 77);
  const GeodesicIntegrator integ(p.model);
  const Eigen::MatrixXd v = unit_tangent(p.model, p.theta, 1);
  Eigen::MatrixXd off = p.theta;
  off(0, 0) += 1e-3;
  EXPECT_THROW(integ.trace(off, v, {1.0}), InputError);
  const Eigen::MatrixXd normal = SharpnessGeometry(p.model, p.theta).jacobian().normal_projection(
      test::random_matrix(4, 5, 2));
  EXPECT_THROW(integ.trace(p.theta, v + normal, {1.0}), InputError);
  EXPECT_THROW(integ.trace(p.theta, v, {0.5, 0.2}), InputError);
}

TEST(GeodesicErrors, LogarithmThatCannotConvergeThrowsConvergenceError) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", true, 78);
  const Eigen::MatrixXd y = exponential_map(p.model, p.theta, 1.5 * unit_tangent(p.model, p.theta, 3));
  LogarithmOptions o;
  o.max_iterations = 1;  // one Levenberg-Marquardt step cannot land a shot 1.5 away to 1e-9
  try {
    logarithm_map(p.model, p.theta, y, o);
    FAIL() << "expected ConvergenceError";
  } catch (const ConvergenceError& e) {
    EXPECT_NE(std::string(e.what()).find("did not reach the target"), std::string::npos) << e.what();
  }
  // A target off the manifold is an input error, not a convergence failure.
  Eigen::MatrixXd off = y;
  off(1, 1) += 0.1;
  EXPECT_THROW(logarithm_map(p.model, p.theta, off), InputError);
}

TEST(GeodesicBasis, TangentBasisIsOrthonormalAndSpansKernel) {
  auto p = test::random_problem_on_manifold(3, 4, 3, "cubic", true, 79);
  const Eigen::MatrixXd B = tangent_basis(p.model, p.theta);
  ASSERT_EQ(B.cols(), 3 * 4 - 3);
  EXPECT_LT((B.transpose() * B - Eigen::MatrixXd::Identity(B.cols(), B.cols())).norm(), 1e-12);
  EXPECT_LT((reference::jacobian(p.model, p.theta) * B).norm(), 1e-12);
}

}  // namespace
