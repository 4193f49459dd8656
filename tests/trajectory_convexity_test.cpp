// Convexity along trajectories (diagnostics/trajectory_convexity.hpp): the onset logic, the flow's states against
// independent routes (dense reference Hessian, dT/dtau = -||grad_M T||^2, a densely logged run for the
// refined onset), SGD against the flow it approximates, and the failure paths.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/geodesic.hpp"
#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/presentation/convexity_outputs.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/reference.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/diagnostics/trajectory_convexity.hpp"

using namespace zeroloss;

namespace {

// n = 3, d = 5, m = 4, cubic: the projected start has negative curvature (lambda_min = -2.14 at
// ||grad_M T|| = 14.2) and the flow becomes convex near tau = 0.25.
test::RandomProblem negative_start() { return test::random_problem(3, 5, 4, "cubic", false, 16, 0.8); }

TrajectoryConvexityPoint state(double tau, bool negative) {
  TrajectoryConvexityPoint p;
  p.tau = tau;
  p.grad_norm = 10 - tau;
  p.negative = negative;
  p.lambda_min = negative ? -1 : 1;
  return p;
}

TEST(TrajectoryConvexityOnset, FirstTimeFromWhichEveryLaterStateIsConvex) {
  // Negative, convex, negative again, then convex for good: the onset is after the last negative state.
  const ConvexityOnset o =
      convexity_onset({state(0, true), state(1, false), state(2, true), state(3, false), state(4, false)});
  EXPECT_EQ(o.negative_points, 2);
  EXPECT_FALSE(o.convex_throughout);
  EXPECT_TRUE(o.convex_at_end);
  ASSERT_TRUE(o.tau && o.last_negative_tau);
  EXPECT_EQ(*o.tau, 3);
  EXPECT_EQ(*o.last_negative_tau, 2);
  // Each gradient norm belongs to its own state: 10 - 2 at the last negative one, 10 - 3 at the onset.
  ASSERT_TRUE(o.grad_norm_at_onset && o.grad_norm_at_last_negative);
  EXPECT_EQ(*o.grad_norm_at_onset, 7);
  EXPECT_EQ(*o.grad_norm_at_last_negative, 8);
  // Convex at every state: the onset is the first state.
  const ConvexityOnset c = convexity_onset({state(0.5, false), state(1, false)});
  EXPECT_TRUE(c.convex_throughout);
  ASSERT_TRUE(c.tau);
  EXPECT_EQ(*c.tau, 0.5);
  EXPECT_EQ(*c.grad_norm_at_onset, 9.5);
  EXPECT_FALSE(c.last_negative_tau);
  EXPECT_FALSE(c.grad_norm_at_last_negative);
  // Negative at the end: no onset.
  const ConvexityOnset n = convexity_onset({state(0, false), state(1, true)});
  EXPECT_FALSE(n.tau);
  EXPECT_FALSE(n.grad_norm_at_onset);
  EXPECT_FALSE(n.convex_at_end);
  ASSERT_TRUE(n.last_negative_tau);
  EXPECT_EQ(*n.last_negative_tau, 1);
  ASSERT_TRUE(n.grad_norm_at_last_negative);
  EXPECT_EQ(*n.grad_norm_at_last_negative, 9);
  EXPECT_FALSE(convexity_onset({}).tau);
}

TEST(TrajectoryConvexityFlow, StatesMatchIndependentRoutesAndTheOnsetIsRefined) {
  const auto p = negative_start();
  FlowConvexityOptions o;
  o.flow_time = 0.5;
  o.points = 10;
  const TrajectoryConvexity r = flow_convexity(p.model, p.theta, o);
  ASSERT_TRUE(r.completed) << r.termination;
  ASSERT_EQ(r.points.size(), 11u);
  EXPECT_EQ(r.source, TrajectorySource::Flow);
  EXPECT_GT(r.start_projection_distance, 0);
  EXPECT_DOUBLE_EQ(r.tau_end, 0.5);
  for (std::size_t k = 0; k < r.points.size(); ++k) {
    const TrajectoryConvexityPoint& s = r.points[k];
    EXPECT_NEAR(s.tau, 0.05 * static_cast<double>(k), 1e-14);
    EXPECT_LT(max_residual(p.model, s.theta), 1e-11);
    // The components orthogonal to span{x_i} are those of the start.
    const ReducedCoordinates rc(p.model.X());
    EXPECT_LT((s.theta - rc.lift(rc.reduce(s.theta), p.theta)).norm(), 1e-12);
    // Dense reference formula (reduced coordinates: the tangent basis spans the non-trivial part).
    const TwoLayerModel red = rc.reduce(p.model);
    const Eigen::MatrixXd beta = rc.reduce(s.theta);
    const Eigen::MatrixXd B = tangent_basis(red, beta);
    const Eigen::MatrixXd H = B.transpose() * reference::riemannian_hessian(red, beta) * B;
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (H + H.transpose()));
    EXPECT_NEAR(s.lambda_min, es.eigenvalues()(0), 1e-9 * es.eigenvalues().cwiseAbs().maxCoeff()) << k;
    EXPECT_NEAR(s.lambda_max, es.eigenvalues().maxCoeff(), 1e-9 * es.eigenvalues().cwiseAbs().maxCoeff()) << k;
    EXPECT_NEAR(s.grad_norm, reference::riemannian_gradient(p.model, s.theta).norm(), 1e-9 * (1 + s.grad_norm));
    EXPECT_NEAR(s.sharpness, SharpnessGeometry(p.model, s.theta).sharpness(), 1e-12 * s.sharpness);
    EXPECT_EQ(s.negative, s.lambda_min < -1e-10 * std::max(std::abs(s.lambda_min), std::abs(s.lambda_max)));
  }
  // A gradient flow of T: T decreases, at the rate dT/dtau = -||grad_M T||^2 (trapezoid over each step).
  for (std::size_t k = 1; k < r.points.size(); ++k) {
    const auto& a = r.points[k - 1];
    const auto& b = r.points[k];
    EXPECT_LT(b.sharpness, a.sharpness);
    const double predicted = -0.5 * (a.grad_norm * a.grad_norm + b.grad_norm * b.grad_norm) * (b.tau - a.tau);
    EXPECT_NEAR(b.sharpness - a.sharpness, predicted, 0.15 * std::abs(predicted)) << k;
  }
  // It starts with negative curvature and becomes convex; the refined bracket lies inside the logged one
  // and is 32^2 times narrower.
  EXPECT_TRUE(r.points.front().negative);
  ASSERT_TRUE(r.onset.tau && r.onset.last_negative_tau);
  ASSERT_TRUE(r.refined_low && r.refined_high) << r.refine_note;
  EXPECT_GE(*r.refined_low, *r.onset.last_negative_tau);
  EXPECT_LE(*r.refined_high, *r.onset.tau);
  EXPECT_NEAR(*r.refined_high - *r.refined_low, 0.05 / (32 * 32), 1e-9);
  // Independent route: a run logged 40 times more densely brackets the same crossing.
  FlowConvexityOptions dense = o;
  dense.points = 400;
  dense.refine_passes = 0;
  const TrajectoryConvexity d = flow_convexity(p.model, p.theta, dense);
  ASSERT_TRUE(d.onset.tau && d.onset.last_negative_tau);
  EXPECT_FALSE(d.refined_low);
  EXPECT_LT(*r.refined_low, *d.onset.tau);
  EXPECT_GT(*r.refined_high, *d.onset.last_negative_tau);
  EXPECT_LT(*d.onset.tau - *d.onset.last_negative_tau, 0.0013);
}

