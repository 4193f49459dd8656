// Data and weights CSV files: every malformed input gives an InputError whose message names the file
// and the line (and column where there is one); round trips keep every bit; generators are
// deterministic in the seed.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/io/weights.hpp"

using namespace zeroloss;

namespace {

class CsvInput : public testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("io"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << contents;
    return path;
  }
  // Runs f, expects InputError, and checks that the message contains every fragment.
  static void expect_input_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
    try {
      f();
      ADD_FAILURE() << "no InputError";
    } catch (const InputError& e) {
      const std::string msg = e.what();
      for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "'" << frag << "' not in: " << msg;
    }
  }
  std::string dir_;
};

TEST_F(CsvInput, RaggedRowNamesFileAndLine) {
  const std::string p = write("ragged.csv", "x1,x2,y\n1,2,3\n4,5\n6,7,8\n");
  expect_input_error([&] { read_dataset_csv(p); }, {p + ":3:", "2 cells, expected 3"});
  const std::string w = write("ragged_w.csv", "1,2\n3,4,5\n");
  expect_input_error([&] { read_weights_csv(w); }, {w + ":2:", "3 cells, expected 2"});
}

TEST_F(CsvInput, NonNumericCellNamesLineAndColumn) {
  const std::string p = write("text.csv", "x1,x2,y\n1,2,3\n\n4,abc,6\n");  // blank line 3 is skipped
  expect_input_error([&] { read_dataset_csv(p); }, {p + ":4:", "column 2 ('x2')", "'abc' is not a number"});
  const std::string w = write("text_w.csv", "w1,w2,a\n0.1,0.2,1\n0.3,,1\n");
  expect_input_error([&] { read_weights_csv(w, 2); }, {w + ":3:", "column 2 ('w2')", "is not a number"});
}

TEST_F(CsvInput, MissingLabelColumn) {
  const std::string p = write("noy.csv", "x1,x2,x3\n1,2,3\n");
  expect_input_error([&] { read_dataset_csv(p); }, {p + ":1:", "no column named 'y'"});
  const std::string only_y = write("onlyy.csv", "y\n1\n");
  expect_input_error([&] { read_dataset_csv(only_y); }, {only_y + ":1:", "at least one feature"});
  const std::string twice = write("twoy.csv", "y,x,y\n1,2,3\n");
  expect_input_error([&] { read_dataset_csv(twice); }, {twice + ":1:", "'y' twice"});
}

TEST_F(CsvInput, EmptyFileAndHeaderOnly) {
  const std::string e = write("empty.csv", "");
  expect_input_error([&] { read_dataset_csv(e); }, {e, "empty file"});
  expect_input_error([&] { read_weights_csv(e); }, {e, "empty file"});
  const std::string h = write("header.csv", "x1,y\n\n");
  expect_input_error([&] { read_dataset_csv(h); }, {h, "no data rows after the header"});
  expect_input_error([&] { read_dataset_csv(dir_ + "/missing.csv"); }, {dir_ + "/missing.csv", "cannot open"});
}

TEST_F(CsvInput, NanAndInfCellsAreRejected) {
  for (const std::string cell : {"nan", "NaN", "inf", "-Infinity", "1e999"}) {
    const std::string p = write("nonfinite.csv", "x1,x2,y\n1,2,3\n4," + cell + ",6\n");
    expect_input_error([&] { read_dataset_csv(p); }, {p + ":3:", "column 2 ('x2')", "not finite"});
    const std::string w = write("nonfinite_w.csv", "0.5," + cell + "\n");
    expect_input_error([&] { read_weights_csv(w); }, {w + ":1:", "column 2", "not finite"});
  }
  // In the label column too.
  const std::string p = write("nan_y.csv", "x1,y\n1,nan\n");
  expect_input_error([&] { read_dataset_csv(p); }, {p + ":2:", "('y')", "not finite"});
}

TEST_F(CsvInput, WeightsOfDifferentDimensionThanData) {
  const std::string w = write("w3.csv", "w1,w2,w3,a\n1,2,3,1\n4,5,6,-1\n");
  expect_input_error([&] { read_weights_csv(w, 2); }, {w, "3 weight columns", "d = 2"});
  const std::string w_noheader = write("w2.csv", "1,2\n3,4\n");
  expect_input_error([&] { read_weights_csv(w_noheader, 5); }, {w_noheader, "2 weight columns", "d = 5"});
  // And the model refuses a theta of the wrong shape.
  TwoLayerModel model(Eigen::MatrixXd::Ones(2, 3), Eigen::VectorXd::Ones(2), Eigen::VectorXd::Ones(2),
                      Activation::cubic());
  expect_input_error([&] { model.check_weights(Eigen::MatrixXd::Ones(2, 2)); }, {"2 x 2 weights", "expected 2 x 3"});
}

TEST_F(CsvInput, ZeroSecondLayerWeight) {
  const std::string w = write("a0.csv", "w1,w2,a\n1,2,1\n3,4,0\n");
  expect_input_error([&] { read_weights_csv(w, 2); }, {w + ":3:", "column 'a' is 0 for neuron 2", "nonzero"});
  expect_input_error(
      [&] {
        TwoLayerModel(Eigen::MatrixXd::Ones(1, 2), Eigen::VectorXd::Ones(1), Eigen::Vector2d(1, 0), Activation::cubic());
      },
      {"a_2 = 0", "nonzero"});
}

TEST_F(CsvInput, UnknownActivationIsInputError) {
  expect_input_error([] { Activation::from_name("relu"); }, {"unknown activation 'relu'", "expected one of"});
}

