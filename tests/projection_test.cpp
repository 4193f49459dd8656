// THEORY 2: the four ways onto the zero-loss manifold (Newton, nearest point, gradient-flow limit,
// Ceres Levenberg-Marquardt), each checked by an independent route: the dense reference projector for
// the KKT condition, a brute-force search along M for the nearest point, a separate tight Dormand-Prince
// integration in full coordinates for Phi_GF.

#include <gtest/gtest.h>

#include <boost/numeric/odeint.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/reference.hpp"
#include "zeroloss/io/weights.hpp"

using namespace zeroloss;

namespace {

using Config = zeroloss::test::ProblemConfig;
using zeroloss::test::config_name;

class Projections : public testing::TestWithParam<Config> {
 protected:
  // A point on M and a start off M: theta + (normal + tangent perturbation) of size `size`.
  struct Setup {
    test::RandomProblem problem;
    Eigen::MatrixXd start;
  };
  Setup setup(double size = 0.15, unsigned seed = 0) const {
    const Config c = GetParam();
    auto p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 4321 + 13 * c.n + c.m + seed,
                                              0.4);
    Eigen::MatrixXd v = test::random_matrix(c.m, c.d, 99 + seed);
    v *= size * p.theta.norm() / v.norm();
    return Setup{p, p.theta + v};
  }
};

TEST_P(Projections, EveryMethodLandsOnTheManifold) {
  auto s = setup();
  const double tol = 1e-12;  // absolute
  for (const std::string& method : projection_method_names()) {
    SCOPED_TRACE(method);
    const ProjectionResult r = project(s.problem.model, s.start, parse_projection_method(method));
    EXPECT_EQ(to_string(r.summary.method), method);
    EXPECT_TRUE(r.summary.converged);
    EXPECT_GT(r.summary.initial_residual, 1e-3);
    const double res = max_residual(s.problem.model, r.theta);
    EXPECT_LT(res, tol);
    EXPECT_DOUBLE_EQ(r.summary.final_residual, res);
    EXPECT_NEAR(r.summary.distance_moved, (r.theta - s.start).norm(), 1e-14);
    EXPECT_FALSE(r.summary.termination.empty());
  }
}

TEST_P(Projections, ReducedMethodsKeepTheComponentsOrthogonalToTheData) {
  const Config c = GetParam();
  if (c.n >= c.d) GTEST_SKIP() << "span{x_i} is all of R^d";
  auto s = setup();
  const ReducedCoordinates rc(s.problem.model.X());
  const Eigen::MatrixXd Pperp = Eigen::MatrixXd::Identity(c.d, c.d) - rc.basis() * rc.basis().transpose();
  for (const std::string method : {"nearest", "gradient-flow", "ceres"}) {
    SCOPED_TRACE(method);
    const ProjectionResult r = project(s.problem.model, s.start, parse_projection_method(method));
    EXPECT_LT(((r.theta - s.start) * Pperp).norm(), 1e-13 * s.start.norm());
  }
}

TEST_P(Projections, NearestPointSatisfiesKktAndBeatsNewton) {
  auto s = setup(0.25);
  const TwoLayerModel& model = s.problem.model;
  const ProjectionResult newton = project_newton(model, s.start);
  const ProjectionResult nearest = project_nearest(model, s.start);
  const Eigen::MatrixXd diff = nearest.theta - s.start;
  // First-order optimality through the dense reference projector: Theta' - Theta is normal to M.
  const Eigen::MatrixXd P = reference::tangent_projector(model, nearest.theta);
  EXPECT_LT((P * vectorize(diff)).norm(), 1e-10 * diff.norm());
  EXPECT_LT(nearest.summary.normal_defect, 1e-10);
  EXPECT_GT(nearest.summary.lagrangian_hessian_min_eigenvalue, 0);
  // Closer than Newton, strictly when Newton's step is not normal at its end point.
  EXPECT_LT(nearest.summary.distance_moved, newton.summary.distance_moved);
  const Eigen::MatrixXd Pn = reference::tangent_projector(model, newton.theta);
  const double newton_defect = (Pn * vectorize(newton.theta - s.start)).norm() / newton.summary.distance_moved;
  EXPECT_GT(newton_defect, 1e-4) << "test start too close to M to tell the methods apart";
  // Local minimality, by brute force: nearby points of M (Newton-retracted tangent steps) are farther.
  const ConstraintJacobian J(model, evaluate(model, nearest.theta));
  for (unsigned k = 0; k < 6; ++k) {
    Eigen::MatrixXd v = J.tangent_projection(test::random_matrix(model.m(), model.d(), 500 + k));
    v *= 1e-3 * nearest.theta.norm() / v.norm();
    const Eigen::MatrixXd other = project_newton(model, nearest.theta + v).theta;
    EXPECT_GT((other - s.start).norm(), nearest.summary.distance_moved) << "direction " << k;
  }
  // Exact Lagrangian Hessian: quadratic convergence from the Newton point in a handful of iterations.
  EXPECT_LE(nearest.summary.iterations, 6);
}

