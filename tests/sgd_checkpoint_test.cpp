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
#include <functional>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/io/matrix_csv.hpp"
#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/formats/sgd_checkpoint.hpp"

namespace {

using zeroloss::test::slurp;

using namespace zeroloss;
using test::run_command;
using test::temp_dir;
using test::zeroloss_binary;
namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const std::string& path) { return json::parse(slurp(path)); }
void write_json(const std::string& path, const json& j) { write_file_atomic(path, j.dump(2) + "\n"); }
// A checkpoint edited and sealed again: what zeroloss would have written for the edited state
// (the consistency checks, not the seal, must then refuse what does not fit the run).
void write_sealed(const std::string& path, json j) {
  j["fnv1a64"] = sgd_checkpoint_seal(j);
  write_json(path, j);
}

std::vector<std::string> checkpoint_blocks(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint_", 0) == 0 && name != "checkpoint_time.json") out.push_back(name);
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
    write_sealed(d + "/checkpoint.json", ck);
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
  EXPECT_EQ(ck["version"], 4);
  EXPECT_FALSE(ck.contains("elapsed_seconds"));  // the time is beside it, in checkpoint_time.json
  EXPECT_EQ(read_json(d + "/checkpoint_time.json")["step"], 3000);
  EXPECT_GT(read_json(d + "/checkpoint_time.json")["elapsed_seconds"].get<double>(), 0);
  EXPECT_EQ(ck["fnv1a64"], sgd_checkpoint_seal(ck));
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
  write_file_atomic(c + "/checkpoint_1700.csv.tmp.999.0", "b1,b2,b3,b4\n0.1,0.2");  // as write_file_atomic names it
  ASSERT_EQ(resume(c, &err), 0) << err;
  EXPECT_EQ(slurp(c + "/final_reduced.csv"), slurp(full + "/final_reduced.csv"));
  EXPECT_EQ(checkpoint_blocks(c), std::vector<std::string>({"checkpoint_2000.csv"}));
  // A checkpoint of an earlier format (version 1: weights inline in the JSON; version 2: no seal
  // over all fields) cannot be verified: it is refused, saying so and what to do.
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
  ck.erase("fnv1a64");
  ck["state"].erase("weights");
  ck["state"]["beta"] = beta;
  write_json(v1 + "/checkpoint.json", ck);
  EXPECT_EQ(resume(v1, &err), 2);
  EXPECT_NE(err.find(v1 + "/checkpoint.json: a version 1 checkpoint, written by an earlier zeroloss"), std::string::npos)
      << err;
  EXPECT_NE(err.find("start it again without --resume"), std::string::npos) << err;
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
  // (an intact checkpoint, sealed, whose block has one neuron fewer).
  auto narrower = [&](const std::string& dir, const char* key, const char* prefix, const char* cols_key,
                      Eigen::Index rows, Eigen::Index cols) {
    json c = read_json(dir + "/checkpoint.json");
    const MatrixCsv b = read_matrix_csv(dir + block_name, prefix, cols, rows);
    const Eigen::MatrixXd smaller = b.values.leftCols(cols - 1);
    c["state"][key][cols_key] = cols - 1;
    c["state"][key]["fnv1a64"] = hex64(write_matrix_csv(dir + block_name, smaller, prefix));
    write_sealed(dir + "/checkpoint.json", c);
  };
  d = copy("shape");
  narrower(d, "preactivations", "r", "m", 4, 8);
  EXPECT_EQ(resume(d, &err), 2);
  EXPECT_NE(err.find("holds a 4 x 7 block; expected the n x m = 4 x 8 pre-activation block"), std::string::npos)
      << err;
  // The same for a weight block.
  const std::string w = interrupted_at_1000("weights", "--coordinates weights");
  narrower(w, "weights", "b", "p", 8, 4);
  EXPECT_EQ(resume(w, &err), 2);
  EXPECT_NE(err.find("holds a 8 x 3 block; expected the m x p = 8 x 4 weight block (header b1..b4)"), std::string::npos)
      << err;
  // Nothing of this touched the base copy, which still resumes.
  EXPECT_EQ(resume(base, &err), 0) << err;
}

