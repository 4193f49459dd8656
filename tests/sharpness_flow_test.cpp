// The limiting flow d beta/dt = -C grad_M T (THEORY 7-8): its right-hand side against the dense
// reference, its end point against independent integrations (another method, the tightest
// tolerance, full coordinates) and, for long times, against the closed-form minimum of THEORY 5.

#include <gtest/gtest.h>

#include <cmath>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/reference.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/dynamics/sharpness_flow.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

using namespace zeroloss;
using zeroloss::test::rel_error;

namespace {

// Closed form of THEORY 5 for a = 1: r*_i = phi^{-1}(y_i / m), T* = (1/n) sum_i ||x_i||^2 m phi'(r*_i)^2.
struct ClosedForm {
  Eigen::VectorXd r;
  double T;
};
ClosedForm closed_form_a1(const TwoLayerModel& model) {
  ClosedForm c;
  const int n = model.n(), m = model.m();
  c.r.resize(n);
  c.T = 0;
  for (int i = 0; i < n; ++i) {
    c.r(i) = model.activation().inverse(model.y()(i) / m);
    c.T += model.row_norms_squared()(i) * m * std::pow(model.activation().derivatives(c.r(i)).d1, 2) / n;
  }
  return c;
}

TEST(SharpnessFlow, VelocityIsMinusCTimesDenseRiemannianGradient) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "sinh", true, 3, 0.5);
  const Eigen::MatrixXd v = sharpness_flow_velocity(p.model, p.theta, 0.37);
  const Eigen::MatrixXd expected = -0.37 * unvectorize(reference::riemannian_gradient(p.model, p.theta), 4, 5);
  EXPECT_LT(rel_error(v, expected), 1e-10);
}

TEST(SharpnessFlow, DecreasesSharpnessStaysOnManifoldAndHitsSampleTimes) {
  auto p = test::random_problem_on_manifold(3, 3, 5, "cubic", false, 12, 0.6);
  FlowOptions o;
  o.coefficient = 1.0;
  o.t_end = 0.2;
  for (int q = 1; q <= 10; ++q) o.sample_times.push_back(0.02 * q);
  std::vector<double> times, T;
  const FlowResult r = integrate_sharpness_flow(p.model, p.theta, o, [&](const FlowSample& s) {
    times.push_back(s.t);
    T.push_back(s.sharpness);
    EXPECT_LT(max_residual(p.model, *s.beta), 1e-12);
    return true;
  });
  ASSERT_TRUE(r.summary.completed) << r.summary.termination;
  ASSERT_EQ(times.size(), 11u);  // t = 0 and the ten sample times (the last one is t_end)
  for (int q = 0; q <= 10; ++q) EXPECT_EQ(times[q], 0.02 * q);
  for (size_t k = 1; k < T.size(); ++k) EXPECT_LT(T[k], T[k - 1]) << "T must decrease along the flow";
  EXPECT_GT(r.summary.accepted, 10u);
  EXPECT_LT(r.summary.max_constraint_drift, 1e-6);
  EXPECT_GT(r.summary.max_constraint_drift, 0.0);
  EXPECT_LT(r.summary.final_gradient_norm, r.summary.initial_gradient_norm);
}

TEST(SharpnessFlow, ReprojectionKeepsLooseToleranceRunsOnManifold) {
  // With loose error control each step leaves M by more than 1e-12; the re-projection puts it back.
  auto p = test::random_problem_on_manifold(3, 3, 5, "cubic", true, 13, 0.7);
  FlowOptions o;
  o.t_end = 0.3;
  o.rtol = 1e-4;
  o.atol = 1e-6;
  for (int q = 1; q <= 30; ++q) o.sample_times.push_back(0.01 * q);
  int checked = 0;
  const FlowResult r = integrate_sharpness_flow(p.model, p.theta, o, [&](const FlowSample& s) {
    EXPECT_LT(max_residual(p.model, *s.beta), 1e-12) << "t = " << s.t;
    ++checked;
    return true;
  });
  EXPECT_EQ(checked, 31);
  EXPECT_GT(r.summary.max_constraint_drift, 1e-11) << "the drift before re-projection should be visible here";
}

