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
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_support.hpp"
#include "zeroloss/presentation/sgd_run_file.hpp"
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

// Every file under `dir` but the records of a process (timings, workers.csv, an SGD run's
// checkpoint_time.json, the run folders' manifests and locks), by relative path.
std::map<std::string, std::string> reproducible_files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), dir).string();
    const std::string name = e.path().filename().string();
    if (rel.rfind("timings", 0) == 0 || rel == "workers.csv" || name == ".zeroloss-run.json" || name == ".zeroloss-run.lock" ||
        name == "checkpoint_time.json")
      continue;
    files[rel] = slurp(e.path().string());
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

// The launcher prefix of `ranks` MPI ranks ("" when built without MPI).
std::string mpirun(int ranks = 3) {
#ifdef ZEROLOSS_MPIEXEC
#ifdef __SANITIZE_ADDRESS__
  // OpenMPI's runtime keeps what MPI_Init allocates (in plugins unloaded before the leak check, so
  // the reports cannot be suppressed by name): leak detection is off for the processes under mpirun,
  // every other AddressSanitizer and UBSan check stays on (docs/sanitizers.md).
  const std::string sanitizer = "ASAN_OPTIONS=detect_leaks=0 ";
#else
  const std::string sanitizer;
#endif
  return sanitizer + "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " + ZEROLOSS_MPIEXEC +
         " --oversubscribe -np " + std::to_string(ranks) + " ";
#else
  (void)ranks;
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

TEST(SweepSpecification, EveryKindRefusesAKeyItDoesNotTakeAndNamesIt) {
  const std::string head = R"({"format": "zeroloss-sweep", "tasks": [{"kind": )";
  const std::string data = R"("n": 4, "d": 6, "m": 5)";
  const std::string diag = R"("model": "diagonal-linear", "n": 3, "d": 6)";
  // compare: the step sizes are a list `etas`; a single `eta` is sgd's.
  EXPECT_NE(refusal(head + R"("compare", "parameters": {)" + data + R"(, "s": 0.5, "time": 1, "eta": 0.1}}]})")
                .find("tasks[0].parameters.eta: not a parameter of compare tasks"), std::string::npos);
  EXPECT_NE(refusal(head + R"("compare", "parameters": {)" + data + R"(, "s": 0.5, "time": 1, "etas": []}}]})")
                .find("tasks[0].parameters.etas: expected a non-empty list"), std::string::npos);
  EXPECT_NE(refusal(head + R"("compare", "parameters": {)" + data + R"(, "s": 0.5, "time": 1, "etas": [0.1, -1]}}]})")
                .find("(task 0000): etas: every step size must be > 0"), std::string::npos);
  EXPECT_EQ(refusal(head + R"("compare", "parameters": {)" + diag + R"(, "s": 0.5, "time": 1, "etas": [0.1]}}]})"), "");
  EXPECT_NE(refusal(head + R"("compare", "parameters": {)" + diag + R"(, "m": 5, "s": 0.5, "time": 1, "etas": [0.1]}}]})")
                .find("tasks[0].model: m is a parameter of the two-layer network only"), std::string::npos);
  EXPECT_NE(refusal(head + R"("compare", "parameters": {)" + data + R"(, "s": 0.5, "etas": [0.1]}}]})")
                .find("tasks[0]: missing parameter 'time'"), std::string::npos);
  // convexity: a preset, no SGD step size.
  EXPECT_NE(refusal(head + R"("convexity", "parameters": {)" + data + R"(, "preset": "fast"}}]})")
                .find("(task 0000): preset: expected \"quick\" or \"full\""), std::string::npos);
  EXPECT_NE(refusal(head + R"("convexity", "parameters": {)" + data + R"(, "eta": 0.1}}]})")
                .find("tasks[0].parameters.eta: not a parameter of convexity tasks"), std::string::npos);
  // optimum: no dynamics.
  EXPECT_NE(refusal(head + R"("optimum", "parameters": {)" + data + R"(, "steps": 10}}]})")
                .find("tasks[0].parameters.steps: not a parameter of optimum tasks"), std::string::npos);
  EXPECT_NE(refusal(head + R"("optimum", "grid": {"n": [4], "d": [6], "m": [5], "sedd": [1]}}]})")
                .find("tasks[0].grid: unknown parameter 'sedd'"), std::string::npos);
  // sgd and flow on the diagonal network: no neurons, the run's own checks.
  EXPECT_NE(refusal(head + R"("sgd", "parameters": {)" + diag + R"(, "m": 5, "s": 0.5, "eta": 0.1, "steps": 10}}]})")
                .find("tasks[0].model: m is a parameter of the two-layer network only"), std::string::npos);
  EXPECT_NE(refusal(head + R"("sgd", "parameters": {)" + diag + R"(, "s": 0.5, "eta": 0.1, "steps": 0}}]})")
                .find("(task 0000)"), std::string::npos);
  EXPECT_NE(refusal(head + R"("walk"}]})").find("known: sgd, flow, compare, convexity, optimum"), std::string::npos);
  for (const std::string& ok :
       {head + R"("compare", "parameters": {)" + data + R"(, "s": 0.5, "time": 1, "etas": [0.1, 0.05]}}]})",
        head + R"("convexity", "parameters": {)" + diag + R"(, "seed": 3}}]})",
        head + R"("optimum", "parameters": {)" + diag + R"(}}]})",
        head + R"("sgd", "parameters": {)" + diag + R"(, "s": 0.5, "eta": 0.1, "steps": 10}}]})"})
    EXPECT_EQ(refusal(ok), "") << ok;
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

// One task of each kind beyond the two-layer sgd and flow, compare on both models: ~2 s on one core.
const char* kKindsSpec = R"({"format": "zeroloss-sweep", "tasks": [
  {"kind": "compare", "parameters": {"n": 3, "d": 5, "data_seed": 3, "m": 4, "init_scale": 0.5, "s": 0.5,
   "time": 0.2, "etas": [0.01, 0.005], "seeds": 2, "points": 3}},
  {"kind": "optimum", "parameters": {"n": 3, "d": 5, "data_seed": 3, "m": 4}},
  {"kind": "optimum", "parameters": {"model": "diagonal-linear", "n": 3, "d": 6, "data_seed": 3, "init_scale": 0.5}},
  {"kind": "convexity", "parameters": {"model": "diagonal-linear", "n": 3, "d": 6, "data_seed": 3, "init_scale": 0.5}},
  {"kind": "convexity", "parameters": {"n": 3, "d": 5, "data_seed": 3, "m": 4}},
  {"kind": "sgd", "parameters": {"model": "diagonal-linear", "n": 3, "d": 6, "data_seed": 3, "init_scale": 0.5,
   "s": 0.5, "eta": 0.02, "steps": 20000, "checkpoint_every": 5000, "log_points": 10}},
  {"kind": "flow", "parameters": {"model": "diagonal-linear", "n": 3, "d": 6, "data_seed": 3, "init_scale": 0.5,
   "s": 0.5, "time": 2, "log_points": 10}},
  {"kind": "compare", "parameters": {"model": "diagonal-linear", "n": 3, "d": 6, "data_seed": 3, "init_scale": 0.5,
   "s": 0.5, "time": 0.2, "etas": [0.02, 0.01], "seeds": 2, "points": 3}}]})";

