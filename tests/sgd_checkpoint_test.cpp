// `zeroloss sgd` checkpoints: a small checkpoint.json plus the m x p weight block in
// checkpoint_<step>.csv. The block holds the exact weights, a resume from it continues bit for bit,
// a crash between writing the block and the JSON cannot mix steps, and a missing, truncated or
// altered block is refused with one InputError naming the file and what was expected.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/dataset.hpp"
#include "zeroloss/matrix_csv.hpp"
#include "zeroloss/reduced_weights.hpp"

namespace {

using namespace zeroloss;
using test::run_command;
using test::temp_dir;
using test::zeroloss_binary;
namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
json read_json(const std::string& path) { return json::parse(slurp(path)); }
void write_json(const std::string& path, const json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

std::vector<std::string> checkpoint_blocks(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint_", 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// n = 4 samples in d = 6 (p = 4), m = 8 neurons from a random start in the data span.
class SgdCheckpoint : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("sgd-checkpoint");
    data_ = dir_ + "/d.csv";
    ASSERT_EQ(run_command(zeroloss_binary() + " data --generator gaussian --n 4 --d 6 --seed 2 --out " + data_), 0);
  }
  std::string sgd(const std::string& out, const std::string& extra) const {
    return zeroloss_binary() + " sgd --data " + data_ +
           " --init gaussian --m 8 --init-scale 0.5 --init-seed 1 --lr 0.01 --label-noise 0.1 --seed 3 "
           "--no-figures --out " + dir_ + "/" + out + " " + extra;
  }
  // A run of 1000 steps whose checkpoint is turned into one of a 2000-step run interrupted at step
  // 1000 (run.json asks for 2000 steps, the checkpoint says "running"): resuming it must give the
  // uninterrupted 2000-step run.
  std::string interrupted_at_1000(const std::string& name, const std::string& extra = "") const {
    const std::string d = dir_ + "/" + name;
    EXPECT_EQ(run_command(sgd(name, "--steps 1000 --checkpoint-every 1000 --log-every 500 " + extra)), 0);
    json run = read_json(d + "/run.json");
    run["steps"] = 2000;
    write_json(d + "/run.json", run);
    json ck = read_json(d + "/checkpoint.json");
    ck["status"] = "running";
    write_json(d + "/checkpoint.json", ck);
    json manifest = read_json(d + "/.zeroloss-run.json");  // and the folder's run manifest
    manifest["status"] = "interrupted";
    write_json(d + "/.zeroloss-run.json", manifest);
    return d;
  }
  int resume(const std::string& d, std::string* err = nullptr) const {
    std::string out;
    return run_command(zeroloss_binary() + " sgd --resume " + d, &out, err);
  }
  std::string dir_, data_;
};

TEST_F(SgdCheckpoint, JsonIsSmallAndItsBlockHoldsTheExactState) {
  // n = 4 = p: the run keeps the 4 x 8 pre-activations R = Z beta^T, and the block holds them.
  ASSERT_EQ(run_command(sgd("r", "--steps 3000 --checkpoint-every 1000")), 0);
  {
    const std::string d = dir_ + "/r";
    const json summary = read_json(d + "/summary.json");
    EXPECT_EQ(summary["coordinates"], "preactivations");
    EXPECT_GT(summary["data_rcond"].get<double>(), 1e-4);
    const json rck = read_json(d + "/checkpoint.json");
    const json& st = rck["state"];
    EXPECT_FALSE(st.contains("weights"));
    EXPECT_EQ(st["preactivations"]["file"], "checkpoint_3000.csv");
    EXPECT_EQ(st["preactivations"]["n"], 4);
    EXPECT_EQ(st["preactivations"]["m"], 8);
    EXPECT_EQ(st["preactivations"]["fnv1a64"], hex64(file_checksum(d + "/checkpoint_3000.csv")));
    // R = Z beta^T with the final weights (recovered from R through Z^{-1}: equal up to rounding).
    const ReducedWeights fin = read_reduced_weights(d + "/final_reduced.json", 6);
    const Eigen::MatrixXd Z = read_dataset_csv(data_).X * fin.basis;
    const Eigen::MatrixXd R = read_matrix_csv(d + "/checkpoint_3000.csv", "r", 8, 4).values;
    EXPECT_LT((R - Z * fin.beta.transpose()).norm(), 1e-13 * R.norm());
  }
  // Weight coordinates: the block is the m x p weights, bit for bit the final ones.
  ASSERT_EQ(run_command(sgd("a", "--steps 3000 --checkpoint-every 1000 --coordinates weights")), 0);
  const std::string d = dir_ + "/a";
  const json ck = read_json(d + "/checkpoint.json");
  EXPECT_EQ(read_json(d + "/summary.json")["coordinates"], "weights");
  EXPECT_EQ(ck["version"], 2);
  EXPECT_EQ(ck["status"], "completed");
  const json& st = ck["state"];
  EXPECT_EQ(st["step"], 3000);
  EXPECT_FALSE(st.contains("beta"));
  EXPECT_EQ(st["weights"]["file"], "checkpoint_3000.csv");
  EXPECT_EQ(st["weights"]["m"], 8);
  EXPECT_EQ(st["weights"]["p"], 4);
  EXPECT_EQ(st["weights"]["fnv1a64"], hex64(file_checksum(d + "/checkpoint_3000.csv")));
  // Blocks of the earlier checkpoints (steps 1000, 2000) are gone once the newer JSON is in place.
  EXPECT_EQ(checkpoint_blocks(d), std::vector<std::string>({"checkpoint_3000.csv"}));
  // The block is the final state bit for bit (the reduced output writes the same weights).
  const MatrixCsv block = read_matrix_csv(d + "/checkpoint_3000.csv", "b", 4, 8);
  const ReducedWeights fin = read_reduced_weights(d + "/final_reduced.json", 6);
  EXPECT_TRUE((block.values.array() == fin.beta.array()).all());
  // A fresh run in the same folder (--overwrite) removes the old checkpoint and its block first.
  ASSERT_EQ(run_command(sgd("a", "--steps 700 --overwrite")), 0);
  EXPECT_EQ(checkpoint_blocks(d), std::vector<std::string>({"checkpoint_700.csv"}));
}

TEST_F(SgdCheckpoint, ResumeFromTheBlockIsBitForBitAndSurvivesACrashBetweenBlockAndJson) {
  ASSERT_EQ(run_command(sgd("full", "--steps 2000 --checkpoint-every 1000 --log-every 500")), 0);
  const std::string full = dir_ + "/full";
  // Interrupted at 1000, resumed.
  const std::string r = interrupted_at_1000("resumed");
  std::string err;
  ASSERT_EQ(resume(r, &err), 0) << err;
  EXPECT_EQ(slurp(r + "/final_reduced.csv"), slurp(full + "/final_reduced.csv"));
  EXPECT_EQ(slurp(r + "/trajectory.csv"), slurp(full + "/trajectory.csv"));
  EXPECT_EQ(slurp(r + "/checkpoint_2000.csv"), slurp(full + "/checkpoint_2000.csv"));
  // A crash after the block of a later checkpoint was written (or while it was being written) but
  // before its JSON: checkpoint.json still names the block of step 1000, which is what is read.
  const std::string c = interrupted_at_1000("crashed");
  fs::copy_file(full + "/checkpoint_2000.csv", c + "/checkpoint_1500.csv");
  write_file_atomic(c + "/checkpoint_1700.csv.tmp", "b1,b2,b3,b4\n0.1,0.2");
  ASSERT_EQ(resume(c, &err), 0) << err;
  EXPECT_EQ(slurp(c + "/final_reduced.csv"), slurp(full + "/final_reduced.csv"));
  EXPECT_EQ(checkpoint_blocks(c), std::vector<std::string>({"checkpoint_2000.csv"}));
  // A checkpoint of the first format (weights inline in the JSON) is still read (it can only come
  // from a run in weight coordinates, and continues bit for bit there).
  ASSERT_EQ(run_command(sgd("full_w", "--steps 2000 --checkpoint-every 1000 --log-every 500 --coordinates weights")), 0);
  const std::string v1 = interrupted_at_1000("v1", "--coordinates weights");
  json ck = read_json(v1 + "/checkpoint.json");
  const MatrixCsv block = read_matrix_csv(v1 + "/checkpoint_1000.csv", "b", 4, 8);
  json beta = json::array();
  for (int j = 0; j < 8; ++j) {
    std::vector<double> row(4);
    for (int k = 0; k < 4; ++k) row[k] = block.values(j, k);
    beta.push_back(row);
  }
  ck["version"] = 1;
  ck["state"].erase("weights");
  ck["state"]["beta"] = beta;
  write_json(v1 + "/checkpoint.json", ck);
  fs::remove(v1 + "/checkpoint_1000.csv");
  ASSERT_EQ(resume(v1, &err), 0) << err;
  EXPECT_EQ(slurp(v1 + "/final_reduced.csv"), slurp(dir_ + "/full_w/final_reduced.csv"));
}

TEST_F(SgdCheckpoint, MissingTruncatedOrForeignBlocksAreRefusedByName) {
  const std::string base = interrupted_at_1000("base");
  const std::string block_name = "/checkpoint_1000.csv";
  auto copy = [&](const std::string& name) {
    const std::string d = dir_ + "/" + name;
    fs::copy(base, d, fs::copy_options::recursive);
    return d;
  };
  std::string err;
  // Missing.
  std::string d = copy("missing");
  fs::remove(d + block_name);
  EXPECT_EQ(resume(d, &err), 2);
  EXPECT_NE(err.find(d + block_name + ": missing; expected the n x m = 4 x 8 pre-activation block (header r1..r8) of step 1000"),
            std::string::npos)
      << err;
  // Truncated (a crash of something else, a full disk): the checksum recorded in the JSON differs.
  d = copy("truncated");
  const std::string text = slurp(d + block_name);
  std::ofstream(d + block_name, std::ios::binary) << text.substr(0, text.size() / 2);
  EXPECT_EQ(resume(d, &err), 2);
  EXPECT_NE(err.find(d + block_name + ": FNV-1a checksum"), std::string::npos) << err;
  EXPECT_NE(err.find("truncated or changed"), std::string::npos) << err;
  EXPECT_NE(err.find("of step 1000"), std::string::npos) << err;
  // Another block of the same shape (one number changed in its last digit).
  d = copy("foreign");
  MatrixCsv block = read_matrix_csv(d + block_name, "r", 8, 4);
  block.values(3, 2) = std::nextafter(block.values(3, 2), 1e300);
  write_matrix_csv(d + block_name, block.values, "r");
  EXPECT_EQ(resume(d, &err), 2);
  EXPECT_NE(err.find("differs from " + read_json(d + "/checkpoint.json")["state"]["preactivations"]["fnv1a64"].get<std::string>()),
            std::string::npos)
      << err;
  // A JSON that names a block of another shape than the run's.
  d = copy("shape");
  json ck = read_json(d + "/checkpoint.json");
  ck["state"]["preactivations"]["m"] = 7;
  write_json(d + "/checkpoint.json", ck);
  EXPECT_EQ(resume(d, &err), 2);
  EXPECT_NE(err.find("holds a 4 x 7 block; expected the n x m = 4 x 8 pre-activation block"), std::string::npos)
      << err;
  // The same for a weight block.
  const std::string w = interrupted_at_1000("weights", "--coordinates weights");
  ck = read_json(w + "/checkpoint.json");
  ck["state"]["weights"]["p"] = 3;
  write_json(w + "/checkpoint.json", ck);
  EXPECT_EQ(resume(w, &err), 2);
  EXPECT_NE(err.find("holds a 8 x 3 block; expected the m x p = 8 x 4 weight block (header b1..b4)"), std::string::npos)
      << err;
  // Nothing of this touched the base copy, which still resumes.
  EXPECT_EQ(resume(base, &err), 0) << err;
}

}  // namespace
