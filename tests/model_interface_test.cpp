// The model interface (model/squared_loss_model.hpp): its axioms for both models against finite
// differences, the default implementations against the models' structured overrides, and the
// generic geometry (manifold/, sharpness/) on the two-layer network against the specialised
// two-layer classes (ConstraintJacobian, SharpnessGeometry) to 1e-12.

#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "scalar_linear_network.hpp"  // docs/examples: the worked example of docs/architecture.md
#include "test_support.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/geodesics.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {
namespace {

using Config = test::ProblemConfig;

Eigen::VectorXd random_vector(Eigen::Index size, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  Eigen::VectorXd v(size);
  for (Eigen::Index k = 0; k < size; ++k) v(k) = g(gen);
  return v;
}

double rel(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return (a - b).norm() / std::max(b.norm(), 1e-300);
}

// A model and a point, for the axiom checks.
struct ModelCase {
  std::shared_ptr<const SquaredLossModel> model;
  Eigen::VectorXd theta;
};

// A diagonal linear network with Gaussian data and labels fitted at a random (u, v).
ModelCase diagonal_case(int n, int d, unsigned seed) {
  const Eigen::MatrixXd X = Eigen::Map<const Eigen::MatrixXd>(random_vector(n * d, seed).data(), n, d);
  const Eigen::VectorXd theta = random_vector(2 * d, seed + 1);
  const Eigen::VectorXd w = theta.head(d).cwiseAbs2() - theta.tail(d).cwiseAbs2();
  return {std::make_shared<DiagonalLinearNetwork>(X, X * w), theta};
}

ModelCase two_layer_case(const Config& c, unsigned seed) {
  test::RandomProblem p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, seed);
  auto model = std::make_shared<TwoLayerNetwork>(p.model);
  return {model, vectorize(p.theta)};
}

// Central differences of a vector-valued map along v.
Eigen::VectorXd directional(const std::function<Eigen::VectorXd(const Eigen::VectorXd&)>& F, const Eigen::VectorXd& x,
                            const Eigen::VectorXd& v, double h = 1e-5) {
  return (F(x + h * v) - F(x - h * v)) / (2 * h);
}

void check_axioms(const ModelCase& mc, double fd_tolerance) {
  const SquaredLossModel& model = *mc.model;
  const auto e = model.evaluate(mc.theta);
  const int n = model.num_samples(), P = model.num_parameters();
  const Eigen::VectorXd v = random_vector(P, 11), mu = random_vector(n, 12);
  auto outputs = [&](const Eigen::VectorXd& t) { return Eigen::VectorXd(model.evaluate(t)->outputs()); };
  auto jt_mu = [&](const Eigen::VectorXd& t) { return model.evaluate(t)->jacobian_transpose_apply(mu); };
  auto grad_t = [&](const Eigen::VectorXd& t) { return model.evaluate(t)->sharpness_gradient(); };
  auto sharp = [&](const Eigen::VectorXd& t) { return Eigen::VectorXd::Constant(1, model.evaluate(t)->sharpness()); };

  // J v = d/dt f(theta + t v); <J v, mu> = <v, J^T mu>.
  EXPECT_LT(rel(e->jacobian_apply(v), directional(outputs, mc.theta, v)), fd_tolerance);
  EXPECT_NEAR(e->jacobian_apply(v).dot(mu), v.dot(e->jacobian_transpose_apply(mu)),
              1e-12 * (1 + std::abs(v.dot(e->jacobian_transpose_apply(mu)))));
  // sum_i mu_i Hess f_i v = d/dt J^T mu.
  EXPECT_LT(rel(e->constraint_hessian_apply(mu, v), directional(jt_mu, mc.theta, v)), fd_tolerance);
  // grad T and Hess T v against finite differences of T and grad T.
  EXPECT_NEAR(e->sharpness_gradient().dot(v), directional(sharp, mc.theta, v)(0),
              fd_tolerance * (1 + std::abs(e->sharpness_gradient().dot(v))));
  EXPECT_LT(rel(e->sharpness_hessian_apply(v), directional(grad_t, mc.theta, v)), fd_tolerance);
  // The models' structured overrides agree with the interface's default implementations, and the
  // dense J with the products: J v and J^T mu.
  EXPECT_LT((e->jacobian() - e->ModelPoint::jacobian()).norm(), 1e-12 * e->jacobian().norm());
  EXPECT_LT(rel(e->jacobian() * v, e->jacobian_apply(v)), 1e-12);
  EXPECT_LT(rel(e->jacobian().transpose() * mu, e->jacobian_transpose_apply(mu)), 1e-12);
  // The blocks of sum_i mu_i Hess f_i: block diagonal with them is the operator constraint_hessian_apply,
  // and the default (one dense block) agrees with it too.
  for (const auto& blocks : {e->constraint_hessian_blocks(mu), e->ModelPoint::constraint_hessian_blocks(mu)}) {
    Eigen::VectorXd Bv(P);
    Eigen::Index offset = 0;
    for (const auto& B : blocks) {
      Bv.segment(offset, B.rows()) = B * v.segment(offset, B.cols());
      offset += B.rows();
    }
    ASSERT_EQ(offset, P);
    EXPECT_LT(rel(Bv, e->constraint_hessian_apply(mu, v)), 1e-12);
  }
  EXPECT_LT((e->jacobian_gram() - e->ModelPoint::jacobian_gram()).norm(), 1e-12 * e->jacobian_gram().norm());
  EXPECT_LT(rel(e->constraint_hessian_forms(v), e->ModelPoint::constraint_hessian_forms(v)), 1e-12);
  EXPECT_LT(rel(e->sharpness_gradient(), e->ModelPoint::sharpness_gradient()), 1e-12);
  EXPECT_LT(rel(e->sample_gradient_norms_squared(), e->ModelPoint::sample_gradient_norms_squared()), 1e-12);
  // T = (1/n) sum_i ||grad f_i||^2 = tr(J J^T) / n.
  EXPECT_NEAR(e->sharpness(), e->jacobian_gram().trace() / n, 1e-12 * e->sharpness());
}

