// THEORY 5: the closed-form minimum of T on M, checked by independent routes: the Riemannian gradient
// and Hessian from sharpness/sharpness.hpp (stationarity, positive definiteness), THEORY's lambda and w
// formulas against SharpnessGeometry, Riemannian L-BFGS (Ceres) from random starts, and random points
// of M (never below T*).

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"
#include "zeroloss/manifold/riemannian_lbfgs_two_layer.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"
#include "zeroloss/io/weights.hpp"

using namespace zeroloss;

namespace {

using Config = zeroloss::test::ProblemConfig;
using zeroloss::test::config_name;

// phi = z + z^3/3 + z^5/20: phi' > 0, phi''' = 2 + 3 z^2 > 0, phi'' increasing (Boost root for its inverse).
constexpr const char* kQuintic = "poly:0,1,0,0.3333333333333333,0,0.05";

class ClosedForm : public testing::TestWithParam<Config> {
 protected:
  test::RandomProblem problem(unsigned seed = 0) const {
    const Config c = GetParam();
    return test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, 808 + 31 * c.n + c.m + seed, 0.5);
  }
  bool theory_assumptions() const { return std::string(GetParam().activation) != "tanh"; }
};

TEST_P(ClosedForm, IsAStationaryPointOnTheManifold) {
  auto p = problem();
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta);
  ASSERT_TRUE(s.closed_form) << s.message;
  EXPECT_LT(max_residual(p.model, s.theta), 1e-12);
  EXPECT_DOUBLE_EQ(s.max_residual, max_residual(p.model, s.theta));
  // Stationarity through the full-coordinate Riemannian gradient (independent of reduced coordinates).
  const SharpnessGeometry g(p.model, s.theta);
  EXPECT_LT(g.riemannian_gradient().norm(), 1e-9);
  EXPECT_LT(s.riemannian_gradient_norm, 1e-9);
  EXPECT_NEAR(s.sharpness, g.sharpness(), 1e-12 * g.sharpness());
  // Components orthogonal to span{x_i} come from the given point.
  const ReducedCoordinates rc(p.model.X());
  const Eigen::MatrixXd perp = Eigen::MatrixXd::Identity(p.model.d(), p.model.d()) - rc.basis() * rc.basis().transpose();
  EXPECT_LT(((s.theta - p.theta) * perp).norm(), 1e-12 * p.theta.norm());
}

// The trajectory metrics' T* and R* (closed_form_optimum, no polishing) against the polished,
// verified minimizer and T evaluated there by SharpnessGeometry (a different formula for T).
TEST_P(ClosedForm, MetricsOptimumAgreesWithTheVerifiedMinimizer) {
  auto p = problem();
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta);
  ASSERT_TRUE(s.closed_form) << s.message;
  const ClosedFormOptimum star = closed_form_optimum(p.model, ReducedCoordinates(p.model.X()).rank());
  ASSERT_TRUE(star.optimum.has_value()) << star.note;
  const double T = SharpnessGeometry(p.model, s.theta).sharpness();
  EXPECT_NEAR(star.optimum->sharpness, T, 1e-12 * T);
  const Eigen::MatrixXd R = p.model.X() * s.theta.transpose();
  EXPECT_LT((star.optimum->preactivations - R).norm(), 1e-10 * (1 + R.norm()));
  EXPECT_EQ(star.note.find("no closed-form"), std::string::npos);
  // Dependent rows: no closed form, and the note says why.
  const ClosedFormOptimum none = closed_form_optimum(p.model, p.model.n() - 1);
  EXPECT_FALSE(none.optimum.has_value());
  EXPECT_NE(none.note.find("linearly dependent"), std::string::npos) << none.note;
}

