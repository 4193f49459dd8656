// The minimum of T on the diagonal linear network's zero-loss manifold (THEORY 9) against an
// independent linear-programming solution of the weighted basis pursuit
//   min sum_k c_k |w_k|  subject to  X w = y,
// computed two independent ways: by GLPK (split w = w+ - w-, w+, w- >= 0; simplex, then GLPK's
// exact rational simplex), and by enumerating the vertices of the LP (every n-subset S of the
// coordinates with X_S invertible gives the basic solution w_S = X_S^{-1} y; the minimum of a
// linear objective over the split LP is attained at one of them). GLPK's double-precision
// solution leaves residuals |X w - y| of about 1e-10 on these problems, so it is compared at 1e-8
// and checked for the same support; the enumeration solves n x n systems and is compared at 1e-12.
// GLPK is used by the tests only.

#include <glpk.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {
namespace {

struct LinearProgramSolution {
  Eigen::VectorXd w;
  double objective = 0;
};

LinearProgramSolution weighted_basis_pursuit_glpk(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                                  const Eigen::VectorXd& c) {
  const int n = static_cast<int>(X.rows()), d = static_cast<int>(X.cols());
  glp_prob* lp = glp_create_prob();
  glp_set_obj_dir(lp, GLP_MIN);
  glp_add_rows(lp, n);
  for (int i = 0; i < n; ++i) glp_set_row_bnds(lp, i + 1, GLP_FX, y(i), y(i));
  glp_add_cols(lp, 2 * d);
  for (int k = 0; k < 2 * d; ++k) {
    glp_set_col_bnds(lp, k + 1, GLP_LO, 0.0, 0.0);
    glp_set_obj_coef(lp, k + 1, c(k % d));
  }
  std::vector<int> ia(1), ja(1);
  std::vector<double> ar(1);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) {
      ia.push_back(i + 1), ja.push_back(k + 1), ar.push_back(X(i, k));
      ia.push_back(i + 1), ja.push_back(d + k + 1), ar.push_back(-X(i, k));
    }
  glp_load_matrix(lp, static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
  glp_smcp parm;
  glp_init_smcp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  EXPECT_EQ(glp_simplex(lp, &parm), 0);
  EXPECT_EQ(glp_exact(lp, &parm), 0);
  EXPECT_EQ(glp_get_status(lp), GLP_OPT);
  LinearProgramSolution s;
  s.w.resize(d);
  for (int k = 0; k < d; ++k) s.w(k) = glp_get_col_prim(lp, k + 1) - glp_get_col_prim(lp, d + k + 1);
  s.objective = glp_get_obj_val(lp);
  glp_delete_prob(lp);
  return s;
}

// The best vertex of the LP by enumeration of all n-subsets (small d only).
LinearProgramSolution weighted_basis_pursuit_by_vertices(const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                                                         const Eigen::VectorXd& c) {
  const int n = static_cast<int>(X.rows()), d = static_cast<int>(X.cols());
  LinearProgramSolution best;
  best.objective = INFINITY;
  std::vector<int> subset(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) subset[static_cast<size_t>(k)] = k;
  while (true) {
    Eigen::MatrixXd XS(n, n);
    for (int k = 0; k < n; ++k) XS.col(k) = X.col(subset[static_cast<size_t>(k)]);
    const Eigen::FullPivLU<Eigen::MatrixXd> lu(XS);
    if (lu.isInvertible()) {
      const Eigen::VectorXd wS = lu.solve(y);
      Eigen::VectorXd w = Eigen::VectorXd::Zero(d);
      for (int k = 0; k < n; ++k) w(subset[static_cast<size_t>(k)]) = wS(k);
      const double value = c.dot(w.cwiseAbs());
      if (value < best.objective) best = {w, value};
    }
    int k = n - 1;  // next subset in lexicographic order
    while (k >= 0 && subset[static_cast<size_t>(k)] == d - n + k) --k;
    if (k < 0) break;
    ++subset[static_cast<size_t>(k)];
    for (int l = k + 1; l < n; ++l) subset[static_cast<size_t>(l)] = subset[static_cast<size_t>(l - 1)] + 1;
  }
  return best;
}

std::vector<int> support_of(const Eigen::VectorXd& w, double tolerance) {
  std::vector<int> s;
  for (Eigen::Index k = 0; k < w.size(); ++k)
    if (std::abs(w(k)) > tolerance) s.push_back(static_cast<int>(k));
  return s;
}

struct Problem {
  std::shared_ptr<const DiagonalLinearNetwork> model;
  Eigen::VectorXd start;  // positive, off M
};

Problem generic_problem(int n, int d, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> uni(0.5, 1.5);
  Eigen::MatrixXd X(n, d);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) X(i, k) = g(gen);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) y(i) = g(gen);
  Eigen::VectorXd start(2 * d);
  for (int k = 0; k < 2 * d; ++k) start(k) = uni(gen);
  return {std::make_shared<DiagonalLinearNetwork>(X, y), start};
}

