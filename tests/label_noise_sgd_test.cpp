// Label-noise SGD (THEORY 7) against independent routes: the step formula with the dense reference
// Jacobian, plain gradient descent, full vs reduced coordinates (THEORY 4), the noise covariance
// (s^2 / B) Hess L, exact save/restore, determinism and divergence handling.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "test_support.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/reference.hpp"
#include "zeroloss/random/rng.hpp"

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
  // d = 4 < n: weight coordinates; d = 5 = n: pre-activation coordinates (auto).
  for (int B : {1, 3}) for (int d : {4, 5}) {
    auto p = test::random_problem(5, d, 6, GetParam(), /*mixed_a=*/true, 77, 0.4);
    SgdParameters params;
    params.learning_rate = d == 4 ? 0.03 : 0.01;  // the square problem diverges at 0.03
    params.label_noise = 0.7;
    params.batch_size = B;
    params.seed = 11;
    LabelNoiseSgd sgd(p.model, p.theta, params);
    EXPECT_EQ(sgd.coordinates(), d == 5 ? SgdCoordinates::Preactivations : SgdCoordinates::Weights);
    Eigen::MatrixXd theta = p.theta;
    for (int k = 0; k < 5; ++k) {  // several steps: exercises the fused next-batch pre-activations
      const std::vector<int> batch = sgd.next_batch();
      const std::vector<double> xi = sgd.next_noise();
      std::set<int> distinct(batch.begin(), batch.end());
      ASSERT_EQ(static_cast<int>(distinct.size()), B) << "batch indices must be distinct";
      theta = reference_step(p.model, theta, batch, xi, params.learning_rate, params.label_noise);
      ASSERT_EQ(sgd.advance(1), 1u) << sgd.divergence().reason;
      EXPECT_LT(rel_error(sgd.weights(), theta), 1e-13) << GetParam() << " B=" << B << " d=" << d << " step " << k + 1;
      EXPECT_LT(rel_error(sgd.preactivations(), p.model.X() * theta.transpose()), 1e-13);
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
    // structured Jacobian of manifold/constraint_jacobian.hpp.
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
      for (int B : {1, 2}) for (SgdCoordinates coords : {SgdCoordinates::Weights, SgdCoordinates::Preactivations}) {
        auto pr = test::random_problem(std::max(d, 5), d, 7, act, true, 90 + d, 0.3);
        if (coords == SgdCoordinates::Preactivations && pr.model.n() != d) continue;  // needs n = p
        SgdParameters params;
        params.coordinates = coords;
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
        EXPECT_EQ(base.coordinates(), coords);
        EXPECT_TRUE((base.weights().array() == wide.weights().array()).all())
            << act << " p=" << d << " B=" << B << " " << to_string(coords) << ": max difference "
            << (base.weights() - wide.weights()).cwiseAbs().maxCoeff();
      }
    }
  }
}

