// Riemannian trust-region Newton (manifold/riemannian_trust_region.hpp) against independent routes:
// the closed-form minimum of T for the two-layer network (THEORY 5, sharpness_minimum), the
// certified weighted basis pursuit of the diagonal network (THEORY 9, diagonal_linear_optimum: a
// flow, an exact support solve and a dual certificate), and, where no closed form exists, the
// second-order condition checked by Lanczos on the Hessian (hessian_spectrum.hpp). The iteration
// log is checked for local quadratic convergence: g_{k+1} / g_k^2 bounded over the last iterations.

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <iomanip>
#include <random>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/riemannian_trust_region.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss {
namespace {

// Largest g_{k+1} / g_k^2 over accepted steps with 1e-7 <= g_k <= g_max: the constant of quadratic
// convergence. Below 1e-7 a quadratic step lands under the rounding floor of the computed gradient
// (about 1e-15..1e-13 here), which says nothing about the rate. Also counts those steps.
double quadratic_constant(const TrustRegionSummary& s, double g_max, int* steps) {
  double worst = 0;
  *steps = 0;
  double g_prev = s.log.front().gradient_norm;
  for (std::size_t k = 1; k < s.log.size(); ++k) {
    const TrustRegionIteration& row = s.log[k];
    if (!row.accepted) continue;
    if (g_prev <= g_max && g_prev >= 1e-7) {
      worst = std::max(worst, row.gradient_norm / (g_prev * g_prev));
      ++*steps;
    }
    g_prev = row.gradient_norm;
  }
  return worst;
}

// The log as text, for failure messages.
std::string log_text(const TrustRegionSummary& s) {
  std::ostringstream o;
  o.precision(3);
  for (const TrustRegionIteration& r : s.log)
    o << r.iteration << " T=" << std::setprecision(15) << r.value << std::setprecision(3) << " g=" << r.gradient_norm
      << " Delta=" << r.radius << " rho=" << r.rho << " |eta|=" << r.step_norm << " inner=" << r.inner_iterations
      << " " << to_string(r.stop) << (r.accepted ? " acc" : " REJ") << "\n";
  return o.str();
}

// lambda_min of Hess_M T on the non-trivial tangent part at theta (two-layer, reduced coordinates).
HessianExtremes extremes_at(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  const ReducedCoordinates rc(model.X());
  const auto reduced = std::make_shared<const TwoLayerNetwork>(rc.reduce(model));
  const RiemannianSharpness at(reduced, reduced->parameters(rc.reduce(theta)));
  LanczosOptions lo;
  return riemannian_hessian_extremes(at, lo);
}

struct Case {
  int n, d, m;
  const char* activation;
  bool mixed_a;
};

class TwoLayerClosedForm : public testing::TestWithParam<Case> {};

// Closed form exists (rank X = n, THEORY 5's assumptions hold): the trust region reaches
// ||grad_M T|| < 1e-12 from a random point of M and lands on T* of the closed form.
TEST_P(TwoLayerClosedForm, ReachesTheClosedFormMinimumQuadratically) {
  const Case c = GetParam();
  const test::RandomProblem p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 7 + c.m);
  const SharpnessMinimum star = sharpness_minimum(p.model, p.theta);
  ASSERT_TRUE(star.closed_form) << star.message;
  ASSERT_EQ(star.kind, OptimumKind::GlobalMinimum);
  const TwoLayerTrustRegionMinimization r = minimize_sharpness_trust_region(p.model, p.theta);
  ASSERT_TRUE(r.summary.converged) << r.summary.message;
  EXPECT_LT(r.summary.gradient_norm, 1e-12);
  EXPECT_LT(max_residual(p.model, r.theta), 1e-12);
  EXPECT_NEAR(r.summary.final_value, star.sharpness, 1e-12 * star.sharpness);
  // The gradient reported by the solver (reduced coordinates, generic formulas) against the
  // structured full-coordinate geometry.
  EXPECT_LT(SharpnessGeometry(p.model, r.theta).riemannian_gradient().norm(), 1e-11);
  // Same pre-activations (the minimiser is unique in the span of the data).
  const Eigen::MatrixXd R = p.model.X() * r.theta.transpose();
  EXPECT_LT((R - star.preactivations).norm(), 1e-9 * (1 + R.norm()));
  int steps = 0;
  const double C = quadratic_constant(r.summary, 1e-3, &steps);
  EXPECT_GE(steps, 1);
  EXPECT_LT(C, 1e3) << "g_{k+1}/g_k^2 not bounded: not quadratic\n" << log_text(r.summary);
}