TEST_P(ClosedForm, MatchesTheoryMultipliersCurvatureAndRankOne) {
  auto p = problem();
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta);
  ASSERT_TRUE(s.closed_form);
  const TwoLayerModel& model = p.model;
  const int n = model.n(), m = model.m();
  const SharpnessGeometry g(model, s.theta);
  const NetworkEvaluation& e = g.evaluation();
  // a_j phi''(r_ij) = c_i for every j.
  const Eigen::MatrixXd image = e.d2phi * model.a().asDiagonal();
  for (int j = 0; j < m; ++j) EXPECT_LT((image.col(j) - s.c).norm(), 1e-10 * std::max(1.0, s.c.norm())) << j;
  // lambda_i = (2/n) ||x_i||^2 c_i against the multipliers (J J^T)^{-1} J grad T.
  const Eigen::VectorXd lambda = (2.0 / n) * model.row_norms_squared().cwiseProduct(s.c);
  EXPECT_LT(test::rel_error(g.multipliers(), lambda, 1e-12), 1e-9);
  EXPECT_LT(test::rel_error(s.multipliers, lambda, 1e-12), 1e-14);
  // w_ij = (2/n) ||x_i||^2 a_j^2 phi'(r_ij) phi'''(r_ij) against the general curvature weights.
  Eigen::MatrixXd w(n, m);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j)
      w(i, j) = (2.0 / n) * model.row_norms_squared()(i) * model.a()(j) * model.a()(j) * e.dphi(i, j) * e.d3phi(i, j);
  EXPECT_LT(test::rel_error(g.curvature_weights(), w), 1e-9);
  // Rank one: the phi''-image always; R* itself when a is constant (or phi'' is linear, as for the
  // cubic: r_ij = c_i / (2 a_j)), and not otherwise.
  const Eigen::VectorXd& sv2 = s.second_derivative_singular_values;
  EXPECT_LT(sv2(1), 1e-12 * sv2(0));
  const Eigen::VectorXd& sv = s.preactivation_singular_values;
  const bool rank_one = !GetParam().mixed_a || std::string(GetParam().activation) == "cubic";
  if (rank_one) {
    EXPECT_LT(sv(1), 1e-12 * sv(0));
  } else {
    EXPECT_GT(sv(1), 1e-6 * sv(0));
  }
  // T* from THEORY's formula.
  double T = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j) T += model.row_norms_squared()(i) * std::pow(model.a()(j) * e.dphi(i, j), 2);
  EXPECT_NEAR(s.sharpness, T / n, 1e-12 * s.sharpness);
}

TEST_P(ClosedForm, HessianIsPositiveDefiniteWhereTheTheoryApplies) {
  auto p = problem();
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta);
  ASSERT_TRUE(s.closed_form);
  const RiemannianHessianMatrix H = SharpnessGeometry(p.model, s.theta).riemannian_hessian_matrix();
  ASSERT_GT(H.eigenvalues.size(), 0);
  EXPECT_NEAR(s.hessian_min_eigenvalue, H.eigenvalues(0), 1e-9 * H.eigenvalues.cwiseAbs().maxCoeff());
  EXPECT_EQ(s.assumptions.holds(), theory_assumptions()) << s.assumptions.describe(p.model.activation().name());
  if (theory_assumptions()) {
    EXPECT_GT(H.eigenvalues(0), 0);
    EXPECT_EQ(s.kind, OptimumKind::GlobalMinimum) << s.verdict;
  } else {
    EXPECT_NE(s.kind, OptimumKind::GlobalMinimum) << s.verdict;
    EXPECT_EQ(s.kind == OptimumKind::StationaryPoint, H.eigenvalues(0) <= 0) << s.verdict;
  }
}

TEST_P(ClosedForm, NoRandomPointOfTheManifoldIsSharperThanTStarAllowsBelow) {
  if (!theory_assumptions()) GTEST_SKIP() << "global minimality needs phi' > 0 and phi''' > 0";
  auto p = problem();
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta);
  for (unsigned k = 0; k < 10; ++k) {
    const Eigen::MatrixXd start = p.theta + 0.3 * test::random_matrix(p.model.m(), p.model.d(), 900 + k);
    ProjectionResult r;
    try {
      r = project_newton(p.model, start);
    } catch (const ConvergenceError&) {
      continue;
    }
    EXPECT_GE(SharpnessGeometry(p.model, r.theta).sharpness(), s.sharpness * (1 - 1e-12)) << k;
  }
}

// Independent route: Riemannian L-BFGS over M (Ceres) from several random starts reaches T*.
TEST_P(ClosedForm, CeresLbfgsFromRandomStartsReachesTStar) {
  if (!theory_assumptions()) GTEST_SKIP() << "the global-minimum guarantee needs phi' > 0 and phi''' > 0";
  auto p = problem();
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta);
  for (unsigned k = 0; k < 3; ++k) {
    SCOPED_TRACE(k);
    const auto q = test::random_problem(p.model.n(), p.model.d(), p.model.m(), p.model.activation().name(),
                                        GetParam().mixed_a, 1000 + k, 0.5);
    ProjectionResult start;
    try {
      start = project_newton(p.model, q.theta);
    } catch (const ConvergenceError&) {
      start = project_gradient_flow(p.model, q.theta);
    }
    const ManifoldMinimizationResult r = minimize_sharpness_on_manifold(p.model, start.theta);
    EXPECT_TRUE(r.summary.converged) << r.summary.termination;
    EXPECT_LT(std::abs(r.summary.final_value - s.sharpness), 1e-8 * s.sharpness) << r.summary.termination;
    EXPECT_LT(r.summary.final_residual, 1e-12);
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, ClosedForm,
                         testing::Values(Config{3, 5, 4, "cubic", false}, Config{3, 5, 4, "cubic", true},
                                         Config{3, 5, 4, "sinh", false}, Config{2, 4, 3, "sinh", true},
                                         Config{3, 3, 3, kQuintic, true}, Config{2, 4, 3, "tanh", false}),
                         config_name);

