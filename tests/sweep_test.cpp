// zeroloss sweep (docs/sweeps.md): the specification's expansion and its refusals naming the key,
// failing tasks recorded with their message, and the bytes of a sweep's outputs the same for one
// thread, two threads, three MPI ranks and a run killed and resumed.

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/sweep/sweep_specification.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using zeroloss::test::run_command;
using zeroloss::test::run_zeroloss;
using zeroloss::test::slurp;
using zeroloss::test::temp_dir;

namespace {

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// The message of the InputError parse_sweep_specification throws ("" if none).
std::string refusal(const std::string& text) {
  try {
    (void)zeroloss::parse_sweep_specification(json::parse(text), "spec.json");
  } catch (const zeroloss::InputError& e) {
    return e.what();
  }
  return "";
}

// Every file under `dir` but the records of a process (timings, the run folders' manifests and
// locks), by relative path; a run's checkpoint.json without its elapsed time and the checksum that
// covers it.
std::map<std::string, std::string> reproducible_files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), dir).string();
    const std::string name = e.path().filename().string();
    if (rel.rfind("timings", 0) == 0 || name == ".zeroloss-run.json" || name == ".zeroloss-run.lock") continue;
    std::string bytes = slurp(e.path().string());
    if (name == "checkpoint.json") {
      json j = json::parse(bytes);
      j.erase("elapsed_seconds");
      j.erase("fnv1a64");
      bytes = j.dump();
    }
    files[rel] = bytes;
  }
  return files;
}

void expect_same_files(const std::string& a, const std::string& b) {
  const auto fa = reproducible_files(a), fb = reproducible_files(b);
  ASSERT_GT(fa.size(), 10u);
  std::vector<std::string> names_a, names_b;
  for (const auto& [k, v] : fa) names_a.push_back(k);
  for (const auto& [k, v] : fb) names_b.push_back(k);
  ASSERT_EQ(names_a, names_b);
  for (const auto& [k, v] : fa) EXPECT_TRUE(v == fb.at(k)) << k << " differs between " << a << " and " << b;
}

// Four SGD runs (two step sizes, two seeds) with checkpoints, two flows: ~1 s on one core.
const char* kSpec = R"({"format": "zeroloss-sweep", "tasks": [
  {"kind": "sgd", "parameters": {"n": 4, "d": 6, "data_seed": 1, "m": 5, "s": 0.5, "steps": 300000,
   "checkpoint_every": 50000, "log_points": 20}, "grid": {"eta": [0.005, 0.01], "seed": [1, 2]}},
  {"kind": "flow", "parameters": {"n": 4, "d": 6, "data_seed": 1, "m": 5, "time": 20, "log_points": 20},
   "list": [{"s": 0.5}, {"C": 0.1}]}]})";

std::string mpirun() {
#ifdef ZEROLOSS_MPIEXEC
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") + ZEROLOSS_MPIEXEC +
         " --oversubscribe -np 3 ";
#else
  return "";
#endif
}

}  // namespace

TEST(SweepSpecification, ExpandsTheGridLastKeyFastestAndFillsDefaults) {
  const auto spec = zeroloss::parse_sweep_specification(json::parse(kSpec), "spec.json");
  ASSERT_EQ(spec.tasks.size(), 6u);
  const std::vector<std::pair<double, int>> expected{{0.005, 1}, {0.005, 2}, {0.01, 1}, {0.01, 2}};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto& p = spec.tasks[i].parameters;
    EXPECT_EQ(spec.tasks[i].id, "000" + std::to_string(i));
    EXPECT_EQ(p["eta"].get<double>(), expected[i].first);
    EXPECT_EQ(p["seed"].get<int>(), expected[i].second);
    EXPECT_EQ(p["B"], "1");
    EXPECT_EQ(p["activation"], "cubic");
    EXPECT_EQ(p["generator"], "gaussian");
  }
  EXPECT_EQ(spec.tasks[4].kind, zeroloss::SweepTaskKind::Flow);
  EXPECT_TRUE(spec.tasks[4].parameters.contains("s"));
  EXPECT_FALSE(spec.tasks[4].parameters.contains("C"));
  EXPECT_EQ(spec.tasks[5].parameters["C"].get<double>(), 0.1);
  // The example is valid and has at least 4 tasks.
  EXPECT_GE(zeroloss::parse_sweep_specification(json::parse(zeroloss::example_sweep_specification()), "example").tasks.size(), 4u);
}