// Issue 5's bound: Newton's projection from 1e-3 away (Frobenius distance) converges in at most 4
// iterations (quadratic convergence: residual 1e-3 -> 1e-6 -> 1e-12 -> rounding), from several
// random directions, each landing on M.
TEST_P(Projections, NewtonFromOneThousandthAwayTakesAtMostFourSteps) {
  for (unsigned seed = 0; seed < 4; ++seed) {
    auto s = setup(0.15, seed);
    Eigen::MatrixXd v = test::random_matrix(s.problem.theta.rows(), s.problem.theta.cols(), 700 + seed);
    v *= 1e-3 / v.norm();
    const ProjectionResult r = project_newton(s.problem.model, s.problem.theta + v);
    EXPECT_TRUE(r.summary.converged) << r.summary.termination;
    EXPECT_LE(r.summary.iterations, 4) << "seed " << seed << ": " << r.summary.termination;
    EXPECT_GE(r.summary.iterations, 1);
    const Eigen::VectorXd residual = network_outputs(s.problem.model, r.theta) - s.problem.model.y();
    EXPECT_LT(residual.cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, s.problem.model.y().cwiseAbs().maxCoeff()));
  }
}

TEST_P(Projections, NearestOfAPointOnTheManifoldIsItself) {
  auto s = setup();
  const ProjectionResult r = project_nearest(s.problem.model, s.problem.theta);
  EXPECT_LT((r.theta - s.problem.theta).norm(), 1e-13 * s.problem.theta.norm());
  EXPECT_EQ(r.summary.iterations, 0);
}

// Independent Phi_GF: Dormand-Prince 5(4) in full coordinates at tolerance 1e-13, run until the
// residual is below 1e-11 (explicit integration of this stiff flow stalls near 1e-12), no Newton finish.
Eigen::MatrixXd reference_flow_limit(const TwoLayerModel& model, const Eigen::MatrixXd& theta0) {
  namespace odeint = boost::numeric::odeint;
  using State = std::vector<double>;
  const int m = model.m(), d = model.d();
  const Eigen::VectorXd v0 = vectorize(theta0);
  State x(v0.data(), v0.data() + v0.size());
  auto rhs = [&](const State& s, State& ds, double) {
    const Eigen::MatrixXd th = unvectorize(Eigen::Map<const Eigen::VectorXd>(s.data(), s.size()), m, d);
    const NetworkEvaluation e = evaluate(model, th);
    const ConstraintJacobian J(model, e, 1e300);
    const Eigen::VectorXd g = vectorize(J.apply_transpose(e.residuals)) / model.n();
    for (size_t k = 0; k < s.size(); ++k) ds[k] = -g(static_cast<Eigen::Index>(k));
  };
  auto stepper = odeint::make_controlled(1e-13, 1e-13, odeint::runge_kutta_dopri5<State>());
  double t = 0;
  for (double horizon = 1; horizon < 1e5; horizon *= 2) {
    odeint::integrate_adaptive(stepper, rhs, x, t, horizon, 1e-4);
    t = horizon;
    const Eigen::MatrixXd th = unvectorize(Eigen::Map<const Eigen::VectorXd>(x.data(), x.size()), m, d);
    if (max_residual(model, th) < 1e-11) return th;
  }
  ADD_FAILURE() << "reference flow did not converge";
  return theta0;
}

TEST_P(Projections, GradientFlowLimitAgreesWithIndependentIntegration) {
  const Config c = GetParam();
  if (c.m * std::min(c.n, c.d) > 40) GTEST_SKIP() << "kept small: the reference integration is slow";
  auto s = setup(0.1);
  const ProjectionResult r = project_gradient_flow(s.problem.model, s.start);
  const Eigen::MatrixXd ref = reference_flow_limit(s.problem.model, s.start);
  const double err = (r.theta - ref).norm();
  EXPECT_LT(err, 1e-9);
  EXPECT_GT(r.summary.integration_time, 0);
  EXPECT_GT(r.summary.ode_steps, 10);
  EXPECT_LT(r.summary.newton_correction, 1e-9);
  EXPECT_TRUE(std::isfinite(r.summary.limit_error_estimate));
  EXPECT_LT(r.summary.limit_error_estimate, 1e-6);
  // The flow limit is a different point from the Newton projection and the nearest point.
  EXPECT_GT((r.theta - project_newton(s.problem.model, s.start).theta).norm(), 1e3 * err);
}

INSTANTIATE_TEST_SUITE_P(Configs, Projections,
                         testing::Values(Config{3, 5, 4, "cubic", false}, Config{3, 5, 4, "sinh", true},
                                         Config{2, 4, 3, "tanh", false}, Config{6, 3, 4, "cubic", true},
                                         Config{4, 6, 5, "softplus", true}),
                         config_name);

TEST(ProjectionErrors, UnknownMethodIsAnInputError) {
  try {
    parse_projection_method("geodesic");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("newton, nearest, gradient-flow, ceres"), std::string::npos) << e.what();
  }
}

