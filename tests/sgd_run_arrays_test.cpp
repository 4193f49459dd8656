// Label-noise SGD on a problem given in memory (runs/loaded_problem.hpp ProblemArrays, the
// LabelNoiseSgdRun constructor that takes them): the same validation and messages as the files with
// the quantity named instead, the same bits as the run on the files, no file without a folder, and
// with a folder the inputs it needs to resume.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <string>

#include "test_support.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/io/weights.hpp"
#include "zeroloss/runs/label_noise_sgd_run.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

namespace fs = std::filesystem;

const std::string kInputs = std::string(ZEROLOSS_SOURCE_DIR) + "/tests/golden/inputs/";

class SgdRunArrays : public test::FolderTest {
 protected:
  SgdRunArrays() : test::FolderTest("sgd-arrays-") {}
  static ProblemArrays arrays() {
    const Dataset data = read_dataset_csv(kInputs + "main_data.csv");
    const Weights w = read_weights_csv(kInputs + "main_w0.csv");
    ProblemArrays p;
    p.X = data.X;
    p.y = data.y;
    p.theta = w.theta;
    p.a = w.a;
    return p;
  }
  // K = min(n, m): the spectrum columns of trajectory.csv.
  static int spectrum_columns() {
    const ProblemArrays p = arrays();
    return static_cast<int>(std::min(p.X.rows(), p.theta.rows()));
  }
  static LabelNoiseSgdRunOptions options() {
    LabelNoiseSgdRunOptions o;
    o.learning_rate = 0.02;
    o.label_noise = 1;
    o.steps = 20000;
    o.log_points = 8;
    o.seeds = {3};
    o.figures = false;
    return o;
  }
  // The message of `f` (which must throw InputError).
  template <class F>
  static std::string message(F&& f) {
    try {
      f();
    } catch (const InputError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no InputError";
    return "";
  }
};

TEST_F(SgdRunArrays, GiveTheBitsOfTheRunOnFilesAndWriteNothingWithoutAFolder) {
  LabelNoiseSgdRunOptions on_files = options();
  on_files.problem.data = kInputs + "main_data.csv";
  on_files.problem.weights = kInputs + "main_w0.csv";
  on_files.out = path("files");
  const LabelNoiseSgdRunSummary expected = LabelNoiseSgdRun(on_files).run();
  ASSERT_EQ(expected.status, SgdRunStatus::Completed);

  const auto before = fs::current_path();
  fs::current_path(dir_);
  const LabelNoiseSgdRunSummary got = LabelNoiseSgdRun(options(), arrays()).run();
  fs::current_path(before);
  ASSERT_EQ(got.status, SgdRunStatus::Completed);
  EXPECT_TRUE(got.seeds[0].dir.empty());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);  // only files/
  // The final weights and every logged row, bit for bit (the files' text is the numbers' shortest
  // round trip, so equal text means equal bits).
  const Weights file_final = read_weights_csv(path("files/final_weights.csv"));
  ASSERT_EQ(got.seeds[0].final_weights.rows(), file_final.theta.rows());
  EXPECT_TRUE((got.seeds[0].final_weights.array() == file_final.theta.array()).all());
  EXPECT_EQ(trajectory_csv(got.seeds[0].rows, spectrum_columns()), test::slurp(path("files/trajectory.csv")));
  // A different seed moves differently (the comparison can fail).
  LabelNoiseSgdRunOptions other = options();
  other.seeds = {4};
  EXPECT_FALSE((LabelNoiseSgdRun(other, arrays()).run().seeds[0].final_weights.array() == file_final.theta.array()).all());
}

TEST_F(SgdRunArrays, WithAFolderWriteTheInputsAndResumeToTheUninterruptedBits) {
  LabelNoiseSgdRunOptions o = options();
  const LabelNoiseSgdRunSummary whole = LabelNoiseSgdRun(o, arrays()).run();
  o.out = path("cut");
  std::atomic<bool> stop{false};
  RunControl control;
  control.interrupt = &stop;
  control.progress = [&stop](double done) {
    if (done >= 5000) stop = true;
  };
  const LabelNoiseSgdRunSummary cut = LabelNoiseSgdRun(o, arrays()).run(control);
  ASSERT_EQ(cut.status, SgdRunStatus::Interrupted);
  EXPECT_EQ(cut.seeds[0].final_weights.rows(), arrays().theta.rows());  // the state reached
  EXPECT_TRUE(fs::exists(o.out + "/inputs/data.csv") && fs::exists(o.out + "/inputs/weights.csv"));
  const LabelNoiseSgdRunSummary rest = LabelNoiseSgdRun::resume(o.out, 1, true).run();
  ASSERT_EQ(rest.status, SgdRunStatus::Completed);
  const Weights final_weights = read_weights_csv(o.out + "/final_weights.csv");
  EXPECT_TRUE((final_weights.theta.array() == whole.seeds[0].final_weights.array()).all());
  EXPECT_EQ(test::slurp(o.out + "/trajectory.csv"), trajectory_csv(whole.seeds[0].rows, spectrum_columns()));
}

TEST_F(SgdRunArrays, AreValidatedLikeFilesWithTheQuantityNamed) {
  ProblemArrays p = arrays();
  p.theta(2, 0) = 1e300;  // ||theta_3||^2 overflows
  Eigen::MatrixXd theta_file = p.theta;
  write_weights_csv(path("big.csv"), theta_file, p.a);
  ProblemFiles files;
  files.data = kInputs + "main_data.csv";
  files.weights = path("big.csv");
  const std::string from_file = message([&] { load_problem(files); });
  const std::string from_arrays = message([&] { load_problem(p); });
  ASSERT_EQ(from_arrays.rfind("weights Theta, neuron 3 (row 3), column 1: theta = 1e+300", 0), 0u) << from_arrays;
  std::string renamed = from_arrays;
  renamed.replace(0, std::string("weights Theta").size(), files.weights);
  EXPECT_EQ(renamed, from_file);

  ProblemArrays narrow = arrays();
  narrow.theta = narrow.theta.leftCols(narrow.theta.cols() - 1).eval();
  EXPECT_NE(message([&] { load_problem(narrow); }).find("weights Theta: "), std::string::npos);
  ProblemArrays short_a = arrays();
  short_a.a = Eigen::VectorXd::Ones(short_a.theta.rows() - 1);
  EXPECT_NE(message([&] { load_problem(short_a); }).find("second layer a: "), std::string::npos);
  ProblemArrays zero_a = arrays();
  zero_a.a(0) = 0;
  EXPECT_NE(message([&] { load_problem(zero_a); }).find("second layer a: a_1 = 0"), std::string::npos);
  ProblemArrays nan_y = arrays();
  nan_y.y(1) = std::nan("");
  EXPECT_NE(message([&] { load_problem(nan_y); }).find("labels y"), std::string::npos);
  // The run refuses file options and a random start for a problem in memory.
  LabelNoiseSgdRunOptions o = options();
  o.problem.data = "D.csv";
  EXPECT_NE(message([&] { LabelNoiseSgdRun(o, arrays()); }).find("in memory"), std::string::npos);
  o = options();
  o.steps = 0;
  EXPECT_NE(message([&] { LabelNoiseSgdRun(o, arrays()); }).find("--steps"), std::string::npos);
}

}  // namespace
}  // namespace zeroloss