class TwoLayerInterface : public testing::TestWithParam<Config> {};

TEST_P(TwoLayerInterface, AxiomsHoldAgainstFiniteDifferences) { check_axioms(two_layer_case(GetParam(), 3), 1e-7); }

// The generic geometry on the two-layer network against SharpnessGeometry / ConstraintJacobian.
TEST_P(TwoLayerInterface, GenericGeometryMatchesTheSpecialisedClassesTo1e12) {
  const Config c = GetParam();
  const test::RandomProblem p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 5);
  const SharpnessGeometry reference(p.model, p.theta);
  const ConstraintJacobian& J = reference.jacobian();
  const auto model = std::make_shared<TwoLayerNetwork>(p.model);
  const Eigen::VectorXd theta = vectorize(p.theta);
  const ManifoldPoint point(model, theta);
  ASSERT_EQ(point.regular(), J.regular());
  EXPECT_LT((point.jacobian_gram() - J.gram()).norm(), 1e-12 * J.gram().norm());
  const Eigen::MatrixXd V = test::random_matrix(c.m, c.d, 21);
  const Eigen::VectorXd v = vectorize(V);
  if (!J.regular()) {
    EXPECT_THROW(point.tangent_projection(v), SingularPointError);
    return;
  }
  EXPECT_LT(rel(point.tangent_projection(v), vectorize(J.tangent_projection(V))), 1e-12);
  EXPECT_LT(rel(point.normal_projection(v), vectorize(J.normal_projection(V))), 1e-12);

  const RiemannianSharpness generic(model, theta);
  EXPECT_NEAR(generic.value(), reference.sharpness(), 1e-12 * reference.sharpness());
  EXPECT_LT(rel(generic.euclidean_gradient(), vectorize(reference.euclidean_gradient())), 1e-12);
  EXPECT_LT(rel(generic.multipliers(), reference.multipliers()), 1e-12);
  EXPECT_LT(rel(generic.riemannian_gradient(), vectorize(reference.riemannian_gradient())), 1e-12);
  const Eigen::MatrixXd W = J.tangent_projection(V);
  const Eigen::VectorXd w = vectorize(W);
  EXPECT_LT(rel(generic.riemannian_hessian_apply(w), vectorize(reference.riemannian_hessian_apply(W))), 1e-12);
  EXPECT_NEAR(generic.riemannian_hessian_form(w), reference.riemannian_hessian_form(W),
              1e-12 * (1 + std::abs(reference.riemannian_hessian_form(W))));
  // Geodesic acceleration: -J^T (J J^T)^{-1} q, q_i = sum_j a_j phi''(r_ij) (x_i . w_j)^2 (THEORY 2).
  const Eigen::MatrixXd S = p.model.X() * W.transpose();
  const Eigen::VectorXd q =
      (reference.evaluation().d2phi * p.model.a().asDiagonal()).cwiseProduct(S.cwiseProduct(S)).rowwise().sum();
  EXPECT_LT(rel(point.geodesic_acceleration(w), -vectorize(J.apply_transpose(J.solve_gram(q)))), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Activations, TwoLayerInterface,
                         testing::Values(Config{3, 5, 4, "cubic", false}, Config{3, 5, 4, "cubic", true},
                                         Config{2, 4, 3, "sinh", true}, Config{3, 6, 3, "tanh", false},
                                         Config{3, 5, 4, "softplus", true}, Config{6, 3, 4, "cubic", true},
                                         Config{5, 2, 4, "tanh", false}, Config{4, 4, 2, "gelu", false},
                                         Config{3, 4, 3, "poly:0.1,1,0.2,0.5", true}),
                         test::config_name);