INSTANTIATE_TEST_SUITE_P(Configs, TwoLayerClosedForm,
                         testing::Values(Case{3, 5, 4, "cubic", false}, Case{4, 6, 5, "cubic", true},
                                         Case{3, 5, 4, "sinh", false}, Case{5, 12, 8, "sinh", true}));

class TwoLayerNoClosedForm : public testing::TestWithParam<Case> {};

// tanh (THEORY 5's assumptions fail), softplus, and n > d (rank X < n: no closed form): the trust
// region reaches ||grad_M T|| < 1e-12 at a point whose Hessian on the non-trivial tangent part is
// positive definite (Lanczos, converged), i.e. a strict local minimum; T is below its start.
TEST_P(TwoLayerNoClosedForm, ReachesAStrictLocalMinimum) {
  const Case c = GetParam();
  const test::RandomProblem p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 11 + c.n);
  const TwoLayerTrustRegionMinimization r = minimize_sharpness_trust_region(p.model, p.theta);
  ASSERT_TRUE(r.summary.converged) << r.summary.message;
  EXPECT_LT(r.summary.gradient_norm, 1e-12);
  EXPECT_LT(max_residual(p.model, r.theta), 1e-12);
  EXPECT_LT(r.summary.final_value, r.summary.initial_value);
  EXPECT_LT(SharpnessGeometry(p.model, r.theta).riemannian_gradient().norm(), 1e-11);
  const HessianExtremes h = extremes_at(p.model, r.theta);
  ASSERT_TRUE(h.converged);
  EXPECT_GT(h.lambda_min(), 1e-8 * h.lambda_max()) << log_text(r.summary);
  int steps = 0;
  const double C = quadratic_constant(r.summary, 1e-3, &steps);
  EXPECT_GE(steps, 1);
  EXPECT_LT(C, 1e3) << log_text(r.summary);
}

INSTANTIATE_TEST_SUITE_P(Configs, TwoLayerNoClosedForm,
                         testing::Values(Case{7, 3, 3, "tanh", false},
                                         Case{7, 3, 3, "softplus", false}, Case{9, 4, 3, "softplus", true},
                                         Case{6, 3, 5, "cubic", false}, Case{9, 4, 4, "sinh", true}));

Eigen::VectorXd random_vector(int size, unsigned seed, double scale = 1.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, scale);
  Eigen::VectorXd v(size);
  for (int i = 0; i < size; ++i) v(i) = normal(gen);
  return v;
}

// Diagonal network: the trust region from random starts reaches T* = (4/n) min sum_k c_k |w_k| over
// X w = y, certified by diagonal_linear_optimum (whose LP optimum its own test checks against GLPK).
TEST(DiagonalTrustRegion, ReachesTheCertifiedWeightedBasisPursuit) {
  for (auto [n, d, seed] : {std::tuple{3, 8, 1u}, std::tuple{4, 10, 2u}, std::tuple{5, 12, 3u}}) {
    SCOPED_TRACE(seed);
    const Eigen::MatrixXd X = Eigen::Map<const Eigen::MatrixXd>(random_vector(n * d, 100 + seed).data(), n, d);
    const Eigen::VectorXd y = random_vector(n, 200 + seed);
    const auto model = std::make_shared<const DiagonalLinearNetwork>(X, y);
    const DiagonalLinearOptimum optimum = diagonal_linear_optimum(*model, random_vector(2 * d, 300 + seed));
    for (unsigned start_seed = 0; start_seed < 3; ++start_seed) {
      SCOPED_TRACE(start_seed);
      const Eigen::VectorXd start = random_vector(2 * d, 1000 + 10 * seed + start_seed);
      const TrustRegionMinimization r = minimize_sharpness_trust_region(model, start);
      ASSERT_TRUE(r.summary.converged) << r.summary.message << "\n" << log_text(r.summary);
      EXPECT_TRUE(r.summary.start_projected);
      EXPECT_LT(r.summary.gradient_norm, 1e-12);
      EXPECT_NEAR(r.summary.final_value, optimum.sharpness, 1e-12 * optimum.sharpness);
      EXPECT_LT((model->linear_weights(r.theta) - optimum.w).cwiseAbs().maxCoeff(),
                1e-10 * optimum.w.cwiseAbs().maxCoeff());
      int steps = 0;
      EXPECT_LT(quadratic_constant(r.summary, 1e-3, &steps), 1e3) << log_text(r.summary);
      EXPECT_GE(steps, 1) << log_text(r.summary);
    }
  }
}