// The library reader: a round trip keeps every field and bit; any field changed after writing
// (the step, the noise position, the noise drawn ahead, a trajectory row, the block's checksum) is
// refused by the seal; a sealed checkpoint that does not fit the run is refused by the checks.
TEST(SgdCheckpointFormat, RoundTripKeepsEveryBitAndAnyEditIsRefused) {
  const std::string dir = temp_dir("sgd-checkpoint-format");
  zeroloss::SgdCheckpoint ck;
  ck.seed = 5;
  ck.status = "running";
  ck.elapsed_seconds = 0.25;
  ck.state.step = 40;
  ck.state.beta = Eigen::MatrixXd::Random(3, 2) * 1e-3;
  ck.state.beta(1, 1) = std::nextafter(0.1, 1.0);
  ck.state.index_generator = {1, 2, 3, 0xffffffffffffffffULL};
  ck.state.noise_generator.generator_before_fill = {4, 5, 6, 7};
  ck.state.noise_generator.position = 17;
  ck.state.next_batch = {2};
  ck.state.next_noise = {-0.3};
  for (std::uint64_t k : {0, 20, 40}) ck.trajectory.push_back({{"step", k}, {"loss", 0.5 / (1.0 + k)}});
  const std::string path = write_sgd_checkpoint(dir, ck);
  EXPECT_EQ(path, dir + "/checkpoint.json");
  const zeroloss::SgdCheckpoint back = read_sgd_checkpoint(path);
  EXPECT_EQ(back.seed, 5u);
  EXPECT_EQ(back.status, "running");
  EXPECT_EQ(back.elapsed_seconds, 0.25);  // through checkpoint_time.json
  EXPECT_EQ(back.state.step, 40u);
  EXPECT_TRUE((back.state.beta.array() == ck.state.beta.array()).all());
  EXPECT_EQ(back.state.index_generator, ck.state.index_generator);
  EXPECT_EQ(back.state.noise_generator.generator_before_fill, ck.state.noise_generator.generator_before_fill);
  EXPECT_EQ(back.state.noise_generator.position, 17);
  EXPECT_EQ(back.state.next_batch, ck.state.next_batch);
  EXPECT_EQ(back.state.next_noise, ck.state.next_noise);
  EXPECT_EQ(back.trajectory, ck.trajectory);
  SgdCheckpointExpectation run;
  run.seed = 5;
  run.steps = 100;
  run.log_steps = {0, 20, 40, 60, 80, 100};
  run.n = 2;
  run.m = 3;
  run.p = 2;
  EXPECT_NO_THROW(check_sgd_checkpoint(back, path, run));

  // The time is not in the state: another time gives the same checkpoint.json, and without its
  // time file the checkpoint still reads (time 0).
  const std::string bytes = zeroloss::test::slurp(path);
  zeroloss::SgdCheckpoint later = ck;
  later.elapsed_seconds = 7.5;
  write_sgd_checkpoint(dir, later);
  EXPECT_EQ(zeroloss::test::slurp(path), bytes);
  EXPECT_EQ(read_sgd_checkpoint(path).elapsed_seconds, 7.5);
  fs::remove(dir + "/checkpoint_time.json");
  EXPECT_EQ(read_sgd_checkpoint(path).elapsed_seconds, 0);
  // A version 3 checkpoint (the time inside, sealed) is still read, its time from there.
  {
    json v3 = read_json(path);
    v3["version"] = 3;
    v3["elapsed_seconds"] = 0.75;
    v3["fnv1a64"] = sgd_checkpoint_seal(v3);
    write_json(path, v3);
    const zeroloss::SgdCheckpoint old = read_sgd_checkpoint(path);
    EXPECT_EQ(old.elapsed_seconds, 0.75);
    EXPECT_EQ(old.state.step, 40u);
    EXPECT_TRUE((old.state.beta.array() == ck.state.beta.array()).all());
    v3.erase("elapsed_seconds");
    v3["fnv1a64"] = sgd_checkpoint_seal(v3);
    write_json(path, v3);
    EXPECT_THROW(read_sgd_checkpoint(path), InputError);  // version 3 without its time: malformed
  }
  write_sgd_checkpoint(dir, ck);
  EXPECT_EQ(zeroloss::test::slurp(path), bytes);

  const json good = read_json(path);
  auto refused = [&](const std::function<void(json&)>& edit, const std::string& expected, bool reseal = false) {
    json j = good;
    edit(j);
    if (reseal) j["fnv1a64"] = sgd_checkpoint_seal(j);
    write_json(path, j);
    std::string what;
    try {
      check_sgd_checkpoint(read_sgd_checkpoint(path), path, run);
    } catch (const InputError& e) {
      what = e.what();
    }
    EXPECT_NE(what.find(expected), std::string::npos) << j.dump() << "\n" << what;
    EXPECT_NE(what.find(path), std::string::npos) << what;
  };
  const std::string seal = path + ": the checkpoint does not verify";
  refused([](json& j) { j["state"]["step"] = 41; }, seal);
  refused([](json& j) { j["state"]["noise_generator"]["position"] = 18; }, seal);
  refused([](json& j) { j["state"]["next_noise"][0] = -0.30000000000000004; }, seal);
  refused([](json& j) { j["state"]["index_generator"][3] = 0; }, seal);
  refused([](json& j) { j["trajectory"].erase(1); }, seal);
  refused([](json& j) { j["elapsed_seconds"] = 1.0; }, seal);
  refused([](json& j) { j["state"]["weights"]["fnv1a64"] = "0000000000000000"; }, seal);
  refused([](json& j) { j.erase("fnv1a64"); }, "'fnv1a64' is missing");
  refused([](json& j) { j["version"] = 2; }, "a version 2 checkpoint, written by an earlier zeroloss");
  // Sealed again after the edit (as a checkpoint of another run would be): the checks refuse it.
  refused([](json& j) { j["trajectory"].erase(1); }, "the trajectory holds rows at steps 0, 40, but the run logs steps 0, 20, 40", true);
  refused([](json& j) { j["seed"] = 6; }, "a checkpoint of seed 6, not of seed 5 of this run", true);
  refused([](json& j) { j["status"] = "paused"; }, "unknown status 'paused'", true);
  refused([](json& j) { j["state"]["next_noise"].push_back(0.1); }, "must be arrays of the same length", true);
  refused([](json& j) { j["trajectory"][2]["step"] = 60; }, "end at or before the state's step 40", true);
  // A step beyond the run's (the block is renamed with it so that only the step is wrong).
  refused(
      [&](json& j) {
        fs::copy_file(dir + "/checkpoint_40.csv", dir + "/checkpoint_140.csv", fs::copy_options::overwrite_existing);
        j["state"]["step"] = 140;
        j["state"]["weights"]["file"] = "checkpoint_140.csv";
      },
      "the checkpoint is at step 140, beyond the run's 100 steps", true);
  // The intact file still reads.
  write_json(path, good);
  EXPECT_NO_THROW(check_sgd_checkpoint(read_sgd_checkpoint(path), path, run));
  fs::remove(path);
  try {
    read_sgd_checkpoint(path);
    ADD_FAILURE() << "a missing checkpoint was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": missing"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// `sgd --resume` of a checkpoint edited by hand, or of a folder without one, exits 2 naming the file
// and what to do; it never continues silently with other results or from step 0.
TEST_F(SgdCheckpoint, EditedOrMissingCheckpointsAreRefusedOnResume) {
  const std::string base = interrupted_at_1000("edited-base");
  auto copy = [&](const std::string& name) {
    const std::string d = dir_ + "/" + name;
    fs::copy(base, d, fs::copy_options::recursive);
    return d;
  };
  std::string err;
  for (const auto& [name, edit] : std::vector<std::pair<std::string, std::function<void(json&)>>>{
           {"step", [](json& j) { j["state"]["step"] = 1001; }},
           {"position", [](json& j) { j["state"]["noise_generator"]["position"] = j["state"]["noise_generator"]["position"].get<int>() + 1; }},
           {"noise", [](json& j) { j["state"]["next_noise"][0] = 0.5; }},
           {"rows", [](json& j) { j["trajectory"].erase(1); }}}) {
    const std::string d = copy(name);
    json ck = read_json(d + "/checkpoint.json");
    edit(ck);
    write_json(d + "/checkpoint.json", ck);
    EXPECT_EQ(resume(d, &err), 2) << name;
    EXPECT_NE(err.find(d + "/checkpoint.json: the checkpoint does not verify"), std::string::npos) << name << ": " << err;
    EXPECT_NE(err.find("start the run again without --resume"), std::string::npos) << err;
    EXPECT_EQ(slurp(d + "/trajectory.csv"), slurp(base + "/trajectory.csv")) << name;  // nothing ran
  }
  // Rows removed and the checkpoint sealed again: the rows no longer match the run's log schedule
  // (before, the run went past its last step and truncated trajectory.csv).
  std::string d = copy("rows-sealed");
  json ck = read_json(d + "/checkpoint.json");
  ck["trajectory"].erase(1);
  write_sealed(d + "/checkpoint.json", ck);
  EXPECT_EQ(resume(d, &err), 2);
  EXPECT_NE(err.find("the trajectory holds rows at steps 0, 1000, but the run logs steps 0, 500, 1000"), std::string::npos)
      << err;
  // No checkpoint at all: refused, not restarted from step 0.
  d = copy("none");
  fs::remove(d + "/checkpoint.json");
  EXPECT_EQ(resume(d, &err), 2);
  EXPECT_NE(err.find(d + "/checkpoint.json: missing; --resume continues a run from its checkpoint"), std::string::npos)
      << err;
  EXPECT_EQ(slurp(d + "/trajectory.csv"), slurp(base + "/trajectory.csv"));
  EXPECT_TRUE(fs::exists(d + "/checkpoint_1000.csv"));
  // The untouched copy resumes.
  EXPECT_EQ(resume(base, &err), 0) << err;
}

}  // namespace
