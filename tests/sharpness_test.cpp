// THEORY 2-3: the structured formulas (constraint_jacobian, sharpness) against independent routes:
// finite differences, the dense full-coordinate reference, and reduced vs full coordinates.

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/reference.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

using namespace zeroloss;
using zeroloss::test::fd_gradient;
using zeroloss::test::rel_error;

namespace {

using Config = zeroloss::test::ProblemConfig;
using zeroloss::test::config_name;

class SharpnessFormulas : public testing::TestWithParam<Config> {
 protected:
  test::RandomProblem problem() const {
    const Config c = GetParam();
    return test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 1234 + c.n * 7 + c.m);
  }
  // A random tangent vector at theta.
  Eigen::MatrixXd tangent(const SharpnessGeometry& g, unsigned seed) const {
    const Config c = GetParam();
    return g.jacobian().tangent_projection(test::random_matrix(c.m, c.d, seed));
  }
};

TEST_P(SharpnessFormulas, JacobianMatchesFiniteDifferencesOfOutputs) {
  auto p = problem();
  const NetworkEvaluation e = evaluate(p.model, p.theta);
  const ConstraintJacobian J(p.model, e);
  const Eigen::MatrixXd dense = J.dense();
  for (int i = 0; i < p.model.n(); ++i) {
    auto fi = [&](const Eigen::MatrixXd& t) { return network_outputs(p.model, t)(i); };
    const Eigen::MatrixXd fd = fd_gradient(fi, p.theta);
    EXPECT_LT(rel_error(unvectorize(dense.row(i).transpose(), p.model.m(), p.model.d()), fd), 1e-7) << "row " << i;
  }
}

TEST_P(SharpnessFormulas, GramHadamardEqualsDenseJJt) {
  auto p = problem();
  const NetworkEvaluation e = evaluate(p.model, p.theta);
  const ConstraintJacobian J(p.model, e);
  const Eigen::MatrixXd Jd = reference::jacobian(p.model, p.theta);
  EXPECT_LT(rel_error(J.gram(), Jd * Jd.transpose()), 1e-12);
  const Eigen::MatrixXd v = test::random_matrix(p.model.m(), p.model.d(), 5);
  EXPECT_LT(rel_error(J.apply(v), Jd * vectorize(v)), 1e-12);
  const Eigen::VectorXd mu = test::random_matrix(p.model.n(), 1, 6).col(0);
  EXPECT_LT(rel_error(vectorize(J.apply_transpose(mu)), Jd.transpose() * mu), 1e-12);
}

TEST_P(SharpnessFormulas, TangentProjectionMatchesDenseProjector) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  const Eigen::MatrixXd v = test::random_matrix(p.model.m(), p.model.d(), 7);
  const Eigen::MatrixXd Pv = g.jacobian().tangent_projection(v);
  const Eigen::MatrixXd P = reference::tangent_projector(p.model, p.theta);
  EXPECT_LT(rel_error(vectorize(Pv), P * vectorize(v)), 1e-10);
  EXPECT_LT(g.jacobian().apply(Pv).norm(), 1e-10 * v.norm() * g.jacobian().gram().norm());
  EXPECT_LT(rel_error(g.jacobian().tangent_projection(Pv), Pv), 1e-12);
  EXPECT_LT(rel_error(Pv + g.jacobian().normal_projection(v), v), 1e-12);
}

TEST_P(SharpnessFormulas, SharpnessIsTraceOfLossHessianAndMatchesReference) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  EXPECT_NEAR(g.sharpness(), reference::sharpness(p.model, p.theta), 1e-12 * g.sharpness());
  // On M, T equals tr Hess L, computed here by second differences of L along each coordinate.
  auto loss = [&](const Eigen::MatrixXd& t) { return evaluate(p.model, t).loss; };
  double trace = 0;
  const double h = 1e-4;
  for (int j = 0; j < p.model.m(); ++j)
    for (int k = 0; k < p.model.d(); ++k) {
      Eigen::MatrixXd tp = p.theta, tm = p.theta;
      tp(j, k) += h;
      tm(j, k) -= h;
      trace += (loss(tp) - 2 * loss(p.theta) + loss(tm)) / (h * h);
    }
  EXPECT_NEAR(g.hessian_trace(), trace, 1e-5 * std::abs(trace));
  EXPECT_NEAR(g.sharpness(), trace, 1e-5 * std::abs(trace));
}

