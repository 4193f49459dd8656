// Load-time checks (model/problem_checks.hpp, numerics/dense_limit.hpp): absurd numbers are refused at the door
// naming the file and cell; data that make M empty or J J^T singular everywhere are diagnosed
// before any work (geometry commands refuse, sgd warns and records); dense objects beyond the dense
// limit are refused before allocation with the size, the memory and the way out.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/problem_checks.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

using namespace zeroloss;
using nlohmann::json;

namespace {

// Sets an environment variable for the lifetime of the object, then restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

ProblemSource source() {
  ProblemSource s;
  s.data = "D.csv";
  s.weights = "W.csv";
  s.data_lines = {2, 3, 4};
  s.feature_names = {"x1", "x2"};
  return s;
}

std::string evaluable_error(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, const Eigen::MatrixXd& theta,
                            const std::string& activation) {
  const TwoLayerModel model(X, y, Eigen::VectorXd::Ones(theta.rows()), Activation::from_name(activation));
  try {
    require_evaluable(model, theta, source());
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

void expect_contains(const std::string& text, const std::vector<std::string>& fragments) {
  for (const auto& f : fragments) EXPECT_NE(text.find(f), std::string::npos) << "'" << f << "' not in: " << text;
}

TEST(RequireEvaluable, ModerateNumbersPass) {
  Eigen::MatrixXd X(3, 2);
  X << 0.3, 0.1, 0.7, -0.2, 0.1, 0.5;
  const Eigen::MatrixXd theta = Eigen::MatrixXd::Constant(2, 2, 0.4);
  EXPECT_EQ(evaluable_error(X, Eigen::VectorXd::Ones(3), theta, "cubic"), "");
  EXPECT_EQ(evaluable_error(X, Eigen::VectorXd::Ones(3), theta, "sinh"), "");
}

TEST(RequireEvaluable, HugeFeatureIsNamedByFileLineAndColumn) {
  Eigen::MatrixXd X(3, 2);
  X << 0.3, 0.1, 0.7, 1e300, 0.1, 0.5;
  const std::string e = evaluable_error(X, Eigen::VectorXd::Ones(3), Eigen::MatrixXd::Constant(2, 2, 0.4), "cubic");
  expect_contains(e, {"D.csv:3 (sample 2), column 'x2'", "||x_2||^2 overflow", "cannot be evaluated"});
}

TEST(RequireEvaluable, HugeLabelIsNamed) {
  Eigen::MatrixXd X(3, 2);
  X << 0.3, 0.1, 0.7, -0.2, 0.1, 0.5;
  Eigen::VectorXd y = Eigen::VectorXd::Ones(3);
  y(2) = 1e300;
  const std::string e = evaluable_error(X, y, Eigen::MatrixXd::Constant(2, 2, 0.4), "cubic");
  expect_contains(e, {"D.csv:4 (sample 3), column 'y'", "1e+300", "loss"});
}

TEST(RequireEvaluable, HugeWeightIsNamedByNeuronAndColumn) {
  Eigen::MatrixXd X(3, 2);
  X << 0.3, 0.1, 0.7, -0.2, 0.1, 0.5;
  Eigen::MatrixXd theta = Eigen::MatrixXd::Constant(2, 2, 0.4);
  theta(1, 0) = 1e300;
  const std::string e = evaluable_error(X, Eigen::VectorXd::Ones(3), theta, "cubic");
  expect_contains(e, {"W.csv, neuron 2 (row 2)", "cannot be evaluated"});
}

TEST(RequireEvaluable, ActivationOverflowIsCaughtNotTurnedIntoInf) {
  Eigen::MatrixXd X(3, 2);
  X << 1, 0, 0, 1, 0.5, 0.5;
  Eigen::MatrixXd theta = Eigen::MatrixXd::Constant(2, 2, 0.1);
  theta(0, 0) = 1e103;  // r = 1e103: cubic(r) = r + r^3/3 = inf (||theta_1||^2 = 1e206 is finite)
  expect_contains(evaluable_error(X, Eigen::VectorXd::Ones(3), theta, "cubic"),
                  {"the activation cubic overflows", "r_1,1", "D.csv:2 (sample 1)", "W.csv, neuron 1"});
  theta(0, 0) = 800;  // sinh(800) = inf
  expect_contains(evaluable_error(X, Eigen::VectorXd::Ones(3), theta, "sinh"),
                  {"the activation sinh overflows", "= 800", "phi(r) = inf"});
}

TwoLayerModel model_of(const std::vector<std::vector<double>>& rows, const std::vector<double>& y, int m,
                       const std::string& activation) {
  Eigen::MatrixXd X(rows.size(), rows.front().size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t k = 0; k < rows[i].size(); ++k) X(i, k) = rows[i][k];
  return TwoLayerModel(X, Eigen::Map<const Eigen::VectorXd>(y.data(), y.size()), Eigen::VectorXd::Ones(m),
                       Activation::from_name(activation));
}

TEST(DiagnoseData, IndependentRowsHaveNoFindings) {
  const DataDiagnostics g = diagnose_data(model_of({{1, 0, 0}, {0, 1, 0}, {0.3, 0.2, 1}}, {1, 2, 3}, 2, "cubic"), source());
  EXPECT_EQ(g.rank, 3);
  EXPECT_GT(g.rank_tolerance, 0);
  EXPECT_FALSE(g.blocking());
  EXPECT_TRUE(g.findings.empty());
}

TEST(DiagnoseData, IdenticalRowsWithDifferentLabelsMakeMEmpty) {
  const DataDiagnostics g = diagnose_data(model_of({{1, 2}, {0.5, 0.1}, {1, 2}}, {0.5, 1, -1}, 3, "cubic"), source());
  EXPECT_TRUE(g.empty_manifold);
  ASSERT_EQ(g.identical_conflicting.size(), 1u);
  EXPECT_EQ(g.identical_conflicting[0].first, 0);
  EXPECT_EQ(g.identical_conflicting[0].second, 2);
  expect_contains(g.findings.at(0), {"samples 1 and 3 (lines 2 and 4)", "M is empty"});
  try {
    require_manifold(g, source());
    ADD_FAILURE() << "require_manifold accepted an empty M";
  } catch (const InputError& e) {
    expect_contains(e.what(), {"D.csv: ", "M is empty", "Remove one row"});
  }
}

TEST(DiagnoseData, IdenticalRowsWithTheSameLabelMakeJJtSingular) {
  const DataDiagnostics g = diagnose_data(model_of({{1, 2}, {1, 2}}, {0.5, 0.5}, 2, "cubic"), source());
  EXPECT_FALSE(g.empty_manifold);
  EXPECT_TRUE(g.singular_everywhere);
  EXPECT_THROW(require_manifold(g, source()), SingularPointError);
}

TEST(DiagnoseData, ParallelRowsAreReportedButNotRefused) {
  // x_2 = 2 x_1: with a = 1 and a monotone phi the labels can still be fitted; M is regular for m p >= n.
  const DataDiagnostics g = diagnose_data(model_of({{1, 2}, {2, 4}}, {0.5, 3}, 3, "cubic"), source());
  EXPECT_EQ(g.rank, 1);
  EXPECT_FALSE(g.blocking());
  ASSERT_EQ(g.parallel.size(), 1u);
  EXPECT_DOUBLE_EQ(g.parallel[0].factor, 2.0);
  EXPECT_NO_THROW(require_manifold(g, source()));
}

TEST(DiagnoseData, MirroredRowsForAnOddActivation) {
  // cubic is odd: f(-x) = -f(x) for every Theta.
  const DataDiagnostics bad = diagnose_data(model_of({{1, 2}, {-1, -2}}, {0.5, 0.7}, 3, "cubic"), source());
  EXPECT_TRUE(bad.empty_manifold);
  const DataDiagnostics same = diagnose_data(model_of({{1, 2}, {-1, -2}}, {0.5, -0.5}, 3, "cubic"), source());
  EXPECT_FALSE(same.empty_manifold);
  EXPECT_TRUE(same.singular_everywhere);
  // softplus is not point-symmetric: only parallel.
  const DataDiagnostics sp = diagnose_data(model_of({{1, 2}, {-1, -2}}, {0.5, 0.7}, 3, "softplus"), source());
  EXPECT_FALSE(sp.blocking());
  EXPECT_EQ(sp.parallel.size(), 1u);
}

TEST(DiagnoseData, MoreSamplesThanMTimesRankMakeJJtSingular) {
  const DataDiagnostics g =
      diagnose_data(model_of({{1, 0}, {0, 1}, {1, 1}, {1, -1}, {2, 1}}, {1, 2, 3, 4, 5}, 2, "cubic"), source());
  EXPECT_EQ(g.rank, 2);
  EXPECT_TRUE(g.singular_everywhere);
  expect_contains(g.findings.back(), {"m p = 4", "at least 3 neurons"});
  // With enough neurons the same data are allowed (documented: n > d works where the maths allows).
  const DataDiagnostics ok =
      diagnose_data(model_of({{1, 0}, {0, 1}, {1, 1}, {1, -1}, {2, 1}}, {1, 2, 3, 4, 5}, 3, "cubic"), source());
  EXPECT_FALSE(ok.blocking());
}

TEST(DenseLimit, RiemannianHessianRefusedBeforeAllocationAndAllowedUnderTheLimit) {
  // m p = 500: the full Q factor alone is 500^2 doubles = 1.9 MiB.
  const test::RandomProblem P = test::random_problem_on_manifold(5, 200, 100, "cubic", false, 3);
  const ReducedCoordinates rc(P.model.X());
  const TwoLayerModel reduced = rc.reduce(P.model);  // SharpnessGeometry keeps a reference to its model
  const SharpnessGeometry geo(reduced, rc.reduce(P.theta));
  {
    ScopedEnv limit("ZEROLOSS_DENSE_LIMIT_MB", "1");
    try {
      geo.riemannian_hessian_matrix();
      ADD_FAILURE() << "no ResourceError under a 1 MiB limit";
    } catch (const ResourceError& e) {
      expect_contains(e.what(), {"dense Riemannian Hessian", "m p - n = 495", "would need", "MiB",
                                 "dense limit of 1 MiB", "ZEROLOSS_DENSE_LIMIT_MB", "fewer neurons"});
    }
  }
  {
    ScopedEnv limit("ZEROLOSS_DENSE_LIMIT_MB", "256");
    EXPECT_EQ(geo.riemannian_hessian_matrix().eigenvalues.size(), 495);
  }
}

TEST(DenseLimit, EnvironmentVariableMustBeAPositiveNumber) {
  ScopedEnv limit("ZEROLOSS_DENSE_LIMIT_MB", "-3");
  EXPECT_THROW(dense_limit_bytes(), InputError);
}

TEST(DenseLimit, DefaultIsAtMostTwoGiB) {
  ScopedEnv limit("ZEROLOSS_DENSE_LIMIT_MB", "");
  EXPECT_LE(dense_limit_bytes(), 2048ull * 1024 * 1024);
  EXPECT_GT(dense_limit_bytes(), 0u);
  EXPECT_NO_THROW(require_dense_size(1000, 1000, "a small matrix", ""));
  EXPECT_THROW(require_dense_size(1e6, 1e6, "a huge matrix", "way out"), ResourceError);
}

// --- The program -----------------------------------------------------------------------------

using zeroloss::test::RunResult;

RunResult zeroloss(const std::string& args) { return test::run_zeroloss(args); }

class DataChecksCli : public test::FolderTest {
 protected:
  DataChecksCli() : test::FolderTest("datachk-") {}
};

void expect_error(const RunResult& r, const std::string& command, int code, const std::vector<std::string>& fragments) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("zeroloss " + command + ": error: ", 0), 0u) << r.err;
  expect_contains(r.err, fragments);
}

TEST_F(DataChecksCli, AbsurdNumbersAreRefusedNamingFileAndCell) {
  const std::string W = file("W.csv", "w1,w2,a\n0.2,-0.1,1\n-0.3,0.5,1\n0.6,0.2,1\n");
  const std::string Dx = file("Dx.csv", "x1,x2,y\n0.3,0.1,0.5\n1e300,0.2,-0.4\n0.2,0.9,1\n");
  for (const std::string cmd : {"inspect", "optimum", "project", "check"}) {
    const std::string more = cmd == "optimum" ? " --out " + dir_ + "/o.csv" : cmd == "project" ? " --method newton --out " + dir_ + "/p.csv" : "";
    expect_error(zeroloss(cmd + more + " --data " + Dx + " --weights " + W), cmd, 2,
                 {Dx + ":3 (sample 2), column 'x1'", "overflow"});
  }
  const std::string Dy = file("Dy.csv", "x1,x2,y\n0.3,0.1,0.5\n0.7,0.2,1e300\n0.2,0.9,1\n");
  expect_error(zeroloss("inspect --data " + Dy + " --weights " + W), "inspect", 2, {Dy + ":3 (sample 2), column 'y'"});
  const std::string Wbig = file("Wbig.csv", "w1,w2,a\n0.2,-0.1,1\n-0.3,1e300,1\n0.6,0.2,1\n");
  const std::string D = file("D.csv", "x1,x2,y\n0.3,0.1,0.5\n0.7,0.2,-0.4\n0.2,0.9,1\n");
  expect_error(zeroloss("optimum --out " + dir_ + "/o.csv --data " + D + " --weights " + Wbig), "optimum", 2,
               {Wbig + ", neuron 2 (row 2), column 2"});
  const std::string Wsinh = file("Ws.csv", "w1,w2,a\n0.2,-0.1,1\n-0.3,2000,1\n0.6,0.2,1\n");
  expect_error(zeroloss("inspect --activation sinh --data " + D + " --weights " + Wsinh), "inspect", 2,
               {"neuron 2", "cannot be evaluated in floating point"});
  // sgd refuses before writing anything (no run.json).
  const RunResult s = zeroloss("sgd --data " + Dx + " --weights " + W + " --lr 0.01 --label-noise 0.1 --steps 10 --out " +
                               path("run"));
  expect_error(s, "sgd", 2, {Dx + ":3 (sample 2), column 'x1'"});
  EXPECT_FALSE(std::filesystem::exists(path("run")));
}

TEST_F(DataChecksCli, IdenticalRowsWithConflictingLabelsAreDiagnosedNotIntegrated) {
  const std::string D = file("D.csv", "x1,x2,x3,y\n0.3,0.1,0.9,0.5\n0.7,0.2,0.1,-0.4\n0.3,0.1,0.9,1.5\n");
  const std::string W = file("W.csv", "w1,w2,w3,a\n0.2,-0.1,0.4,1\n-0.3,0.5,0.1,1\n0.6,0.2,-0.2,1\n");
  const std::string args = " --data " + D + " --weights " + W;
  for (const std::string cmd : {"project", "optimum", "check"}) {
    const std::string more = cmd == "optimum" ? " --out " + dir_ + "/o.csv" : cmd == "project" ? " --method newton --out " + dir_ + "/p.csv" : "";
    expect_error(zeroloss(cmd + more + args), cmd, 2, {"samples 1 and 3 (lines 2 and 4)", "M is empty"});
  }
  expect_error(zeroloss("flow" + args + " --time 1 --out " + path("flow")), "flow", 2, {"M is empty"});
  expect_error(zeroloss("compare" + args + " --label-noise 0.1 --lr-list 0.02,0.01 --time 1 --out " + path("cmp")), "compare", 2, {"M is empty"});
  EXPECT_FALSE(std::filesystem::exists(path("flow")));
  expect_error(zeroloss("convexity --quick" + args + " --out " + path("cx")), "convexity", 2, {"M is empty"});
  // inspect prints what it can, then exits 3 (J J^T is singular) saying what the data imply.
  const RunResult in = zeroloss("inspect" + args);
  EXPECT_EQ(in.code, 3);
  expect_contains(in.err, {"J J^T is singular", "M is empty"});
  // sgd is well defined off M: it runs, warns and records the diagnosis.
  const RunResult s = zeroloss("sgd" + args + " --lr 0.01 --label-noise 0.1 --steps 20 --no-figures --out " + path("sgd"));
  ASSERT_EQ(s.code, 0) << s.err;
  expect_contains(s.err, {"zeroloss sgd: warning: identical data rows with different labels", "M is empty"});
  std::ifstream in_summary(path("sgd") + "/summary.json");
  const json summary = json::parse(in_summary);
  EXPECT_TRUE(summary.at("data_diagnostics").at("manifold_empty").get<bool>());
  EXPECT_EQ(summary.at("data_diagnostics").at("identical_rows_conflicting_labels").size(), 1u);
}

TEST_F(DataChecksCli, DenseObjectsBeyondTheLimitAreRefusedWithTheWayOutOrAvoided) {
  // n = 5, d = 200, m = 100: the dense Riemannian Hessian path needs a few MiB; the limit is 1 MiB.
  ASSERT_EQ(zeroloss("data --n 5 --d 200 --generator gaussian --out " + path("D.csv") + " --weights-out " +
                     path("W.csv") + " --m 100")
                .code,
            0);
  ASSERT_EQ(zeroloss("project --data " + path("D.csv") + " --weights " + path("W.csv") + " --method newton --out " +
                     path("P.csv"))
                .code,
            0);
  const std::string args = " --data " + path("D.csv") + " --weights " + path("P.csv");
  const std::string env = "ZEROLOSS_DENSE_LIMIT_MB=1 ";
  auto run = [&](const std::string& a) {
    RunResult r;
    r.code = test::run_command(env + test::zeroloss_binary() + " " + a, &r.out, &r.err);
    return r;
  };
  expect_error(run("inspect --spectrum dense" + args), "inspect", 10,
               {"dense Riemannian Hessian", "dense limit of 1 MiB", "--spectrum lanczos", "--no-hessian"});
  // auto: the dense objects do not fit, so the extremes come from Lanczos (m p - n = 495 is below the
  // dense threshold, so this is the fallback, not the threshold).
  const RunResult fallback = run("inspect --json" + args);
  EXPECT_EQ(fallback.code, 0) << fallback.err;
  EXPECT_NE(fallback.out.find("\"hessian_spectrum_method\": \"lanczos\""), std::string::npos) << fallback.out;
  const RunResult skip = run("inspect --no-hessian" + args);
  EXPECT_EQ(skip.code, 0) << skip.err;
  EXPECT_NE(skip.out.find("not computed (--no-hessian)"), std::string::npos) << skip.out;
  expect_error(run("optimum --out " + path("o.csv") + args), "optimum", 10, {"dense limit of 1 MiB"});
  // From a start off M (the generated weights): on M the Ceres projection returns before building its manifold.
  expect_error(run("project --method ceres --data " + path("D.csv") + " --weights " + path("W.csv") + " --out " +
                   path("C.csv")),
               "project", 10,
               {"dense limit of 1 MiB", "newton or gradient-flow"});
  EXPECT_FALSE(std::filesystem::exists(path("C.csv")));
  // convexity falls back like inspect: the extremes per point from Lanczos, no spectrum.csv.
  const RunResult cx = run("convexity --quick --no-search" + args + " --out " + path("cx"));
  EXPECT_EQ(cx.code, 0) << cx.err;
  std::ifstream in_cx(path("cx") + "/summary.json");
  const json cx_summary = json::parse(in_cx);
  EXPECT_EQ(cx_summary.at("point").at("spectrum"), "lanczos");
  EXPECT_TRUE(cx_summary.at("point").at("eigenvalues").empty());
  EXPECT_FALSE(std::filesystem::exists(path("cx") + "/spectrum.csv"));
}

}  // namespace