TEST(DiagonalLinearInterface, AxiomsHoldAgainstFiniteDifferences) {
  check_axioms(diagonal_case(3, 8, 1), 1e-8);
  check_axioms(diagonal_case(6, 15, 2), 1e-8);
  check_axioms(diagonal_case(5, 4, 3), 1e-8);  // n > d
}

TEST(DiagonalLinearInterface, ClosedFormsOfTheory9) {
  const int n = 4, d = 9;
  const ModelCase mc = diagonal_case(n, d, 7);
  const auto& model = static_cast<const DiagonalLinearNetwork&>(*mc.model);
  const Eigen::VectorXd u = model.u(mc.theta), v = model.v(mc.theta);
  const Eigen::MatrixXd& X = model.X();
  const auto e = model.evaluate(mc.theta);
  // T = (4/n) sum_k c_k (u_k^2 + v_k^2), c_k = sum_i x_ik^2.
  double T = 0;
  for (int k = 0; k < d; ++k) T += X.col(k).squaredNorm() * (u(k) * u(k) + v(k) * v(k));
  T *= 4.0 / n;
  EXPECT_NEAR(e->sharpness(), T, 1e-13 * T);
  // J J^T = 4 X diag(u^2 + v^2) X^T, formed here from the explicit J.
  Eigen::MatrixXd J(n, 2 * d);
  for (int i = 0; i < n; ++i) {
    J.row(i).head(d) = 2.0 * X.row(i).cwiseProduct(u.transpose());
    J.row(i).tail(d) = -2.0 * X.row(i).cwiseProduct(v.transpose());
  }
  EXPECT_LT((e->jacobian_gram() - J * J.transpose()).norm(), 1e-13 * (J * J.transpose()).norm());
  // The labels were fitted: the point is on M.
  EXPECT_LT(model.max_residual(mc.theta), 1e-12);
  EXPECT_EQ(model.num_parameters(), 2 * d);
}

// The Riemannian gradient and Hessian of T through a second-order retraction (the Newton
// projection): T(R(theta + t v)) = T + t <grad_M T, v> + t^2/2 Hess_M T[v, v] + O(t^3) for tangent v;
// the remainder of the second-order model must shrink like t^3 (slope 3 on a log-log scale).
void check_second_order_model(const ModelCase& mc) {
  const RiemannianSharpness s(mc.model, mc.theta);
  const Eigen::VectorXd v = s.point().tangent_projection(random_vector(mc.theta.size(), 31)).normalized();
  const double g = s.riemannian_gradient().dot(v), H = s.riemannian_hessian_form(v);
  EXPECT_NEAR(H, v.dot(s.riemannian_hessian_apply(v)), 1e-10 * (1 + std::abs(H)));
  auto remainder = [&](double t) {
    const Eigen::VectorXd on_m = project_newton(mc.model, mc.theta + t * v).theta;
    return std::abs(mc.model->evaluate(on_m)->sharpness() - s.value() - t * g - 0.5 * t * t * H);
  };
  const double r1 = remainder(1e-2), r2 = remainder(1e-3);
  const double slope = std::log10(r1 / r2);
  EXPECT_GT(slope, 2.7) << "remainders " << r1 << ", " << r2;
  // Without the Weingarten term the model is wrong at second order (the test has power).
  const double H_wrong = v.dot(mc.model->evaluate(mc.theta)->sharpness_hessian_apply(v));
  if (std::abs(H_wrong - H) > 1e-6 * (1 + std::abs(H))) {
    const double t = 1e-3;
    const Eigen::VectorXd on_m = project_newton(mc.model, mc.theta + t * v).theta;
    const double wrong = std::abs(mc.model->evaluate(on_m)->sharpness() - s.value() - t * g - 0.5 * t * t * H_wrong);
    EXPECT_GT(wrong, 10 * remainder(t));
  }
}