TEST_P(SharpnessFormulas, HessianTraceOffManifoldIncludesResidualTerm) {
  const Config c = GetParam();
  auto p = test::random_problem(c.n, c.d, c.m, c.activation, c.mixed_a, 99);  // generic labels: off M
  const SharpnessGeometry g(p.model, p.theta);
  auto loss = [&](const Eigen::MatrixXd& t) { return evaluate(p.model, t).loss; };
  double trace = 0;
  const double h = 1e-4;
  for (int j = 0; j < p.model.m(); ++j)
    for (int k = 0; k < p.model.d(); ++k) {
      Eigen::MatrixXd tp = p.theta, tm = p.theta;
      tp(j, k) += h;
      tm(j, k) -= h;
      trace += (loss(tp) - 2 * loss(p.theta) + loss(tm)) / (h * h);
    }
  EXPECT_NEAR(g.hessian_trace(), trace, 1e-5 * (std::abs(trace) + 1));
  // The residual term is not negligible here, so T alone must differ.
  EXPECT_GT(std::abs(g.sharpness() - trace), 1e-3 * (std::abs(trace) + 1));
}

TEST_P(SharpnessFormulas, EuclideanGradientMatchesFiniteDifferences) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  auto T = [&](const Eigen::MatrixXd& t) { return SharpnessGeometry(p.model, t).sharpness(); };
  EXPECT_LT(rel_error(g.euclidean_gradient(), fd_gradient(T, p.theta)), 1e-7);
  EXPECT_LT(rel_error(vectorize(g.euclidean_gradient()), reference::sharpness_gradient(p.model, p.theta)), 1e-12);
}

TEST_P(SharpnessFormulas, EuclideanHessianMatchesFiniteDifferencesOfGradient) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  const Eigen::MatrixXd v = test::random_matrix(p.model.m(), p.model.d(), 8);
  const double h = 1e-6;
  const Eigen::MatrixXd fd = (SharpnessGeometry(p.model, p.theta + h * v).euclidean_gradient() -
                              SharpnessGeometry(p.model, p.theta - h * v).euclidean_gradient()) /
                             (2 * h);
  EXPECT_LT(rel_error(g.euclidean_hessian_apply(v), fd), 1e-7);
}

TEST_P(SharpnessFormulas, RiemannianGradientMatchesReferenceAndDirectionalDerivative) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  const Eigen::MatrixXd rg = g.riemannian_gradient();
  EXPECT_LT(rel_error(vectorize(rg), reference::riemannian_gradient(p.model, p.theta)), 1e-10);
  // The low-memory norm (trajectory metrics at scale) is the norm of this gradient, bit for bit.
  EXPECT_EQ(riemannian_gradient_norm(p.model, p.theta), rg.norm());
  EXPECT_LT(g.jacobian().apply(rg).norm(), 1e-10 * std::max(1.0, rg.norm()) * g.jacobian().gram().norm());
  // <grad_M T, v> = dT/ds along the tangent direction v.
  const Eigen::MatrixXd v = tangent(g, 9);
  const double h = 1e-6;
  const double dT = (SharpnessGeometry(p.model, p.theta + h * v).sharpness() -
                     SharpnessGeometry(p.model, p.theta - h * v).sharpness()) /
                    (2 * h);
  EXPECT_NEAR((rg.array() * v.array()).sum(), dT, 1e-7 * (std::abs(dT) + rg.norm() * v.norm()));
}

TEST_P(SharpnessFormulas, RiemannianHessianMatchesDenseReference) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  const Eigen::MatrixXd Href = reference::riemannian_hessian(p.model, p.theta);
  const Eigen::MatrixXd v = tangent(g, 10);
  const Eigen::MatrixXd Hv = g.riemannian_hessian_apply(v);
  EXPECT_LT(rel_error(vectorize(Hv), Href * vectorize(v)), 1e-9);
  EXPECT_NEAR(g.riemannian_hessian_form(v), vectorize(v).dot(Href * vectorize(v)),
              1e-9 * (Hv.norm() * v.norm() + 1e-12));
  // Symmetry of the operator on tangent vectors.
  const Eigen::MatrixXd u = tangent(g, 11);
  const double uHv = (u.array() * Hv.array()).sum();
  const double vHu = (v.array() * g.riemannian_hessian_apply(u).array()).sum();
  EXPECT_NEAR(uHv, vHu, 1e-10 * (std::abs(uHv) + 1));
}

