// The zeroloss program itself (data, inspect, check): bad input gives one clear stderr message, the
// documented exit code and no output file; the happy path prints what the library computes.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/io/weights.hpp"

using namespace zeroloss;
using nlohmann::json;

namespace {

using zeroloss::test::slurp;

using zeroloss::test::RunResult;

RunResult zeroloss(const std::string& args) { return test::run_zeroloss(args); }

// Exactly one line on stderr, of the form "zeroloss <command>: error: ...", containing every fragment.
void expect_one_message(const RunResult& r, const std::string& command, const std::vector<std::string>& fragments) {
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("zeroloss " + command + ": ", 0), 0u) << r.err;
  for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << "'" << f << "' not in: " << r.err;
}

class Cli : public test::FolderTest {
 protected:
  Cli() : test::FolderTest("cli-") {}
  // Files in the working folder other than the given inputs.
  std::vector<std::string> outputs_besides(const std::vector<std::string>& inputs) const {
    std::vector<std::string> extra;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      const std::string p = e.path().string();
      if (std::find(inputs.begin(), inputs.end(), p) == inputs.end()) extra.push_back(p);
    }
    return extra;
  }
};

const char* kGoodData = "x1,x2,x3,y\n0.3,0.1,0.9,0.5\n0.7,0.2,0.1,-0.4\n";
const char* kGoodWeights = "w1,w2,w3,a\n0.2,-0.1,0.4,1\n-0.3,0.5,0.1,-1\n0.6,0.2,-0.2,0.5\n";

struct BadCase {
  std::string name, data, weights, extra;
  std::vector<std::string> fragments;  // besides the offending file's path
  bool data_is_culprit;
};

TEST_F(Cli, BadInputGivesOneMessageExitTwoAndNoOutput) {
  const std::vector<BadCase> cases = {
      {"ragged rows", "x1,x2,x3,y\n1,2,3,4\n5,6,7\n", kGoodWeights, "", {":3:", "3 cells, expected 4"}, true},
      {"non-numeric cell", "x1,x2,x3,y\n1,2,3,4\n5,six,7,8\n", kGoodWeights, "", {":3:", "'six' is not a number"}, true},
      {"missing y", "x1,x2,x3\n1,2,3\n", kGoodWeights, "", {":1:", "no column named 'y'"}, true},
      {"empty data file", "", kGoodWeights, "", {"empty file"}, true},
      {"NaN in data", "x1,x2,x3,y\n1,nan,3,4\n", kGoodWeights, "", {":2:", "not finite"}, true},
      {"Inf in weights", kGoodData, "w1,w2,w3,a\n1,2,inf,1\n", "", {":2:", "not finite"}, false},
      {"ragged weights", kGoodData, "0.1,0.2,0.3\n0.4,0.5\n", "", {":2:", "2 cells, expected 3"}, false},
      {"different d", kGoodData, "w1,w2,a\n1,2,1\n", "", {"2 weight columns", "d = 3"}, false},
      {"a = 0", kGoodData, "w1,w2,w3,a\n1,2,3,1\n4,5,6,0\n", "", {":3:", "column 'a' is 0"}, false},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string D = file("D.csv", c.data), W = file("W.csv", c.weights);
    for (const std::string command : {"inspect", "check"}) {
      const RunResult r = zeroloss(command + " --data " + D + " --weights " + W + " " + c.extra);
      EXPECT_EQ(r.code, 2) << command << ": " << r.err;
      std::vector<std::string> frags = c.fragments;
      if (c.extra.empty()) frags.push_back(c.data_is_culprit ? D : W);
      expect_one_message(r, command, frags);
      EXPECT_TRUE(r.out.empty()) << r.out;
      EXPECT_TRUE(outputs_besides({D, W}).empty());
    }
  }
}