// Several steps per pass over R (pre-activation coordinates, B = 1) must give the bits of one step
// per pass: the rows of a window's later samples are formed from m-vectors with the update's own
// expression, and each entry of R takes the window's updates in step order. Covers every activation
// kernel (the cubic's vector form and the scalar ones), n with a fixed-n kernel (3, 11) and the
// generic one (17, 20), m with and without a partial tile and with an odd number of tiles (the AVX2
// pass updates tiles in pairs), every window size, windows cut by irregular advance() lengths, both
// instruction sets, and the state between calls (R, the next sample and its noise).
TEST(LabelNoiseSgd, StepsPerPassGiveTheSameBits) {
  std::vector<SgdInstructionSet> sets{SgdInstructionSet::Baseline};
  if (cpu_has_avx2()) sets.push_back(SgdInstructionSet::Avx2);
  const std::uint64_t chunks[] = {1, 2, 3, 50, 7, 640};  // 703 steps
  for (const char* act : {"cubic", "sinh", "tanh", "sigmoid", "softplus", "gelu", "poly:0,1,0.5,0.2"}) {
    for (int n : {3, 11, 17, 20}) {
      for (int m : {5, 12, 13}) {
        auto pr = test::random_problem(n, n, m, act, true, 300 + n + m, 0.3);
        for (SgdInstructionSet set : sets) {
          SgdParameters params;
          params.learning_rate = 0.01 / n;
          params.label_noise = 0.3;
          params.seed = 11;
          params.instruction_set = set;
          params.steps_per_pass = 1;
          LabelNoiseSgd one(pr.model, pr.theta, params);
          ASSERT_EQ(one.steps_per_pass(), 1);
          for (std::uint64_t k : chunks) ASSERT_EQ(one.advance(k), k) << one.divergence().reason;
          EXPECT_GT((one.weights() - pr.theta).norm(), 1e-6) << "the run must move";
          for (int w = 2; w <= kMaxStepsPerPass; ++w) {
            params.steps_per_pass = w;
            LabelNoiseSgd windowed(pr.model, pr.theta, params);
            ASSERT_EQ(windowed.steps_per_pass(), w);
            ASSERT_EQ(windowed.coordinates(), SgdCoordinates::Preactivations);
            for (std::uint64_t k : chunks) ASSERT_EQ(windowed.advance(k), k) << windowed.divergence().reason;
            const SgdState a = one.state(), b = windowed.state();
            EXPECT_TRUE((a.preactivations.array() == b.preactivations.array()).all())
                << act << " n=" << n << " m=" << m << " " << to_string(set) << " w=" << w << ": max difference "
                << (a.preactivations - b.preactivations).cwiseAbs().maxCoeff();
            EXPECT_EQ(one.next_batch(), windowed.next_batch());
            EXPECT_EQ(one.next_noise(), windowed.next_noise());
          }
        }
      }
    }
  }
}

// A window cut short by a refused step leaves the state of the one-step kernel: the same step
// refused with the same message, the same R, and the run stays stopped.
TEST(LabelNoiseSgd, StepsPerPassRefuseTheSameStep) {
  auto pr = test::random_problem_on_manifold(20, 20, 9, "cubic", false, 4, 0.3);
  SgdParameters params;
  params.learning_rate = 0.01;
  params.label_noise = 0.5;
  params.steps_per_pass = 1;
  // A divergence bound on the loss that the noisy run (it starts on M, at loss 0) crosses after a
  // few windows: the largest of these that stops it after more than 20 steps.
  std::uint64_t done = 0;
  for (double bound : {1.0, 0.3, 0.1, 0.03, 0.01, 3e-3, 1e-3}) {
    params.max_loss = bound;
    LabelNoiseSgd probe(pr.model, pr.theta, params);
    done = probe.advance(100000);
    if (probe.diverged() && done > 20) break;
  }
  LabelNoiseSgd one(pr.model, pr.theta, params);
  ASSERT_EQ(one.advance(100000), done);
  ASSERT_TRUE(one.diverged());
  ASSERT_GT(done, 20u) << "the test needs a refusal after some windows, not at the first step";
  for (int w = 2; w <= kMaxStepsPerPass; ++w) {
    params.steps_per_pass = w;
    LabelNoiseSgd windowed(pr.model, pr.theta, params);
    EXPECT_EQ(windowed.advance(100000), done) << "w=" << w;
    EXPECT_EQ(windowed.divergence().step, one.divergence().step);
    EXPECT_EQ(windowed.divergence().reason, one.divergence().reason);
    EXPECT_TRUE((windowed.state().preactivations.array() == one.state().preactivations.array()).all()) << "w=" << w;
    EXPECT_EQ(windowed.advance(10), 0u);
  }
}

TEST(LabelNoiseSgd, StepsPerPassAreCheckedAndChosen) {
  auto square = test::random_problem(20, 20, 6, "cubic", false, 4);
  auto small = test::random_problem(3, 3, 6, "cubic", false, 4);
  auto wide = test::random_problem(5, 11, 6, "cubic", false, 4);
  SgdParameters params;
  EXPECT_EQ(LabelNoiseSgd(square.model, square.theta, params).steps_per_pass(), 4);  // auto, n > 16
  EXPECT_EQ(LabelNoiseSgd(small.model, small.theta, params).steps_per_pass(), 1);    // auto, n <= 16
  EXPECT_EQ(LabelNoiseSgd(wide.model, wide.theta, params).steps_per_pass(), 1);      // weight coordinates
  params.batch_size = 2;
  EXPECT_EQ(LabelNoiseSgd(square.model, square.theta, params).steps_per_pass(), 1);  // B > 1
  params.steps_per_pass = 3;
  try {
    LabelNoiseSgd(square.model, square.theta, params);
    FAIL() << "3 steps per pass with B = 2 accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("need pre-activation coordinates and batch size 1"), std::string::npos)
        << e.what();
  }
  params.batch_size = 1;
  EXPECT_THROW(LabelNoiseSgd(wide.model, wide.theta, params), InputError);
  params.steps_per_pass = kMaxStepsPerPass + 1;
  EXPECT_THROW(LabelNoiseSgd(square.model, square.theta, params), InputError);
  params.steps_per_pass = -1;
  EXPECT_THROW(LabelNoiseSgd(square.model, square.theta, params), InputError);
  params.steps_per_pass = 3;
  EXPECT_EQ(LabelNoiseSgd(small.model, small.theta, params).steps_per_pass(), 3);  // allowed at any n
}