TEST_P(SharpnessFormulas, DenseRiemannianHessianSpectrumMatchesReference) {
  auto p = problem();
  const SharpnessGeometry g(p.model, p.theta);
  const RiemannianHessianMatrix H = g.riemannian_hessian_matrix();
  const int mp = p.model.m() * std::min(p.model.d(), static_cast<int>(ReducedCoordinates(p.model.X()).rank()));
  ASSERT_EQ(H.eigenvalues.size(), mp - p.model.n());
  // The basis is orthonormal, tangent, and the matrix equals basis^T Href basis.
  const Eigen::Index k = H.basis.cols();
  EXPECT_LT((H.basis.transpose() * H.basis - Eigen::MatrixXd::Identity(k, k)).norm(), 1e-12);
  EXPECT_LT((reference::jacobian(p.model, p.theta) * H.basis).norm(), 1e-10 * g.jacobian().gram().norm());
  const Eigen::MatrixXd Href = reference::riemannian_hessian(p.model, p.theta);
  EXPECT_LT(rel_error(H.matrix, H.basis.transpose() * Href * H.basis), 1e-9);
}

TEST_P(SharpnessFormulas, ReducedCoordinatesAgreeWithFullCoordinates) {
  auto p = problem();
  const ReducedCoordinates rc(p.model.X());
  const TwoLayerModel reduced = rc.reduce(p.model);
  const Eigen::MatrixXd beta = rc.reduce(p.theta);
  const SharpnessGeometry full(p.model, p.theta), red(reduced, beta);
  EXPECT_NEAR(red.sharpness(), full.sharpness(), 1e-10 * full.sharpness());
  EXPECT_LT(rel_error(red.evaluation().outputs, full.evaluation().outputs), 1e-10);
  EXPECT_LT(rel_error(rc.lift_tangent(red.riemannian_gradient()), full.riemannian_gradient()), 1e-10);
  const Eigen::VectorXd ef = full.riemannian_hessian_matrix().eigenvalues;
  const Eigen::VectorXd er = red.riemannian_hessian_matrix().eigenvalues;
  ASSERT_EQ(ef.size(), er.size());
  EXPECT_LT((ef - er).norm(), 1e-10 * std::max(1.0, ef.cwiseAbs().maxCoeff()));
  // Lifting back reproduces theta exactly.
  EXPECT_LT(rel_error(rc.lift(beta, p.theta), p.theta), 1e-14);
}

INSTANTIATE_TEST_SUITE_P(Activations, SharpnessFormulas,
                         testing::Values(Config{3, 5, 4, "cubic", false}, Config{3, 5, 4, "cubic", true},
                                         Config{2, 4, 3, "sinh", true}, Config{3, 6, 3, "tanh", false},
                                         Config{3, 5, 4, "softplus", true}, Config{6, 3, 4, "cubic", true},
                                         Config{5, 2, 4, "tanh", false}, Config{4, 4, 2, "gelu", false},
                                         Config{3, 4, 3, "poly:0.1,1,0.2,0.5", true}),
                         config_name);

TEST(ConstraintJacobian, SingularPointIsReportedNotNaN) {
  // Two identical data rows: J J^T is exactly singular.
  Eigen::MatrixXd X(2, 3);
  X << 1, 2, 3, 1, 2, 3;
  TwoLayerModel model(X, Eigen::Vector2d(1, 1), Eigen::VectorXd::Ones(2), Activation::cubic());
  const Eigen::MatrixXd theta = test::random_matrix(2, 3, 1);
  const SharpnessGeometry g(model, theta);
  EXPECT_FALSE(g.jacobian().regular());
  EXPECT_THROW(g.riemannian_gradient(), SingularPointError);
  EXPECT_THROW(riemannian_gradient_norm(model, theta), SingularPointError);
  try {
    g.jacobian().solve_gram(Eigen::Vector2d(1, 0));
    FAIL();
  } catch (const SingularPointError& e) {
    EXPECT_NE(std::string(e.what()).find("condition number"), std::string::npos);
  }
}

}  // namespace