TEST(SharpnessFlow, EndpointAgreesWithIndependentHighAccuracyIntegrations) {
  auto p = test::random_problem_on_manifold(3, 4, 4, "cubic", true, 5, 0.6);
  const ReducedCoordinates rc(p.model.X());
  const TwoLayerModel reduced = rc.reduce(p.model);
  const Eigen::MatrixXd beta0 = rc.reduce(p.theta);
  FlowOptions o;
  o.t_end = 0.5;
  const FlowResult standard = integrate_sharpness_flow(reduced, beta0, o);  // defaults: rkf78, rtol 1e-9
  FlowOptions tight = o;
  tight.rtol = 1e-13;
  tight.atol = 1e-15;
  const FlowResult rkf_tight = integrate_sharpness_flow(reduced, beta0, tight);
  tight.stepper = FlowStepper::DormandPrince5;
  tight.rtol = 1e-12;
  const FlowResult dopri = integrate_sharpness_flow(reduced, beta0, tight);
  // Full coordinates (no reduction), a different state dimension.
  const FlowResult full = integrate_sharpness_flow(p.model, p.theta, tight);
  // The linearly implicit method (its own Jacobian by central differences).
  FlowOptions ros = o;
  ros.stepper = FlowStepper::Rosenbrock4;
  ros.rtol = 1e-11;
  ros.atol = 1e-13;
  const FlowResult rosenbrock = integrate_sharpness_flow(reduced, beta0, ros);
  EXPECT_LT((rosenbrock.beta - rkf_tight.beta).norm(), 1e-8);
  EXPECT_LT((standard.beta - rkf_tight.beta).norm(), 1e-6);
  EXPECT_LT((standard.beta - dopri.beta).norm(), 1e-6);
  EXPECT_LT((rkf_tight.beta - dopri.beta).norm(), 1e-9);
  EXPECT_LT((rc.lift(rkf_tight.beta, p.theta) - full.beta).norm(), 1e-8);
  EXPECT_GT((standard.beta - beta0).norm(), 1e-2) << "the flow must have moved";
  EXPECT_GT(rkf_tight.summary.accepted, standard.summary.accepted);
}

TEST(SharpnessFlow, RosenbrockTakesFarFewerStepsOnAStiffSaturatingRun) {
  // tanh, labels = outputs at theta: the flow lowers T by drifting slowly towards saturation
  // (phi' -> 0) while fast modes limit explicit steps (THEORY 8's stiffness). Both methods must
  // agree; the linearly implicit one needs far fewer steps.
  Eigen::MatrixXd X(3, 5), theta(6, 5);
  X << -0.10561694952863462, 0.65320711379396268, -0.2905713507678534, 0.062570596579574631, -0.30002960489711994,
      0.032451873653921, 0.34897033220753187, 0.32554948659282174, -0.25731897731955489, 0.86043345127627635,
      -1.012646757672234, -0.22519900644380297, 0.11560264896059073, 0.25404958697993718, -0.52983497221363896;
  theta << -0.040242261089373357, -0.0075400121539518031, -0.014299827550878512, 1.2709162081798833,
      -0.21136387009563629, -0.39044692149876314, 0.32497373568040461, -0.93546431019269127, 0.098800452765136909,
      -0.41258769430584152, 0.58739585116580495, 0.28778920536494018, 0.68472680278530873, 0.44145313441598982,
      -0.35992494837215183, -0.023573326243997671, -0.45892114393471628, 0.61474447527551779, -0.5342603983177453,
      -1.3015378086608709, -0.90830732747072551, -0.30927923539320107, 1.0646964910766301, -1.1739992503461116,
      0.9502280739876009, -0.65169192763318207, 0.64283901972758506, 0.16502602150314971, -0.47551464420365014,
      -1.1283103696030368;
  const TwoLayerModel base(X, Eigen::VectorXd::Zero(3), Eigen::VectorXd::Ones(6), Activation::tanh());
  const TwoLayerModel model = base.with_labels(network_outputs(base, theta));
  FlowOptions e;
  e.t_end = 1e5;
  FlowOptions r = e;
  r.stepper = FlowStepper::Rosenbrock4;
  const FlowResult explicit_run = integrate_sharpness_flow(model, theta, e);
  const FlowResult implicit_run = integrate_sharpness_flow(model, theta, r);
  EXPECT_LT((explicit_run.beta - implicit_run.beta).norm(), 1e-6 * explicit_run.beta.norm());
  EXPECT_LT(explicit_run.summary.final_sharpness, 0.1 * SharpnessGeometry(model, theta).sharpness());
  const auto steps = [](const FlowResult& f) { return f.summary.accepted + f.summary.rejected; };
  EXPECT_LT(4 * steps(implicit_run), steps(explicit_run))
      << "rosenbrock4 " << steps(implicit_run) << " vs rkf78 " << steps(explicit_run);
}

TEST(SharpnessFlow, OverlongTrialStepsAreUndoneNotFatal) {
  // A first trial step of 1e6 overflows the cubic: the stages leave the finite numbers, the step is
  // undone and shrunk, and the run still agrees with a normally started one.
  auto p = test::random_problem_on_manifold(3, 3, 4, "cubic", false, 6, 0.6);
  FlowOptions normal;
  normal.t_end = 0.5;
  normal.rtol = 1e-12;
  FlowOptions wild = normal;
  wild.initial_step = 1e6;
  const FlowResult a = integrate_sharpness_flow(p.model, p.theta, normal);
  const FlowResult b = integrate_sharpness_flow(p.model, p.theta, wild);
  EXPECT_TRUE(b.summary.completed) << b.summary.termination;
  EXPECT_GT(b.summary.rejected, 0u);
  EXPECT_LT((a.beta - b.beta).norm(), 1e-8);
}