TEST(SweepCli, EveryTaskKindRunsAndGivesTheSameBytesOnThreadsAndRanks) {
  const std::string dir = temp_dir("sweep-kinds");
  const std::string spec = write_file(dir + "/spec.json", kKindsSpec);
  const std::string out = dir + "/out";
  std::string err;
  ASSERT_EQ(run_command(zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + out + " --threads 1 --quiet",
                        nullptr, &err), 0) << err;
  const std::string csv = slurp(out + "/results.csv");
  std::vector<std::string> lines;
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 9u) << csv;
  for (std::size_t k = 1; k < lines.size(); ++k) EXPECT_NE(lines[k].find(",completed,"), std::string::npos) << lines[k];
  // The diagonal network's comparison: SGD against its limiting flow, with a fitted order and its
  // own model named in the run's summary.
  const json diagonal_compare = json::parse(slurp(out + "/tasks/0007/result.json"));
  EXPECT_TRUE(diagonal_compare["error_order"].is_number()) << diagonal_compare.dump();
  EXPECT_TRUE(fs::exists(out + "/tasks/0007/run/compare.csv"));
  EXPECT_NE(slurp(out + "/tasks/0007/run/summary.json").find("diagonal-linear"), std::string::npos);
  // Each kind wrote its own outputs, and its key number.
  const json compare = json::parse(slurp(out + "/tasks/0000/result.json"));
  EXPECT_TRUE(compare["error_order"].is_number()) << compare.dump();
  EXPECT_TRUE(fs::exists(out + "/tasks/0000/run/compare.csv"));
  const json two_layer = json::parse(slurp(out + "/tasks/0001/result.json"));
  EXPECT_EQ(two_layer["sharpness"], two_layer["optimum_sharpness"]);  // the closed form (rank X = n)
  EXPECT_TRUE(fs::exists(out + "/tasks/0001/optimum.csv"));
  EXPECT_TRUE(fs::exists(out + "/tasks/0002/optimum.json"));
  const json diagonal = json::parse(slurp(out + "/tasks/0002/result.json"));
  EXPECT_GT(diagonal["sharpness"].get<double>(), 0);
  EXPECT_TRUE(fs::exists(out + "/tasks/0003/run/summary.json"));
  EXPECT_TRUE(fs::exists(out + "/tasks/0004/run/summary.json"));
  EXPECT_TRUE(fs::exists(out + "/tasks/0005/run/trajectory.csv"));
  // The diagonal flow approaches the certified optimum's T* from above.
  const json flow = json::parse(slurp(out + "/tasks/0006/result.json"));
  EXPECT_GE(flow["sharpness"].get<double>(), diagonal["sharpness"].get<double>() * (1 - 1e-9));
  // No timing left in the runs' summaries: they went to timings/.
  const json timing = json::parse(slurp(out + "/timings/0000.json"));
  EXPECT_TRUE(timing.contains("flow")) << timing.dump();
  EXPECT_FALSE(json::parse(slurp(out + "/tasks/0000/run/summary.json"))["flow"].contains("seconds"));
  if (mpirun().empty()) GTEST_SKIP() << "built without MPI";
  fs::rename(out, dir + "/one_thread");
  ASSERT_EQ(run_command(mpirun() + zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + out + " --quiet",
                        nullptr, &err), 0) << err;
  expect_same_files(dir + "/one_thread", out);
}

