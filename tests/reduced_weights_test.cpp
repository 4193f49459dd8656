// Reduced weights (beta, U) files and `zeroloss sgd --init` / `--save-reduced`.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/io/weights.hpp"

namespace {

using zeroloss::test::slurp;

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

// A manifest whose counts are not whole numbers from 1 to INT_MAX is refused naming the key (found
// by fuzz/reduced_weights_fuzz: 1e20 was converted to int, undefined behaviour; 2.5 read as 2).
TEST(ReducedWeights, ManifestCountsMustBeWholeNumbersInRange) {
  const std::string dir = temp_dir("reduced-counts");
  write_reduced_weights(dir + "/w.json", random_reduced(2, 3, 2, 4));
  std::ifstream in(dir + "/w.json");
  nlohmann::json manifest;
  in >> manifest;
  for (const std::string value : {"2.5", "1e20", "4294967298", "-1", "\"2\""}) {
    SCOPED_TRACE(value);
    nlohmann::json edited = manifest;
    edited["m"] = nlohmann::json::parse(value);
    std::ofstream(dir + "/e.json") << edited.dump();
    try {
      read_reduced_weights(dir + "/e.json");
      ADD_FAILURE() << "accepted \"m\": " << value;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), dir + "/e.json: \"m\" is " + edited["m"].dump() +
                                           "; expected a whole number from 1 to 2147483647");
    }
  }
}

// A manifest naming more rows than its files can hold is refused before the matrix is allocated
// (found by fuzz/reduced_weights_fuzz: m = 2e9, p = 1e9 ended in std::bad_alloc).
TEST(ReducedWeights, ShapeTooLargeForTheFilesIsRefusedBeforeAllocating) {
  const std::string dir = temp_dir("reduced-huge");
  std::ofstream(dir + "/r.json") << R"({"format": "zeroloss-reduced-weights", "version": 1, "m": 2000000000,
      "d": 1000000000, "p": 1000000000, "weights": "r.csv", "basis": "r_basis.csv"})";
  std::ofstream(dir + "/r.csv") << "b1\n1\n";
  std::ofstream(dir + "/r_basis.csv") << "u1\n1\n";
  try {
    read_reduced_weights(dir + "/r.json");
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/r.csv: 5 bytes cannot hold a header and 2000000000 rows of 1000000000 "
                                           "numbers (the file is truncated or belongs to another run)");
  }
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

// trajectory.csv as rows of cells (header dropped).
std::vector<std::vector<std::string>> trajectory_cells(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(slurp(path));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::istringstream l(line);
    std::string c;
    while (std::getline(l, c, ',')) cells.push_back(c);
    if (!line.empty() && line.back() == ',') cells.push_back("");
    rows.push_back(cells);
  }
  return rows;
}

// Every numeric cell of two trajectories agrees to `tol` relative (absolute below 1), empty cells
// match; returns the largest difference seen.
double max_trajectory_difference(const std::string& a, const std::string& b) {
  const auto ra = trajectory_cells(a), rb = trajectory_cells(b);
  EXPECT_EQ(ra.size(), rb.size());
  double worst = 0;
  for (size_t r = 0; r < std::min(ra.size(), rb.size()); ++r) {
    EXPECT_EQ(ra[r].size(), rb[r].size());
    for (size_t c = 0; c < std::min(ra[r].size(), rb[r].size()); ++c) {
      EXPECT_EQ(ra[r][c].empty(), rb[r][c].empty()) << "row " << r << " column " << c;
      if (ra[r][c].empty() || rb[r][c].empty()) continue;
      const double x = std::stod(ra[r][c]), y = std::stod(rb[r][c]);
      worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
    }
  }
  return worst;
}

// Data dir/d.csv (n = 4, d = 12), an SGD run from a reduced random start whose end is the manifest
// dir/a/final_reduced.json, and its lift Theta = beta V^T as dir/lifted.csv.
ReducedWeights reduced_run_and_lift(const std::string& zl, const std::string& dir) {
  std::string out, err;
  EXPECT_EQ(run_command(zl + " data --generator gaussian --n 4 --d 12 --seed 5 --out " + dir + "/d.csv", &out, &err), 0) << err;
  EXPECT_EQ(run_command(zl + " sgd --data " + dir + "/d.csv --init gaussian --m 6 --init-scale 0.5 --init-seed 2 --lr 0.01 "
                        "--label-noise 0.1 --steps 2000 --log-points 4 --no-figures --out " + dir + "/a", &out, &err), 0) << err;
  const ReducedWeights saved = read_reduced_weights(dir + "/a/final_reduced.json", 12);
  write_weights_csv(dir + "/lifted.csv", saved.beta * saved.basis.transpose(), saved.a);
  return saved;
}