// The log is consistent: row 0 is the start, rows are numbered, rejected steps keep T, accepted
// steps never increase T beyond the rounding allowance, and the products add up.
TEST(TrustRegionLog, RowsDescribeTheIterations) {
  const test::RandomProblem p = test::random_problem_on_manifold(3, 5, 4, "tanh", false, 5);
  const TwoLayerTrustRegionMinimization r = minimize_sharpness_trust_region(p.model, p.theta);
  const TrustRegionSummary& s = r.summary;
  ASSERT_EQ(static_cast<int>(s.log.size()), s.iterations + 1);
  EXPECT_EQ(s.log[0].stop, TruncatedCgStop::None);
  EXPECT_TRUE(std::isnan(s.log[0].rho));
  long products = 0;
  for (std::size_t k = 1; k < s.log.size(); ++k) {
    EXPECT_EQ(s.log[k].iteration, static_cast<int>(k));
    EXPECT_LE(s.log[k].step_norm, s.log[k].radius * (1 + 1e-12));
    products += s.log[k].inner_iterations;
    if (!s.log[k].accepted) EXPECT_EQ(s.log[k].value, s.log[k - 1].value);
    else EXPECT_LE(s.log[k].value, s.log[k - 1].value + 1e-12 * std::abs(s.log[k - 1].value));
  }
  EXPECT_EQ(products, s.hessian_products);
  EXPECT_EQ(s.final_value, s.log.back().value);
  EXPECT_EQ(s.gradient_norm, s.log.back().gradient_norm);
}

