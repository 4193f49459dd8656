// Rate fits (numerics/rate_fit.hpp): exact recovery, confidence-interval coverage (Student t), and the
// verdict on tails that are not exponential.

#include <gtest/gtest.h>

#include <Eigen/Dense>

#include <cmath>
#include <random>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/rate_fit.hpp"

using namespace zeroloss;

namespace {

TEST(RateFit, LineIsRecoveredExactly) {
  const LinearFit f = fit_line({0, 1, 2, 3}, {1, 3, 5, 7});
  EXPECT_NEAR(f.slope, 2.0, 1e-14);
  EXPECT_NEAR(f.intercept, 1.0, 1e-14);
  EXPECT_NEAR(f.r_squared, 1.0, 1e-14);
  ASSERT_TRUE(f.slope_stderr.has_value());
  EXPECT_NEAR(*f.slope_stderr, 0.0, 1e-14);
  const LinearFit two = fit_line({1, 2}, {1, 2});
  EXPECT_FALSE(two.slope_ci_low.has_value());
  EXPECT_THROW(fit_line({1, 1, 1}, {1, 2, 3}), InputError);
  EXPECT_THROW(fit_line({1}, {1}), InputError);
}

TEST(RateFit, LineMatchesTheNormalEquationsSolvedByQr) {
  // An independent route: the least-squares problem [1 x] (intercept, slope) ~ y solved by Eigen's
  // Householder QR; Var(slope) = sigma^2 ((A^T A)^-1)_22 with sigma^2 = SSE / (n - 2); the t quantile
  // with 5 degrees of freedom at 0.975 is 2.570581835636314 (bisection on the closed-form t_5 CDF); R^2 from the fitted values.
  const std::vector<double> x = {0.3, 1.1, 1.9, 3.2, 4.0, 5.5, 7.1};
  const std::vector<double> y = {2.0, 2.9, 3.1, 5.2, 5.1, 7.9, 9.4};
  const int n = static_cast<int>(x.size());
  Eigen::MatrixXd A(n, 2);
  Eigen::VectorXd b(n);
  for (int k = 0; k < n; ++k) {
    A(k, 0) = 1.0;
    A(k, 1) = x[k];
    b(k) = y[k];
  }
  const Eigen::Vector2d beta = A.householderQr().solve(b);
  const Eigen::VectorXd residual = b - A * beta;
  const double sse = residual.squaredNorm();
  const double sst = (b.array() - b.mean()).matrix().squaredNorm();
  const double se = std::sqrt(sse / (n - 2) * (A.transpose() * A).inverse()(1, 1));
  const LinearFit f = fit_line(x, y, 0.95);
  EXPECT_EQ(f.points, n);
  EXPECT_NEAR(f.slope, beta(1), 1e-13);
  EXPECT_NEAR(f.intercept, beta(0), 1e-13);
  EXPECT_NEAR(f.r_squared, 1.0 - sse / sst, 1e-13);
  EXPECT_NEAR(f.rms_residual, std::sqrt(sse / n), 1e-13);
  ASSERT_TRUE(f.slope_stderr.has_value());
  EXPECT_NEAR(*f.slope_stderr, se, 1e-13);
  EXPECT_NEAR(*f.slope_ci_high - f.slope, 2.570581835636314 * se, 1e-12);
  EXPECT_NEAR(f.slope - *f.slope_ci_low, 2.570581835636314 * se, 1e-12);
  EXPECT_GT(f.rms_residual, 0.1);  // the data are not a line: the checks above compare real residuals
}

TEST(RateFit, StudentTIntervalHasNominalCoverageWithFewPoints) {
  // Five points (3 degrees of freedom): a normal-quantile interval would cover only ~86%.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0.0, 0.3);
  const std::vector<double> x = {0.0, 1.0, 2.0, 3.0, 4.0};
  int covered = 0;
  const int trials = 4000;
  for (int k = 0; k < trials; ++k) {
    std::vector<double> y;
    for (double xi : x) y.push_back(0.5 - 1.7 * xi + noise(rng));
    const LinearFit f = fit_line(x, y, 0.95);
    if (*f.slope_ci_low <= -1.7 && -1.7 <= *f.slope_ci_high) ++covered;
  }
  EXPECT_NEAR(covered / double(trials), 0.95, 0.015);
}

TEST(RateFit, PowerLawExponent) {
  std::vector<double> eta = {0.04, 0.02, 0.01, 0.005}, err;
  for (double e : eta) err.push_back(3.0 * std::pow(e, 1.5));
  const PowerLawFit f = fit_power_law(eta, err);
  EXPECT_NEAR(f.exponent, 1.5, 1e-12);
  EXPECT_NEAR(f.prefactor, 3.0, 1e-10);
  EXPECT_THROW(fit_power_law({1, 2}, {1, 0}), InputError);
}

TEST(RateFit, ExponentialTailRecognisedWithItsRate) {
  std::vector<double> tau, gap;
  for (int k = 0; k <= 100; ++k) {
    tau.push_back(0.1 * k);
    gap.push_back(2.0 * std::exp(-1.3 * 0.1 * k) + (k < 10 ? 0.5 * std::exp(-5.0 * 0.1 * k) : 0.0));
  }
  const ExponentialTailFit f = fit_exponential_tail(tau, gap);
  ASSERT_TRUE(f.fitted);
  EXPECT_TRUE(f.exponential) << f.verdict;
  EXPECT_NEAR(f.rate, 1.3, 1e-9);
  EXPECT_NEAR(f.amplitude, 2.0, 1e-7);
  EXPECT_GT(f.x_start, 4.9);  // the tail is the second half of the usable points
}

TEST(RateFit, PowerLawDecayIsReportedAsNotExponential) {
  std::vector<double> tau, gap;
  for (int k = 0; k <= 100; ++k) {
    tau.push_back(1.0 * k);
    gap.push_back(1.0 / std::pow(1.0 + k, 2.0));
  }
  const ExponentialTailFit f = fit_exponential_tail(tau, gap);
  ASSERT_TRUE(f.fitted);
  EXPECT_FALSE(f.exponential);
  EXPECT_NE(f.verdict.find("sub-exponential"), std::string::npos) << f.verdict;
}

TEST(RateFit, PointsBelowTheNoiseFloorAreExcluded) {
  std::vector<double> tau, gap;
  for (int k = 0; k <= 60; ++k) {
    tau.push_back(k);
    gap.push_back(k <= 40 ? std::exp(-0.5 * k) : 1e-17 * ((k % 2) ? 1 : -1));  // rounding noise after k = 40
  }
  ExponentialTailOptions o;
  o.noise_floor = 1e-14;
  const ExponentialTailFit f = fit_exponential_tail(tau, gap, o);
  EXPECT_TRUE(f.exponential) << f.verdict;
  EXPECT_NEAR(f.rate, 0.5, 1e-9);
  EXPECT_LE(f.x_end, 40);
  const ExponentialTailFit below = fit_exponential_tail({0, 1, 2}, {-0.1, -0.2, -0.3});
  EXPECT_FALSE(below.fitted);
  EXPECT_NE(below.verdict.find("negative"), std::string::npos) << below.verdict;
  const ExponentialTailFit none = fit_exponential_tail({0, 1, 2}, {1, 0.5, 0.25});
  EXPECT_FALSE(none.fitted);
  EXPECT_NE(none.verdict.find("no fit"), std::string::npos);
}

// Times that do not increase along the tail (every flow time 0 without label noise): no rate over
// time exists; the fit says so instead of throwing "all x values are equal" after a finished run.
TEST(RateFit, ExponentialTailOverConstantTimeIsNotApplicable) {
  std::vector<double> tau(20, 0.0), gap;
  for (int k = 0; k < 20; ++k) gap.push_back(std::exp(-0.1 * k));
  ExponentialTailFit f;
  ASSERT_NO_THROW(f = fit_exponential_tail(tau, gap));
  EXPECT_FALSE(f.applicable);
  EXPECT_FALSE(f.fitted);
  EXPECT_EQ(f.verdict.rfind("not applicable: the times of the tail points do not increase", 0), 0u) << f.verdict;
  // A repeated time inside the tail likewise.
  for (int k = 0; k < 20; ++k) tau[k] = k;
  tau[15] = tau[14];
  ASSERT_NO_THROW(f = fit_exponential_tail(tau, gap));
  EXPECT_FALSE(f.applicable);
  // Increasing times: applicable.
  tau[15] = 15;
  EXPECT_TRUE(fit_exponential_tail(tau, gap).applicable);
}

}  // namespace