TEST(DiagonalLinearInterface, RiemannianDerivativesMatchASecondOrderRetraction) {
  check_second_order_model(diagonal_case(3, 8, 4));
  check_second_order_model(diagonal_case(5, 12, 5));
}

TEST(TwoLayerInterfaceRetraction, RiemannianDerivativesMatchASecondOrderRetraction) {
  check_second_order_model(two_layer_case(Config{3, 5, 4, "cubic", true}, 8));
}

// The worked example of docs/architecture.md: only the five pure virtuals written, the rest from
// the interface's defaults; the generic geometry and flow run on it unchanged and reach the closed
// form T* = (2/n) sqrt(sum_i y_i^2 sum_i ||x_i||^2).
TEST(ScalarLinearNetworkExample, AxiomsHoldAndTheGenericFlowReachesTheClosedForm) {
  const int n = 3, d = 5;
  const Eigen::MatrixXd X = Eigen::Map<const Eigen::MatrixXd>(random_vector(n * d, 41).data(), n, d);
  Eigen::VectorXd theta = random_vector(1 + d, 42);
  theta(0) = 1.7;
  const Eigen::VectorXd y = theta(0) * (X * theta.tail(d));
  const auto model = std::make_shared<example::ScalarLinearNetwork>(X, y);
  const ModelCase mc{model, theta};
  check_axioms(mc, 1e-7);
  check_second_order_model(mc);
  // T = (1/n) sum_i (r_i^2 + a^2 ||x_i||^2) through the default sample_gradient_norms_squared().
  const double T = model->evaluate(theta)->sharpness();
  EXPECT_NEAR(T, ((X * theta.tail(d)).squaredNorm() + theta(0) * theta(0) * X.squaredNorm()) / n, 1e-12 * T);
  FlowOptions o;
  o.t_end = 1e3;
  o.until_gradient = 1e-10;
  const ParameterFlowResult r = integrate_sharpness_flow(model, theta, o);
  ASSERT_TRUE(r.summary.completed) << r.summary.termination;
  const double T_star = 2.0 / n * std::sqrt(y.squaredNorm() * X.squaredNorm());
  EXPECT_NEAR(model->evaluate(r.theta)->sharpness(), T_star, 1e-12 * T_star);
  EXPECT_NEAR(std::pow(r.theta(0), 4), y.squaredNorm() / X.squaredNorm(), 1e-9 * y.squaredNorm() / X.squaredNorm());
}

// THEORY 3's identities along the generic geodesic: f(gamma) = y, constant speed,
// d/ds T(gamma) = <grad_M T, v> and d^2/ds^2 T(gamma) = Hess_M T[v, v] at s = 0 (central differences
// of T along the integrated geodesic), and the RATTLE route agrees with the Runge-Kutta one.
void check_geodesic_identities(const ModelCase& mc) {
  const RiemannianSharpness s(mc.model, mc.theta);
  const Eigen::VectorXd v = s.point().tangent_projection(random_vector(mc.theta.size(), 51)).normalized();
  const double h = 1e-3;
  GeodesicStatistics st;
  const auto fwd = trace_geodesic(mc.model, mc.theta, v, {h, 0.5}, {}, &st);
  const auto bwd = trace_geodesic(mc.model, mc.theta, -v, {h});
  auto T = [&](const Eigen::VectorXd& t) { return mc.model->evaluate(t)->sharpness(); };
  const double d1 = (T(fwd[0].theta) - T(bwd[0].theta)) / (2 * h);
  const double d2 = (T(fwd[0].theta) - 2 * s.value() + T(bwd[0].theta)) / (h * h);
  EXPECT_NEAR(d1, s.riemannian_gradient().dot(v), 1e-6 * (1 + std::abs(d1)));
  EXPECT_NEAR(d2, s.riemannian_hessian_form(v), 1e-4 * (1 + std::abs(d2)));
  EXPECT_LT(mc.model->max_residual(fwd[1].theta), 1e-11);
  EXPECT_LT(st.max_relative_speed_drift, 1e-9);
  GeodesicOptions rattle;
  rattle.method = GeodesicMethod::Rattle;
  rattle.rattle_step = 1e-3;
  const auto r = trace_geodesic(mc.model, mc.theta, v, {0.5}, rattle);
  EXPECT_LT((r[0].theta - fwd[1].theta).norm(), 1e-5);  // RATTLE is second order: O(h^2)
}

