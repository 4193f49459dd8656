// The derivative checkers: they must PASS on the true Riemannian gradient / Hessian of T and FAIL
// (slope ~1 / ~2, or a residual above tolerance) when handed a perturbed gradient or Hessian.

#include <gtest/gtest.h>

#include <sstream>

#include "test_support.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/diagnostics/two_layer_derivative_check.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

using namespace zeroloss;

namespace {

struct Case {
  int n, d, m;
  const char* activation;
  bool mixed_a;
};

std::string case_name(const testing::TestParamInfo<Case>& info) {
  std::string act = info.param.activation;
  for (auto& c : act)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return act + "_n" + std::to_string(info.param.n) + "_d" + std::to_string(info.param.d) + "_m" +
         std::to_string(info.param.m) + (info.param.mixed_a ? "_mixed_a" : "_a1");
}

// T with the closed-form Riemannian derivatives of SharpnessGeometry, in full coordinates, with
// optional perturbations: the gradient gets `dg` times a fixed tangent vector, the Hessian gets
// `dh` times the tangent projection (a symmetric tangent operator), the gradient a normal part `dn`.
// The generic checker runs on parameter vectors: vectorize(Theta) (model/network.hpp's order). The
// callbacks below compute with the two-layer network's own structured classes (SharpnessGeometry,
// ConstraintJacobian), an implementation independent of the generic RiemannianSharpness.
std::shared_ptr<const SquaredLossModel> network(const TwoLayerModel& model) {
  return std::make_shared<const TwoLayerNetwork>(model);
}

ManifoldFunction sharpness_function(const TwoLayerModel& model, double dg = 0, double dh = 0, double dn = 0) {
  ManifoldFunction f;
  const int m = model.m(), d = model.d();
  const Eigen::MatrixXd w_raw = test::random_matrix(m, d, 4242);
  f.value = [model](const Eigen::VectorXd& x) { return SharpnessGeometry(model, unvectorize(x, model.m(), model.d())).sharpness(); };
  f.gradient = [model, w_raw, dg, dn](const Eigen::VectorXd& x) {
    const SharpnessGeometry g(model, unvectorize(x, model.m(), model.d()));
    const Eigen::MatrixXd w = g.jacobian().tangent_projection(w_raw);
    const Eigen::MatrixXd nrm = g.jacobian().normal_projection(w_raw);
    return vectorize(g.riemannian_gradient() + dg * w / w.norm() + dn * nrm / nrm.norm());
  };
  f.hessian_apply = [model, w_raw, dh](const Eigen::VectorXd& x, const Eigen::VectorXd& v_vec) {
    const SharpnessGeometry g(model, unvectorize(x, model.m(), model.d()));
    const Eigen::MatrixXd v = unvectorize(v_vec, model.m(), model.d());
    const Eigen::MatrixXd w = g.jacobian().tangent_projection(w_raw);
    const Eigen::MatrixXd wn = w / w.norm();
    // dh P: symmetric, linear and tangent, and visible along every tangent direction (<dh P v, v> = dh).
    return vectorize(g.riemannian_hessian_apply(v) + dh * g.jacobian().tangent_projection(v));
  };
  return f;
}

class DerivativeCheckT : public testing::TestWithParam<Case> {
 protected:
  test::RandomProblem problem() const {
    const Case c = GetParam();
    return test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 77 + c.n + 3 * c.m);
  }
};

TEST_P(DerivativeCheckT, PassesOnTrueDerivatives) {
  auto p = problem();
  const DerivativeCheckResult r = check_derivatives(network(p.model), vectorize(p.theta), sharpness_function(p.model));
  std::ostringstream table;
  print_derivative_check(table, r);
  EXPECT_TRUE(r.passed()) << table.str();
  EXPECT_NEAR(r.gradient.slope, 2.0, 0.15) << table.str();
  EXPECT_NEAR(r.hessian.slope, 3.0, 0.15) << table.str();
  EXPECT_LT(r.base_point_shift, 1e-12);
}

