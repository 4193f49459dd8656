// The zero-loss manifold of any model as a ceres::Manifold (manifold/model_manifold.hpp) and
// Riemannian L-BFGS on it (manifold/riemannian_lbfgs.hpp):
//  - the ceres::Manifold axioms for both models (Ceres' own invariant checks; B^T B = I, J B = 0,
//    Plus lands on M, Minus(Plus(x, d), x) = d for small d, a smooth basis);
//  - on the two-layer network in reduced coordinates, on every parameterised case, L-BFGS on the
//    distance to a point against the nearest-point projection (KKT Newton, an independent route);
//  - on the diagonal linear network, L-BFGS minimizing T from random starts against T* of the
//    certified weighted basis pursuit (sharpness/diagonal_linear_optimum.hpp), an independent route;
//  - options validation and the dense limit.

#include <gtest/gtest.h>
#include <ceres/manifold_test_utils.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "scalar_linear_network.hpp"  // docs/examples: the worked example of docs/architecture.md
#include "test_support.hpp"
#include "zeroloss/manifold/riemannian_lbfgs_two_layer.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/manifold/model_manifold.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/manifold/riemannian_lbfgs.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"

namespace zeroloss {
namespace {

using Config = test::ProblemConfig;
constexpr const char* kQuintic = "poly:0,1,0,0.3333333333333333,0,0.05";

Eigen::VectorXd random_vector(Eigen::Index size, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  Eigen::VectorXd v(size);
  for (Eigen::Index k = 0; k < size; ++k) v(k) = g(gen);
  return v;
}

// A model with a point on its M.
struct ManifoldCase {
  std::shared_ptr<const SquaredLossModel> model;
  Eigen::VectorXd x;
};

// The two-layer network in reduced coordinates (the manifold's coordinates) at a point of M.
struct TwoLayerCase {
  test::RandomProblem problem;
  TwoLayerModel reduced;
  Eigen::MatrixXd beta;
  std::shared_ptr<const TwoLayerNetwork> network;  // the reduced model as a SquaredLossModel
};

TwoLayerCase two_layer_case(const Config& c, unsigned seed) {
  auto p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, seed, 0.4);
  const ReducedCoordinates rc(p.model.X());
  TwoLayerModel red = rc.reduce(p.model);
  Eigen::MatrixXd beta = rc.reduce(p.theta);
  auto network = std::make_shared<const TwoLayerNetwork>(red);
  return TwoLayerCase{p, red, beta, network};
}

// A diagonal linear network with Gaussian data and labels fitted at a random (u, v).
ManifoldCase diagonal_case(int n, int d, unsigned seed) {
  const Eigen::MatrixXd X = Eigen::Map<const Eigen::MatrixXd>(random_vector(n * d, seed).data(), n, d);
  const Eigen::VectorXd theta = random_vector(2 * d, seed + 1);
  const Eigen::VectorXd w = theta.head(d).cwiseAbs2() - theta.tail(d).cwiseAbs2();
  return {std::make_shared<DiagonalLinearNetwork>(X, X * w), theta};
}

// The axioms of ModelManifold at points near the reference (so that B(x) is not B_ref itself).
void check_axioms(const ManifoldCase& c) {
  using namespace ceres;  // the macro uses ceres::Vector and the ceres matchers unqualified
  const ModelManifold manifold(c.model, c.x);
  const int P = c.model->num_parameters(), n = c.model->num_samples(), k = manifold.TangentSize();
  ASSERT_EQ(manifold.AmbientSize(), P);
  ASSERT_EQ(k, P - n);
  const double scale = std::max(1.0, c.x.norm());
  const Eigen::VectorXd kick = random_vector(k, 5) * (0.05 * scale / std::sqrt(double(k)));
  Vector x(P);
  ASSERT_TRUE(manifold.Plus(c.x.data(), kick.data(), x.data()));
  // Ceres' invariants: Plus(x, 0) = x, Minus(x, x) = 0, Minus(Plus(x, delta), x) = delta,
  // Plus(x, Minus(y, x)) = y, and the Jacobians against numerical differentiation.
  Vector delta = random_vector(k, 6) * (0.1 * scale / std::sqrt(double(k)));
  Vector y(P);
  const Eigen::VectorXd step = random_vector(k, 7) * (0.05 * scale / std::sqrt(double(k)));
  ASSERT_TRUE(manifold.Plus(x.data(), step.data(), y.data()));
  EXPECT_THAT_MANIFOLD_INVARIANTS_HOLD(manifold, x, delta, y, 1e-8);

  // B^T B = I and J(x) B = 0.
  const Eigen::MatrixXd B = manifold.tangent_basis(x);
  EXPECT_LT((B.transpose() * B - Eigen::MatrixXd::Identity(k, k)).norm(), 1e-12);
  const ManifoldPoint at_x(c.model, x);
  const Eigen::MatrixXd J = at_x.evaluation().jacobian();
  EXPECT_LT((J * B).norm(), 1e-12 * J.norm());
  EXPECT_GT(manifold.basis_quality(x), 0.0);
  EXPECT_LT(manifold.basis_quality(x), 1.0);
  EXPECT_NEAR(manifold.basis_quality(c.x), 1.0, 1e-12);
  // Plus lands on M; Minus inverts Plus for small steps (the orthographic retraction, no fallback).
  const double tol = absolute_residual_tolerance(ProjectionOptions{}, c.model->labels());
  for (double t : {1e-1, 1e-2, 1e-4}) {
    const Eigen::VectorXd d = t * scale * random_vector(k, 8).normalized();
    Eigen::VectorXd z(P), back(k);
    ASSERT_TRUE(manifold.Plus(x.data(), d.data(), z.data())) << t;
    EXPECT_LE(c.model->max_residual(z), tol) << t;
    ASSERT_TRUE(manifold.Minus(z.data(), x.data(), back.data())) << t;
    EXPECT_LT((back - d).norm(), 1e-12 * scale) << t;
  }
  EXPECT_EQ(manifold.fallback_count(), 0);
  // The polar basis is smooth: ||B(Plus(x, t v)) - B(x)|| / t settles to a constant as t -> 0.
  const Eigen::VectorXd v = random_vector(k, 9).normalized();
  std::vector<double> ratios;
  for (double t : {1e-3, 1e-4, 1e-5}) {
    const Eigen::VectorXd tv = t * v;
    Eigen::VectorXd xt(P);
    ASSERT_TRUE(manifold.Plus(x.data(), tv.data(), xt.data()));
    ratios.push_back((manifold.tangent_basis(xt) - B).norm() / t);
  }
  EXPECT_GT(ratios[2], 0);
  EXPECT_NEAR(ratios[2] / ratios[1], 1.0, 0.05);
  EXPECT_NEAR(ratios[1] / ratios[0], 1.0, 0.05);
}

// Every parameterised two-layer case of the manifold, L-BFGS and model-interface tests.
const Config kTwoLayerConfigs[] = {
    {3, 5, 4, "cubic", false}, {3, 5, 4, "cubic", true}, {3, 5, 4, "sinh", true},  {3, 5, 4, "sinh", false},
    {2, 4, 3, "tanh", true},   {2, 4, 3, "sinh", true},  {2, 4, 3, "tanh", false}, {6, 3, 4, "cubic", true},
    {3, 3, 3, kQuintic, true}, {3, 6, 3, "tanh", false}, {3, 5, 4, "softplus", true}, {5, 2, 4, "tanh", false},
    {4, 4, 2, "gelu", false},  {3, 4, 3, "poly:0.1,1,0.2,0.5", true}};

class TwoLayerModelManifold : public testing::TestWithParam<Config> {};

TEST_P(TwoLayerModelManifold, AxiomsHold) {
  const TwoLayerCase c = two_layer_case(GetParam(), 77);
  check_axioms({c.network, vectorize(c.beta)});
}

// Riemannian L-BFGS with a strictly convex objective, F = ||x - C||^2 (its minimizer over M is the
// nearest point of C): L-BFGS and the KKT Newton iteration of project_nearest reach the same point
// and value.
TEST_P(TwoLayerModelManifold, LbfgsFindsTheNearestPoint) {
  const TwoLayerCase c = two_layer_case(GetParam(), 79);
  const int m = c.reduced.m(), p = c.reduced.d();
  const Eigen::VectorXd x0 = vectorize(c.beta);
  const Eigen::VectorXd C = x0 + 0.1 * std::max(1.0, x0.norm()) * random_vector(x0.size(), 12).normalized();
  const ParameterObjective F = [&](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    if (g) *g = 2 * (x - C);
    return (x - C).squaredNorm();
  };
  const ParameterMinimization generic = minimize_on_manifold(c.network, x0, F);
  // The nearest point on the reduced model itself (an m x p network whose coordinates are its own).
  const ProjectionResult nearest = project_nearest(c.reduced, unvectorize(C, m, p));
  EXPECT_TRUE(generic.summary.converged) << generic.summary.termination;
  EXPECT_FALSE(generic.summary.start_projected);
  EXPECT_LT(generic.summary.final_residual, 1e-12);
  const double d2 = nearest.summary.distance_moved * nearest.summary.distance_moved;
  EXPECT_NEAR(generic.summary.final_value, d2, 1e-10 * d2);
  EXPECT_LT((generic.theta - vectorize(nearest.theta)).norm(), 1e-5 * std::max(1.0, x0.norm()));
}

INSTANTIATE_TEST_SUITE_P(Configs, TwoLayerModelManifold, testing::ValuesIn(kTwoLayerConfigs), test::config_name);

// The diagonal linear network.
TEST(DiagonalModelManifold, AxiomsHold) {
  for (auto [n, d, seed] : {std::tuple{3, 5, 1u}, std::tuple{4, 9, 2u}, std::tuple{2, 6, 3u}}) {
    SCOPED_TRACE(seed);
    check_axioms(diagonal_case(n, d, seed));
  }
}

// Minimizing T on the diagonal network's M from several random starts reaches T* = (4/n) min
// sum_k c_k |w_k| s.t. X w = y, the certified optimum of an independent route (the Riemannian flow
// of T, the exact point on its support and a dual certificate; diagonal_linear_optimum_test.cpp
// checks that against GLPK).
TEST(DiagonalModelManifold, LbfgsFromRandomStartsReachesTheWeightedBasisPursuit) {
  for (auto [n, d, seed] : {std::tuple{3, 8, 1u}, std::tuple{4, 10, 2u}, std::tuple{5, 12, 3u}}) {
    SCOPED_TRACE(seed);
    const Eigen::MatrixXd X = Eigen::Map<const Eigen::MatrixXd>(random_vector(n * d, 100 + seed).data(), n, d);
    const Eigen::VectorXd y = random_vector(n, 200 + seed);
    const auto model = std::make_shared<const DiagonalLinearNetwork>(X, y);
    const DiagonalLinearOptimum optimum = diagonal_linear_optimum(*model, random_diagonal_start(d, 1.0, seed));
    ASSERT_EQ(static_cast<int>(optimum.support.size()), n);
    for (std::uint64_t start_seed = 0; start_seed < 3; ++start_seed) {
      SCOPED_TRACE(start_seed);
      const Eigen::VectorXd start = random_diagonal_start(d, 1.0, 1000 + 10 * seed + start_seed);
      const ParameterMinimization r = minimize_sharpness_on_manifold(model, start);
      EXPECT_TRUE(r.summary.converged) << r.summary.termination;
      EXPECT_TRUE(r.summary.start_projected);
      EXPECT_LT(r.summary.final_residual, 1e-12);
      EXPECT_NEAR(r.summary.final_value, optimum.sharpness, 1e-8 * optimum.sharpness) << r.summary.termination;
      EXPECT_LT((model->linear_weights(r.theta) - optimum.w).cwiseAbs().maxCoeff(),
                1e-4 * optimum.w.cwiseAbs().maxCoeff());
    }
  }
}

// The worked example of a third model (only the pure virtuals: J from n products J^T e_i): the
// axioms hold and L-BFGS reaches its closed-form minimum T* = (2/n) sqrt(sum_i y_i^2 sum_i ||x_i||^2).
TEST(ScalarLinearNetworkExample, ManifoldAxiomsHoldAndLbfgsReachesTheClosedForm) {
  const int n = 3, d = 5;
  const Eigen::MatrixXd X = Eigen::Map<const Eigen::MatrixXd>(random_vector(n * d, 41).data(), n, d);
  Eigen::VectorXd theta = random_vector(1 + d, 42);
  theta(0) = 1.7;
  const Eigen::VectorXd y = theta(0) * (X * theta.tail(d));
  const auto model = std::make_shared<example::ScalarLinearNetwork>(X, y);
  check_axioms({model, theta});
  const ParameterMinimization r = minimize_sharpness_on_manifold(model, theta);
  EXPECT_TRUE(r.summary.converged) << r.summary.termination;
  const double T_star = 2.0 / n * std::sqrt(y.squaredNorm() * X.squaredNorm());
  EXPECT_NEAR(r.summary.final_value, T_star, 1e-10 * T_star);
  EXPECT_NEAR(std::pow(r.theta(0), 4), y.squaredNorm() / X.squaredNorm(), 1e-5 * y.squaredNorm() / X.squaredNorm());
}

TEST(ModelManifold, RejectsAReferenceOffTheManifoldAndModelsWithoutTangentDirections) {
  ManifoldCase c = diagonal_case(3, 5, 4);
  Eigen::VectorXd off = c.x;
  off(0) += 0.1;
  EXPECT_THROW(ModelManifold(c.model, off), InputError);
  EXPECT_THROW(ModelManifold(c.model, Eigen::VectorXd::Ones(3)), InputError);
  EXPECT_THROW(ModelManifold(nullptr, c.x), InputError);
  // n = 4 samples, P = 2 d = 4 parameters: no tangent directions.
  ManifoldCase square = diagonal_case(4, 2, 5);
  EXPECT_THROW(ModelManifold(square.model, square.x), InputError);
  // A singular reference point: u = v = 0 on every coordinate a sample uses makes J J^T singular.
  Eigen::MatrixXd X = Eigen::MatrixXd::Zero(2, 3);
  X(0, 0) = 1;
  X(1, 1) = 1;
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(6);
  theta(0) = 1;  // u_1 = 1: f_1 = 1, f_2 = 0 with grad f_2 = 0
  const auto singular = std::make_shared<const DiagonalLinearNetwork>(X, Eigen::Vector2d(1, 0));
  EXPECT_THROW(ModelManifold(singular, theta), SingularPointError);
}

TEST(ModelManifold, RefusesModelsBeyondTheDenseLimit) {
  const char* old = std::getenv("ZEROLOSS_DENSE_LIMIT_MB");
  const std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("ZEROLOSS_DENSE_LIMIT_MB", "1", 1);
  // P = 2 d = 600: P^2 + P (P - n) + n P doubles, about 5.5 MiB > 1 MiB.
  const ManifoldCase c = diagonal_case(3, 300, 6);
  try {
    ModelManifold manifold(c.model, c.x);
    ADD_FAILURE() << "no ResourceError under a 1 MiB limit";
  } catch (const ResourceError& e) {
    EXPECT_NE(std::string(e.what()).find("P = 600"), std::string::npos) << e.what();
  }
  if (saved)
    ::setenv("ZEROLOSS_DENSE_LIMIT_MB", saved->c_str(), 1);
  else
    ::unsetenv("ZEROLOSS_DENSE_LIMIT_MB");
  EXPECT_NO_THROW(ModelManifold(c.model, c.x));
}

TEST(RiemannianLbfgsOptions, BadValuesAreNamedInputErrors) {
  const ManifoldCase c = diagonal_case(3, 5, 7);
  EXPECT_EQ(ManifoldMinimizationOptions{}.validation_error(), "");
  auto expect_named = [&](const ManifoldMinimizationOptions& o, const std::string& name) {
    EXPECT_NE(o.validation_error().find(name), std::string::npos) << o.validation_error();
    try {
      minimize_sharpness_on_manifold(c.model, c.x, o);
      ADD_FAILURE() << "no InputError for " << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  ManifoldMinimizationOptions o;
  o.max_iterations = -1;
  expect_named(o, "max_iterations");
  o = {};
  o.lbfgs_rank = 0;
  expect_named(o, "lbfgs_rank");
  o = {};
  o.gradient_tolerance = 0;
  expect_named(o, "gradient_tolerance");
  o = {};
  o.function_tolerance = std::nan("");
  expect_named(o, "function_tolerance");
  o = {};
  o.min_basis_quality = 1;
  expect_named(o, "min_basis_quality");
  o = {};
  o.max_reanchors = -2;
  expect_named(o, "max_reanchors");
  o = {};
  o.projection.residual_tolerance = -1;
  expect_named(o, "projection.residual_tolerance");
}

// The manifold shares its model: it stays valid after every other owner is gone.
TEST(ModelManifold, OutlivesTheCallersModel) {
  std::unique_ptr<ModelManifold> manifold;
  Eigen::VectorXd x;
  {
    const ManifoldCase c = diagonal_case(3, 5, 8);
    x = c.x;
    manifold = std::make_unique<ModelManifold>(c.model, c.x);
  }
  const Eigen::VectorXd d = 0.01 * random_vector(manifold->TangentSize(), 13);
  Eigen::VectorXd z(x.size());
  ASSERT_TRUE(manifold->Plus(x.data(), d.data(), z.data()));
  EXPECT_LT(manifold->model().max_residual(z), 1e-12);
}

}  // namespace
}  // namespace zeroloss