TEST(TrajectoryConvexitySgd, FollowsTheFlowAndLogsTheRightSteps) {
  const auto p = negative_start();
  SgdConvexityOptions o;
  o.sgd.learning_rate = 0.005;
  o.sgd.label_noise = 1.0;
  o.sgd.batch_size = 1;
  o.sgd.seed = 7;
  o.steps = 64000;  // flow time s^2 eta^2 K / (4 B) = 0.4
  o.points = 8;
  const TrajectoryConvexity r = sgd_convexity(p.model, p.theta, o);
  ASSERT_TRUE(r.completed) << r.termination;
  ASSERT_EQ(r.points.size(), 9u);
  EXPECT_TRUE(r.failures.empty());
  EXPECT_NEAR(r.tau_end, 0.4, 1e-12);
  // Same seed, same bits.
  const TrajectoryConvexity again = sgd_convexity(p.model, p.theta, o);
  // Replay: run the SGD by hand to step 24000 and project the iterate with Phi_GF.
  const ReducedCoordinates rc(p.model.X());
  const TwoLayerModel red = rc.reduce(p.model);
  LabelNoiseSgd sgd(red, rc.reduce(p.theta), o.sgd);
  sgd.advance(24000);
  const ProjectionResult pr = project(red, sgd.weights(), ProjectionMethod::GradientFlow, o.projection_options);
  const TrajectoryConvexityPoint& s3 = r.points[3];
  EXPECT_EQ(s3.step, 24000u);
  EXPECT_NEAR(s3.tau, 0.25 * 0.005 * 0.005 * 24000, 1e-15);
  EXPECT_LT((s3.theta - rc.lift(pr.theta, p.theta)).norm(), 1e-12);
  EXPECT_NEAR(s3.projection_distance, (pr.theta - sgd.weights()).norm(), 1e-12);
  EXPECT_NEAR(s3.iterate_loss, evaluate(red, sgd.weights()).loss, 1e-15);
  for (std::size_t k = 0; k < r.points.size(); ++k) {
    EXPECT_EQ(r.points[k].lambda_min, again.points[k].lambda_min);
    EXPECT_LT(max_residual(p.model, r.points[k].theta), 1e-10);
  }
  // THEORY 7: the projected SGD follows the flow d Theta/d tau = -grad_M T from the same start
  // Phi_GF(Theta_0), with an error of order eta: halving eta about halves the distance.
  FlowConvexityOptions fo;
  fo.flow_time = 0.4;
  fo.points = 8;
  const TrajectoryConvexity f = flow_convexity(p.model, p.theta, fo);
  ASSERT_EQ(f.points.size(), r.points.size());
  EXPECT_LT((f.points[0].theta - r.points[0].theta).norm(), 1e-8);
  auto max_distance = [&](const TrajectoryConvexity& g, double* lambda_gap) {
    double worst = 0;
    *lambda_gap = 0;
    for (std::size_t k = 1; k < g.points.size(); ++k) {
      EXPECT_NEAR(g.points[k].tau, f.points[k].tau, 1e-12);
      worst = std::max(worst, (g.points[k].theta - f.points[k].theta).norm());
      *lambda_gap = std::max(*lambda_gap, std::abs(g.points[k].lambda_min - f.points[k].lambda_min));
    }
    return worst;
  };
  SgdConvexityOptions half = o;
  half.sgd.learning_rate = 0.0025;
  half.steps = 4 * o.steps;
  const TrajectoryConvexity h = sgd_convexity(p.model, p.theta, half);
  double gap_r = 0, gap_h = 0;
  const double dist_r = max_distance(r, &gap_r), dist_h = max_distance(h, &gap_h);
  EXPECT_LT(dist_r, 0.1);
  EXPECT_LT(dist_h, 0.7 * dist_r) << dist_r << " " << dist_h;
  EXPECT_LT(gap_h, 0.1);
  // Both see the same story: negative curvature at the start, convex at the end, onset close to the flow's.
  for (const TrajectoryConvexity* g : {&r, &h}) {
    EXPECT_TRUE(g->points.front().negative);
    EXPECT_FALSE(g->points.back().negative);
    ASSERT_TRUE(g->onset.tau && f.onset.tau);
    EXPECT_NEAR(*g->onset.tau, *f.onset.tau, 0.051);  // within one logged interval of the flow's
  }
}