TEST(SweepSpecification, RefusalsNameTheEntryAndTheKey) {
  const std::string head = R"({"format": "zeroloss-sweep", "tasks": [)";
  const std::string sgd = R"("kind": "sgd", "parameters": {"n": 4, "d": 6, "m": 5, "s": 0.5, "steps": 10)";
  EXPECT_NE(refusal(head + "{" + sgd + R"(}, "grid": {"etaa": [0.1]}}]})").find("tasks[0].grid: unknown parameter 'etaa'"), std::string::npos);
  EXPECT_NE(refusal(head + "{" + sgd + R"(, "eta": "big"}}]})").find("tasks[0].parameters.eta: expected a finite number"), std::string::npos);
  EXPECT_NE(refusal(head + "{" + sgd + R"(}}]})").find("tasks[0]: missing parameter 'eta'"), std::string::npos);
  EXPECT_NE(refusal(head + "{" + sgd + R"(, "eta": 0.1, "B": 9}}]})").find("task 0000"), std::string::npos);
  EXPECT_NE(refusal(head + "{" + sgd + R"(, "eta": 0.1, "time": 3}}]})").find("tasks[0].parameters.time: not a parameter of sgd"), std::string::npos);
  EXPECT_NE(refusal(head + R"({"kind": "walk"}]})").find("tasks[0].kind: unknown task kind"), std::string::npos);
  EXPECT_NE(refusal(head + R"({"kind": "flow", "parameters": {"n": 4, "d": 6, "m": 5, "time": 1}}]})").find("exactly one of 's'"), std::string::npos);
  EXPECT_NE(refusal(head + "{" + sgd + R"(, "eta": 0.1, "activation": "cubik"}}]})").find("tasks[0] (task 0000).activation"), std::string::npos);
  EXPECT_EQ(refusal(head + "{" + sgd + R"(, "eta": 0.1}}]})"), "");
}

TEST(SweepCli, BadSpecificationNamesTheKeyAndRunsNothing) {
  const std::string dir = temp_dir("sweep-bad");
  const std::string spec = write_file(dir + "/spec.json", R"({"format": "zeroloss-sweep", "tasks": [
    {"kind": "sgd", "parameters": {"n": 4, "d": 6, "m": 5, "s": 0.5, "steps": 10, "eta": 0.01}},
    {"kind": "sgd", "parameters": {"n": 4, "d": 6, "m": 5, "s": 0.5, "steps": 10}, "grid": {"eta": [0.01], "sed": [1]}}]})");
  const auto r = run_zeroloss("sweep " + spec + " --out " + dir + "/out");
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("tasks[1].grid: unknown parameter 'sed'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/out"));
}

