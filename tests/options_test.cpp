// Every option of every subcommand is checked before any work, in the option's own terms: a bad
// value is one stderr line "zeroloss <command>: error: --option: must be ..., got ...", exit 1
// (usage) or 2 (bad input: a missing file, a combination that cannot run), and nothing on disk.
// Each command line runs the real program under `timeout` only as a guard: before these checks
// some of them (sgd --steps -5) ran for ever; a correct program answers at once.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using zeroloss::test::RunResult;

// Bounded by `timeout`: before the fix, options such as --steps -5 ran for ever.
RunResult zeroloss(const std::string& args) {
  RunResult r;
  r.code = zeroloss::test::run_command("timeout 120 " + zeroloss::test::zeroloss_binary() + " " + args, &r.out, &r.err);
  return r;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t k = s.find(from); k != std::string::npos; k = s.find(from, k + to.size())) s.replace(k, from.size(), to);
  return s;
}

class Options : public zeroloss::test::FolderTest {
 protected:
  Options() : FolderTest("options-") {}
  void SetUp() override {
    FolderTest::SetUp();
    data_ = write("D.csv", "x1,x2,x3,y\n0.3,0.1,0.9,0.5\n0.7,0.2,0.1,-0.4\n");
    weights_ = write("W.csv", "w1,w2,w3,a\n0.2,-0.1,0.4,1\n-0.3,0.5,0.1,-1\n0.6,0.2,-0.2,0.5\n");
  }
  std::string write(const std::string& name, const std::string& contents) const { return file(name, contents); }
  // {D}, {W}, {O} stand for the data file, the weights file and an output path in the folder.
  std::string expand(const std::string& args) const {
    return replace_all(replace_all(replace_all(args, "{D}", data_), "{W}", weights_), "{O}", dir_ + "/out");
  }
  // Everything in the folder besides the inputs.
  std::vector<std::string> outputs(const std::vector<std::string>& inputs) const {
    std::vector<std::string> extra;
    for (const auto& e : std::filesystem::directory_iterator(dir_))
      if (std::find(inputs.begin(), inputs.end(), e.path().string()) == inputs.end()) extra.push_back(e.path().string());
    return extra;
  }
  std::string data_, weights_;
};

// One line on stderr, "zeroloss <command>: error: ..." (or "zeroloss: error: ..."), holding `fragment`.
void expect_one_line(const RunResult& r, const std::string& command, const std::string& fragment) {
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  const std::string prefix = "zeroloss" + (command.empty() ? std::string() : " " + command) + ": error: ";
  EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << "'" << fragment << "' not in: " << r.err;
}

struct Case {
  std::string args;  // after "zeroloss"; the command is the first word
  int code;
  std::string fragment;
};

const std::string kSgd = "sgd --data {D} --weights {W} --lr 0.01 --label-noise 0.1 --out {O} ";
const std::string kConvexity = "convexity --data {D} --weights {W} --quick --no-search --out {O} ";
const std::string kFlow = "flow --data {D} --weights {W} --time 1 --out {O} ";
const std::string kCompare = "compare --data {D} --weights {W} --label-noise 0.1 --time 0.01 --out {O} ";