TEST(TrajectoryConvexityInputs, BadOptionsThrowAndUnreachableStartsAreReported) {
  const auto p = negative_start();
  FlowConvexityOptions fo;
  fo.flow_time = 0;
  EXPECT_THROW(flow_convexity(p.model, p.theta, fo), InputError);
  SgdConvexityOptions so;
  so.sgd.label_noise = 0;  // the flow time would not advance
  EXPECT_THROW(sgd_convexity(p.model, p.theta, so), InputError);
  so.sgd.label_noise = 1;
  EXPECT_THROW(sgd_convexity(p.model, Eigen::MatrixXd::Zero(2, 5), SgdConvexityOptions{}), InputError);
  // tanh with y = 3.5 > m = 3: M is empty, Phi_GF runs off to infinity. The flow is not run, and says why.
  Eigen::MatrixXd X(1, 1);
  X << 1;
  const TwoLayerModel tanh3(X, Eigen::VectorXd::Constant(1, 3.5), Eigen::VectorXd::Ones(3), Activation::tanh());
  FlowConvexityOptions t;
  t.flow_time = 1;
  const TrajectoryConvexity r = flow_convexity(tanh3, Eigen::MatrixXd::Constant(3, 1, 1.5), t);
  EXPECT_FALSE(r.completed);
  EXPECT_TRUE(r.points.empty());
  EXPECT_NE(r.termination.find("not run"), std::string::npos) << r.termination;
  EXPECT_NE(r.termination.find("diverged"), std::string::npos) << r.termination;
  EXPECT_FALSE(r.onset.tau);
  // The projection says so with a ConvergenceError (it used to surface as an InputError about NaN weights).
  EXPECT_THROW(project_gradient_flow(tanh3, Eigen::MatrixXd::Constant(3, 1, 1.5)), ConvergenceError);
}