TEST(SweepCli, AFailingTaskIsRecordedWithItsMessageAndTheOthersRun) {
  const std::string dir = temp_dir("sweep-fail");
  const std::string spec = write_file(dir + "/spec.json", R"({"format": "zeroloss-sweep", "tasks": [
    {"kind": "sgd", "parameters": {"n": 4, "d": 6, "m": 5, "s": 0.5, "steps": 1000, "seed": 3},
     "grid": {"eta": [1.0, 0.005]}},
    {"kind": "flow", "parameters": {"n": 4, "d": 6, "m": 5, "s": 0.5, "time": 50, "max_steps": 3}},
    {"kind": "flow", "parameters": {"generator": "orthonormal", "n": 6, "d": 4, "m": 5, "s": 0.5, "time": 1}}]})");
  const auto r = run_zeroloss("sweep " + spec + " --out " + dir + "/out --threads 2 --no-figures");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string csv = slurp(dir + "/out/results.csv");
  std::vector<std::string> lines;
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 5u) << csv;
  EXPECT_NE(lines[1].find(",diverged,"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("label-noise SGD diverged"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find(",completed,"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find(",step limit,"), std::string::npos) << lines[3];
  EXPECT_NE(lines[4].find(",failed,"), std::string::npos) << lines[4];
  EXPECT_NE(lines[4].find("orthonormal"), std::string::npos) << lines[4];
  const json summary = json::parse(slurp(dir + "/out/summary.json"));
  EXPECT_EQ(summary["completed"], 1);
  EXPECT_EQ(summary["not_completed"], 3);
}

TEST(SweepCli, OneThreadTwoThreadsAndThreeMpiRanksWriteTheSameBytes) {
  const std::string dir = temp_dir("sweep-same");
  const std::string spec = write_file(dir + "/spec.json", kSpec);
  const std::string out = dir + "/out";
  ASSERT_EQ(run_command(zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + out + " --threads 1 --quiet"), 0);
  fs::rename(out, dir + "/one_thread");
  ASSERT_EQ(run_command(zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + out + " --threads 2 --quiet"), 0);
  expect_same_files(dir + "/one_thread", out);
  if (mpirun().empty()) GTEST_SKIP() << "built without MPI";
  fs::rename(out, dir + "/two_threads");
  std::string err;
  ASSERT_EQ(run_command(mpirun() + zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + out + " --quiet", nullptr, &err), 0) << err;
  // Every rank ran some task (dynamic scheduling over 3 ranks), and the bytes are the same.
  const std::string timings = slurp(out + "/timings.csv");
  for (const char* rank : {"rank 0", "rank 1", "rank 2"}) EXPECT_NE(timings.find(rank), std::string::npos) << timings;
  expect_same_files(dir + "/one_thread", out);
  // Rank 0's refusal of the folder (another specification) reaches every rank: all exit, nothing run.
  const std::string other = write_file(dir + "/other.json", R"({"format": "zeroloss-sweep", "tasks": [
    {"kind": "flow", "parameters": {"n": 4, "d": 6, "m": 5, "s": 0.5, "time": 1}}]})");
  EXPECT_NE(run_command(mpirun() + zeroloss::test::zeroloss_binary() + " sweep " + other + " --out " + out, nullptr, &err), 0);
  EXPECT_NE(err.find("holds a sweep of another specification"), std::string::npos) << err;
  expect_same_files(dir + "/one_thread", out);
}

TEST(SweepCli, AKilledSweepResumesToTheSameBytes) {
  const std::string dir = temp_dir("sweep-kill");
  const std::string spec = write_file(dir + "/spec.json", R"({"format": "zeroloss-sweep", "tasks": [
    {"kind": "sgd", "parameters": {"n": 4, "d": 6, "data_seed": 2, "m": 5, "s": 0.5, "eta": 0.005,
     "steps": 3000000, "checkpoint_every": 200000, "log_points": 30}, "grid": {"seed": [1, 2, 3]}}]})");
  const std::string out = dir + "/out";
  const std::string command = zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + out + " --threads 1 --quiet";
  ASSERT_EQ(run_command(command), 0);
  fs::rename(out, dir + "/reference");
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + command + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Killed (SIGKILL: nothing runs on the way out) once the second task has written a checkpoint.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(out + "/tasks/0001/run/checkpoint.json") && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep finished before it could be killed";
  EXPECT_TRUE(fs::exists(out + "/tasks/0000/result.json"));
  EXPECT_FALSE(fs::exists(out + "/tasks/0001/result.json"));
  std::string printed;
  ASSERT_EQ(run_command(zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + out + " --threads 1", &printed), 0);
  EXPECT_NE(printed.find("task 0000 sgd: skipped"), std::string::npos) << printed;
  EXPECT_NE(printed.find("3 tasks (2 run, 1 finished earlier)"), std::string::npos) << printed;
  const json timing = json::parse(slurp(out + "/timings/0001.json"));
  EXPECT_GT(timing["performance"]["resumed_from_step"].get<long>(), 0) << "task 0001 did not resume from a checkpoint";
  expect_same_files(dir + "/reference", out);
  // Another specification in the same folder is refused, nothing run.
  const std::string other = write_file(dir + "/other.json", R"({"format": "zeroloss-sweep", "tasks": [
    {"kind": "flow", "parameters": {"n": 4, "d": 6, "m": 5, "s": 0.5, "time": 1}}]})");
  const auto r = run_zeroloss("sweep " + other + " --out " + out);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("holds a sweep of another specification"), std::string::npos) << r.err;
}
