// `compare --model diagonal-linear` through its run (runs/sgd_flow_comparison_run.hpp): label-noise
// SGD ensembles (GenericLabelNoiseSgd) against the generic Riemannian flow on the diagonal linear
// network (THEORY 7, 9). The fitted flow coefficient's interval contains s^2 / (4B), and the same
// statistic rejects a flow with the coefficient doubled; the projected iterates are written as u, v
// columns and read back to the same fit.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "test_support.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/runs/sgd_flow_comparison_run.hpp"

using namespace zeroloss;

namespace {

// The problem of GenericLabelNoiseSgd.DiagonalNetworkFollowsItsLimitingFlow: n = 3, d = 5, a start on M.
SgdFlowComparisonRunOptions diagonal_problem(const std::string& dir) {
  const int n = 3, d = 5;
  const Eigen::MatrixXd X = test::random_matrix(n, d, 3) / std::sqrt(double(d));
  Eigen::VectorXd u(d), v(d);
  for (int k = 0; k < d; ++k) u(k) = 0.8 + 0.1 * k, v(k) = 0.9 - 0.1 * k;
  Dataset data;
  data.X = X;
  data.y = X * (u.cwiseAbs2() - v.cwiseAbs2());
  write_dataset_csv(dir + "/data.csv", data);
  write_diagonal_weights_csv(dir + "/uv.csv", u, v);
  SgdFlowComparisonRunOptions o;
  o.model = ModelKind::DiagonalLinear;
  o.problem.data = dir + "/data.csv";
  o.problem.weights = dir + "/uv.csv";
  o.label_noise = 1.0;
  o.batch = "1";
  o.learning_rates = {0.02, 0.01};
  o.time = 0.3;
  for (std::uint64_t s = 0; s < 24; ++s) o.seeds.push_back(s);
  o.points = 4;
  o.threads = 2;
  o.projection = ProjectionMethod::Newton;
  o.figures = false;
  o.out = dir + "/out";
  return o;
}

TEST(DiagonalCompare, FittedFlowCoefficientContainsTheTheoryAndRejectsTwiceIt) {
  const std::string dir = test::temp_dir("diagonal_compare");
  SgdFlowComparisonRunOptions o = diagonal_problem(dir);
  const SgdFlowComparisonRunSummary S = run_sgd_flow_comparison(o);
  ASSERT_EQ(S.status, SgdFlowComparisonRunStatus::Completed);
  EXPECT_EQ(S.activation, "diagonal-linear");
  EXPECT_TRUE(S.start_on_manifold);
  EXPECT_TRUE(S.flow.completed) << S.flow.termination;
  const double C = 1.0 * 1.0 / (4 * 1);
  EXPECT_DOUBLE_EQ(S.plan.limiting_coefficient, C);
  ASSERT_EQ(S.coefficient_fit.per_eta.size(), 2u);
  ASSERT_TRUE(S.coefficient_fit.extrapolated);
  const CoefficientEstimate& c = *S.coefficient_fit.extrapolated;
  EXPECT_TRUE(c.converged);
  EXPECT_LE(c.ci_low, C) << c.estimate << " [" << c.ci_low << ", " << c.ci_high << "]";
  EXPECT_GE(c.ci_high, C) << c.estimate << " [" << c.ci_low << ", " << c.ci_high << "]";
  // The statistic has power: the doubled coefficient lies outside the same interval.
  EXPECT_LT(c.ci_high, 2 * C) << c.estimate << " [" << c.ci_low << ", " << c.ci_high << "]";
  // The mean SGD path approaches the flow as eta shrinks (bias ~ eta).
  ASSERT_EQ(S.result.per_eta.size(), 2u);
  EXPECT_EQ(S.result.per_eta[0].completed, 24);
  EXPECT_GT(S.result.per_eta[0].path_bias, S.result.per_eta[1].path_bias);

  // projected_iterates.csv holds u, v columns; reused, it gives the same fit bit for bit.
  std::ifstream in(o.out + "/projected_iterates.csv");
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "eta,seed,step,t,diverged,u_1,u_2,u_3,u_4,u_5,v_1,v_2,v_3,v_4,v_5");
  SgdFlowComparisonRunOptions again = o;
  again.sgd_iterates = o.out + "/projected_iterates.csv";
  again.out = dir + "/again";
  const SgdFlowComparisonRunSummary R = run_sgd_flow_comparison(again);
  ASSERT_TRUE(R.coefficient_fit.extrapolated);
  EXPECT_EQ(R.coefficient_fit.extrapolated->estimate, c.estimate);
  EXPECT_EQ(R.coefficient_fit.extrapolated->ci_high, c.ci_high);
}

}  // namespace