TEST(GenericGeodesics, TheoryIdentitiesHoldForEveryModel) {
  check_geodesic_identities(diagonal_case(3, 8, 61));
  check_geodesic_identities(two_layer_case(Config{3, 5, 4, "cubic", true}, 62));
  const int n = 3, d = 5;
  const Eigen::MatrixXd X = Eigen::Map<const Eigen::MatrixXd>(random_vector(n * d, 63).data(), n, d);
  Eigen::VectorXd theta = random_vector(1 + d, 64);
  check_geodesic_identities({std::make_shared<example::ScalarLinearNetwork>(X, theta(0) * (X * theta.tail(d))), theta});
}

// The generic dense spectrum of Hess_M T against SharpnessGeometry's (a different basis and a
// different Hessian formula: the curvature weights w_ij of THEORY 3), in reduced coordinates where
// the whole tangent space is the non-trivial part.
TEST(GenericHessianSpectrum, MatchesTheTwoLayerSpectrumInReducedCoordinates) {
  for (const Config& c : {Config{3, 5, 4, "cubic", true}, Config{2, 4, 3, "sinh", false}}) {
    const test::RandomProblem p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 71);
    const ReducedCoordinates rc(p.model.X());
    const TwoLayerModel reduced = rc.reduce(p.model);
    const Eigen::MatrixXd beta = rc.reduce(p.theta);
    const Eigen::VectorXd reference = SharpnessGeometry(reduced, beta).riemannian_hessian_matrix().eigenvalues;
    const Eigen::VectorXd generic =
        RiemannianSharpness(std::make_shared<TwoLayerNetwork>(reduced), vectorize(beta)).riemannian_hessian_eigenvalues();
    ASSERT_EQ(generic.size(), reference.size());
    EXPECT_LT((generic - reference).cwiseAbs().maxCoeff(), 1e-10 * (1 + reference.cwiseAbs().maxCoeff()))
        << generic.transpose() << "\n" << reference.transpose();
  }
}

TEST(ModelInterface, PointsOutliveTheirModel) {
  ModelCase mc = diagonal_case(3, 6, 9);
  const auto e = mc.model->evaluate(mc.theta);
  const Eigen::VectorXd before = e->jacobian_apply(mc.theta);
  const ManifoldPoint point(mc.model, mc.theta);
  mc.model.reset();  // the point and the evaluation share the data
  EXPECT_EQ(e->jacobian_apply(mc.theta), before);
  EXPECT_GT(point.jacobian_gram().norm(), 0);
  EXPECT_NO_THROW(point.tangent_projection(mc.theta));
}

TEST(ModelInterface, MalformedParametersAreInputErrorsNamingTheModel) {
  const ModelCase mc = diagonal_case(3, 6, 10);
  try {
    mc.model->evaluate(Eigen::VectorXd::Zero(5));
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("diagonal linear network (n = 3, d = 6) has 12"), std::string::npos) << e.what();
  }
  Eigen::VectorXd bad = mc.theta;
  bad(2) = std::nan("");
  EXPECT_THROW(mc.model->evaluate(bad), InputError);
}

TEST(ModelInterface, SingularPointOfTheDiagonalModelIsReported) {
  // u = v = 0 on two of three coordinates with n = 2: J J^T = 4 X diag(u^2 + v^2) X^T has rank 1.
  Eigen::MatrixXd X(2, 3);
  X << 1, 0.5, -0.3, 0.2, 1, 0.7;
  const auto model = std::make_shared<DiagonalLinearNetwork>(X, Eigen::Vector2d(1.0, 0.2));
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(6);
  theta(0) = 1.0;
  const ManifoldPoint point(model, theta);
  EXPECT_FALSE(point.regular());
  EXPECT_LT(point.max_residual(), 1e-15);
  try {
    point.tangent_projection(theta);
    FAIL() << "no exception";
  } catch (const SingularPointError& e) {
    EXPECT_GT(e.condition(), 1e13);
    EXPECT_NE(std::string(e.what()).find("diagonal linear network"), std::string::npos);
  }
}

}  // namespace
}  // namespace zeroloss