TEST(LabelNoiseSgd, RestoredStateContinuesBitForBit) {
  for (NoiseKind kind : {NoiseKind::Gaussian, NoiseKind::Rademacher}) {
    for (int B : {1, 3}) for (int n : {5, 11}) {
      // n = 5 < p = 11: weight coordinates, all dot-product paths; n = p = 11: pre-activations.
      auto p = test::random_problem(n, 11, 4, "sinh", true, 31, 0.3);
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
      EXPECT_EQ(resumed.coordinates(), n == 11 ? SgdCoordinates::Preactivations : SgdCoordinates::Weights);
      EXPECT_EQ(saved.preactivations.size() > 0, n == 11);
      EXPECT_TRUE((original.weights().array() == resumed.weights().array()).all())
          << noise_kind_name(kind) << " B=" << B << " n=" << n;
      EXPECT_EQ(original.next_batch(), resumed.next_batch());
    }
  }
}

// The two coordinates of the state are two algorithms for the same iterates: dot products z_i . beta_j
// after each weight update, against rank-B updates of R with K = Z Z^T. Over 2000 steps they agree to
// rounding, for every activation kernel, n = p with a fixed-size kernel (3, 11) and the generic one
// (20), m not a multiple of the tile width, and B = 1, 2 and the full batch.
TEST(LabelNoiseSgd, PreactivationAndWeightCoordinatesGiveTheSameIterates) {
  for (const char* act : {"cubic", "sinh", "tanh", "sigmoid", "softplus", "gelu", "poly:0,1,0.5,0.2"}) {
    for (int n : {3, 11, 20}) {
      for (int B : {1, 2, n}) {
        auto pr = test::random_problem(n, n, 7, act, true, 50 + n, 0.3);
        SgdParameters params;
        params.learning_rate = 0.05 / n;
        params.label_noise = 0.3;
        params.batch_size = B;
        params.seed = 8;
        params.coordinates = SgdCoordinates::Weights;
        LabelNoiseSgd w(pr.model, pr.theta, params);
        params.coordinates = SgdCoordinates::Preactivations;
        LabelNoiseSgd r(pr.model, pr.theta, params);
        ASSERT_EQ(w.coordinates(), SgdCoordinates::Weights);
        ASSERT_EQ(r.coordinates(), SgdCoordinates::Preactivations);
        const std::string where = std::string(act) + " n=" + std::to_string(n) + " B=" + std::to_string(B);
        ASSERT_EQ(w.advance(2000), 2000u) << where << ": " << w.divergence().reason;
        ASSERT_EQ(r.advance(2000), 2000u) << where << ": " << r.divergence().reason;
        EXPECT_GT(rel_error(w.weights(), pr.theta), 1e-3) << "the run must move";
        EXPECT_EQ(w.next_batch(), r.next_batch()) << "same random stream";
        EXPECT_LT(rel_error(r.weights(), w.weights()), 1e-11) << where;
        EXPECT_LT(rel_error(r.preactivations(), w.preactivations()), 1e-11) << where;
        EXPECT_FALSE((r.weights().array() == w.weights().array()).all()) << "two algorithms, not one: " << where;
      }
    }
  }
}

