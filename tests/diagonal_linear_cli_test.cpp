// `--model diagonal-linear` through the real program: optimum, project, inspect and flow read u,v
// weights, call the library and write what it computed; bad weights files are one clear message.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"

namespace zeroloss {
namespace {

using test::RunResult;

class DiagonalCli : public test::FolderTest {
 protected:
  DiagonalCli() : test::FolderTest("diagonal-cli-") {}
  void SetUp() override {
    test::FolderTest::SetUp();
    data_ = path("data.csv");
    ASSERT_EQ(test::run_zeroloss("data --generator gaussian --n 4 --d 10 --seed 3 --out " + data_).code, 0);
    std::string uv = "u,v\n";
    for (int k = 0; k < 10; ++k) uv += std::to_string(0.6 + 0.07 * k) + "," + std::to_string(1.3 - 0.05 * k) + "\n";
    weights_ = file("uv.csv", uv);
  }
  std::string args(const std::string& command) const {
    return command + " --model diagonal-linear --data " + data_ + " --weights " + weights_;
  }
  std::string data_, weights_;
};

TEST_F(DiagonalCli, OptimumWritesTheCertifiedPointTheLibraryComputes) {
  const RunResult r = test::run_zeroloss(args("optimum") + " --json --out " + path("opt.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const Dataset data = read_dataset_csv(data_);
  const DiagonalWeights w0 = read_diagonal_weights_csv(weights_);
  const DiagonalLinearNetwork model(data.X, data.y);
  const DiagonalLinearOptimum opt = diagonal_linear_optimum(model, model.parameters(w0.u, w0.v));
  EXPECT_EQ(j["sharpness"].get<double>(), opt.sharpness);
  EXPECT_EQ(j["support"].size(), 4u);
  EXPECT_LE(j["max_dual_violation"].get<double>(), 1e-9);
  const DiagonalWeights out = read_diagonal_weights_csv(path("opt.csv"), 10);
  EXPECT_EQ(model.parameters(out.u, out.v), opt.theta);  // shortest round-trip CSV: the same bits
}

// `--method lbfgs` is an independent route (generic Riemannian L-BFGS on M, no flow, no LP): it must
// reach the certified optimum's T and w (the certified point itself is checked against GLPK in
// diagonal_linear_optimum_test.cpp), and the file must hold the point the JSON describes.
TEST_F(DiagonalCli, OptimumByLbfgsReachesTheCertifiedOptimum) {
  const RunResult r = test::run_zeroloss(args("optimum") + " --json --method lbfgs --out " + path("lbfgs.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const Dataset data = read_dataset_csv(data_);
  const DiagonalWeights w0 = read_diagonal_weights_csv(weights_);
  const DiagonalLinearNetwork model(data.X, data.y);
  const DiagonalLinearOptimum opt = diagonal_linear_optimum(model, model.parameters(w0.u, w0.v));
  EXPECT_EQ(j["method"], "lbfgs");
  EXPECT_TRUE(j["converged"].get<bool>());
  EXPECT_NEAR(j["sharpness"].get<double>(), opt.sharpness, 1e-10 * opt.sharpness);
  EXPECT_NEAR(j["weighted_l1_bound"].get<double>(), opt.sharpness, 1e-10 * opt.sharpness);
  EXPECT_LE(j["residual_max"].get<double>(), 1e-9);
  const DiagonalWeights out = read_diagonal_weights_csv(path("lbfgs.csv"), 10);
  const Eigen::VectorXd w = model.linear_weights(model.parameters(out.u, out.v));
  EXPECT_LE((w - opt.w).lpNorm<Eigen::Infinity>(), 1e-8 * opt.w.lpNorm<Eigen::Infinity>()) << w.transpose();
  for (int k = 0; k < 10; ++k) EXPECT_NEAR(w(k), j["w"][k].get<double>(), 1e-15 * (1 + std::abs(w(k))));
}

// A start L-BFGS cannot finish within --max-iterations is exit 5 with no output file.
TEST_F(DiagonalCli, OptimumByLbfgsThatDoesNotConvergeWritesNothing) {
  const RunResult r = test::run_zeroloss(args("optimum") + " --method lbfgs --max-iterations 1 --out " + path("none.csv"));
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_NE(r.err.find("Riemannian L-BFGS did not converge"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("none.csv")));
}

TEST_F(DiagonalCli, EveryProjectionMethodWritesWhatTheLibraryComputes) {
  const Dataset data = read_dataset_csv(data_);
  const DiagonalWeights w0 = read_diagonal_weights_csv(weights_);
  const auto model = std::make_shared<const DiagonalLinearNetwork>(data.X, data.y);
  for (const std::string& method : projection_method_names()) {
    const RunResult r = test::run_zeroloss(args("project") + " --json --method " + method + " --out " + path(method + ".csv"));
    ASSERT_EQ(r.code, 0) << method << ": " << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["method"], method);
    EXPECT_LT(j["final_residual"].get<double>(), 1e-12);
    const ParameterProjection lib = project(model, model->parameters(w0.u, w0.v), parse_projection_method(method));
    const DiagonalWeights out = read_diagonal_weights_csv(path(method + ".csv"), 10);
    EXPECT_EQ(model->parameters(out.u, out.v), lib.theta) << method;  // same computation, same bits
    EXPECT_EQ(j["sharpness_after"].get<double>(), model->evaluate(lib.theta)->sharpness()) << method;
  }
}

TEST_F(DiagonalCli, CheckPassesOnTheTrueDerivativesAndFailsOnAnInjectedError) {
  ASSERT_EQ(test::run_zeroloss(args("project") + " --method newton --out " + path("on.csv")).code, 0);
  const std::string on = " --model diagonal-linear --data " + data_ + " --weights " + path("on.csv");
  RunResult r = test::run_zeroloss("check --json" + on);
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["passed"].get<bool>());
  EXPECT_EQ(j["model"], "diagonal-linear");
  EXPECT_GE(j["hessian"]["slope"].get<double>(), 2.8);
  r = test::run_zeroloss("check --inject-error hessian --inject-size 1e-2" + on);
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_NE(r.err.find("derivative check FAILED: hessian Taylor slope"), std::string::npos) << r.err;
}

TEST_F(DiagonalCli, ProjectInspectAndFlowAgreeWithEachOther) {
  ASSERT_EQ(test::run_zeroloss(args("project") + " --method newton --out " + path("on.csv")).code, 0);
  const RunResult inspect = test::run_zeroloss("inspect --model diagonal-linear --json --data " + data_ +
                                               " --weights " + path("on.csv"));
  ASSERT_EQ(inspect.code, 0) << inspect.err;
  const nlohmann::json in = nlohmann::json::parse(inspect.out);
  EXPECT_LT(in["residual_max"].get<double>(), 1e-12);
  EXPECT_EQ(in["manifold_dimension"].get<int>(), 16);
  EXPECT_TRUE(in["regular"].get<bool>());
  const RunResult flow = test::run_zeroloss(args("flow") + " --coefficient 1 --time 1500 --log-points 3 --out " + path("fl"));
  ASSERT_EQ(flow.code, 0) << flow.err;
  const CsvTable t = read_csv(path("fl/trajectory.csv"), CsvHeader::Required);
  ASSERT_EQ(t.rows.size(), 4u);  // t = 0 and 3 log points
  EXPECT_EQ(t.header[4], "sharpness");
  // At t = 0 the flow starts at the Newton projection, the point inspect saw.
  EXPECT_NEAR(t.rows[0][4], in["sharpness"].get<double>(), 1e-13 * in["sharpness"].get<double>());
  // At the end T has come down to its weighted-l1 bound: u_k v_k = 0, the optimum of THEORY 9.
  const auto& last = t.rows.back();
  EXPECT_NEAR(last[4], last[6], 1e-10 * last[6]);
  const RunResult opt = test::run_zeroloss(args("optimum") + " --json --out " + path("opt.csv"));
  ASSERT_EQ(opt.code, 0) << opt.err;
  EXPECT_NEAR(last[4], nlohmann::json::parse(opt.out)["sharpness"].get<double>(), 1e-9 * last[4]);
  const nlohmann::json s = nlohmann::json::parse(test::slurp(path("fl/summary.json")));
  EXPECT_EQ(s["model"], "diagonal-linear");
  EXPECT_EQ(s["status"], "completed");
}

TEST_F(DiagonalCli, DataWritesAPositiveStartWithTheSameBitsForTheSameSeed) {
  const std::string base = "data --model diagonal-linear --generator gaussian --n 4 --d 10 --seed 9 --init-scale 2 ";
  ASSERT_EQ(test::run_zeroloss(base + "--out " + path("d1.csv") + " --weights-out " + path("s1.csv")).code, 0);
  ASSERT_EQ(test::run_zeroloss(base + "--out " + path("d2.csv") + " --weights-out " + path("s2.csv")).code, 0);
  EXPECT_EQ(test::slurp(path("s1.csv")), test::slurp(path("s2.csv")));
  const DiagonalWeights w = read_diagonal_weights_csv(path("s1.csv"), 10);
  EXPECT_GE(std::min(w.u.minCoeff(), w.v.minCoeff()), 1.0);  // [s/2, 3s/2] with s = 2
  EXPECT_LT(std::max(w.u.maxCoeff(), w.v.maxCoeff()), 3.0);
  EXPECT_GT((w.u - w.v).norm(), 0.0);
  const RunResult opt = test::run_zeroloss("optimum --model diagonal-linear --data " + path("d1.csv") + " --weights " +
                                           path("s1.csv") + " --out " + path("o.csv"));
  EXPECT_EQ(opt.code, 0) << opt.err;
  const RunResult bad = test::run_zeroloss(base + "--m 3 --out " + path("d3.csv") + " --weights-out " + path("s3.csv"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--m and --a-mixed describe two-layer weights"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(path("d3.csv")));
}

TEST_F(DiagonalCli, BadWeightsFilesAreOneMessageAndNoOutput) {
  const std::string two_layer = file("w.csv", "w1,w2,w3,w4,w5,w6,w7,w8,w9,w10\n" + std::string("1,1,1,1,1,1,1,1,1,1\n"));
  RunResult r = test::run_zeroloss("optimum --model diagonal-linear --data " + data_ + " --weights " + two_layer +
                                   " --out " + path("o.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("column 'w1' in the header"), std::string::npos) << r.err;
  const std::string short_file = file("short.csv", "u,v\n1,2\n3,4\n");
  r = test::run_zeroloss("inspect --model diagonal-linear --data " + data_ + " --weights " + short_file);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("2 rows, but the data has d = 10 features"), std::string::npos) << r.err;
  r = test::run_zeroloss(args("project") + " --method geodesic --out " + path("o.csv"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--method"), std::string::npos) << r.err;
  r = test::run_zeroloss(args("inspect") + " --model bogus");
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(std::filesystem::exists(path("o.csv")));
}

}  // namespace
}  // namespace zeroloss