// `sgd --weights R.json` runs in reduced coordinates (no m x d matrix, final_reduced.json instead
// of final_weights.csv) and is the run from the lifted weights Theta = beta V^T: bit for bit its
// start when the data's basis is the saved one, to 1e-12 when the data span the same space through
// another basis (rotation Q = V^T U), and refused when they do not.
TEST(ReducedWeights, SgdFromReducedWeightsStaysReducedAndEqualsTheLiftedStart) {
  namespace fs = std::filesystem;
  const std::string dir = temp_dir("reduced-start");
  const std::string zl = zeroloss_binary();
  std::string out, err;
  const ReducedWeights saved = reduced_run_and_lift(zl, dir);
  // The same data rows, scaled by 1.1, 0.9, 1.05, 1 and in reverse order: the same span, another SVD basis.
  Dataset data = read_dataset_csv(dir + "/d.csv");
  Dataset other = data;
  const double scale[4] = {1.1, 0.9, 1.05, 1.0};
  for (int i = 0; i < 4; ++i) other.X.row(i) = scale[i] * data.X.row(3 - i);
  write_dataset_csv(dir + "/same_span.csv", other);
  const std::string run = " --lr 0.01 --label-noise 0.1 --seed 9 --steps 600 --log-every 150 --no-figures --out ";
  for (const std::string d : {"d.csv", "same_span.csv"}) {
    const std::string r = dir + "/r_" + d, l = dir + "/l_" + d;
    ASSERT_EQ(run_command(zl + " sgd --data " + dir + "/" + d + " --weights " + dir + "/a/final_reduced.json" + run + r, &out, &err), 0)
        << err;
    ASSERT_EQ(run_command(zl + " sgd --data " + dir + "/" + d + " --weights " + dir + "/lifted.csv" + run + l, &out, &err), 0)
        << err;
    EXPECT_FALSE(fs::exists(r + "/final_weights.csv"));
    const ReducedWeights fr = read_reduced_weights(r + "/final_reduced.json", 12);
    EXPECT_FALSE(fr.perpendicular_dropped);
    const Weights fl = read_weights_csv(l + "/final_weights.csv", 12);
    const Eigen::MatrixXd theta_r = fr.beta * fr.basis.transpose();
    EXPECT_LT((theta_r - fl.theta).cwiseAbs().maxCoeff(), 1e-12 * fl.theta.cwiseAbs().maxCoeff()) << d;
    EXPECT_LT(max_trajectory_difference(r + "/trajectory.csv", l + "/trajectory.csv"), 1e-12) << d;
  }
  // On the data it was saved with, the start is the saved state: the first row of the new trajectory
  // repeats the last row of the first run (all but step, t and tau). Both runs keep the pre-activations
  // R (n = p = 4), and the saved weights are Z^{-1} R, so the new run starts from Z Z^{-1} R: equal to
  // rounding, not bit for bit (a checkpoint, which stores R, continues bit for bit).
  const auto first = trajectory_cells(dir + "/r_d.csv/trajectory.csv").front();
  const auto last = trajectory_cells(dir + "/a/trajectory.csv").back();
  ASSERT_EQ(first.size(), last.size());
  for (size_t c = 3; c < first.size(); ++c) {
    if (first[c].empty() || last[c].empty()) {
      EXPECT_EQ(first[c], last[c]) << "column " << c;
      continue;
    }
    const double u = std::stod(first[c]), v = std::stod(last[c]);
    // Singular values far below sigma_1 carry absolute, not relative, rounding (sigma_1 ~ 1 here).
    EXPECT_NEAR(u, v, 1e-12 * std::max(1.0, std::abs(v))) << "column " << c;
  }
  // Data whose rows span another space, of another rank or dimension: one message each, exit 2.
  ASSERT_EQ(run_command(zl + " data --generator gaussian --n 4 --d 12 --seed 6 --out " + dir + "/other.csv"), 0);
  ASSERT_EQ(run_command(zl + " data --generator gaussian --n 3 --d 12 --seed 5 --out " + dir + "/rank3.csv"), 0);
  ASSERT_EQ(run_command(zl + " data --generator gaussian --n 4 --d 10 --seed 5 --out " + dir + "/d10.csv"), 0);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"other.csv", "do not span the space of the saved basis"},
      {"rank3.csv", "the saved basis has p = 4 columns, but the data " + dir + "/rank3.csv have rank 3"},
      {"d10.csv", "the basis has d = 12 rows, but the data has d = 10 features"}};
  for (const auto& [d, message] : bad) {
    EXPECT_EQ(run_command(zl + " sgd --data " + dir + "/" + d + " --weights " + dir + "/a/final_reduced.json" + run + dir +
                              "/bad",
                          &out, &err),
              2)
        << d;
    EXPECT_NE(err.find(dir + "/a/final_reduced.json: "), std::string::npos) << err;
    EXPECT_NE(err.find(message), std::string::npos) << err;
  }
}

// `flow --weights R.json` stays in reduced coordinates too (final_reduced.json, no m x d matrix) and
// is the flow from the lifted weights Theta = beta V^T: the same start (bit for bit on the data it
// was saved with), so the same trajectory and end point up to the rounding of the lift.
TEST(ReducedWeights, FlowFromReducedWeightsStaysReducedAndEqualsTheLiftedStart) {
  namespace fs = std::filesystem;
  const std::string dir = temp_dir("reduced-flow");
  const std::string zl = zeroloss_binary();
  std::string out, err;
  const ReducedWeights saved = reduced_run_and_lift(zl, dir);
  const std::string flow = " flow --data " + dir + "/d.csv --coefficient 1 --time 0.5 --log-points 5 --projection newton "
                           "--no-figures --out ";
  ASSERT_EQ(run_command(zl + flow + dir + "/r --weights " + dir + "/a/final_reduced.json", &out, &err), 0) << err;
  ASSERT_EQ(run_command(zl + flow + dir + "/l --weights " + dir + "/lifted.csv", &out, &err), 0) << err;
  EXPECT_FALSE(fs::exists(dir + "/r/final_weights.csv"));
  const ReducedWeights fr = read_reduced_weights(dir + "/r/final_reduced.json", 12);
  const Weights fl = read_weights_csv(dir + "/l/final_weights.csv", 12);
  const Eigen::MatrixXd theta_r = fr.beta * fr.basis.transpose();
  EXPECT_LT((theta_r - fl.theta).cwiseAbs().maxCoeff(), 1e-10 * fl.theta.cwiseAbs().maxCoeff());
  EXPECT_LT(max_trajectory_difference(dir + "/r/trajectory.csv", dir + "/l/trajectory.csv"), 1e-10);
  EXPECT_NE(slurp(dir + "/r/summary.json").find("\"d\": 12"), std::string::npos) << "d is the data's, not p";
}

}  // namespace
