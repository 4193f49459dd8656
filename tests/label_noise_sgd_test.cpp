// Label-noise SGD (THEORY 7) against independent routes: the step formula with the dense reference
// Jacobian, plain gradient descent, full vs reduced coordinates (THEORY 4), the noise covariance
// (s^2 / B) Hess L, exact save/restore, determinism and divergence handling.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "test_support.hpp"
#include "zeroloss/constraint_jacobian.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/label_noise_sgd.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/reference.hpp"
#include "zeroloss/rng.hpp"

using namespace zeroloss;
using zeroloss::test::rel_error;

namespace {

// THEORY 7 written with the dense reference Jacobian (rows grad f_i, vectorize() order).
Eigen::MatrixXd reference_step(const TwoLayerModel& model, const Eigen::MatrixXd& theta, const std::vector<int>& batch,
                               const std::vector<double>& xi, double eta, double s) {
  const Eigen::MatrixXd J = reference::jacobian(model, theta);
  const Eigen::VectorXd f = network_outputs(model, theta);
  Eigen::VectorXd v = vectorize(theta);
  const double B = static_cast<double>(batch.size());
  for (size_t b = 0; b < batch.size(); ++b) {
    const int i = batch[b];
    v -= (eta / B) * (f(i) - model.y()(i) - s * xi[b]) * J.row(i).transpose();
  }
  return unvectorize(v, model.m(), model.d());
}

class SgdStepPerActivation : public testing::TestWithParam<const char*> {};

TEST_P(SgdStepPerActivation, StepsMatchTheoryFormulaWithDenseJacobian) {
  for (int B : {1, 3}) {
    auto p = test::random_problem(5, 4, 6, GetParam(), /*mixed_a=*/true, 77, 0.4);
    SgdParameters params;
    params.learning_rate = 0.03;
    params.label_noise = 0.7;
    params.batch_size = B;
    params.seed = 11;
    LabelNoiseSgd sgd(p.model, p.theta, params);
    Eigen::MatrixXd theta = p.theta;
    for (int k = 0; k < 5; ++k) {  // several steps: exercises the fused next-batch pre-activations
      const std::vector<int> batch = sgd.next_batch();
      const std::vector<double> xi = sgd.next_noise();
      std::set<int> distinct(batch.begin(), batch.end());
      ASSERT_EQ(static_cast<int>(distinct.size()), B) << "batch indices must be distinct";
      theta = reference_step(p.model, theta, batch, xi, params.learning_rate, params.label_noise);
      ASSERT_EQ(sgd.advance(1), 1u) << sgd.divergence().reason;
      EXPECT_LT(rel_error(sgd.weights(), theta), 1e-13) << GetParam() << " B=" << B << " step " << k + 1;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Activations, SgdStepPerActivation,
                         testing::Values("cubic", "sinh", "tanh", "sigmoid", "softplus", "gelu", "poly:0.1,1,0.2,0.1"));

TEST(LabelNoiseSgd, CustomActivationUsesGenericKernelAndMatchesFormula) {
  auto base = test::random_problem(4, 3, 5, "cubic", false, 5, 0.4);
  const Activation quintic =
      Activation::from_callable("quintic", [](auto z) { return z + z * z * z * z * z / 5; });
  const TwoLayerModel model(base.model.X(), base.model.y(), base.model.a(), quintic);
  SgdParameters params;
  params.learning_rate = 0.02;
  params.label_noise = 0.5;
  params.batch_size = 2;
  LabelNoiseSgd sgd(model, base.theta, params);
  EXPECT_NE(std::string(sgd.kernel_name()).find("generic"), std::string::npos);
  const Eigen::MatrixXd expected =
      reference_step(model, base.theta, sgd.next_batch(), sgd.next_noise(), params.learning_rate, params.label_noise);
  sgd.advance(1);
  EXPECT_LT(rel_error(sgd.weights(), expected), 1e-13);
  EXPECT_STREQ(LabelNoiseSgd(base.model, base.theta, params).kernel_name(), "cubic");
}

TEST(LabelNoiseSgd, FullBatchWithoutNoiseIsGradientDescent) {
  for (const char* act : {"cubic", "sinh"}) {
    auto p = test::random_problem(4, 6, 5, act, true, 3, 0.3);
    const double eta = 0.05;
    SgdParameters params;
    params.learning_rate = eta;
    params.label_noise = 0.0;
    params.batch_size = p.model.n();  // full batch
    LabelNoiseSgd sgd(p.model, p.theta, params);
    ASSERT_EQ(sgd.advance(1000), 1000u);
    // Independent route: Theta <- Theta - eta grad L, grad L = (1/n) J^T (f - y) through the
    // structured Jacobian of constraint_jacobian.hpp.
    Eigen::MatrixXd theta = p.theta;
    for (int k = 0; k < 1000; ++k) {
      const NetworkEvaluation e = evaluate(p.model, theta);
      const ConstraintJacobian J(p.model, e);
      theta -= (eta / p.model.n()) * J.apply_transpose(e.residuals);
    }
    EXPECT_LT(rel_error(sgd.weights(), theta), 1e-12) << act;
    EXPECT_LT(evaluate(p.model, theta).loss, evaluate(p.model, p.theta).loss) << "GD should reduce the loss";
  }
}

TEST(LabelNoiseSgd, ReducedCoordinatesAgreeWithFullCoordinatesOver1000Steps) {
  for (int B : {1, 2}) {
    auto p = test::random_problem(3, 8, 4, "cubic", true, 21, 0.3);
    SgdParameters params;
    params.learning_rate = 0.05;
    params.label_noise = 0.5;
    params.batch_size = B;
    params.seed = 99;
    LabelNoiseSgd full(p.model, p.theta, params);
    const ReducedCoordinates rc(p.model.X());
    ASSERT_EQ(rc.rank(), 3);
    const TwoLayerModel reduced_model = rc.reduce(p.model);
    LabelNoiseSgd reduced(reduced_model, rc.reduce(p.theta), params);
    ASSERT_EQ(full.advance(1000), 1000u);
    ASSERT_EQ(reduced.advance(1000), 1000u);
    const Eigen::MatrixXd lifted = rc.lift(reduced.weights(), p.theta);
    EXPECT_LT(rel_error(lifted, full.weights()), 1e-10) << "B=" << B;
    // The weights did move (the comparison is not between two copies of the start).
    EXPECT_GT((full.weights() - p.theta).norm(), 1e-3);
  }
}

TEST(LabelNoiseSgd, SameSeedSameBitsOtherSeedOtherPath) {
  auto p = test::random_problem(4, 4, 6, "cubic", false, 8, 0.3);
  SgdParameters params;
  params.learning_rate = 0.05;
  params.label_noise = 0.2;
  params.seed = 5;
  LabelNoiseSgd a(p.model, p.theta, params), b(p.model, p.theta, params);
  a.advance(3000);
  b.advance(1000);
  b.advance(2000);  // chunking does not matter
  EXPECT_TRUE((a.weights().array() == b.weights().array()).all());
  params.seed = 6;
  LabelNoiseSgd c(p.model, p.theta, params);
  c.advance(3000);
  EXPECT_GT((a.weights() - c.weights()).norm(), 1e-6);
}

// The AVX2 and baseline (SSE2) kernels must give the same bits: same IEEE operations per neuron in
// the same order, only the vector width differs. Covers every activation kernel, p with a fixed-p
// kernel (3, 11) and the generic one (17, 21), m not a multiple of the tile width 4, B = 1 and B > 1.
TEST(LabelNoiseSgd, Avx2AndBaselineKernelsGiveTheSameBits) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "this processor has no AVX2: only the baseline kernel can run";
  for (const char* act : {"cubic", "sinh", "tanh", "sigmoid", "softplus", "gelu", "poly:0,1,0.5,0.2"}) {
    for (int d : {3, 11, 17, 21}) {
      for (int B : {1, 2}) {
        auto pr = test::random_problem(std::max(d, 5), d, 7, act, true, 90 + d, 0.3);
        SgdParameters params;
        params.learning_rate = 0.01 / d;  // rows of Z have norm of order sqrt(d)
        params.label_noise = 0.3;
        params.batch_size = B;
        params.seed = 4;
        params.instruction_set = SgdInstructionSet::Baseline;
        LabelNoiseSgd base(pr.model, pr.theta, params);
        params.instruction_set = SgdInstructionSet::Avx2;
        LabelNoiseSgd wide(pr.model, pr.theta, params);
        EXPECT_EQ(base.instruction_set(), SgdInstructionSet::Baseline);
        EXPECT_EQ(wide.instruction_set(), SgdInstructionSet::Avx2);
        ASSERT_EQ(base.advance(1500), 1500u) << act << " p=" << d << ": " << base.divergence().reason;
        ASSERT_EQ(wide.advance(1500), 1500u) << wide.divergence().reason;
        EXPECT_GT((base.weights() - pr.theta).norm(), 1e-6) << "the run must move";
        EXPECT_TRUE((base.weights().array() == wide.weights().array()).all())
            << act << " p=" << d << " B=" << B << ": max difference "
            << (base.weights() - wide.weights()).cwiseAbs().maxCoeff();
      }
    }
  }
}

TEST(LabelNoiseSgd, RestoredStateContinuesBitForBit) {
  for (NoiseKind kind : {NoiseKind::Gaussian, NoiseKind::Rademacher}) {
    for (int B : {1, 3}) {
      auto p = test::random_problem(5, 11, 4, "sinh", true, 31, 0.3);  // p = 11: all dot-product paths
      SgdParameters params;
      params.learning_rate = 0.04;
      params.label_noise = 0.3;
      params.noise = kind;
      params.batch_size = B;
      params.seed = 1234;
      LabelNoiseSgd original(p.model, p.theta, params);
      original.advance(777);  // 777 * B noise draws: crosses noise buffer boundaries
      const SgdState saved = original.state();
      original.advance(1111);
      LabelNoiseSgd resumed(p.model, p.theta, params);
      resumed.restore(saved);
      EXPECT_EQ(resumed.step(), 777u);
      resumed.advance(1111);
      EXPECT_TRUE((original.weights().array() == resumed.weights().array()).all())
          << noise_kind_name(kind) << " B=" << B;
      EXPECT_EQ(original.next_batch(), resumed.next_batch());
    }
  }
}

TEST(LabelNoiseSgd, StepNoiseHasCovarianceSSquaredOverBTimesHessL) {
  // At a point on M the step is Delta = (eta/B) s sum_{i in I} xi_i grad f_i, so
  // E Delta = 0 and Cov Delta = eta^2 s^2 / (B n) J^T J = (eta^2 s^2 / B) Hess L. Checked through
  // E ||Delta||^2 = eta^2 s^2 T / B and E <Delta, u>^2 = eta^2 s^2 ||J u||^2 / (B n).
  auto p = test::random_problem_on_manifold(5, 4, 3, "cubic", true, 17, 0.5);
  const Eigen::MatrixXd J = reference::jacobian(p.model, p.theta);
  const Eigen::VectorXd u = vectorize(test::random_matrix(3, 4, 4));
  const double eta = 0.1, s = 0.5;
  const int n = p.model.n();
  const double T = J.squaredNorm() / n;
  for (NoiseKind kind : {NoiseKind::Gaussian, NoiseKind::Rademacher}) {
    for (int B : {1, 2}) {
      const int samples = 20000;
      double sum_sq = 0, sum_u2 = 0;
      Eigen::VectorXd mean = Eigen::VectorXd::Zero(J.cols());
      for (int seed = 0; seed < samples; ++seed) {
        SgdParameters params;
        params.learning_rate = eta;
        params.label_noise = s;
        params.noise = kind;
        params.batch_size = B;
        params.seed = static_cast<std::uint64_t>(seed);
        LabelNoiseSgd sgd(p.model, p.theta, params);
        sgd.advance(1);
        const Eigen::VectorXd delta = vectorize(sgd.weights() - p.theta);
        mean += delta;
        sum_sq += delta.squaredNorm();
        sum_u2 += std::pow(delta.dot(u), 2);
      }
      const double expected_sq = eta * eta * s * s * T / B;
      const double expected_u2 = eta * eta * s * s * (J * u).squaredNorm() / (B * n);
      EXPECT_NEAR(sum_sq / samples / expected_sq, 1.0, 0.05) << noise_kind_name(kind) << " B=" << B;
      EXPECT_NEAR(sum_u2 / samples / expected_u2, 1.0, 0.06) << noise_kind_name(kind) << " B=" << B;
      EXPECT_LT((mean / samples).norm(), 0.05 * std::sqrt(expected_sq));
    }
  }
}

TEST(LabelNoiseSgd, BatchesAreUniformAndDistinct) {
  auto p = test::random_problem(7, 3, 2, "cubic", false, 2, 0.1);
  SgdParameters params;
  params.learning_rate = 1e-6;
  params.batch_size = 3;
  LabelNoiseSgd sgd(p.model, p.theta, params);
  std::map<int, int> count;
  std::map<std::pair<int, int>, int> pairs;
  const int steps = 21000;
  for (int k = 0; k < steps; ++k) {
    const std::vector<int> b = sgd.next_batch();
    ASSERT_EQ(std::set<int>(b.begin(), b.end()).size(), 3u);
    for (int i : b) ++count[i];
    ++pairs[{std::min(b[0], b[1]), std::max(b[0], b[1])}];
    sgd.advance(1);
  }
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(count[i] / double(steps), 3.0 / 7.0, 0.02) << "sample " << i;
  EXPECT_EQ(pairs.size(), 21u);  // every unordered pair occurs among the first two draws
}

TEST(LabelNoiseSgd, DivergenceStopsNamesTheStepAndKeepsFiniteWeights) {
  auto p = test::random_problem(3, 3, 4, "cubic", false, 4, 1.0);
  SgdParameters params;
  params.learning_rate = 5.0;  // far too large for the cubic
  params.label_noise = 0.1;
  LabelNoiseSgd sgd(p.model, p.theta, params);
  const std::uint64_t done = sgd.advance(100000);
  ASSERT_TRUE(sgd.diverged());
  EXPECT_LT(done, 100000u);
  EXPECT_EQ(sgd.divergence().step, done + 1);
  EXPECT_NE(sgd.divergence().reason.find("step " + std::to_string(done + 1)), std::string::npos)
      << sgd.divergence().reason;
  EXPECT_TRUE(sgd.last_finite_weights().allFinite());
  EXPECT_LE(sgd.last_finite_step(), done);
  EXPECT_EQ(sgd.advance(10), 0u);  // a diverged run stays stopped
}

TEST(LabelNoiseSgd, ModerateRunDoesNotTriggerDivergence) {
  auto p = test::random_problem_on_manifold(3, 3, 4, "cubic", false, 4, 0.5);
  SgdParameters params;
  params.learning_rate = 0.05;
  params.label_noise = 0.1;
  LabelNoiseSgd sgd(p.model, p.theta, params);
  EXPECT_EQ(sgd.advance(20000), 20000u);
  EXPECT_FALSE(sgd.diverged());
  EXPECT_NEAR(sgd.time(), 0.05 * 0.05 * 20000, 1e-12);
  EXPECT_NEAR(sgd.flow_time(), 0.01 / 4 * sgd.time(), 1e-15);
}

TEST(LabelNoiseSgd, RejectsInvalidParameters) {
  auto p = test::random_problem(3, 3, 4, "cubic", false, 4);
  SgdParameters params;
  params.learning_rate = 0;
  EXPECT_THROW(LabelNoiseSgd(p.model, p.theta, params), InputError);
  params.learning_rate = 0.1;
  params.label_noise = -1;
  EXPECT_THROW(LabelNoiseSgd(p.model, p.theta, params), InputError);
  params.label_noise = 0.1;
  params.batch_size = 4;
  EXPECT_THROW(LabelNoiseSgd(p.model, p.theta, params), InputError);
  params.batch_size = 1;
  EXPECT_THROW(LabelNoiseSgd(p.model, Eigen::MatrixXd::Zero(3, 3), params), InputError);
}

TEST(Rng, XoshiroMatchesReferenceSequenceAndRestores) {
  // Reference values of xoshiro256++ from the state {1, 2, 3, 4} (computed with the authors'
  // C reference implementation's update rule).
  Xoshiro256pp g;
  g.restore({1, 2, 3, 4});
  EXPECT_EQ(g(), 41943041ULL);
  EXPECT_EQ(g(), 58720359ULL);
  EXPECT_EQ(g(), 3588806011781223ULL);
  const auto saved = g.state();
  const auto x = g();
  g.restore(saved);
  EXPECT_EQ(g(), x);
  EXPECT_THROW(g.restore({0, 0, 0, 0}), InputError);
  // below() stays in range and hits every value.
  std::set<std::uint64_t> seen;
  for (int k = 0; k < 1000; ++k) {
    const auto v = g.below(7);
    ASSERT_LT(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(Rng, GaussianNoiseHasUnitVarianceAndRademacherIsPlusMinusOne) {
  StandardNoise gauss(NoiseKind::Gaussian, 3, 0), rad(NoiseKind::Rademacher, 3, 0);
  double m1 = 0, m2 = 0, m4 = 0;
  const int N = 200000;
  for (int k = 0; k < N; ++k) {
    const double z = gauss.next();
    m1 += z;
    m2 += z * z;
    m4 += z * z * z * z;
    const double r = rad.next();
    ASSERT_TRUE(r == 1.0 || r == -1.0);
  }
  EXPECT_NEAR(m1 / N, 0.0, 0.01);
  EXPECT_NEAR(m2 / N, 1.0, 0.015);
  EXPECT_NEAR(m4 / N, 3.0, 0.08);  // Gaussian kurtosis (a uniform or +-1 source would fail)
}

}  // namespace
