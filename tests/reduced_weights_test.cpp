// Reduced weights (beta, U) files and `zeroloss sgd --init` / `--save-reduced`.

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/dataset.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/reduced_weights.hpp"
#include "zeroloss/weights.hpp"

namespace {

using namespace zeroloss;
using namespace zeroloss::test;

ReducedWeights random_reduced(int m, int d, int p, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  Eigen::MatrixXd X(p, d);
  for (int i = 0; i < p; ++i)
    for (int k = 0; k < d; ++k) X(i, k) = g(rng);
  ReducedWeights w;
  w.basis = ReducedCoordinates(X).basis();
  w.beta.resize(m, p);
  for (int j = 0; j < m; ++j)
    for (int k = 0; k < p; ++k) w.beta(j, k) = g(rng) * std::pow(10.0, g(rng));
  w.a = Eigen::VectorXd::LinSpaced(m, -2.0, 3.0);
  w.a(m / 2) = 0.5;  // no zero entry
  return w;
}

TEST(ReducedWeights, RoundTripIsBitExact) {
  const std::string dir = temp_dir("reduced-roundtrip");
  const ReducedWeights w = random_reduced(7, 9, 4, 1);
  write_reduced_weights(dir + "/w.json", w);
  const ReducedWeights r = read_reduced_weights(dir + "/w.json", 9);
  EXPECT_EQ((r.beta - w.beta).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ((r.basis - w.basis).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ((r.a - w.a).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_FALSE(r.perpendicular_dropped);
  EXPECT_THROW(read_reduced_weights(dir + "/w.json", 8), InputError);  // data d mismatch
}

TEST(ReducedWeights, RejectsNonOrthonormalBasisAndWrongShapes) {
  const std::string dir = temp_dir("reduced-bad");
  ReducedWeights w = random_reduced(3, 5, 2, 2);
  w.basis.col(1) *= 1.001;
  write_reduced_weights(dir + "/w.json", w);
  EXPECT_THROW(read_reduced_weights(dir + "/w.json"), InputError);
  ReducedWeights bad = random_reduced(3, 5, 2, 3);
  bad.a.resize(2);
  EXPECT_THROW(write_reduced_weights(dir + "/v.json", bad), InputError);
  EXPECT_THROW(write_reduced_weights(dir + "/v.csv", random_reduced(3, 5, 2, 3)), InputError);
}

// sgd --init starts inside the data span and writes reduced weights (no final_weights.csv); other
// commands read the manifest as Theta = beta U^T: `sgd --weights final_reduced.json` continues from
// there with the same outputs as from the equivalent full weights CSV.
TEST(ReducedWeights, SgdInitWritesReducedWeightsThatOtherCommandsRead) {
  const std::string dir = temp_dir("reduced-cli");
  const std::string zl = zeroloss_binary();
  std::string out, err;
  ASSERT_EQ(run_command(zl + " data --generator gaussian --n 4 --d 12 --seed 5 --out " + dir + "/d.csv", &out, &err), 0) << err;
  ASSERT_EQ(run_command(zl + " sgd --data " + dir + "/d.csv --init gaussian --m 6 --init-scale 0.5 --init-seed 2 --lr 0.01 "
                        "--label-noise 0.1 --steps 3000 --no-figures --out " + dir + "/a", &out, &err), 0) << err;
  EXPECT_FALSE(std::ifstream(dir + "/a/final_weights.csv").good());
  const ReducedWeights r = read_reduced_weights(dir + "/a/final_reduced.json", 12);
  ASSERT_EQ(r.beta.rows(), 6);
  ASSERT_EQ(r.beta.cols(), 4);
  // The start is inside the data span with pre-activations of standard deviation about 0.5: the
  // initial loss row of the trajectory is finite and the run moved.
  const Dataset data = read_dataset_csv(dir + "/d.csv");
  const Eigen::MatrixXd theta = r.beta * r.basis.transpose();
  EXPECT_LT((theta - theta * r.basis * r.basis.transpose()).norm(), 1e-12 * theta.norm());
  // Same continuation from the manifest and from the lifted CSV.
  write_weights_csv(dir + "/lifted.csv", theta, r.a);
  for (const auto& [w, o] : {std::pair<std::string, std::string>{"/a/final_reduced.json", "/c1"}, {"/lifted.csv", "/c2"}}) {
    ASSERT_EQ(run_command(zl + " sgd --data " + dir + "/d.csv --weights " + dir + w + " --lr 0.01 --label-noise 0.1 "
                          "--steps 500 --no-figures --save-reduced --out " + dir + o, &out, &err), 0)
        << err;
  }
  const ReducedWeights c1 = read_reduced_weights(dir + "/c1/final_reduced.json");
  const ReducedWeights c2 = read_reduced_weights(dir + "/c2/final_reduced.json");
  EXPECT_LT((c1.beta * c1.basis.transpose() - c2.beta * c2.basis.transpose()).cwiseAbs().maxCoeff(), 1e-12);
  ASSERT_EQ(run_command(zl + " inspect --data " + dir + "/d.csv --weights " + dir + "/a/final_reduced.json", &out, &err), 0)
      << err;
  EXPECT_NE(out.find("(m = 6)"), std::string::npos) << out;
  // --init needs --m and excludes --weights.
  EXPECT_EQ(run_command(zl + " sgd --data " + dir + "/d.csv --init gaussian --lr 0.01 --label-noise 0.1 --steps 5 --out " +
                        dir + "/x", &out, &err), 2);
  EXPECT_NE(err.find("--m"), std::string::npos) << err;
}

}  // namespace