TEST_P(DerivativeCheckT, FailsOnPerturbedGradientWithSlopeOne) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  const double dg = 1e-3 * std::max(1.0, g.riemannian_gradient().norm());
  const DerivativeCheckResult r = check_derivatives(network(p.model), vectorize(p.theta), sharpness_function(p.model, dg));
  std::ostringstream table;
  print_derivative_check(table, r);
  EXPECT_FALSE(r.gradient.passed) << table.str();
  EXPECT_NEAR(r.gradient.slope, 1.0, 0.15) << table.str();
  EXPECT_FALSE(r.passed());
  // The gradient error also shows up in the Hessian remainder (slope 1 there).
  EXPECT_FALSE(r.hessian.passed) << table.str();
}

TEST_P(DerivativeCheckT, FailsOnPerturbedHessianWithSlopeTwo) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  const double dh = 1e-2 * std::max(1.0, g.riemannian_hessian_matrix().eigenvalues.cwiseAbs().maxCoeff());
  const DerivativeCheckResult r = check_derivatives(network(p.model), vectorize(p.theta), sharpness_function(p.model, 0, dh));
  std::ostringstream table;
  print_derivative_check(table, r);
  EXPECT_TRUE(r.gradient.passed) << table.str();
  EXPECT_FALSE(r.hessian.passed) << table.str();
  EXPECT_NEAR(r.hessian.slope, 2.0, 0.15) << table.str();
  // The perturbation is symmetric, linear and tangent: only the Taylor test can see it.
  EXPECT_TRUE(r.symmetry.passed);
  EXPECT_TRUE(r.linearity.passed);
  EXPECT_TRUE(r.hessian_tangency.passed);
}

INSTANTIATE_TEST_SUITE_P(Activations, DerivativeCheckT,
                         testing::Values(Case{3, 5, 4, "cubic", false}, Case{3, 5, 4, "cubic", true},
                                         Case{2, 4, 3, "sinh", true}, Case{3, 6, 3, "tanh", false},
                                         Case{5, 2, 4, "softplus", true}),
                         case_name);

TEST(DerivativeCheck, NormalComponentOfGradientFailsTangency) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", true, 5);
  const DerivativeCheckResult r = check_derivatives(network(p.model), vectorize(p.theta), sharpness_function(p.model, 0, 0, 1e-4));
  // A normal component does not change <g, v> for tangent v: the Taylor test passes, tangency fails.
  EXPECT_TRUE(r.gradient.passed);
  EXPECT_FALSE(r.gradient_tangency.passed);
  EXPECT_GT(r.gradient_tangency.value, 1e-6);
  EXPECT_FALSE(r.passed());
}

TEST(DerivativeCheck, AsymmetricOrNonlinearHessianFailsResiduals) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", false, 6);
  ManifoldFunction f = sharpness_function(p.model);
  const TwoLayerModel& model = p.model;
  const Eigen::MatrixXd a_raw = test::random_matrix(4, 5, 99), b_raw = test::random_matrix(4, 5, 98);
  // v -> <a, v> b with a != b (tangent parts): linear but not symmetric.
  ManifoldFunction asym = f;
  asym.hessian_apply = [&model, a_raw, b_raw](const Eigen::VectorXd& x, const Eigen::VectorXd& v_vec) {
    const SharpnessGeometry g(model, unvectorize(x, 4, 5));
    const Eigen::MatrixXd v = unvectorize(v_vec, 4, 5);
    const Eigen::MatrixXd a = g.jacobian().tangent_projection(a_raw), b = g.jacobian().tangent_projection(b_raw);
    return vectorize(g.riemannian_hessian_apply(v) + 0.1 * (a.array() * v.array()).sum() * b);
  };
  const DerivativeCheckResult ra = check_derivatives(network(p.model), vectorize(p.theta), asym);
  EXPECT_FALSE(ra.symmetry.passed);
  EXPECT_TRUE(ra.linearity.passed);
  // v -> H v + 0.1 ||v|| v: symmetric, not linear.
  ManifoldFunction nonlin = f;
  nonlin.hessian_apply = [&model](const Eigen::VectorXd& x, const Eigen::VectorXd& v_vec) {
    const SharpnessGeometry g(model, unvectorize(x, 4, 5));
    const Eigen::MatrixXd v = unvectorize(v_vec, 4, 5);
    return vectorize(g.riemannian_hessian_apply(v) + 0.1 * v.norm() * v);
  };
  const DerivativeCheckResult rn = check_derivatives(network(p.model), vectorize(p.theta), nonlin);
  EXPECT_FALSE(rn.linearity.passed);
}