TEST(LabelNoiseSgd, CoordinatesAreChosenFromTheShapeAndConditioningOfZ) {
  SgdParameters params;
  params.learning_rate = 0.01;
  // n > p and n < p: weights.
  for (int d : {3, 6}) {
    auto pr = test::random_problem(4, d, 5, "cubic", false, 3);
    LabelNoiseSgd sgd(pr.model, pr.theta, params);
    EXPECT_EQ(sgd.coordinates(), SgdCoordinates::Weights) << d;
    EXPECT_EQ(sgd.data_rcond(), 0.0);
    params.coordinates = SgdCoordinates::Preactivations;
    try {
      LabelNoiseSgd forced(pr.model, pr.theta, params);
      ADD_FAILURE() << "pre-activation coordinates accepted n = 4, p = " << d;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("need a square Z (n = p), but n = 4 and p = " + std::to_string(d)),
                std::string::npos)
          << e.what();
    }
    params.coordinates = SgdCoordinates::Auto;
  }
  // Square and well conditioned: pre-activations; rcond is sigma_min / sigma_max (here from JacobiSVD).
  auto pr = test::random_problem(4, 4, 5, "cubic", false, 3);
  LabelNoiseSgd sgd(pr.model, pr.theta, params);
  EXPECT_EQ(sgd.coordinates(), SgdCoordinates::Preactivations);
  const Eigen::MatrixXd Z = pr.model.X();
  const Eigen::VectorXd sv = Eigen::JacobiSVD<Eigen::MatrixXd>(Z).singularValues();
  EXPECT_NEAR(sgd.data_rcond(), sv(3) / sv(0), 1e-12 * sv(3) / sv(0));
  // Square but nearly dependent rows (rcond about 1e-7): auto keeps weights; forcing pre-activations
  // is allowed down to 1e-12 and refused on a singular Z.
  Eigen::MatrixXd X = Z;
  X.row(3) = X.row(2) + 1e-7 * Z.row(3);
  const TwoLayerModel near(X, pr.model.y(), pr.model.a(), pr.model.activation());
  LabelNoiseSgd auto_near(near, pr.theta, params);
  EXPECT_EQ(auto_near.coordinates(), SgdCoordinates::Weights);
  EXPECT_LT(auto_near.data_rcond(), kPreactivationMinRcond);
  params.coordinates = SgdCoordinates::Preactivations;
  EXPECT_EQ(LabelNoiseSgd(near, pr.theta, params).coordinates(), SgdCoordinates::Preactivations);
  X.row(3) = X.row(2);
  const TwoLayerModel singular(X, pr.model.y(), pr.model.a(), pr.model.activation());
  EXPECT_THROW(LabelNoiseSgd(singular, pr.theta, params), InputError);
}

TEST(LabelNoiseSgd, PreactivationRunsStartFromZTimesTheWeightsAndRestoreFromWeights) {
  auto pr = test::random_problem(4, 4, 6, "cubic", true, 12, 0.4);
  SgdParameters params;
  params.learning_rate = 0.03;
  params.label_noise = 0.2;
  LabelNoiseSgd a(pr.model, pr.theta, params);
  ASSERT_EQ(a.coordinates(), SgdCoordinates::Preactivations);
  // Before any step the state is R = Z theta^T, and the weights Z^{-1} R are theta to rounding.
  EXPECT_LT(rel_error(a.weights(), pr.theta), 1e-14);
  EXPECT_TRUE((a.preactivations().array() == (pr.model.X() * pr.theta.transpose()).array()).all());
  a.advance(500);
  SgdState st = a.state();
  ASSERT_GT(st.preactivations.size(), 0);
  EXPECT_EQ(st.beta.size(), 0) << "the state is R; beta = Z^{-1} R is weights()";
  st.beta = a.weights();
  // A state without pre-activations (weights only) continues from R = Z beta^T: the same run up to
  // rounding.
  SgdState weights_only = st;
  weights_only.preactivations.resize(0, 0);
  LabelNoiseSgd b(pr.model, pr.theta, params);
  b.restore(weights_only);
  EXPECT_LT(rel_error(b.weights(), st.beta), 1e-14);
  a.advance(500);
  b.advance(500);
  EXPECT_LT(rel_error(b.weights(), a.weights()), 1e-12);
  // A state of pre-activations only cannot go into a run in weight coordinates.
  SgdState r_only = st;
  r_only.beta.resize(0, 0);
  params.coordinates = SgdCoordinates::Weights;
  LabelNoiseSgd w(pr.model, pr.theta, params);
  EXPECT_THROW(w.restore(r_only), InputError);
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