TEST(TrajectoryConvexityCsv, OneRowPerStateInFullPrecision) {
  TrajectoryConvexity a;
  a.points = {state(0, true), state(0.1, false)};
  a.points[0].source = a.points[1].source = TrajectorySource::Flow;
  a.points[1].grad_norm = 0.1 + 0.2;
  TrajectoryConvexity b;
  b.points = {state(0, true)};
  b.points[0].source = TrajectorySource::Sgd;
  b.points[0].step = 12;
  const std::string csv = trajectory_convexity_csv({a, b});
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "source,step,tau,grad_norm,lambda_min,lambda_max,T,negative,projection_distance,iterate_loss");
  std::getline(in, line);
  {
    // source, step, tau, grad_norm, lambda_min, lambda_max, T, negative, ...: compare the numbers read back.
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    ASSERT_EQ(cells.size(), 10u) << line;
    EXPECT_EQ(cells[0], "flow");
    EXPECT_EQ(cells[1], "0");
    EXPECT_EQ(std::stod(cells[2]), 0.0);
    EXPECT_EQ(std::stod(cells[3]), 10.0);
    EXPECT_EQ(std::stod(cells[4]), -1.0);
    EXPECT_EQ(cells[7], "1");
  }
  std::getline(in, line);
  EXPECT_NE(line.find("0.30000000000000004"), std::string::npos) << line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("sgd,12,", 0), 0u) << line;
  EXPECT_FALSE(std::getline(in, line));
}

TEST(ProjectionMessages, NewtonToleranceIsPrintedInShortScientificForm) {
  // The message used std::to_string, which printed the tolerance 1e-13 as "0.000000".
  const auto p = test::random_problem(3, 5, 4, "cubic", false, 3, 2.0);
  ProjectionOptions o;
  o.max_iterations = 1;
  try {
    project_newton(p.model, p.theta, o);
    FAIL() << "one Newton iteration from a far start should not converge";
  } catch (const ConvergenceError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find("0.000000"), std::string::npos) << what;
    const std::string key = "did not reach residual ";
    const auto at = what.find(key);
    ASSERT_NE(at, std::string::npos) << what;
    const double tol = 1e-13 * std::max(1.0, p.model.y().cwiseAbs().maxCoeff());
    EXPECT_NEAR(std::stod(what.substr(at + key.size())), tol, 0.01 * tol) << what;  // three digits
  }
}

}  // namespace

TEST(TrajectoryConvexityOnset, ThePrintedOnsetGivesEachStateItsOwnGradientNorm) {
  // `zeroloss convexity` prints the last negative state and the first convex state after it, each
  // with the gradient norm measured at that state (10 - tau here: 8 at tau = 2, 7 at tau = 3).
  ConvexityResult r;
  r.assumptions_apply = false;
  TrajectoryConvexity tr;
  tr.source = TrajectorySource::Flow;
  tr.points = {state(0, true), state(1, false), state(2, true), state(3, false), state(4, false)};
  tr.onset = convexity_onset(tr.points);
  r.trajectories.push_back(tr);
  const std::string text = convexity_report_text(r, ConvexityOptions{}, "hand-made", "out", {}, {}, {});
  EXPECT_NE(text.find("convex from tau = 3 on (||grad_M T|| = 7 there); last negative at tau = 2 (||grad_M T|| = 8 there)"),
            std::string::npos)
      << text;
  // Negative at the end: the last state's gradient norm.
  tr.points = {state(0, false), state(1, true)};
  tr.onset = convexity_onset(tr.points);
  r.trajectories = {tr};
  const std::string negative = convexity_report_text(r, ConvexityOptions{}, "hand-made", "out", {}, {}, {});
  EXPECT_NE(negative.find("negative curvature at the last state (tau = 1, ||grad_M T|| = 9)"), std::string::npos)
      << negative;
}