TEST(SharpnessFlow, FlowTimeIsCoefficientTimesT) {
  auto p = test::random_problem_on_manifold(2, 3, 3, "sinh", false, 8, 0.5);
  FlowOptions a, b;
  a.coefficient = 1.0;
  a.t_end = 0.3;
  a.rtol = b.rtol = 1e-12;
  b.coefficient = 4.0;
  b.t_end = 0.075;
  const FlowResult ra = integrate_sharpness_flow(p.model, p.theta, a);
  const FlowResult rb = integrate_sharpness_flow(p.model, p.theta, b);
  EXPECT_NEAR(ra.summary.tau_reached, rb.summary.tau_reached, 1e-15);
  EXPECT_LT((ra.beta - rb.beta).norm(), 1e-9);
  EXPECT_GT((ra.beta - p.theta).norm(), 1e-3);
}

TEST(SharpnessFlow, LongTimeLimitIsTheClosedFormRankOneMinimum) {
  // The paper's sizes: n = d = 3, m = 10, a = 1, cubic (Gaussian data here).
  for (unsigned seed : {1u, 2u}) {
    auto base = test::random_problem_on_manifold(3, 3, 10, "cubic", false, seed, 0.5);
    const ClosedForm cf = closed_form_a1(base.model);
    FlowOptions o;
    o.t_end = 1e6;
    o.until_gradient = 1e-10;
    const FlowResult r = integrate_sharpness_flow(base.model, base.theta, o);
    ASSERT_TRUE(r.summary.completed) << r.summary.termination;
    EXPECT_LT(r.summary.final_gradient_norm, 1e-10);
    const Eigen::MatrixXd R = base.model.X() * r.beta.transpose();
    for (int j = 0; j < 10; ++j) EXPECT_LT((R.col(j) - cf.r).norm(), 1e-6) << "neuron " << j;
    EXPECT_NEAR(r.summary.final_sharpness, cf.T, 1e-9 * cf.T);
  }
}

TEST(SharpnessFlow, LongTimeLimitWithMixedSignSecondLayerIsTheLibraryClosedForm) {
  // General a (THEORY 5): the flow ends where a_j phi''(r_ij) = c_i; compare with sharpness_minimum.
  auto p = test::random_problem_on_manifold(3, 3, 5, "cubic", /*mixed_a=*/true, 31, 0.5);
  const SharpnessMinimum opt = sharpness_minimum(p.model, p.theta);
  ASSERT_TRUE(opt.closed_form) << opt.message;
  FlowOptions o;
  o.t_end = 1e6;
  o.until_gradient = 1e-11;
  const FlowResult r = integrate_sharpness_flow(p.model, p.theta, o);
  ASSERT_TRUE(r.summary.completed) << r.summary.termination;
  const Eigen::MatrixXd R = p.model.X() * r.beta.transpose();
  EXPECT_LT((R - opt.preactivations).norm(), 1e-6 * opt.preactivations.norm());
  EXPECT_NEAR(r.summary.final_sharpness, opt.sharpness, 1e-9 * opt.sharpness);
  // The phi''-image [a_j phi''(r_ij)] has rank one at the limit.
  Eigen::MatrixXd image(3, 5);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) image(i, j) = p.model.a()(j) * p.model.activation().derivatives(R(i, j)).d2;
  const Eigen::VectorXd sv = Eigen::JacobiSVD<Eigen::MatrixXd>(image).singularValues();
  EXPECT_LT(sv(1), 1e-6 * sv(0));
}

TEST(SharpnessFlow, UntilGradientStopsEarlyAndObserverCanStop) {
  auto p = test::random_problem_on_manifold(3, 3, 4, "cubic", false, 2, 0.5);
  FlowOptions o;
  o.t_end = 1e6;
  o.until_gradient = 1e-3;
  const FlowResult r = integrate_sharpness_flow(p.model, p.theta, o);
  EXPECT_TRUE(r.summary.completed);
  EXPECT_LT(r.summary.final_gradient_norm, 1e-3);
  EXPECT_LT(r.summary.t_reached, 1e6);
  EXPECT_NE(r.summary.termination.find("grad"), std::string::npos);
  int calls = 0;
  FlowOptions o2;
  o2.t_end = 1.0;
  o2.sample_times = {0.1, 0.2, 0.3};
  const FlowResult stopped = integrate_sharpness_flow(p.model, p.theta, o2, [&](const FlowSample&) { return ++calls < 2; });
  EXPECT_FALSE(stopped.summary.completed);
  EXPECT_EQ(stopped.summary.t_reached, 0.1);
}

TEST(SharpnessFlow, RejectsStartOffManifoldAndBadOptions) {
  auto p = test::random_problem(3, 3, 4, "cubic", false, 2, 0.5);  // labels unrelated to theta: off M
  FlowOptions o;
  EXPECT_THROW(integrate_sharpness_flow(p.model, p.theta, o), InputError);
  auto q = test::random_problem_on_manifold(3, 3, 4, "cubic", false, 2, 0.5);
  o.coefficient = -1;
  EXPECT_THROW(integrate_sharpness_flow(q.model, q.theta, o), InputError);
  o.coefficient = 1;
  o.rtol = 0;
  EXPECT_THROW(integrate_sharpness_flow(q.model, q.theta, o), InputError);
  EXPECT_THROW(parse_flow_stepper("rk4"), InputError);
}

}  // namespace