TEST(TrustRegionOptions, BadValuesAreNamedInputErrors) {
  const test::RandomProblem p = test::random_problem_on_manifold(3, 5, 4, "cubic", false, 3);
  const auto expect_rejected = [&](TrustRegionOptions o, const std::string& name) {
    EXPECT_FALSE(o.is_valid()) << name;
    EXPECT_NE(o.validation_error().find(name), std::string::npos) << o.validation_error();
    try {
      minimize_sharpness_trust_region(p.model, p.theta, o);
      ADD_FAILURE() << "accepted bad " << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  EXPECT_TRUE(TrustRegionOptions{}.is_valid());
  TrustRegionOptions o;
  o.max_iterations = -1;
  expect_rejected(o, "max_iterations");
  o = {};
  o.gradient_tolerance = 0;
  expect_rejected(o, "gradient_tolerance");
  o = {};
  o.gradient_tolerance = std::nan("");
  expect_rejected(o, "gradient_tolerance");
  o = {};
  o.max_radius = -1;
  expect_rejected(o, "max_radius");
  o = {};
  o.max_radius = 1;
  o.initial_radius = 2;
  expect_rejected(o, "initial_radius");
  o = {};
  o.rho_prime = 0.25;
  expect_rejected(o, "rho_prime");
  o = {};
  o.kappa = 1;
  expect_rejected(o, "kappa");
  o = {};
  o.theta = 0;
  expect_rejected(o, "theta");
  o = {};
  o.max_inner_iterations = -2;
  expect_rejected(o, "max_inner_iterations");
  o = {};
  o.radius_floor = 0;
  expect_rejected(o, "radius_floor");
  o = {};
  o.rho_regularization = -1;
  expect_rejected(o, "rho_regularization");
  o = {};
  o.stall_iterations = -1;
  expect_rejected(o, "stall_iterations");
}

// A tolerance below the gradient's rounding floor (1e-30; the floor is about 1e-15 here): without
// the stall test the method would accept rounding-noise steps with rho ~ 1 until the iteration
// limit (the n > d run of docs/performance.md section 10 did so for 2000 iterations). With it, the
// method stops as GradientStalled soon after reaching the floor, at the same minimum as a run with a
// reachable tolerance, and reports the floor, which a rerun with that tolerance then meets.
TEST(TrustRegionStall, AToleranceBelowTheRoundingFloorStopsAsStalledAtTheFloor) {
  const test::RandomProblem p = test::random_problem_on_manifold(4, 6, 5, "cubic", true, 12);
  TrustRegionOptions o;
  o.gradient_tolerance = 1e-30;
  o.max_iterations = 400;
  const TwoLayerTrustRegionMinimization r = minimize_sharpness_trust_region(p.model, p.theta, o);
  ASSERT_EQ(r.summary.termination, TrustRegionTermination::GradientStalled) << log_text(r.summary);
  EXPECT_FALSE(r.summary.converged);
  EXPECT_LT(r.summary.iterations, 100) << log_text(r.summary);
  EXPECT_NE(r.summary.message.find("rounding floor"), std::string::npos) << r.summary.message;
  // The floor is the smallest gradient of the log, and it is at rounding level.
  double smallest = r.summary.log.front().gradient_norm;
  for (const TrustRegionIteration& row : r.summary.log) smallest = std::min(smallest, row.gradient_norm);
  EXPECT_EQ(r.summary.gradient_floor, smallest);
  EXPECT_LT(r.summary.gradient_floor, 1e-12);
  // The last stall_iterations rows neither halved the gradient nor moved T above rounding.
  const std::size_t rows = r.summary.log.size();
  ASSERT_GT(rows, static_cast<std::size_t>(o.stall_iterations));
  for (std::size_t k = rows - o.stall_iterations; k < rows; ++k)
    EXPECT_NEAR(r.summary.log[k].value, r.summary.final_value, 1e-12 * r.summary.final_value);
  // Same minimum as a run that converges to a reachable tolerance, and a tolerance at the reported
  // floor is met from the same start.
  TrustRegionOptions reachable;
  reachable.gradient_tolerance = 1e-12;
  const TwoLayerTrustRegionMinimization c = minimize_sharpness_trust_region(p.model, p.theta, reachable);
  ASSERT_TRUE(c.summary.converged) << c.summary.message;
  EXPECT_NEAR(r.summary.final_value, c.summary.final_value, 1e-12 * c.summary.final_value);
  TrustRegionOptions at_floor;
  at_floor.gradient_tolerance = r.summary.gradient_floor;
  EXPECT_TRUE(minimize_sharpness_trust_region(p.model, p.theta, at_floor).summary.converged);
  // The stall test off: the same start runs to the iteration limit (or the radius floor), which is
  // what the stop prevents.
  o.stall_iterations = 0;
  o.max_iterations = 150;
  const TwoLayerTrustRegionMinimization off = minimize_sharpness_trust_region(p.model, p.theta, o);
  EXPECT_NE(off.summary.termination, TrustRegionTermination::GradientStalled);
  EXPECT_GT(off.summary.iterations, r.summary.iterations);
}

// Zero iterations allowed: the start is returned with its gradient, not converged (unless it is a
// critical point), and the termination says why.
TEST(TrustRegionOptions, IterationLimitIsReportedNotThrown) {
  const test::RandomProblem p = test::random_problem_on_manifold(3, 5, 4, "cubic", false, 3);
  TrustRegionOptions o;
  o.max_iterations = 0;
  const TwoLayerTrustRegionMinimization r = minimize_sharpness_trust_region(p.model, p.theta, o);
  EXPECT_FALSE(r.summary.converged);
  EXPECT_EQ(r.summary.termination, TrustRegionTermination::MaxIterations);
  EXPECT_LT((r.theta - p.theta).norm(), 1e-12 * p.theta.norm());
  EXPECT_GT(r.summary.gradient_norm, 1e-6);
}

}  // namespace
}  // namespace zeroloss