class DiagonalLinearOptimumVersusLp : public testing::TestWithParam<std::tuple<int, int, unsigned>> {};

TEST_P(DiagonalLinearOptimumVersusLp, FlowAndCertificateReachTheLinearProgramsSolution) {
  const auto [n, d, seed] = GetParam();
  const Problem p = generic_problem(n, d, seed);
  const DiagonalLinearNetwork& model = *p.model;
  const LinearProgramSolution lp = weighted_basis_pursuit_glpk(model.X(), model.labels(), model.column_norms_squared());
  const LinearProgramSolution vertex =
      weighted_basis_pursuit_by_vertices(model.X(), model.labels(), model.column_norms_squared());
  const DiagonalLinearOptimum opt = diagonal_linear_optimum(model, p.start);
  // Generic data: the solution has exactly n nonzeros and is unique.
  EXPECT_EQ(static_cast<int>(opt.support.size()), n);
  EXPECT_EQ(opt.support, support_of(lp.w, 1e-9));
  EXPECT_LT((opt.w - lp.w).cwiseAbs().maxCoeff(), 1e-8 * std::max(1.0, lp.w.cwiseAbs().maxCoeff()))
      << "ours " << opt.w.transpose() << "\nGLPK " << lp.w.transpose();
  EXPECT_NEAR(opt.objective, lp.objective, 1e-9 * lp.objective);
  EXPECT_LT((opt.w - vertex.w).cwiseAbs().maxCoeff(), 1e-12 * std::max(1.0, vertex.w.cwiseAbs().maxCoeff()))
      << "ours   " << opt.w.transpose() << "\nvertex " << vertex.w.transpose();
  EXPECT_NEAR(opt.objective, vertex.objective, 1e-13 * vertex.objective);
  // T* = (4/n) times the LP's value; strong duality; the point lies on M with u_k v_k = 0.
  EXPECT_NEAR(opt.sharpness, 4.0 / n * vertex.objective, 1e-13 * opt.sharpness);
  EXPECT_NEAR(opt.dual_objective, opt.objective, 1e-13 * opt.objective);
  EXPECT_LE(opt.max_dual_violation, 1e-9);
  EXPECT_LT(model.max_residual(opt.theta), 1e-11);
  EXPECT_EQ(model.u(opt.theta).cwiseProduct(model.v(opt.theta)).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_GE(opt.flow_sharpness, opt.sharpness * (1 - 1e-12));
  EXPECT_TRUE(opt.flow.completed) << opt.flow.termination;
}

INSTANTIATE_TEST_SUITE_P(GaussianData, DiagonalLinearOptimumVersusLp,
                         testing::Values(std::make_tuple(3, 8, 1u), std::make_tuple(4, 10, 2u),
                                         std::make_tuple(5, 12, 3u), std::make_tuple(6, 15, 4u),
                                         std::make_tuple(3, 9, 5u), std::make_tuple(2, 20, 6u)));

// The flow alone, without the certificate step: its end point approaches the LP's w* (THEORY 9).
TEST(DiagonalLinearFlow, EndPointApproachesTheLinearProgramsSolution) {
  const Problem p = generic_problem(4, 10, 11);
  const LinearProgramSolution lp =
      weighted_basis_pursuit_glpk(p.model->X(), p.model->labels(), p.model->column_norms_squared());
  const Eigen::VectorXd on_m = project_newton(p.model, p.start).theta;
  FlowOptions o;
  o.t_end = 200;
  o.rtol = 1e-11;
  o.atol = 1e-14;
  const ParameterFlowResult r = integrate_sharpness_flow(p.model, on_m, o);
  ASSERT_TRUE(r.summary.completed) << r.summary.termination;
  const Eigen::VectorXd w = p.model->linear_weights(r.theta);
  EXPECT_LT((w - lp.w).cwiseAbs().maxCoeff(), 1e-6) << w.transpose() << "\n" << lp.w.transpose();
  EXPECT_NEAR(p.model->evaluate(r.theta)->sharpness(), 4.0 / 4 * lp.objective, 1e-6 * lp.objective);
}

// A start on a saddle: coordinates with u_k = v_k = 0 stay zero under the flow, so a start whose
// zero pattern excludes part of the LP's support ends at a stationary point that is not optimal;
// the certificate refuses it instead of returning a number.
TEST(DiagonalLinearOptimum, SaddleIsRefusedByTheCertificate) {
  const Problem p = generic_problem(3, 8, 21);
  const LinearProgramSolution lp =
      weighted_basis_pursuit_glpk(p.model->X(), p.model->labels(), p.model->column_norms_squared());
  Eigen::VectorXd start = p.start;
  int zeroed = 0;
  for (int k = 0; k < 8 && zeroed < 1; ++k)
    if (lp.w(k) != 0) {  // remove one coordinate of the optimal support from the start
      start(k) = 0;
      start(8 + k) = 0;
      ++zeroed;
    }
  ASSERT_EQ(zeroed, 1);
  // The flow's end point from this start is stationary with a negative Hessian eigenvalue: a saddle
  // (THEORY 9), while the certified optimum has a positive definite Hessian.
  FlowOptions o;
  o.t_end = 1e5;
  o.until_gradient = 1e-10;
  const ParameterFlowResult end = integrate_sharpness_flow(p.model, project_newton(p.model, start).theta, o);
  ASSERT_TRUE(end.summary.completed) << end.summary.termination;
  EXPECT_LT(RiemannianSharpness(p.model, end.theta).riemannian_hessian_eigenvalues().minCoeff(), -1e-3);
  const DiagonalLinearOptimum best = diagonal_linear_optimum(*p.model, p.start);
  EXPECT_GT(RiemannianSharpness(p.model, best.theta).riemannian_hessian_eigenvalues().minCoeff(), 1e-6);
  try {
    diagonal_linear_optimum(*p.model, start);
    FAIL() << "a saddle was certified";
  } catch (const ConvergenceError& e) {
    EXPECT_NE(std::string(e.what()).find("not certified optimal"), std::string::npos) << e.what();
  }
}

// Sparse recovery (THEORY 9): with a k-sparse ground truth (k < n) the minimiser is a singular point
// of M, J J^T = 4 X diag(u^2 + v^2) X^T of rank k there. The flow says where it stopped and with
// which condition number instead of returning NaN, and the certificate on the support it reached
// still proves optimality: the optimum is the ground truth, to rounding.
TEST(DiagonalLinearOptimum, SparseGroundTruthIsASingularLimitAndStillCertified) {
  Problem p = generic_problem(6, 10, 31);
  Eigen::VectorXd w_true = Eigen::VectorXd::Zero(10);
  w_true(3) = 1.5;
  const DiagonalLinearNetwork model(p.model->X(), p.model->X() * w_true);
  // The premise, from the independent route: on these data the LP recovers the 1-sparse truth.
  const LinearProgramSolution vertex =
      weighted_basis_pursuit_by_vertices(model.X(), model.labels(), model.column_norms_squared());
  ASSERT_LT((vertex.w - w_true).cwiseAbs().maxCoeff(), 1e-12) << vertex.w.transpose();
  const DiagonalLinearOptimum opt = diagonal_linear_optimum(model, p.start);
  EXPECT_TRUE(opt.flow.stopped_at_singular_point) << opt.flow.termination;
  EXPECT_GT(opt.flow.singular_condition, 1e12);
  EXPECT_EQ(opt.support, (std::vector<int>{3}));
  EXPECT_LT((opt.w - w_true).cwiseAbs().maxCoeff(), 1e-12);
  EXPECT_LE(opt.max_dual_violation, 1e-9);
  EXPECT_NEAR(opt.objective, vertex.objective, 1e-12 * vertex.objective);
}

TEST(DiagonalLinearOptimum, ZeroFeatureIsRefused) {
  Eigen::MatrixXd X(2, 3);
  X << 1, 0, 2, 3, 0, 1;
  const DiagonalLinearNetwork model(X, Eigen::Vector2d(1, 2));
  EXPECT_THROW(diagonal_linear_optimum(model, Eigen::VectorXd::Ones(6)), InputError);
}

}  // namespace
}  // namespace zeroloss
