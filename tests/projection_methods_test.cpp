// The projection methods written against the model interface (manifold/*_projection.hpp), on the
// diagonal linear network, where each has an independent characterisation:
//   nearest point: the KKT conditions of min ||(u,v) - (u0,v0)||^2 s.t. X (u*u - v*v) = y separate,
//     u = u0 / (1 + 2 s), v = v0 / (1 - 2 s), s = X^T mu, so mu solves n equations in n unknowns; for
//     n = 1 the equation is monotone on the interval where 1 +- 2 s_k > 0, and Boost's TOMS 748
//     bracketing solver finds its root;
//   gradient-flow limit: the loss's gradient flow integrates in closed form,
//     u(t) = u0 * exp(-2 X^T q(t)), v(t) = v0 * exp(2 X^T q(t)), q(t) = (1/n) int_0^t (f - y) dt,
//     so Phi_GF is that point for the q with X (u*u - v*v) = y, the unique minimiser of the strictly
//     convex F(q) = sum_k (u0_k^2 e^{-4 (X^T q)_k} + v0_k^2 e^{4 (X^T q)_k}) / 4 + y^T q (Newton on F);
//   Ceres: the point is checked on M by evaluating the model, and the JSON-free summary fields.
// The two-layer network's methods run the same code (manifold/projection.hpp wraps it in reduced
// coordinates) and are held by projection_test.cpp and the golden test.

#include <gtest/gtest.h>

#include <boost/math/tools/roots.hpp>

#include <cmath>
#include <memory>
#include <random>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/ceres_projection.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"