// The bytes do not depend on where DIR is: the task files name their inputs relative to their
// own folder (run.json too, whose readers resolve them there), messages relative to DIR.
TEST(SweepCli, TwoDifferentOutPathsGiveTheSameBytes) {
  const std::string dir = temp_dir("sweep-paths");
  const std::string spec = write_file(dir + "/spec.json", kKindsSpec);
  fs::create_directories(dir + "/deeper/still");
  std::string err;
  ASSERT_EQ(run_command(zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + dir + "/a --threads 2 --quiet",
                        nullptr, &err), 0) << err;
  ASSERT_EQ(run_command("cd " + dir + "/deeper && " + zeroloss::test::zeroloss_binary() +
                            " sweep ../spec.json --out still/b --threads 1 --quiet", nullptr, &err), 0) << err;
  expect_same_files(dir + "/a", dir + "/deeper/still/b");
  // An SGD task's run.json names its inputs relative to the run folder, and a resume reads them
  // from there (the run folder's path as given, not the current folder).
  const std::string run_json = dir + "/deeper/still/b/tasks/0005/run/run.json";
  const json run = json::parse(slurp(run_json));
  EXPECT_EQ(run["data"], "../data.csv") << run.dump();
  EXPECT_EQ(run["weights"], "../start.csv") << run.dump();
  EXPECT_EQ(zeroloss::run_input_path("../data.csv", run_json), dir + "/deeper/still/b/tasks/0005/data.csv");
  EXPECT_EQ(zeroloss::run_input_path("/abs/data.csv", run_json), "/abs/data.csv");
  EXPECT_EQ(zeroloss::run_input_path("", run_json), "");
  EXPECT_EQ(json::parse(slurp(dir + "/a/tasks/0001/optimum.json"))["out"], "optimum.csv");
}