const std::vector<Case> kCases = {
    // Negative integers no longer wrap around to 2^64 - k.
    {kSgd + "--steps -5", 1, "--steps: must be a positive integer, got -5"},
    {kSgd + "--steps 100 --seed -1", 1, "--seed: must be a non-negative integer, got -1"},
    {kSgd + "--steps 100 --checkpoint-every -1", 1, "--checkpoint-every: must be a non-negative integer, got -1"},
    {kSgd + "--steps 100 --log-every -1", 1, "--log-every: must be a positive integer, got -1"},
    {kSgd + "--steps 99999999999999999999999", 1, "--steps: must be a positive integer of at most 18446744073709551615"},
    {kSgd + "--steps 1.5", 1, "--steps: must be a positive integer, got 1.5"},
    {kConvexity + "--along-sgd --lr 0.01 --label-noise 0.1 --steps -1", 1, "--steps: must be a positive integer, got -1"},
    {kConvexity + "--seed -1", 1, "--seed: must be a non-negative integer, got -1"},
    // Invalid values are refused, not replaced by defaults.
    {kSgd + "--steps 100 --max-loss -1", 1, "--max-loss: must be > 0, got -1"},
    {kSgd + "--steps 100 --rank-one-threshold -1", 1, "--rank-one-threshold: must be in (0, 1], got -1"},
    {kSgd + "--steps 100 --seeds 0-3 --threads 0", 1, "--threads: must be a positive integer, got 0"},
    {kSgd + "--steps 100 --seeds 0-3 --threads -2", 1, "--threads: must be a positive integer, got -2"},
    {kSgd + "--steps 100 --seeds 3-1", 1, "--seeds: '3-1': range 3-1 is empty"},
    {kSgd + "--steps 100 --batch 0", 1, "--batch: must be a batch size B >= 1 or 'full', got 0"},
    {kSgd + "--steps 100 --steps-per-pass 9", 1, "--steps-per-pass: must be an integer from 0 to 8, got 9"},
    {kConvexity + "--profile-length 0", 1, "--profile-length: must be > 0, got 0"},
    {kConvexity + "--profile-points 4", 1, "--profile-points: must be an odd integer >= 3, got 4"},
    {kConvexity + "--max-distance -5", 1, "--max-distance: must be > 0, got -5"},
    {kConvexity + "--negative-tolerance -1", 1, "--negative-tolerance: must be >= 0, got -1"},
    {kConvexity + "--along-flow 0", 1, "--along-flow: must be > 0, got 0"},
    {kConvexity + "--random-scale 3,0.1", 2, "--random-scale 3,0.1: expected LO,HI with LO <= HI"},
    {"inspect --data {D} --weights {W} --manifold-tolerance -1", 1, "--manifold-tolerance: must be > 0, got -1"},
    {"data --n 0 --d 2 --out {O}", 1, "--n: must be a positive integer, got 0"},
    {"data --n 3 --d 2 --label-scale -1 --out {O}", 1, "--label-scale: must be >= 0, got -1"},
    {"check --data {D} --weights {W} --slope-tolerance 2", 1, "--slope-tolerance: must be in (0, 1), got 2"},
    {kFlow + "--coefficient 1 --log-points 0", 1, "--log-points: must be a positive integer, got 0"},
    {kFlow + "--coefficient 1 --until-grad -1", 1, "--until-grad: must be >= 0, got -1"},
    {kFlow + "--label-noise 0", 1, "--label-noise: must be > 0, got 0"},
    {"flow --data {D} --weights {W} --time inf --coefficient 1 --out {O}", 1, "--time: must be a finite number > 0, got inf"},
    // Range messages in the option's own terms (no 309-digit bound).
    {"project --data {D} --weights {W} --method newton --tolerance 0 --out {O}", 1, "--tolerance: must be > 0, got 0"},
    {"optimum --data {D} --weights {W} --gradient-tolerance 0 --out {O}", 1, "--gradient-tolerance: must be > 0, got 0"},
    // Words from a fixed list: refused at parse time, listing the accepted ones.
    {kFlow + "--coefficient 1 --projection bogus", 1, "--projection: must be one of newton, nearest, gradient-flow, ceres; got bogus"},
    {kFlow + "--coefficient 1 --integrator euler", 1, "--integrator: must be one of rkf78, dopri5, rosenbrock4; got euler"},
    {kSgd + "--steps 100 --noise uniform", 1, "--noise: must be one of gaussian, rademacher; got uniform"},
    {kSgd + "--steps 100 --coordinates bogus", 1, "--coordinates: must be one of auto, weights, preactivations; got bogus"},
    {kSgd + "--steps 100 --instruction-set sse9", 1, "--instruction-set: must be one of auto, baseline, avx2; got sse9"},
    {kSgd + "--steps 100 --activation relu", 1, "--activation: unknown activation 'relu'; expected one of"},
    {"inspect --data {D} --weights {W} --activation relu", 1, "--activation: unknown activation 'relu'"},
    {"data --n 3 --d 2 --generator normal --out {O}", 1, "--generator: must be one of gaussian, uniform01, orthonormal; got normal"},
    {"data --n 3 --d 2 --labels bogus --out {O}", 1, "--labels: must be one of random, given, teacher; got bogus"},
    {"check --data {D} --weights {W} --inject-error value", 1, "--inject-error: must be one of none, gradient, hessian; got value"},
    {"optimum --data {D} --weights {W} --method newton --out {O}", 1, "--method: must be one of auto, lbfgs, trust-region; got newton"},
    {kConvexity + "--along-flow 1 --trajectory-projection bogus", 1, "--trajectory-projection: must be one of newton"},
    // compare: the order fit needs two distinct step sizes; refused before the flow and SGD run.
    {kCompare + "--lr-list 0.05,0.05", 1, "--lr-list: step size 0.05 appears twice in 0.05,0.05"},
    {kCompare + "--lr-list 0.05", 1, "--lr-list: needs at least 2 distinct step sizes"},
    {kCompare + "--lr-list 0.05,0.02 --seeds 0", 1, "--seeds: must be a seed count N >= 1 or a list like 0-63, got 0"},
    {kCompare + "--lr-list 1e-160,0.02", 2, "needs T / eta^2 = "},
    // A missing input file: bad input (exit 2) with the command's prefix.
    {"inspect --data {O}/missing.csv --weights {W}", 2, "--data " },
    {kSgd + "--steps 10 --weights {O}/missing.csv", 2, "--weights "},
    {"convexity --data {D} --weights {W} --anchor {O}/missing.csv --out {O}", 2, "--anchor "},
};

