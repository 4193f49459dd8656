// `zeroloss sgd --model diagonal-linear` through the real program: label-noise SGD on (u, v) with the
// library's generic step; its time columns and T agree with the formulas and the library, the same
// seed gives the same bits, and the two-layer options are refused by name.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/dynamics/generic_label_noise_sgd.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"

namespace zeroloss {
namespace {

using test::RunResult;

class DiagonalSgdCli : public test::FolderTest {
 protected:
  DiagonalSgdCli() : test::FolderTest("diagonal-sgd-cli-") {}
  void SetUp() override {
    test::FolderTest::SetUp();
    data_ = path("data.csv");
    ASSERT_EQ(test::run_zeroloss("data --generator gaussian --n 4 --d 10 --seed 3 --out " + data_).code, 0);
    std::string uv = "u,v\n";
    for (int k = 0; k < 10; ++k) uv += std::to_string(0.6 + 0.07 * k) + "," + std::to_string(1.3 - 0.05 * k) + "\n";
    weights_ = file("uv.csv", uv);
  }
  std::string sgd(const std::string& out, const std::string& extra = "") const {
    return "sgd --model diagonal-linear --data " + data_ + " --weights " + weights_ +
           " --lr 0.01 --label-noise 0.5 --batch 2 --steps 3000 --log-every 500 --seed 4 --out " + path(out) + " " +
           extra;
  }
  std::string data_, weights_;
};

TEST_F(DiagonalSgdCli, TimeScaleAndSharpnessColumnsAgreeWithTheLibraryAndTheSameSeedGivesTheSameBits) {
  const RunResult a = test::run_zeroloss(sgd("a"));
  ASSERT_EQ(a.code, 0) << a.err;
  EXPECT_NE(a.out.find("label-noise SGD on the diagonal linear network"), std::string::npos) << a.out;
  ASSERT_EQ(test::run_zeroloss(sgd("b")).code, 0);
  for (const char* f : {"trajectory.csv", "final_weights.csv"})
    EXPECT_EQ(test::slurp(path(std::string("a/") + f)), test::slurp(path(std::string("b/") + f))) << f;

  const CsvTable t = read_csv(path("a/trajectory.csv"), CsvHeader::Required);
  EXPECT_EQ(t.header, (std::vector<std::string>{"step", "t", "tau", "loss", "sharpness", "weighted_l1_bound"}));
  ASSERT_EQ(t.rows.size(), 7u);  // steps 0, 500, ..., 3000
  const double eta = 0.01, s = 0.5;
  const int B = 2;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const double k = t.rows[r][0];
    EXPECT_EQ(k, 500.0 * r);
    EXPECT_DOUBLE_EQ(t.rows[r][1], eta * eta * k);                  // SGD time t = eta^2 k
    EXPECT_DOUBLE_EQ(t.rows[r][2], s * s / (4.0 * B) * eta * eta * k);  // flow time tau = s^2/(4B) t
  }

  // T and L of the last row from the final u, v and the data directly (THEORY 9).
  const Dataset data = read_dataset_csv(data_);
  const DiagonalWeights w = read_diagonal_weights_csv(path("a/final_weights.csv"), 10);
  const int n = static_cast<int>(data.X.rows());
  const Eigen::VectorXd c = data.X.colwise().squaredNorm().transpose();
  const double T = 4.0 / n * c.dot((w.u.array().square() + w.v.array().square()).matrix());
  const Eigen::VectorXd r = data.X * (w.u.array().square() - w.v.array().square()).matrix() - data.y;
  const auto& last = t.rows.back();
  EXPECT_NEAR(last[4], T, 1e-12 * T);
  EXPECT_NEAR(last[3], r.squaredNorm() / (2.0 * n), 1e-12 * std::max(1e-3, last[3]));
  EXPECT_LE(last[5], last[4] * (1 + 1e-15));  // the weighted-l1 bound is below T

  // The library's generic step with the same parameters reaches the same bits.
  const DiagonalWeights w0 = read_diagonal_weights_csv(weights_, 10);
  const auto model = std::make_shared<const DiagonalLinearNetwork>(data.X, data.y);
  SgdParameters p;
  p.learning_rate = eta;
  p.label_noise = s;
  p.batch_size = B;
  p.seed = 4;
  GenericLabelNoiseSgd direct(model, model->parameters(w0.u, w0.v), p);
  direct.advance(3000);
  EXPECT_EQ(model->parameters(w.u, w.v), direct.parameters());
  EXPECT_EQ(last[2], direct.flow_time());
  const nlohmann::json summary = nlohmann::json::parse(test::slurp(path("a/summary.json")));
  EXPECT_EQ(summary["model"], "diagonal-linear");
  EXPECT_EQ(summary["status"], "completed");
  EXPECT_EQ(summary["parameters"]["flow_coefficient"].get<double>(), s * s / (4.0 * B));
}

TEST_F(DiagonalSgdCli, ResumeTakesTheRunFromItsFolderAndRefusesOtherOptions) {
  ASSERT_EQ(test::run_zeroloss(sgd("done", "--checkpoint-every 1000")).code, 0);
  const RunResult again = test::run_zeroloss("sgd --resume " + path("done"));
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("nothing to resume"), std::string::npos) << again.err;
  const RunResult mixed = test::run_zeroloss("sgd --resume " + path("done") + " --lr 0.5");
  EXPECT_EQ(mixed.code, 2);
  EXPECT_NE(mixed.err.find("--lr cannot be combined with it"), std::string::npos) << mixed.err;
}

TEST_F(DiagonalSgdCli, TwoLayerOptionsAreRefusedByName) {
  for (const std::string option : {"--coordinates weights", "--instruction-set baseline",
                                   "--max-loss 10", "--init gaussian", "--save-reduced"}) {
    const RunResult r = test::run_zeroloss(sgd("refused", option));
    EXPECT_EQ(r.code, 2) << option;
    const std::string name = option.substr(0, option.find(' '));
    EXPECT_NE(r.err.find(name + " does not apply to --model diagonal-linear"), std::string::npos) << r.err;
  }
  const RunResult json_weights = test::run_zeroloss("sgd --model diagonal-linear --data " + data_ + " --weights " +
                                                    file("w.json", "{}") + " --lr 0.01 --label-noise 0.5 --steps 10 --out " +
                                                    path("j"));
  EXPECT_EQ(json_weights.code, 2);
  EXPECT_NE(json_weights.err.find("reads a CSV with header u,v"), std::string::npos) << json_weights.err;
}

}  // namespace
}  // namespace zeroloss