TEST(SampleOptimum, SolvesThePerSampleEquation) {
  const Activation phi = Activation::sinh();
  Eigen::VectorXd a(3);
  a << 1.5, -0.7, 0.9;
  const SampleOptimum s = solve_sample_optimum(phi, a, 2.5, 0);
  double f = 0;
  for (int j = 0; j < 3; ++j) {
    f += a(j) * std::sinh(s.r(j));
    EXPECT_NEAR(a(j) * std::sinh(s.r(j)), s.c, 1e-12 * std::abs(s.c));  // a_j phi''(r_j) = c (phi'' = sinh)
  }
  EXPECT_NEAR(f, 2.5, 1e-12);
}

// For sinh, phi'' = phi, so sum_j a_j phi((phi'')^{-1}(c / a_j)) = m c for every a: c_i = y_i / m.
TEST(SampleOptimum, SinhHasTheExplicitSolutionCEqualsYOverM) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "sinh", true, 55, 0.5);
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta);
  ASSERT_TRUE(s.closed_form);
  EXPECT_LT(test::rel_error(s.c, p.model.y() / 4.0), 1e-13);
}

TEST(SharpnessMinimumFallback, MoreSamplesThanDimensionsFallsBackToLbfgsAndSaysSo) {
  auto p = test::random_problem_on_manifold(5, 3, 4, "cubic", true, 31, 0.5);
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta);
  EXPECT_FALSE(s.closed_form);
  EXPECT_NE(s.message.find("no closed form"), std::string::npos) << s.message;
  EXPECT_TRUE(s.fallback_summary.converged) << s.fallback_summary.termination;
  EXPECT_EQ(s.c.size(), 0);
  EXPECT_LT(s.max_residual, 1e-12);
  EXPECT_LT(s.sharpness, SharpnessGeometry(p.model, p.theta).sharpness());
  EXPECT_LT(s.riemannian_gradient_norm, 1e-6 * s.sharpness);
  EXPECT_EQ(s.multipliers.size(), 5);
  EXPECT_EQ(s.kind, OptimumKind::LocalMinimum) << s.verdict;
  EXPECT_GT(s.hessian_min_eigenvalue, 0);
}

TEST(SharpnessMinimumErrors, TanhLabelOutsideTheRangeNamesTheSample) {
  auto p = test::random_problem(3, 4, 2, "tanh", false, 41);
  Eigen::VectorXd y(3);
  y << 0.5, 2.5, -0.1;  // y_2 / m = 1.25 is outside (-1, 1)
  const TwoLayerModel model = p.model.with_labels(y);
  try {
    sharpness_minimum(model, p.theta);
    FAIL() << "expected DomainError";
  } catch (const DomainError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("sample 2"), std::string::npos) << what;
    EXPECT_NE(what.find("1.25"), std::string::npos) << what;
  }
}