TEST(DerivativeCheck, SharpnessConvenienceWorksInReducedCoordinatesAndProjectsFirst) {
  auto p = test::random_problem_on_manifold(3, 6, 4, "cubic", true, 8);
  // Move the point off M a little: the check retracts it first and reports how far it moved.
  const Eigen::MatrixXd off = p.theta + 1e-4 * test::random_matrix(4, 6, 3);
  const DerivativeCheckResult r = check_sharpness_derivatives(p.model, off);
  std::ostringstream table;
  print_derivative_check(table, r);
  EXPECT_TRUE(r.passed()) << table.str();
  EXPECT_GT(r.base_point_shift, 1e-7);
  EXPECT_LT(r.base_point_shift, 1e-2);
  // The value is T at the projected point, equal in reduced and full coordinates.
  const ReducedCoordinates rc(p.model.X());
  const Eigen::VectorXd beta0 = newton_retraction(network(rc.reduce(p.model)), vectorize(rc.reduce(off)), Eigen::VectorXd::Zero(12));
  const Eigen::MatrixXd theta0 = rc.lift(unvectorize(beta0, 4, 3), off);
  EXPECT_NEAR(r.value, SharpnessGeometry(p.model, theta0).sharpness(), 1e-12 * r.value);
  EXPECT_NE(table.str().find("Overall: PASS"), std::string::npos);
}

TEST(DerivativeCheck, SameSeedSameBits) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "sinh", false, 9);
  DerivativeCheckOptions o;
  o.seed = 17;
  const auto r1 = check_sharpness_derivatives(p.model, p.theta, o);
  const auto r2 = check_sharpness_derivatives(p.model, p.theta, o);
  EXPECT_EQ(r1.gradient.error, r2.gradient.error);
  EXPECT_EQ(r1.hessian.error, r2.hessian.error);
  o.seed = 18;
  const auto r3 = check_sharpness_derivatives(p.model, p.theta, o);
  EXPECT_NE(r1.directional_derivative, r3.directional_derivative);
}

TEST(DerivativeCheck, NewtonRetractionIsSecondOrder) {
  // || R(x, t v) - (x + t v) || = O(t^2), and the deviation from the metric projection is O(t^3):
  // checked through the normal correction's leading term -t^2/2 J^T (J J^T)^{-1} q (THEORY 2, geodesics).
  auto p = test::random_problem_on_manifold(2, 4, 3, "cubic", false, 10);
  const NetworkEvaluation e = evaluate(p.model, p.theta);
  const ConstraintJacobian J(p.model, e);
  Eigen::MatrixXd v = J.tangent_projection(test::random_matrix(3, 4, 11));
  v /= v.norm();
  const Eigen::MatrixXd S = p.model.X() * v.transpose();
  const Eigen::VectorXd q = (e.d2phi * p.model.a().asDiagonal()).cwiseProduct(S.cwiseProduct(S)).rowwise().sum();
  const Eigen::MatrixXd accel = -J.apply_transpose(J.solve_gram(q));
  double prev = 0;
  for (double t : {1e-1, 5e-2, 2.5e-2}) {
    const Eigen::MatrixXd Rt = unvectorize(newton_retraction(network(p.model), vectorize(p.theta), vectorize(t * v)), 3, 4);
    EXPECT_LT(max_residual(p.model, Rt), 1e-12);
    const double dev = (Rt - p.theta - t * v - 0.5 * t * t * accel).norm();
    if (prev > 0) {
      EXPECT_NEAR(std::log2(prev / dev), 3.0, 0.3) << "t = " << t;
    }
    prev = dev;
  }
}