TEST(ProjectionErrors, DependentDataRowsAreASingularPoint) {
  auto p = test::random_problem(3, 4, 3, "cubic", false, 2);
  Eigen::MatrixXd X = p.model.X();
  X.row(2) = X.row(0);
  const TwoLayerModel model = p.model.with_data(X);
  for (const std::string method : {"newton", "nearest"}) {
    SCOPED_TRACE(method);
    EXPECT_THROW(project(model, p.theta, parse_projection_method(method)), SingularPointError);
  }
}

TEST(ProjectionErrors, GradientFlowStepLimitIsAConvergenceError) {
  auto p = test::random_problem(3, 4, 3, "cubic", false, 3);
  ProjectionOptions o;
  o.max_ode_steps = 5;
  EXPECT_THROW(project_gradient_flow(p.model, p.theta, o), ConvergenceError);
}

TEST(ProjectionErrors, CeresStopsAboveToleranceIsAConvergenceError) {
  auto p = test::random_problem(3, 4, 3, "cubic", false, 4);
  ProjectionOptions o;
  o.max_iterations = 1;  // 4 LM iterations
  o.residual_tolerance = 1e-16;
  EXPECT_THROW(project_ceres(p.model, p.theta, o), ConvergenceError);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// zeroloss project (the real program).

namespace {

std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

struct CliFiles {
  std::string dir, data, weights;
};

CliFiles cli_problem(const std::string& name) {
  CliFiles f;
  f.dir = test::temp_dir(name);
  f.data = write_text(f.dir + "/D.csv",
                      "x1,x2,x3,x4,y\n0.5,0.2,-0.1,0.3,1.0\n-0.3,0.6,0.2,0.1,-0.5\n0.1,-0.2,0.7,-0.4,0.25\n");
  f.weights = write_text(f.dir + "/W.csv",
                         "w1,w2,w3,w4,a\n0.8,-0.4,0.3,0.1,1\n-0.2,0.5,0.9,-0.6,-0.5\n0.4,0.4,-0.5,0.7,1.5\n");
  return f;
}

TEST(ProjectCommand, EveryMethodWritesWeightsOnTheManifold) {
  const CliFiles f = cli_problem("project");
  const Dataset data = read_dataset_csv(f.data);
  for (const std::string& method : projection_method_names()) {
    SCOPED_TRACE(method);
    const std::string out = f.dir + "/P_" + method + ".csv";
    std::string so, se;
    const int rc = test::run_command(test::zeroloss_binary() + " project --data " + f.data + " --weights " + f.weights +
                                         " --method " + method + " --out " + out + " --json",
                                     &so, &se);
    ASSERT_EQ(rc, 0) << se;
    const auto j = nlohmann::json::parse(so);
    EXPECT_EQ(j["method"], method);
    EXPECT_TRUE(j["converged"].get<bool>());
    const Weights w = read_weights_csv(out, 4);
    EXPECT_DOUBLE_EQ(w.a(1), -0.5);  // the second layer is written back
    const TwoLayerModel model(data.X, data.y, w.a, Activation::cubic());
    EXPECT_LT(max_residual(model, w.theta), 1e-12);
    EXPECT_NEAR(j["final_residual"].get<double>(), max_residual(model, w.theta), 1e-15);
    if (method == "gradient-flow") {
      EXPECT_LT(j["limit_error_estimate"].get<double>(), 1e-8);
    }
    if (method == "nearest") {
      EXPECT_LT(j["normal_defect"].get<double>(), 1e-10);
    }
  }
}

TEST(ProjectCommand, FailuresExitNonZeroAndWriteNothing) {
  const CliFiles f = cli_problem("project-fail");
  const std::string out = f.dir + "/P.csv";
  const std::string base = test::zeroloss_binary() + " project --data " + f.data + " --weights " + f.weights;
  std::string se;
  EXPECT_NE(test::run_command(base + " --method geodesic --out " + out, nullptr, &se), 0);
  EXPECT_EQ(test::run_command(base + " --method newton --activation relu --out " + out, nullptr, &se), 1) << se;  // usage
  EXPECT_EQ(test::run_command(base + " --method gradient-flow --max-ode-steps 3 --out " + out, nullptr, &se), 5) << se;
  EXPECT_NE(se.find("integration steps"), std::string::npos) << se;
  // Two identical data rows with different labels: M is empty, refused as bad data before any work.
  const std::string dup = write_text(f.dir + "/dup.csv", "x1,x2,x3,x4,y\n0.5,0.2,-0.1,0.3,1.0\n0.5,0.2,-0.1,0.3,0.5\n");
  EXPECT_EQ(test::run_command(test::zeroloss_binary() + " project --data " + dup + " --weights " + f.weights +
                                  " --method nearest --out " + out,
                              nullptr, &se),
            2)
      << se;
  EXPECT_NE(se.find("M is empty"), std::string::npos) << se;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