TEST_F(Cli, DataCommandFailuresWriteNoFile) {
  const std::string D = path("D.csv"), W = path("W.csv");
  const std::string outs = " --out " + D + " --weights-out " + W;
  struct Case {
    std::string args;
    int code;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"--n 4 --d 2 --generator orthonormal --m 2" + outs, 2, {"orthonormal", "n <= d"}},
      {"--n 3 --d 2 --labels teacher --teacher-activation relu --m 2" + outs, 1, {"unknown activation 'relu'"}},
      {"--n 3 --d 2 --label-values 1,2 --m 2" + outs, 2, {"2 given labels", "n = 3"}},
      {"--n 3 --d 2 --generator normal --m 2" + outs, 1, {"--generator: must be one of", "got normal"}},
      {"--n 3 --d 2 --m 0" + outs, 1, {"--m"}},
      {"--n 3 --d 2 --m 2 --init-scale -1" + outs, 1, {"--init-scale"}},
      {"--n 3 --d 2 --m 2 --out " + D + " --weights-out " + path("nope/W.csv"), 2, {"does not exist"}},
      {"--n 0 --d 2 --m 2" + outs, 1, {"--n: must be a positive integer, got 0"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    const RunResult r = zeroloss("data " + c.args);
    EXPECT_EQ(r.code, c.code) << r.err;
    expect_one_message(r, "data", c.fragments);
    EXPECT_FALSE(std::filesystem::exists(D));
    EXPECT_FALSE(std::filesystem::exists(W));
    EXPECT_TRUE(outputs_besides({}).empty());
  }
  // A usage error (missing --d) exits 1, also without output.
  const RunResult usage = zeroloss("data --n 3 --out " + D);
  EXPECT_EQ(usage.code, 1);
  EXPECT_NE(usage.err.find("--d is required"), std::string::npos) << usage.err;
  EXPECT_FALSE(std::filesystem::exists(D));
}

TEST_F(Cli, SingularPointReportsWhatItCanThenExitsThree) {
  // Two identical data rows: J J^T = G o (D D^T) is exactly singular at every point.
  const std::string D = file("D.csv", "x1,x2,x3,y\n1,2,3,0.5\n1,2,3,0.5\n");
  const std::string W = file("W.csv", "0.1,0.2,0.3\n-0.2,0.1,0.4\n");
  const RunResult text = zeroloss("inspect --data " + D + " --weights " + W);
  EXPECT_EQ(text.code, 3);
  expect_one_message(text, "inspect", {"J J^T is singular", "condition number inf"});
  EXPECT_NE(text.out.find("jjt_condition"), std::string::npos);
  EXPECT_NE(text.out.find("inf  (SINGULAR"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("undefined at a singular point"), std::string::npos);

  const RunResult js = zeroloss("inspect --json --data " + D + " --weights " + W);
  EXPECT_EQ(js.code, 3);
  expect_one_message(js, "inspect", {"singular"});
  const json j = json::parse(js.out);
  EXPECT_TRUE(j["jjt_condition"].is_null());
  EXPECT_FALSE(j["jjt_regular"].get<bool>());
  EXPECT_TRUE(j["riemannian_grad_norm"].is_null());
  EXPECT_TRUE(j["hessian_eigenvalues"].is_null());
  EXPECT_TRUE(j["sharpness"].is_number());
  EXPECT_EQ(j["p"].get<int>(), 1);

  const RunResult chk = zeroloss("check --data " + D + " --weights " + W);
  EXPECT_EQ(chk.code, 3);
  expect_one_message(chk, "check", {"singular", "m*d - n = 4"});
  EXPECT_TRUE(outputs_besides({D, W}).empty());
}

TEST_F(Cli, ActivationWithoutInverseForTheOptimum) {
  // The optimum command (issue 2, section 3) needs phi^{-1}(y_i / m): tanh cannot reach |y_i / m| >= 1.
  const RunResult help = zeroloss("--help");
  if (help.out.find("\n  optimum ") == std::string::npos) {
    GTEST_SKIP() << "the optimum command is not part of this build";
  }
  const std::string D = file("D.csv", "x1,x2,x3,y\n1,0,0,5\n0,1,0,0.1\n");
  const std::string W = file("W.csv", "0.1,0.2,0.3\n-0.2,0.1,0.4\n");
  const std::string out = path("W2.csv");
  const RunResult r = zeroloss("optimum --activation tanh --data " + D + " --weights " + W + " --out " + out);
  EXPECT_EQ(r.code, 4) << r.err;
  expect_one_message(r, "optimum", {"tanh"});
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_TRUE(outputs_besides({D, W}).empty());
}

TEST_F(Cli, DataThenInspectJsonEqualsTheLibrary) {
  const std::string D = path("D.csv"), W = path("W.csv");
  const RunResult data = zeroloss("data --generator gaussian --n 3 --d 5 --seed 4 --out " + D + " --weights-out " + W +
                            " --m 4 --a-mixed");
  ASSERT_EQ(data.code, 0) << data.err;
  EXPECT_NE(data.out.find("X: rank 3, condition number"), std::string::npos) << data.out;
  const RunResult r = zeroloss("inspect --json --activation sinh --data " + D + " --weights " + W);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  const json j = json::parse(r.out);
  for (const char* key : {"n", "d", "m", "loss", "residual_max", "sharpness", "hessian_trace", "riemannian_grad_norm",
                          "hessian_eigenvalues", "preactivation_singular_values", "feature_singular_values",
                          "jjt_condition", "assumptions", "p", "manifold_dimension", "on_manifold"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"min_first_derivative", "min_third_derivative", "holds", "description"})
    EXPECT_TRUE(j["assumptions"].contains(key)) << key;

  // The same numbers from the library, in full coordinates (inspect uses reduced ones where it can).
  const Dataset ds = read_dataset_csv(D);
  const Weights w = read_weights_csv(W, 5);
  const TwoLayerModel model(ds.X, ds.y, w.a, Activation::sinh());
  const SharpnessGeometry g(model, w.theta);
  auto rel = [](double a, double b) { return std::abs(a - b) / std::max(1e-300, std::abs(b)); };
  EXPECT_EQ(j["n"].get<int>(), 3);
  EXPECT_EQ(j["d"].get<int>(), 5);
  EXPECT_EQ(j["m"].get<int>(), 4);
  EXPECT_EQ(j["p"].get<int>(), 3);
  EXPECT_EQ(j["manifold_dimension"].get<int>(), 4 * 5 - 3);
  EXPECT_FALSE(j["on_manifold"].get<bool>());  // a random start
  EXPECT_LT(rel(j["loss"].get<double>(), g.evaluation().loss), 1e-14);
  EXPECT_LT(rel(j["residual_max"].get<double>(), g.evaluation().residuals.cwiseAbs().maxCoeff()), 1e-14);
  EXPECT_LT(rel(j["sharpness"].get<double>(), g.sharpness()), 1e-14);
  EXPECT_LT(rel(j["hessian_trace"].get<double>(), g.hessian_trace()), 1e-14);
  EXPECT_LT(rel(j["riemannian_grad_norm"].get<double>(), g.riemannian_gradient().norm()), 1e-10);
  const Eigen::VectorXd ev = g.riemannian_hessian_matrix().eigenvalues;
  const auto jev = j["hessian_eigenvalues"].get<std::vector<double>>();
  ASSERT_EQ(static_cast<Eigen::Index>(jev.size()), ev.size());
  ASSERT_EQ(jev.size(), 4u * 3 - 3);
  for (size_t k = 0; k < jev.size(); ++k) {
    EXPECT_NEAR(jev[k], ev(k), 1e-10 * ev.cwiseAbs().maxCoeff()) << k;
    if (k > 0) {
      EXPECT_LE(jev[k - 1], jev[k]);
    }
  }
  // Independent routes: singular values by Jacobi SVD; cond(J J^T) = (sigma_max / sigma_min of J)^2.
  const Eigen::VectorXd svR = Eigen::JacobiSVD<Eigen::MatrixXd>(g.evaluation().R).singularValues();
  const Eigen::VectorXd svPhi = Eigen::JacobiSVD<Eigen::MatrixXd>(g.evaluation().phi).singularValues();
  const auto jR = j["preactivation_singular_values"].get<std::vector<double>>();
  const auto jPhi = j["feature_singular_values"].get<std::vector<double>>();
  ASSERT_EQ(jR.size(), 3u);
  ASSERT_EQ(jPhi.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_LT(rel(jR[k], svR(k)), 1e-12);
    EXPECT_LT(rel(jPhi[k], svPhi(k)), 1e-12);
  }
  const Eigen::VectorXd svJ = Eigen::JacobiSVD<Eigen::MatrixXd>(g.jacobian().dense()).singularValues();
  EXPECT_LT(rel(j["jjt_condition"].get<double>(), std::pow(svJ(0) / svJ(2), 2)), 1e-8);
  // sinh: phi' = cosh >= 1 and phi''' = cosh: both minima at the pre-activation closest to 0.
  const double rmin = g.evaluation().R.cwiseAbs().minCoeff();
  EXPECT_LT(rel(j["assumptions"]["min_first_derivative"].get<double>(), std::cosh(rmin)), 1e-14);
  EXPECT_LT(rel(j["assumptions"]["min_third_derivative"].get<double>(), std::cosh(rmin)), 1e-14);
  EXPECT_TRUE(j["assumptions"]["holds"].get<bool>());

  // The readable table has the same rows.
  const RunResult t = zeroloss("inspect --activation sinh --data " + D + " --weights " + W);
  ASSERT_EQ(t.code, 0);
  for (const char* key : {"loss", "residual_max", "sharpness", "hessian_trace", "riemannian_grad_norm",
                          "hessian_eigenvalues", "preactivation_singular_values", "feature_singular_values",
                          "jjt_condition", "assumptions", "OFF the zero-loss manifold", "level set"})
    EXPECT_NE(t.out.find(key), std::string::npos) << key;
}

TEST_F(Cli, DataIsDeterministicAndHonoursGivenLabels) {
  const std::string a = path("a.csv"), b = path("b.csv"), wa = path("wa.csv"), wb = path("wb.csv");
  ASSERT_EQ(zeroloss("data --n 4 --d 6 --seed 9 --labels teacher --teacher-width 2 --out " + a + " --weights-out " +
                     wa + " --m 3").code,
            0);
  ASSERT_EQ(zeroloss("data --n 4 --d 6 --seed 9 --labels teacher --teacher-width 2 --out " + b + " --weights-out " +
                     wb + " --m 3").code,
            0);
  EXPECT_EQ(slurp(a), slurp(b));
  EXPECT_EQ(slurp(wa), slurp(wb));
  const RunResult g = zeroloss("data --n 3 --d 2 --label-values 1.5,-2,0.25 --out " + a);
  ASSERT_EQ(g.code, 0) << g.err;
  EXPECT_EQ(read_dataset_csv(a).y, Eigen::Vector3d(1.5, -2, 0.25));
  const RunResult dep = zeroloss("data --n 4 --d 2 --out " + b);
  ASSERT_EQ(dep.code, 0);
  EXPECT_NE(dep.out.find("rows of X are linearly dependent"), std::string::npos) << dep.out;
}

TEST_F(Cli, CheckPassesOnTheManifoldAndFailsWithAnInjectedError) {
  // A point on M: labels are the network's outputs at the weights.
  auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", true, 21);
  Dataset ds;
  ds.X = p.model.X();
  ds.y = p.model.y();
  const std::string D = path("D.csv"), W = path("W.csv");
  write_dataset_csv(D, ds);
  write_weights_csv(W, p.theta, p.model.a());

  const RunResult ins = zeroloss("inspect --json --data " + D + " --weights " + W);
  ASSERT_EQ(ins.code, 0) << ins.err;
  EXPECT_TRUE(json::parse(ins.out)["on_manifold"].get<bool>());

  const RunResult ok = zeroloss("check --data " + D + " --weights " + W);
  EXPECT_EQ(ok.code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("Overall: PASS"), std::string::npos) << ok.out;
  EXPECT_TRUE(ok.err.empty());

  const RunResult js = zeroloss("check --json --seed 3 --data " + D + " --weights " + W);
  ASSERT_EQ(js.code, 0) << js.err;
  const json j = json::parse(js.out);
  EXPECT_TRUE(j["passed"].get<bool>());
  EXPECT_NEAR(j["gradient"]["slope"].get<double>(), 2.0, 0.1);
  EXPECT_NEAR(j["hessian"]["slope"].get<double>(), 3.0, 0.1);
  EXPECT_EQ(j["gradient"]["t"].size(), 51u);
  EXPECT_LT(j["base_point_shift"].get<double>(), 1e-12);
  EXPECT_NEAR(j["value"].get<double>(), SharpnessGeometry(p.model, p.theta).sharpness(), 1e-12 * j["value"].get<double>());

  const RunResult bad = zeroloss("check --inject-error gradient --data " + D + " --weights " + W);
  EXPECT_EQ(bad.code, 7);
  expect_one_message(bad, "check", {"derivative check FAILED", "gradient Taylor slope"});
  EXPECT_NE(bad.out.find("Overall: FAIL"), std::string::npos);
  const RunResult badh = zeroloss("check --json --inject-error hessian --data " + D + " --weights " + W);
  EXPECT_EQ(badh.code, 7);
  const json jh = json::parse(badh.out);
  EXPECT_TRUE(jh["gradient"]["passed"].get<bool>());
  EXPECT_FALSE(jh["hessian"]["passed"].get<bool>());
  EXPECT_LT(jh["hessian"]["slope"].get<double>(), 2.5);
}

}  // namespace