TEST(DerivativeCheck, HessianCheckNeedsASecondOrderRetraction) {
  // R(x, v) = Newton projection of x + v + ||v||^2 w (w tangent): still a retraction (first order),
  // but its curves have the wrong second derivative, so E2 keeps a t^2 term; E1 is unaffected.
  auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", true, 12);
  const ConstraintJacobian J(p.model, evaluate(p.model, p.theta));
  Eigen::MatrixXd w = J.tangent_projection(test::random_matrix(4, 5, 13));
  w /= w.norm();
  DerivativeCheckOptions o;
  const TwoLayerModel& model = p.model;
  const auto net = network(model);
  const Eigen::VectorXd wv = vectorize(w);
  o.retraction = [net, wv](const Eigen::VectorXd& x, const Eigen::VectorXd& v) {
    return newton_retraction(net, x, v + v.squaredNorm() * wv);
  };
  const DerivativeCheckResult r = check_derivatives(network(p.model), vectorize(p.theta), sharpness_function(p.model), o);
  std::ostringstream table;
  print_derivative_check(table, r);
  EXPECT_TRUE(r.gradient.passed) << table.str();
  EXPECT_FALSE(r.hessian.passed) << table.str();
  EXPECT_NEAR(r.hessian.slope, 2.0, 0.15) << table.str();
}

TEST(DerivativeCheck, DiagonalNetworkPassesAndInjectedErrorsAreCaught) {
  // The generic path with the estimated Hessian scale, on THEORY 9's model: T is a quadratic, so the
  // Riemannian Hessian is Hess T projected plus the Weingarten term; the checker sees both.
  const Eigen::MatrixXd X = 0.5 * test::random_matrix(3, 6, 31);
  const Eigen::VectorXd uv = (test::random_matrix(12, 1, 32).array().abs() + 0.3).matrix();
  const Eigen::VectorXd w = uv.head(6).cwiseAbs2() - uv.tail(6).cwiseAbs2();
  const auto model = std::make_shared<const DiagonalLinearNetwork>(X, X * w);
  const DerivativeCheckResult ok = check_sharpness_derivatives(model, uv);
  std::ostringstream table;
  print_derivative_check(table, ok);
  EXPECT_TRUE(ok.passed()) << table.str();
  EXPECT_NEAR(ok.gradient.slope, 2.0, 0.15) << table.str();
  // On the true derivatives the fitted slope is 2.84 along this direction (the t^3 and t^4 terms of the
  // remainder partly cancel in the window); the criterion is slope >= 2.8.
  EXPECT_GE(ok.hessian.slope, 2.8) << table.str();
  EXPECT_LE(ok.hessian.slope, 3.3) << table.str();
  EXPECT_GT(ok.gradient_norm, 1e-3);  // not a stationary point: the gradient test has something to see
  InjectedError bad_gradient;
  bad_gradient.gradient = 1e-3;
  const DerivativeCheckResult rg = check_sharpness_derivatives(model, uv, {}, bad_gradient);
  EXPECT_FALSE(rg.gradient.passed);
  EXPECT_NEAR(rg.gradient.slope, 1.0, 0.15);
  InjectedError bad_hessian;
  bad_hessian.hessian = 1e-2;
  const DerivativeCheckResult rh = check_sharpness_derivatives(model, uv, {}, bad_hessian);
  EXPECT_TRUE(rh.gradient.passed);
  EXPECT_FALSE(rh.hessian.passed);
  EXPECT_NEAR(rh.hessian.slope, 2.0, 0.15);
}

TEST(DerivativeCheck, SingularPointThrows) {
  Eigen::MatrixXd X(2, 3);
  X << 1, 2, 3, 1, 2, 3;
  const Eigen::MatrixXd theta = test::random_matrix(2, 3, 1);
  TwoLayerModel model(X, Eigen::Vector2d::Zero(), Eigen::VectorXd::Ones(2), Activation::cubic());
  model = model.with_labels(network_outputs(model, theta));
  EXPECT_THROW(check_sharpness_derivatives(model, theta), SingularPointError);
}

}  // namespace
