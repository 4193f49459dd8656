// Claim 2's prediction and its measurement: the final rate of T - T* along the flow is 2 lambda_min
// (lambda_min of the Riemannian Hessian of T at T*, which `zeroloss optimum` reports as
// hessian_lambda_min), checked against an independent route, the rate the integrated flow shows; and
// the two measurements the report makes of a decay (numerics/rate_fit.hpp): the rate over a window of levels
// of T - T*, and the local rate profile.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
#include "zeroloss/dynamics/sharpness_flow.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

using namespace zeroloss;

namespace {

// A plateau at 5 until tau = 10, then 5 exp(-0.3 (tau - 10)), floored at 1e-15 (rounding).
std::vector<double> plateau_then_decay(const std::vector<double>& tau) {
  std::vector<double> gap;
  for (double t : tau) gap.push_back(t < 10 ? 5.0 : std::max(5.0 * std::exp(-0.3 * (t - 10)), 1e-15));
  return gap;
}

std::vector<double> grid(double step, int points) {
  std::vector<double> tau;
  for (int k = 0; k < points; ++k) tau.push_back(step * k);
  return tau;
}

TEST(ExponentialWindowFit, FitsOnlyThePointsInsideTheWindowOfLevels) {
  const std::vector<double> tau = grid(0.25, 800);  // to tau = 200: the floor is reached near tau = 125
  const std::vector<double> gap = plateau_then_decay(tau);
  const ExponentialTailFit f = fit_exponential_window(tau, gap, 1e-11, 1e-8);
  ASSERT_TRUE(f.fitted) << f.verdict;
  EXPECT_NEAR(f.rate, 0.3, 1e-10);
  EXPECT_TRUE(f.exponential);
  EXPECT_GE(f.x_start, 10 + std::log(5.0 / 1e-8) / 0.3 - 0.25);
  EXPECT_LE(f.x_end, 10 + std::log(5.0 / 1e-11) / 0.3 + 0.25);
  EXPECT_EQ(f.points, 92);  // 3 decades at 0.3 per unit time, 4 points per unit
  // The earlier rule's window (the tail of the points above 1e-12) would include the floor; the
  // window of levels does not see it, nor the plateau.
  const ExponentialTailFit on_plateau = fit_exponential_window(tau, gap, 1, 10);
  ASSERT_TRUE(on_plateau.fitted);
  EXPECT_NEAR(on_plateau.rate, 0.3, 0.3);  // a plateau and the first decay: not the final rate
}

TEST(ExponentialWindowFit, TooFewPointsOrABadWindow) {
  const std::vector<double> tau = grid(0.25, 800);
  const std::vector<double> gap = plateau_then_decay(tau);
  const ExponentialTailFit none = fit_exponential_window(tau, gap, 1e-20, 1e-16);
  EXPECT_FALSE(none.fitted);
  EXPECT_EQ(none.points, 0);
  EXPECT_NE(none.verdict.find("no fit"), std::string::npos) << none.verdict;
  const ExponentialTailFit few = fit_exponential_window(tau, gap, 1e-9, 1e-8, 40);
  EXPECT_FALSE(few.fitted);
  EXPECT_THROW(fit_exponential_window(tau, gap, 1e-8, 1e-11), InputError);
  EXPECT_THROW(fit_exponential_window(tau, gap, 0, 1e-8), InputError);
  EXPECT_THROW(fit_exponential_window(tau, gap, 1e-11, 1e-8, 2), InputError);
  EXPECT_THROW(fit_exponential_window({0, 1}, {1}, 1e-11, 1e-8), InputError);
}

TEST(LocalDecayRates, ArePerPairAndStopAtTheFloor) {
  const std::vector<double> tau = grid(0.5, 200);
  const std::vector<double> gap = plateau_then_decay(tau);
  const std::vector<LocalRate> r = local_decay_rates(tau, gap, 1e-11);
  ASSERT_FALSE(r.empty());
  for (const LocalRate& x : r) {
    if (x.x < 10)
      EXPECT_EQ(x.rate, 0.0) << x.x;
    else
      EXPECT_NEAR(x.rate, 0.3, 1e-9) << x.x;
    EXPECT_LT(x.x, 10 + std::log(5.0 / 1e-11) / 0.3);
  }
  EXPECT_DOUBLE_EQ(r.front().x, 0.25);
  EXPECT_THROW(local_decay_rates(tau, gap, 0), InputError);
}

// The flow of T from a random point of M, integrated with the implicit method until the predicted
// decay exp(-2 lambda_min tau) covers 16 decades; its rate where 1e-11 <= (T - T*)/T* <= 1e-8
// (the report's window) against 2 lambda_min from sharpness_minimum.
double measured_over_predicted(const test::RandomProblem& p) {
  const SharpnessMinimum opt = sharpness_minimum(p.model, p.theta);
  EXPECT_TRUE(opt.closed_form) << opt.message;
  const double lambda = opt.hessian_min_eigenvalue;
  EXPECT_GT(lambda, 0);
  FlowOptions o;
  o.coefficient = 1.0;
  o.stepper = FlowStepper::Rosenbrock4;
  o.t_end = 16 * std::log(10.0) / (2 * lambda);
  for (int q = 1; q <= 1000; ++q) o.sample_times.push_back(o.t_end * q / 1000);
  std::vector<double> tau, gap;
  const FlowResult r = integrate_sharpness_flow(p.model, p.theta, o, [&](const FlowSample& s) {
    tau.push_back(s.tau);
    gap.push_back((s.sharpness - opt.sharpness) / opt.sharpness);
    return true;
  });
  EXPECT_TRUE(r.summary.completed) << r.summary.termination;
  EXPECT_LT(std::abs(gap.back()), 1e-12);  // it reached T* to rounding
  const ExponentialTailFit f = fit_exponential_window(tau, gap, 1e-11, 1e-8);
  EXPECT_TRUE(f.fitted) << f.verdict;
  EXPECT_GT(f.points, 100);
  return f.rate / (2 * lambda);
}

TEST(FlowRatePrediction, TheFinalRateOfTheFlowIsTwiceLambdaMin) {
  // a = 1, cubic, n = 3 < d = 5 (the report's sizes); and a mixed-sign a with sinh.
  EXPECT_NEAR(measured_over_predicted(test::random_problem_on_manifold(3, 5, 4, "cubic", false, 5, 0.5)), 1.0, 2e-3);
  EXPECT_NEAR(measured_over_predicted(test::random_problem_on_manifold(3, 4, 5, "sinh", true, 8, 0.5)), 1.0, 2e-3);
}

}  // namespace