// workers.csv: one row per worker; its task counts are those of timings.csv (each task's worker).
TEST(SweepCli, WorkersCsvCountsEachWorkersTasksAsTimingsDo) {
  const std::string dir = temp_dir("sweep-workers");
  const std::string spec = write_file(dir + "/spec.json", kSpec);
  std::vector<std::string> commands = {zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + dir +
                                       "/threads --threads 2 --quiet"};
  if (!mpirun().empty())
    commands.push_back(mpirun() + zeroloss::test::zeroloss_binary() + " sweep " + spec + " --out " + dir + "/ranks --quiet");
  for (const std::string& command : commands) {
    std::string err;
    ASSERT_EQ(run_command(command, nullptr, &err), 0) << err;
    const std::string out = dir + (command.find("/ranks") != std::string::npos ? "/ranks" : "/threads");
    std::map<std::string, long> from_timings, from_workers;
    std::istringstream timings(slurp(out + "/timings.csv")), workers(slurp(out + "/workers.csv"));
    std::string line;
    std::getline(timings, line);
    while (std::getline(timings, line)) ++from_timings[line.substr(5, line.rfind(',') - 5)];
    std::getline(workers, line);
    EXPECT_EQ(line, "worker,tasks,task_seconds,queue_seconds,end_seconds,idle_seconds,user_seconds,system_seconds,"
                    "startup_seconds");
    std::size_t rows = 0;
    while (std::getline(workers, line)) {
      ++rows;
      std::vector<std::string> cells;
      std::istringstream in(line);
      for (std::string c; std::getline(in, c, ',');) cells.push_back(c);
      ASSERT_EQ(cells.size(), 9u) << line;
      if (std::stol(cells[1]) > 0) from_workers[cells[0]] = std::stol(cells[1]);
      EXPECT_LE(std::stod(cells[2]), std::stod(cells[4]) + 1e-9) << line;  // in tasks, before its end
      EXPECT_GE(std::stod(cells[5]), 0) << line;
    }
    EXPECT_EQ(rows, out == dir + "/ranks" ? 3u : 2u);
    EXPECT_EQ(from_workers, from_timings) << out;
  }
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

namespace {

// What of a report does not depend on the executor: summary.json without its environment (times,
// host) and the claims' seconds and speeds; report.md and report.html up to their environment
// section, with claim 4's speed (in its evidence and its numbers) and the html table's seconds
// masked; every CSV and SVG file, at any depth but logs/ (which hold the commands' progress lines).
std::map<std::string, std::string> report_without_times(const std::string& dir) {
  std::map<std::string, std::string> files;
  const std::regex speed("Speed [^ ]+ steps/s"), seconds("<td>[0-9.]+ s</td>"),
      speed_number("(&quot;|\")steps_per_second(&quot;|\"): [0-9.e+-]+");
  const auto mask = [&](const std::string& text) {
    return std::regex_replace(std::regex_replace(std::regex_replace(text, speed, "<speed>"), seconds, "<seconds>"),
                              speed_number, "<speed>");
  };
  json summary = json::parse(slurp(dir + "/summary.json"));
  summary.erase("environment");
  for (auto& [key, v] : summary["verdicts"].items()) {
    (void)key;
    v.erase("seconds");
    if (v.contains("numbers")) v["numbers"].erase("steps_per_second");
    if (v.contains("evidence")) v["evidence"] = mask(v["evidence"].get<std::string>());
  }
  files["summary.json"] = summary.dump(1);
  const std::string md = slurp(dir + "/report.md"), html = slurp(dir + "/report.html");
  files["report.md"] = mask(md.substr(0, md.find("## Environment")));
  files["report.html"] = mask(html.substr(0, html.find("<h2 id=\"environment\"")));
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    const std::string ext = e.path().extension().string();
    if (e.is_regular_file() && rel.rfind("logs/", 0) != 0 && (ext == ".csv" || ext == ".svg")) files[rel] = slurp(e.path().string());
  }
  return files;
}

}  // namespace

// zeroloss run on two MPI ranks: rank 0 drives the claims (and runs claim 1's census in-process),
// both ranks run the batches of commands; the verdicts, every number and every figure and table are
// those of the local run.
TEST(SweepCli, TheQuickReportOnTwoMpiRanksIsTheLocalReport) {
  if (mpirun().empty()) GTEST_SKIP() << "built without MPI";
  const std::string dir = temp_dir("sweep-run");
  std::string err;
  // Both into the same --out path (the commands it records name their files by path).
  const std::string out = dir + "/report";
  const int local = run_command(zeroloss::test::zeroloss_binary() + " run --quick --out " + out, nullptr, &err);
  ASSERT_TRUE(local == 0 || local == 8 || local == 9) << err;
  fs::rename(out, dir + "/local");
  const int ranks = run_command(mpirun(2) + zeroloss::test::zeroloss_binary() + " run --quick --out " + out, nullptr, &err);
  EXPECT_EQ(ranks, local) << err;
  // Both ranks ran commands of the batches.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(err, m, std::regex("2 MPI ranks ran the report's batches of commands \\(per rank: ([0-9]+) ([0-9]+)\\)"))) << err;
  EXPECT_GT(std::stol(m[1]), 0) << err;
  EXPECT_GT(std::stol(m[2]), 0) << err;
  const auto a = report_without_times(dir + "/local"), b = report_without_times(out);
  ASSERT_GT(a.size(), 20u);
  std::vector<std::string> names_a, names_b;
  for (const auto& [k, v] : a) names_a.push_back(k);
  for (const auto& [k, v] : b) names_b.push_back(k);
  ASSERT_EQ(names_a, names_b);
  for (const auto& [k, v] : a) EXPECT_TRUE(v == b.at(k)) << k << " differs between the local and the MPI report";
}