namespace zeroloss {
namespace {

Eigen::MatrixXd gaussian(int rows, int cols, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  Eigen::MatrixXd A(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) A(i, j) = g(rng);
  return A;
}

struct DiagonalCase {
  std::shared_ptr<const DiagonalLinearNetwork> model;
  Eigen::VectorXd theta0;  // (u0, v0), off M
};

// Labels from a random interpolating (u, v); the start is that point perturbed, so M is near.
DiagonalCase diagonal_case(int n, int d, unsigned seed, double perturbation) {
  const Eigen::MatrixXd X = gaussian(n, d, seed);
  const Eigen::VectorXd uv = (gaussian(2 * d, 1, seed + 1).array().abs() + 0.5).matrix();
  const Eigen::VectorXd w = uv.head(d).cwiseAbs2() - uv.tail(d).cwiseAbs2();
  auto model = std::make_shared<const DiagonalLinearNetwork>(X, X * w);
  return {model, uv + perturbation * gaussian(2 * d, 1, seed + 2)};
}

TEST(NearestPointProjection, MatchesTheScalarKktRootOnTheDiagonalNetwork) {
  for (unsigned seed : {1u, 2u, 3u}) {
    const DiagonalCase c = diagonal_case(1, 4, seed, 0.2);
    const int d = c.model->dimension();
    const Eigen::VectorXd x = c.model->X().row(0).transpose();
    const double y = c.model->labels()(0);
    const Eigen::VectorXd u0 = c.theta0.head(d), v0 = c.theta0.tail(d);
    // g(mu) = x . (u(mu)^2 - v(mu)^2) - y is decreasing on {1 + 2 x_k mu > 0, 1 - 2 x_k mu > 0}.
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    for (int k = 0; k < d; ++k) {
      const double bound = 0.5 / std::abs(x(k));
      lo = std::max(lo, -bound);
      hi = std::min(hi, bound);
    }
    auto g = [&](double mu) {
      const Eigen::ArrayXd s = x.array() * mu;
      return (x.array() * ((u0.array() / (1 + 2 * s)).square() - (v0.array() / (1 - 2 * s)).square())).sum() - y;
    };
    const double shrink = 1 - 1e-12;
    boost::uintmax_t iterations = 200;
    const auto bracket = boost::math::tools::toms748_solve(g, lo * shrink, hi * shrink,
                                                           boost::math::tools::eps_tolerance<double>(52), iterations);
    const double mu = 0.5 * (bracket.first + bracket.second);
    const Eigen::ArrayXd s = x.array() * mu;
    Eigen::VectorXd expected(2 * d);
    expected << (u0.array() / (1 + 2 * s)).matrix(), (v0.array() / (1 - 2 * s)).matrix();

    const ParameterProjection r = project(c.model, c.theta0, ProjectionMethod::Nearest);
    EXPECT_LT((r.theta - expected).norm(), 1e-10 * expected.norm()) << "seed " << seed;
    EXPECT_EQ(r.summary.method, ProjectionMethod::Nearest);
    EXPECT_LT(r.summary.normal_defect, 1e-10);
    EXPECT_GT(r.summary.lagrangian_hessian_min_eigenvalue, 0);
    // Not farther than Newton's point.
    EXPECT_LE(r.summary.distance_moved, project(c.model, c.theta0, ProjectionMethod::Newton).summary.distance_moved);
  }
}

TEST(NearestPointProjection, SatisfiesTheSeparatedKktConditionsForSeveralSamples) {
  const DiagonalCase c = diagonal_case(3, 7, 11, 0.1);
  const int d = c.model->dimension();
  const ParameterProjection r = project(c.model, c.theta0, ProjectionMethod::Nearest);
  EXPECT_LE(c.model->max_residual(r.theta), 1e-12);
  // u0 = u (1 + 2 s), v0 = v (1 - 2 s) for one s in range(X^T): read s off u, check it on v and the range.
  const Eigen::ArrayXd u = r.theta.head(d).array(), v = r.theta.tail(d).array();
  const Eigen::VectorXd s = ((c.theta0.head(d).array() / u - 1) / 2).matrix();
  EXPECT_LT((v * (1 - 2 * s.array()) - c.theta0.tail(d).array()).matrix().norm(), 1e-10);
  const Eigen::MatrixXd Xt = c.model->X().transpose();
  const Eigen::VectorXd mu = Xt.colPivHouseholderQr().solve(s);
  EXPECT_LT((Xt * mu - s).norm(), 1e-10 * s.norm());
}

TEST(GradientFlowProjection, MatchesTheClosedFormLimitOnTheDiagonalNetwork) {
  for (unsigned seed : {4u, 5u}) {
    const DiagonalCase c = diagonal_case(3, 6, seed, 0.3);
    const int d = c.model->dimension();
    const Eigen::MatrixXd& X = c.model->X();
    const Eigen::ArrayXd u0sq = c.theta0.head(d).array().square(), v0sq = c.theta0.tail(d).array().square();
    // Newton on the strictly convex F(q): grad F = -X (u0^2 e^{-4 X^T q} - v0^2 e^{4 X^T q}) + y.
    auto F = [&](const Eigen::VectorXd& q) {
      const Eigen::ArrayXd z = (X.transpose() * q).array();
      return (u0sq * (-4 * z).exp() + v0sq * (4 * z).exp()).sum() / 4 + c.model->labels().dot(q);
    };
    Eigen::VectorXd q = Eigen::VectorXd::Zero(X.rows());
    for (int it = 0; it < 100; ++it) {
      const Eigen::ArrayXd z = (X.transpose() * q).array();
      const Eigen::ArrayXd a = u0sq * (-4 * z).exp(), b = v0sq * (4 * z).exp();
      const Eigen::VectorXd grad = -X * (a - b).matrix() + c.model->labels();
      const Eigen::MatrixXd hess = 4 * X * (a + b).matrix().asDiagonal() * X.transpose();
      const Eigen::VectorXd step = hess.ldlt().solve(grad);
      double t = 1;  // damped Newton: halve until F decreases
      while (t > 1e-12 && F(q - t * step) > F(q)) t /= 2;
      q -= t * step;
      if (step.norm() < 1e-15 * (1 + q.norm())) break;
    }
    const Eigen::ArrayXd z = (X.transpose() * q).array();
    Eigen::VectorXd expected(2 * d);
    expected << (c.theta0.head(d).array() * (-2 * z).exp()).matrix(), (c.theta0.tail(d).array() * (2 * z).exp()).matrix();
    ASSERT_LT(c.model->max_residual(expected), 1e-12);

    const ParameterProjection r = project(c.model, c.theta0, ProjectionMethod::GradientFlow);
    // The integrator's tolerance is 1e-11 per step: agreement to about 1e-9.
    EXPECT_LT((r.theta - expected).norm(), 1e-8 * expected.norm()) << "seed " << seed;
    EXPECT_GT(r.summary.ode_steps, 0);
    EXPECT_LT(r.summary.limit_error_estimate, 1e-6);
    // The closed form is not the nearest point: the two methods differ (the test can tell them apart).
    const ParameterProjection nearest = project(c.model, c.theta0, ProjectionMethod::Nearest);
    EXPECT_GT((nearest.theta - expected).norm(), 1e-4);
  }
}

TEST(CeresProjection, ReachesTheManifoldOfTheDiagonalNetwork) {
  const DiagonalCase c = diagonal_case(3, 6, 8, 0.2);
  ProjectionOptions o;
  const ParameterProjection r = project(c.model, c.theta0, ProjectionMethod::Ceres, o);
  EXPECT_EQ(r.summary.method, ProjectionMethod::Ceres);
  EXPECT_LE(c.model->max_residual(r.theta), absolute_residual_tolerance(o, c.model->labels()));
  EXPECT_GT(c.model->max_residual(c.theta0), 1e-3);
  EXPECT_NEAR(r.summary.distance_moved, (r.theta - c.theta0).norm(), 1e-15);
}

// Above kDenseLevenbergMarquardtMaxParameters the linear solves are CGNR (no (n + P) x P matrix):
// the point is on M, checked by evaluating the model, and the summary names the solver.
TEST(CeresProjection, IterativeSolverAboveTheDenseSizeReachesTheManifold) {
  const DiagonalCase c = diagonal_case(10, 1000, 4, 0.2);
  ASSERT_GT(c.model->num_parameters(), kDenseLevenbergMarquardtMaxParameters);
  ProjectionOptions o;
  const ParameterProjection r = project(c.model, c.theta0, ProjectionMethod::Ceres, o);
  EXPECT_LE(c.model->max_residual(r.theta), absolute_residual_tolerance(o, c.model->labels()));
  EXPECT_GT(c.model->max_residual(c.theta0), 1e-2);
  EXPECT_NE(r.summary.termination.find("(CGNR)"), std::string::npos) << r.summary.termination;
}

TEST(ProjectionMethod, NamesRoundTripAndUnknownNamesAreInputErrors) {
  for (const std::string& name : projection_method_names()) EXPECT_EQ(to_string(parse_projection_method(name)), name);
  try {
    parse_projection_method("geodesic");
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("expected one of: newton, nearest, gradient-flow, ceres"), std::string::npos);
  }
}

TEST(NearestPointProjection, DefaultDenseBlocksGiveTheSameAnswerAsTheModelsBlocks) {
  // A model that hides its block structure: the interface's default (one dense block) must give the
  // same nearest point as the diagonal network's 2d blocks of size 1.
  class Opaque final : public SquaredLossModel {
   public:
    explicit Opaque(std::shared_ptr<const DiagonalLinearNetwork> inner) : inner_(std::move(inner)) {}
    int num_samples() const override { return inner_->num_samples(); }
    int num_parameters() const override { return inner_->num_parameters(); }
    const Eigen::VectorXd& labels() const override { return inner_->labels(); }
    std::string description() const override { return "opaque " + inner_->description(); }
    std::unique_ptr<const ModelPoint> evaluate(const Eigen::Ref<const Eigen::VectorXd>& theta) const override {
      class Point final : public ModelPoint {
       public:
        explicit Point(std::unique_ptr<const ModelPoint> p) : p_(std::move(p)) {}
        const Eigen::VectorXd& outputs() const override { return p_->outputs(); }
        Eigen::VectorXd jacobian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const override { return p_->jacobian_apply(v); }
        Eigen::VectorXd jacobian_transpose_apply(const Eigen::Ref<const Eigen::VectorXd>& mu) const override {
          return p_->jacobian_transpose_apply(mu);
        }
        Eigen::VectorXd constraint_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                                 const Eigen::Ref<const Eigen::VectorXd>& v) const override {
          return p_->constraint_hessian_apply(mu, v);
        }
        Eigen::VectorXd sharpness_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const override {
          return p_->sharpness_hessian_apply(v);
        }

       private:
        std::unique_ptr<const ModelPoint> p_;
      };
      return std::make_unique<Point>(inner_->evaluate(theta));
    }

   private:
    std::shared_ptr<const DiagonalLinearNetwork> inner_;
  };
  const DiagonalCase c = diagonal_case(2, 5, 21, 0.2);
  const auto opaque = std::make_shared<const Opaque>(c.model);
  const ParameterProjection a = project(c.model, c.theta0, ProjectionMethod::Nearest);
  const ParameterProjection b = project(opaque, c.theta0, ProjectionMethod::Nearest);
  EXPECT_LT((a.theta - b.theta).norm(), 1e-12 * a.theta.norm());
}

}  // namespace
}  // namespace zeroloss
