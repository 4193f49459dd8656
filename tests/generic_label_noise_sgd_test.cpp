// Label-noise SGD on any model (dynamics/generic_label_noise_sgd.hpp): against the two-layer kernel
// step for step (same batches, same noise), and, on the diagonal linear network, against its
// limiting flow on THEORY 7's time scale t = eta^2 k with C = s^2 / (4B).

#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "test_support.hpp"
#include "zeroloss/dynamics/generic_label_noise_sgd.hpp"
#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_network.hpp"

namespace zeroloss {
namespace {

TEST(GenericLabelNoiseSgd, TakesTheTwoLayerKernelsStepsTo1e12) {
  for (const char* activation : {"cubic", "tanh"})
    for (int B : {1, 3, 5})
      for (int d : {4, 5}) {  // weight coordinates (d < n) and pre-activation coordinates (d = n) in the kernel
        for (NoiseKind noise : {NoiseKind::Gaussian, NoiseKind::Rademacher}) {
          const test::RandomProblem p = test::random_problem(5, d, 6, activation, true, 77, 0.4);
          SgdParameters params;
          params.learning_rate = 0.01;
          params.label_noise = 0.7;
          params.noise = noise;
          params.batch_size = B;
          params.seed = 11;
          LabelNoiseSgd kernel(p.model, p.theta, params);
          GenericLabelNoiseSgd generic(std::make_shared<TwoLayerNetwork>(p.model), vectorize(p.theta), params);
          ASSERT_EQ(kernel.advance(300), 300u) << kernel.divergence().reason;
          generic.advance(300);
          const Eigen::VectorXd expected = vectorize(kernel.weights());
          EXPECT_LT((generic.parameters() - expected).norm(), 1e-12 * expected.norm())
              << activation << " B=" << B << " d=" << d << " noise=" << noise_kind_name(noise);
          EXPECT_EQ(generic.time(), kernel.time());
          EXPECT_EQ(generic.flow_time(), kernel.flow_time());
        }
      }
}

// THEORY 7 on the second model: the projected SGD iterate approaches the flow at t = eta^2 k about
// linearly in eta (averaged over seeds); with the wrong constant (C = s^2 / (2B)) it does not.
TEST(GenericLabelNoiseSgd, DiagonalNetworkFollowsItsLimitingFlow) {
  std::mt19937 gen(3);
  std::normal_distribution<double> g(0.0, 1.0);
  const int n = 3, d = 5;
  Eigen::MatrixXd X(n, d);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) X(i, k) = g(gen) / std::sqrt(double(d));
  Eigen::VectorXd u(d), v(d);
  for (int k = 0; k < d; ++k) u(k) = 0.8 + 0.1 * k, v(k) = 0.9 - 0.1 * k;
  const Eigen::VectorXd w = u.cwiseAbs2() - v.cwiseAbs2();
  const auto model = std::make_shared<DiagonalLinearNetwork>(X, X * w);
  Eigen::VectorXd theta0(2 * d);
  theta0 << u, v;
  const double s = 1.0, t_end = 0.3;
  auto flow_at = [&](double C) {
    FlowOptions o;
    o.coefficient = C;
    o.t_end = t_end;
    o.rtol = 1e-11;
    o.atol = 1e-13;
    return integrate_sharpness_flow(model, theta0, o).theta;
  };
  const Eigen::VectorXd flow = flow_at(s * s / 4.0), wrong = flow_at(s * s / 2.0);
  // The mean over seeds of the projected iterate: its distance to the flow is the O(eta) bias of
  // THEORY 7; the fluctuation of a single run (of order sqrt(eta)) averages out.
  auto mean_iterate = [&](double eta) {
    const int seeds = 32;
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(theta0.size());
    for (int seed = 0; seed < seeds; ++seed) {
      SgdParameters params;
      params.learning_rate = eta;
      params.label_noise = s;
      params.batch_size = 1;
      params.seed = static_cast<std::uint64_t>(seed);
      GenericLabelNoiseSgd sgd(model, theta0, params);
      sgd.advance(static_cast<std::uint64_t>(std::llround(t_end / (eta * eta))));
      EXPECT_NEAR(sgd.time(), t_end, 1e-9);
      sum += project_newton(model, sgd.parameters()).theta;
    }
    return Eigen::VectorXd(sum / seeds);
  };
  const Eigen::VectorXd m1 = mean_iterate(0.02), m2 = mean_iterate(0.01);
  const double d1 = (m1 - flow).norm(), d2 = (m2 - flow).norm();
  EXPECT_GT(d1 / d2, 1.5) << d1 << " " << d2;  // about linear in eta
  EXPECT_LT(d2, 0.2 * (flow - theta0).norm()) << "SGD must follow the flow, not stay put";
  // The wrong constant is refuted: the mean iterate is much nearer the right flow.
  EXPECT_GT((m2 - wrong).norm(), 3 * d2) << (m2 - wrong).norm() << " " << d2;
}

TEST(GenericLabelNoiseSgd, BadParametersAndDivergenceAreReported) {
  const auto model = std::make_shared<DiagonalLinearNetwork>(Eigen::MatrixXd::Identity(2, 3), Eigen::Vector2d(1, 2));
  SgdParameters params;
  params.batch_size = 3;
  EXPECT_THROW(GenericLabelNoiseSgd(model, Eigen::VectorXd::Ones(6), params), InputError);
  params.batch_size = 1;
  params.learning_rate = -1;
  EXPECT_THROW(GenericLabelNoiseSgd(model, Eigen::VectorXd::Ones(6), params), InputError);
  params.learning_rate = 1e3;  // far beyond stability
  GenericLabelNoiseSgd sgd(model, Eigen::VectorXd::Ones(6), params);
  EXPECT_THROW(sgd.advance(1000), ConvergenceError);
  EXPECT_TRUE(sgd.parameters().allFinite());
}

}  // namespace
}  // namespace zeroloss