TEST_F(Options, EveryBadValueIsRefusedBeforeAnyWork) {
  for (const Case& c : kCases) {
    const std::string args = expand(c.args);
    SCOPED_TRACE(args);
    const RunResult r = zeroloss(args);
    EXPECT_EQ(r.code, c.code) << r.err;
    expect_one_line(r, c.args.substr(0, c.args.find(' ')), c.fragment);
    EXPECT_EQ(r.err.find("1797693"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_TRUE(outputs({data_, weights_}).empty()) << "left " << outputs({data_, weights_}).front();
  }
}

TEST_F(Options, StepSizesWhoseTimeIsNotFiniteAreRefused) {
  const std::vector<Case> cases = {
      {"sgd --data {D} --weights {W} --lr 1e300 --label-noise 0.1 --steps 10 --out {O}", 2,
       "--lr 1e+300 with --steps 10: the SGD time t = eta^2 K = inf is not a finite number"},
      {"sgd --data {D} --weights {W} --lr 1e-200 --label-noise 0.1 --steps 10 --out {O}", 2,
       "--lr 1e-200 with --steps 10: eta^2 = 0 underflows"},
      {"sgd --data {D} --weights {W} --lr 1e-3 --label-noise 1e300 --steps 10 --out {O}", 2,
       "the flow time tau = s^2 eta^2 K / (4B) is not a finite number"},
      {"convexity --data {D} --weights {W} --quick --no-search --along-sgd --lr 1e300 --label-noise 0.1 --steps 10 "
       "--out {O}",
       2, "--lr 1e+300 with --steps 10: the SGD time t = eta^2 K = inf"},
  };
  for (const Case& c : cases) {
    const std::string args = expand(c.args);
    SCOPED_TRACE(args);
    const RunResult r = zeroloss(args);
    EXPECT_EQ(r.code, c.code) << r.err;
    expect_one_line(r, c.args.substr(0, c.args.find(' ')), c.fragment);
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_TRUE(outputs({data_, weights_}).empty());
  }
}

TEST_F(Options, DivergenceAdviceNamesTheStabilityLimit) {
  // ||grad f_i||^2 is of order 1 here: eta = 100 is far beyond 2 / max_i ||grad f_i||^2, and half of
  // it (the old advice) would be too.
  const RunResult r =
      zeroloss(expand("sgd --data {D} --weights {W} --lr 100 --label-noise 0.1 --steps 1000 --no-figures --out {O}"));
  EXPECT_EQ(r.code, 5) << r.err;
  expect_one_line(r, "sgd", "Try --lr below ");
  EXPECT_NE(r.err.find("stable only for eta < 2 / max_i ||grad f_i||^2 = "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("e.g. 50"), std::string::npos) << r.err;
}

TEST_F(Options, UnknownCommandIsNamed) {
  const RunResult r = zeroloss("bogus --n 3");
  EXPECT_EQ(r.code, 1);
  expect_one_line(r, "", "unknown command 'bogus'; expected one of: ");
  EXPECT_NE(r.err.find("sgd"), std::string::npos) << r.err;
  const RunResult none = zeroloss("");
  EXPECT_EQ(none.code, 1);
  expect_one_line(none, "", "no command given");
}

TEST_F(Options, MissingFileIsBadInputWithTheCommandPrefix) {
  const std::string missing = dir_ + "/nope.csv";
  const RunResult r = zeroloss("check --data " + data_ + " --weights " + missing);
  EXPECT_EQ(r.code, 2) << r.err;
  expect_one_line(r, "check", "--weights " + missing + ": no such file");
  const RunResult folder = zeroloss("inspect --data " + dir_ + " --weights " + weights_);
  EXPECT_EQ(folder.code, 2) << folder.err;
  expect_one_line(folder, "inspect", "--data " + dir_ + ": is a folder; expected a file");
  EXPECT_TRUE(outputs({data_, weights_}).empty());
}

TEST_F(Options, BinaryJunkInACsvIsNeverEchoedRaw) {
  std::string junk;
  for (int c = 1; c < 0x20; ++c)
    if (c != '\n' && c != '\r' && c != ',') junk += static_cast<char>(c);
  junk += "\x7f\x80\x9b\xc3\x28\xff";
  const std::string bad_data = write("junk.csv", "x1,x2,x3,y\n0.3," + junk + ",0.9,0.5\n0.7,0.2,0.1,-0.4\n");
  const std::string bad_weights = write("junkw.csv", "w1,w2,w3,a\n0.2,-0.1,0.4,1\n" + junk + ",0.5,0.1,-1\n");
  const std::string bad_header = write("junkh.csv", "x1,x" + junk + ",x3,y\n0.3,0.1,0.9,0.5\n0.7,zz,0.1,-0.4\n");
  for (const auto& [args, fragment] : std::vector<std::pair<std::string, std::string>>{
           {"inspect --data " + bad_data + " --weights " + weights_, "\\x01\\x02\\x03"},
           {"inspect --data " + data_ + " --weights " + bad_weights, "\\x7f\\x80\\x9b\\xc3(\\xff"},
           {"inspect --data " + bad_header + " --weights " + weights_, "'zz' is not a number"}}) {
    SCOPED_TRACE(args);
    const RunResult r = zeroloss(args);
    EXPECT_EQ(r.code, 2) << r.err;
    expect_one_line(r, "inspect", fragment);
    for (std::size_t k = 0; k + 1 < r.err.size(); ++k) {
      const unsigned char c = static_cast<unsigned char>(r.err[k]);
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "raw byte " << int(c) << " at " << k;
    }
  }
}

}  // namespace