TEST(SharpnessMinimumErrors, NonMonotoneSecondDerivativeWithMixedANamesTheSample) {
  auto p = test::random_problem_on_manifold(2, 4, 3, "tanh", true, 42, 0.5);
  try {
    sharpness_minimum(p.model, p.theta);
    FAIL() << "expected DomainError";
  } catch (const DomainError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("sample 1"), std::string::npos) << what;
    EXPECT_NE(what.find("not strictly increasing"), std::string::npos) << what;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// zeroloss optimum (the real program).

namespace {

std::string write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

TEST(OptimumCommand, ClosedFormWritesTheMinimizerAndReportsRankOne) {
  const std::string dir = test::temp_dir("optimum");
  const std::string data = write_text(dir + "/D.csv",
                                      "x1,x2,x3,x4,y\n0.5,0.2,-0.1,0.3,1.0\n-0.3,0.6,0.2,0.1,-0.5\n0.1,-0.2,0.7,-0.4,0.25\n");
  const std::string weights = write_text(dir + "/W.csv", "0.8,-0.4,0.3,0.1\n-0.2,0.5,0.9,-0.6\n0.4,0.4,-0.5,0.7\n");
  const std::string out = dir + "/O.csv";
  std::string so, se;
  ASSERT_EQ(test::run_command(test::zeroloss_binary() + " optimum --data " + data + " --weights " + weights +
                                  " --activation sinh --out " + out + " --json",
                              &so, &se),
            0)
      << se;
  const auto j = nlohmann::json::parse(so);
  EXPECT_TRUE(j["closed_form"].get<bool>());
  EXPECT_EQ(j["kind"], "global-minimum");
  EXPECT_LT(j["riemannian_grad_norm"].get<double>(), 1e-9);
  EXPECT_LT(j["preactivation_rank_one_ratio"].get<double>(), 1e-12);  // a = 1: R* = r* 1^T
  // The file holds the minimizer: recompute T and the gradient from it.
  const Dataset d = read_dataset_csv(data);
  const Weights w = read_weights_csv(out, 4);
  const TwoLayerModel model(d.X, d.y, w.a, Activation::sinh());
  const SharpnessGeometry g(model, w.theta);
  EXPECT_NEAR(g.sharpness(), j["sharpness"].get<double>(), 1e-13 * g.sharpness());
  EXPECT_LT(g.riemannian_gradient().norm(), 1e-9);
  EXPECT_LT(max_residual(model, w.theta), 1e-12);
  // The same minimum as the library's.
  EXPECT_NEAR(sharpness_minimum(model, w.theta).sharpness, g.sharpness(), 1e-13 * g.sharpness());
}

TEST(OptimumCommand, FallbackIsReportedWhenThereAreMoreSamplesThanDimensions) {
  const std::string dir = test::temp_dir("optimum-fallback");
  const std::string data = write_text(dir + "/D.csv",
                                      "x1,x2,y\n0.5,0.2,1.0\n-0.3,0.6,-0.5\n0.1,-0.2,0.25\n");
  const std::string weights = write_text(dir + "/W.csv", "w1,w2,a\n0.8,-0.4,1\n-0.2,0.5,1\n0.4,0.4,-1\n");
  std::string so, se;
  ASSERT_EQ(test::run_command(test::zeroloss_binary() + " optimum --data " + data + " --weights " + weights +
                                  " --out " + dir + "/O.csv",
                              &so, &se),
            0)
      << se;
  EXPECT_NE(so.find("lbfgs-fallback"), std::string::npos) << so;
  EXPECT_NE(so.find("no closed form: rank X = 2 < n = 3"), std::string::npos) << so;
}

TEST(OptimumCommand, MissingInverseOrNonMinimumIsExit4WithoutOutput) {
  const std::string dir = test::temp_dir("optimum-domain");
  const std::string data = write_text(dir + "/D.csv",
                                      "x1,x2,x3,x4,y\n0.5,0.2,-0.1,0.3,1.0\n-0.3,0.6,0.2,0.1,3.5\n0.1,-0.2,0.7,-0.4,0.25\n");
  const std::string weights = write_text(dir + "/W.csv", "0.8,-0.4,0.3,0.1\n-0.2,0.5,0.9,-0.6\n0.4,0.4,-0.5,0.7\n");
  const std::string out = dir + "/O.csv";
  const std::string base = test::zeroloss_binary() + " optimum --data " + data + " --weights " + weights + " --out " + out;
  std::string se;
  // tanh: y_2 / m = 3.5 / 3 is outside (-1, 1).
  EXPECT_EQ(test::run_command(base + " --activation tanh", nullptr, &se), 4) << se;
  EXPECT_NE(se.find("sample 2"), std::string::npos) << se;
  EXPECT_FALSE(std::filesystem::exists(out));
  // tanh with labels in range: the closed form is a stationary point but not a minimum here.
  const std::string data2 = write_text(dir + "/D2.csv",
                                       "x1,x2,x3,x4,y\n0.5,0.2,-0.1,0.3,1.0\n-0.3,0.6,0.2,0.1,-0.5\n0.1,-0.2,0.7,-0.4,0.25\n");
  const std::string base2 = test::zeroloss_binary() + " optimum --data " + data2 + " --weights " + weights + " --out " + out;
  EXPECT_EQ(test::run_command(base2 + " --activation tanh", nullptr, &se), 4) << se;
  EXPECT_NE(se.find("NOT a minimum"), std::string::npos) << se;
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_EQ(test::run_command(base2 + " --activation tanh --accept-stationary", nullptr, &se), 0) << se;
  EXPECT_TRUE(std::filesystem::exists(out));
}

}  // namespace