TEST_F(CsvInput, DataRoundTripKeepsEveryBit) {
  DataOptions o;
  o.n = 4;
  o.d = 3;
  o.generator = DataGenerator::Gaussian;
  o.seed = 5;
  const Dataset ds = generate_dataset(o);
  const std::string p = dir_ + "/round.csv";
  write_dataset_csv(p, ds);
  const Dataset back = read_dataset_csv(p);
  EXPECT_EQ(back.X, ds.X);
  EXPECT_EQ(back.y, ds.y);
  EXPECT_EQ(back.feature_names, (std::vector<std::string>{"x1", "x2", "x3"}));
  EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
  // The label column may be anywhere.
  const std::string mid = write("mid.csv", "u,y,v\n1,7,2\n3,8,4\n");
  const Dataset m = read_dataset_csv(mid);
  EXPECT_EQ(m.X, (Eigen::MatrixXd(2, 2) << 1, 2, 3, 4).finished());
  EXPECT_EQ(m.y, Eigen::Vector2d(7, 8));
}

TEST_F(CsvInput, WeightsRoundTripAndOptionalHeader) {
  const Eigen::MatrixXd theta = test::random_matrix(3, 4, 2);
  const Eigen::Vector3d a(1.5, -0.25, 1e-3);
  const std::string p = dir_ + "/w.csv";
  write_weights_csv(p, theta, a);
  const Weights w = read_weights_csv(p, 4);
  EXPECT_EQ(w.theta, theta);
  EXPECT_EQ(w.a, Eigen::VectorXd(a));
  EXPECT_TRUE(w.has_second_layer_column);
  // No header, no 'a' column: a = 1.
  const Weights plain = read_weights_csv(write("plain.csv", "1,2\n3,4\n"), 2);
  EXPECT_EQ(plain.a, Eigen::Vector2d::Ones());
  EXPECT_FALSE(plain.has_second_layer_column);
  EXPECT_EQ(plain.theta, (Eigen::MatrixXd(2, 2) << 1, 2, 3, 4).finished());
}

TEST_F(CsvInput, AtomicWriteLeavesNoFileOnFailure) {
  const std::string p = dir_ + "/no/such/folder/out.csv";
  expect_input_error([&] { write_file_atomic(p, "x"); }, {p, "cannot open for writing"});
  EXPECT_FALSE(std::filesystem::exists(p));
  EXPECT_FALSE(std::filesystem::exists(p + ".tmp"));
}

TEST(DataGenerators, DeterministicInSeedAndShaped) {
  for (DataGenerator g : {DataGenerator::Gaussian, DataGenerator::Uniform01, DataGenerator::Orthonormal}) {
    DataOptions o;
    o.n = 3;
    o.d = 5;
    o.generator = g;
    o.seed = 11;
    const Dataset a = generate_dataset(o), b = generate_dataset(o);
    EXPECT_EQ(a.X, b.X);
    EXPECT_EQ(a.y, b.y);
    o.seed = 12;
    EXPECT_NE(generate_dataset(o).X, a.X);
    if (g == DataGenerator::Uniform01) {
      EXPECT_GE(a.X.minCoeff(), 0.0);
      EXPECT_LE(a.X.maxCoeff(), 1.0);
    }
    if (g == DataGenerator::Orthonormal) {
      EXPECT_LT((a.X * a.X.transpose() - Eigen::MatrixXd::Identity(3, 3)).norm(), 1e-14);
    }
    EXPECT_EQ(summarize_data(a.X).rank, 3);
  }
  DataOptions bad;
  bad.n = 4;
  bad.d = 2;
  bad.generator = DataGenerator::Orthonormal;
  EXPECT_THROW(generate_dataset(bad), InputError);
  bad.generator = DataGenerator::Gaussian;
  bad.labels = LabelKind::Given;
  bad.given_labels = {1, 2};
  EXPECT_THROW(generate_dataset(bad), InputError);
  EXPECT_THROW(parse_generator("normal"), InputError);
  EXPECT_THROW(parse_label_kind("teachers"), InputError);
}

TEST(DataGenerators, TeacherLabelsAreTheTeacherNetworksOutputs) {
  DataOptions o;
  o.n = 4;
  o.d = 3;
  o.labels = LabelKind::Teacher;
  o.teacher_width = 2;
  o.teacher_activation = Activation::tanh();
  o.seed = 3;
  const Dataset ds = generate_dataset(o);
  // tanh teacher of width 2: |y_i| < 2, and not all labels equal.
  EXPECT_LT(ds.y.cwiseAbs().maxCoeff(), 2.0);
  EXPECT_GT(ds.y.maxCoeff() - ds.y.minCoeff(), 1e-6);
}

TEST(DataGenerators, RankAndConditionNumberOfX) {
  Eigen::MatrixXd X(3, 4);
  X << 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0.5, 0;
  const DataSummary s = summarize_data(X);
  EXPECT_EQ(s.rank, 3);
  EXPECT_TRUE(s.rows_independent());
  EXPECT_NEAR(s.condition, 4.0, 1e-14);  // singular values 2, 1, 0.5
  X.row(2) = X.row(0);                   // a duplicated row: rank n - 1, condition (numerically) infinite
  const DataSummary t = summarize_data(X);
  EXPECT_EQ(t.rank, 2);
  EXPECT_FALSE(t.rows_independent());
  EXPECT_GT(t.condition, 1e15);
}

}  // namespace
