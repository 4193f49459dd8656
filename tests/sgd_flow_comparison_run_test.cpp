// The run of `zeroloss compare` called as a library (runs/sgd_flow_comparison_run.hpp): its files and
// report against what the program writes and prints for the same options, its progress against the
// plan, and interruption through RunControl in each phase.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <tuple>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"
#include "zeroloss/runs/sgd_flow_comparison_run.hpp"

namespace zeroloss {
namespace {

namespace fs = std::filesystem;
using test::RunResult;
using test::run_zeroloss;
using test::slurp;
using test::temp_dir;
const std::string kInputs = std::string(ZEROLOSS_SOURCE_DIR) + "/tests/golden/inputs";

// W0 off M (main_w0.csv): the flow starts at its projection.
SgdFlowComparisonRunOptions small_run(const std::string& out) {
  SgdFlowComparisonRunOptions o;
  o.problem.data = kInputs + "/main_data.csv";
  o.problem.weights = kInputs + "/main_w0.csv";
  o.label_noise = 1;
  o.learning_rates = {0.01, 0.02, 0.005};
  o.time = 0.2;
  o.seeds = {0, 1, 2};
  o.points = 3;
  o.threads = 2;
  o.figures = false;
  o.out = out;
  return o;
}

std::string manifest_status(const std::string& dir) {
  return read_json_file(dir + "/" + OutputDirectory::kManifestName).at("status").get<std::string>();
}

TEST(SgdFlowComparisonRun, WritesAndReportsWhatTheProgramDoesForTheSameOptions) {
  const std::string dir = temp_dir("cmp-run");
  const SgdFlowComparisonRunOptions o = small_run(dir + "/lib");
  double total = -1, last = 0;
  int starts = 0;
  bool after_start = true;
  RunControl control;
  control.start = [&](double t) {
    total = t;
    ++starts;
  };
  control.progress = [&](double done) {
    after_start = after_start && starts == 1;
    last = done;
  };
  const SgdFlowComparisonRunSummary S = run_sgd_flow_comparison(o, control);
  ASSERT_EQ(S.status, SgdFlowComparisonRunStatus::Completed);
  EXPECT_FALSE(S.start_on_manifold);
  EXPECT_EQ(S.threads, 2);

  // The progress total is the plan's steps times the seeds; the last report does not exceed it.
  double steps = 0;
  for (const ComparisonGrid& g : S.plan.grids) steps += 3.0 * static_cast<double>(g.steps);
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(total, steps);
  EXPECT_EQ(S.sgd_steps, steps);
  EXPECT_TRUE(after_start);
  EXPECT_LE(last, total);
  EXPECT_EQ(manifest_status(o.out), "completed");

  const RunResult cli = run_zeroloss("compare --data " + o.problem.data + " --weights " + o.problem.weights +
                                     " --label-noise 1 --lr-list 0.01,0.02,0.005 --time 0.2 --seeds 3 --points 3 "
                                     "--threads 2 --no-figures --out " + dir + "/cli");
  ASSERT_EQ(cli.code, 0) << cli.err;
  for (const char* file : {"compare.csv", "compare_summary.csv", "flow_trajectory.csv", "bias_fluctuation.csv",
                           "projected_iterates.csv", "flow_tracking.json"})
    EXPECT_EQ(slurp(o.out + "/" + file), slurp(dir + "/cli/" + file)) << file;
  // summary.json: equal but for the seconds.
  nlohmann::json lib = read_json_file(o.out + "/summary.json"), prog = read_json_file(dir + "/cli/summary.json");
  EXPECT_EQ(lib, comparison_summary_json(o, S));
  for (nlohmann::json* j : {&lib, &prog}) {
    (*j)["flow"].erase("seconds");
    (*j)["sgd"].erase("seconds");
  }
  EXPECT_EQ(lib, prog);
  EXPECT_EQ(lib["start"], "W0 projected onto M (gradient-flow)");
  EXPECT_EQ(lib["sgd"]["steps"].get<double>(), steps);
  // The printed report: the same but for the SGD seconds and the folder.
  const std::regex seconds(" threads in [^ ]+ s\n");
  std::string text = std::regex_replace(comparison_report_text(o, S), seconds, " threads in ? s\n");
  text = std::regex_replace(text, std::regex(o.out), dir + "/cli");
  EXPECT_EQ(text, std::regex_replace(cli.out, seconds, " threads in ? s\n"));
  EXPECT_EQ(S.files, (std::vector<std::string>{o.out + "/flow_trajectory.csv", o.out + "/compare.csv",
                                               o.out + "/compare_summary.csv", o.out + "/bias_fluctuation.csv",
                                               o.out + "/projected_iterates.csv", o.out + "/flow_tracking.json",
                                               o.out + "/summary.json"}));
}

// Numbers of two JSON values agree to `tol` relative (structure and text exactly).
void expect_json_near(const nlohmann::json& a, const nlohmann::json& b, double tol, const std::string& at = "") {
  if (a.is_number() && b.is_number()) {
    EXPECT_NEAR(a.get<double>(), b.get<double>(), tol * std::max(1.0, std::abs(b.get<double>()))) << at;
  } else if (a.is_object() || a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << at;
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string key = a.is_object() ? it.key() : std::to_string(std::distance(a.begin(), it));
      expect_json_near(*it, a.is_object() ? b.at(it.key()) : b.at(std::distance(a.begin(), it)), tol, at + "/" + key);
    }
  } else {
    EXPECT_EQ(a, b) << at;
  }
}

TEST(SgdFlowComparisonRun, ReusedIteratesReproduceTheRunAndOnlyTheReferenceFlowChanges) {
  const std::string dir = temp_dir("cmp-reuse");
  SgdFlowComparisonRunOptions o = small_run(dir + "/first");
  const SgdFlowComparisonRunSummary first = run_sgd_flow_comparison(o);
  const nlohmann::json a = read_json_file(o.out + "/flow_tracking.json");
  ASSERT_TRUE(a["coefficient_fit"].is_object());
  EXPECT_EQ(a["reference_flow"]["time_scale"], "eta-squared-k");
  EXPECT_EQ(a["sgd_iterates"], nullptr);

  // The same plan from the file: the same numbers (the file holds full coordinates, read back to 1e-12).
  SgdFlowComparisonRunOptions again = small_run(dir + "/again");
  again.sgd_iterates = o.out + "/projected_iterates.csv";
  const SgdFlowComparisonRunSummary S = run_sgd_flow_comparison(again);
  EXPECT_EQ(S.sgd_steps, 0);
  EXPECT_FALSE(fs::exists(again.out + "/projected_iterates.csv"));
  nlohmann::json b = read_json_file(again.out + "/flow_tracking.json");
  EXPECT_EQ(b["sgd_iterates"], again.sgd_iterates);
  b["sgd_iterates"] = nullptr;
  expect_json_near(b, a, 1e-6);

  // A falsified reference flow (coefficient x 0.5) on the same iterates: the fitted coefficient is
  // a property of the SGD paths and does not move; the bias against the reference does.
  SgdFlowComparisonRunOptions half = small_run(dir + "/half");
  half.sgd_iterates = again.sgd_iterates;
  half.flow_coefficient_scale = 0.5;
  run_sgd_flow_comparison(half);
  const nlohmann::json h = read_json_file(half.out + "/flow_tracking.json");
  EXPECT_DOUBLE_EQ(h["reference_flow"]["reference_coefficient"].get<double>(), 0.125);
  EXPECT_DOUBLE_EQ(h["reference_flow"]["limiting_coefficient"].get<double>(), 0.25);
  expect_json_near(h["coefficient_fit"], a["coefficient_fit"], 1e-6);
  EXPECT_GT(h["per_eta"][2]["path_bias"].get<double>(), 10 * a["per_eta"][2]["path_bias"].get<double>());
  EXPECT_NEAR(h["per_eta"][2]["path_fluctuation"].get<double>(), a["per_eta"][2]["path_fluctuation"].get<double>(),
              1e-10);

  // A plan the file does not cover is refused, naming what is missing.
  SgdFlowComparisonRunOptions more = small_run(dir + "/more");
  more.sgd_iterates = again.sgd_iterates;
  more.seeds = {0, 1, 2, 3};
  try {
    run_sgd_flow_comparison(more);
    ADD_FAILURE() << "a missing seed was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no rows for eta = 0.02, seed 3"), std::string::npos) << e.what();
  }
  (void)first;
}

TEST(SgdFlowComparisonRun, TheProgramTakesTheDiagnosticKnobsAndRefusesBadOnes) {
  const std::string dir = temp_dir("cmp-knobs");
  const std::string base = "compare --data " + kInputs + "/main_data.csv --weights " + kInputs +
                           "/main_w0.csv --label-noise 1 --lr-list 0.02,0.01,0.005 --time 0.2 --seeds 3 --points 3 "
                           "--threads 2 --no-figures";
  const RunResult first = run_zeroloss(base + " --out " + dir + "/first");
  ASSERT_EQ(first.code, 0) << first.err;
  const RunResult etak = run_zeroloss(base + " --time-scale eta-k --flow-coefficient-scale 2 --sgd-iterates " + dir +
                                      "/first/projected_iterates.csv --out " + dir + "/etak");
  ASSERT_EQ(etak.code, 0) << etak.err;
  EXPECT_NE(etak.out.find("DIAGNOSTIC reference flow: coefficient 0.5 = 2 C on the time scale eta-k"),
            std::string::npos)
      << etak.out;
  EXPECT_NE(etak.out.find("SGD: not rerun"), std::string::npos) << etak.out;
  const nlohmann::json t = read_json_file(dir + "/etak/flow_tracking.json");
  EXPECT_EQ(t["reference_flow"]["time_scale"], "eta-k");
  EXPECT_DOUBLE_EQ(t["reference_flow"]["reference_coefficient"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(read_json_file(dir + "/etak/summary.json")["parameters"]["flow_coefficient"].get<double>(), 0.5);
  // On the eta k scale the flow runs 1/eta times ahead: the coefficient that matches the SGD paths
  // there is about eta s^2/(4B) at each step size, so the extrapolation to eta = 0 is about 0.
  for (const auto& e : t["per_eta"])
    EXPECT_NEAR(e["coefficient"]["estimate"].get<double>() / (0.25 * e["eta"].get<double>()), 1.0, 0.25) << e;
  EXPECT_LT(std::abs(t["coefficient_fit"]["estimate"].get<double>()), 0.01);
  // The rows are measured against the flow at eta k.
  const std::string csv = dir + "/etak/bias_fluctuation.csv";
  const std::vector<double> eta = read_csv_column(csv, "eta"), step = read_csv_column(csv, "step"),
                            flow_t = read_csv_column(csv, "flow_t");
  ASSERT_EQ(flow_t.size(), 9u);
  for (std::size_t r = 0; r < flow_t.size(); ++r) EXPECT_EQ(flow_t[r], eta[r] * step[r]) << r;

  // Out-of-range values are usage errors (exit 1), a missing file is bad input (exit 2; cli.md).
  for (const auto& [args, code, message] : std::vector<std::tuple<std::string, int, std::string>>{
           {" --flow-coefficient-scale 0", 1, "--flow-coefficient-scale: must be > 0"},
           {" --time-scale eta2k", 1, "--time-scale"},
           {" --sgd-iterates " + dir + "/missing.csv", 2, "missing.csv: no such file"}}) {
    const RunResult bad = run_zeroloss(base + args + " --out " + dir + "/bad");
    EXPECT_EQ(bad.code, code) << args;
    EXPECT_NE(bad.err.find(message), std::string::npos) << bad.err;
    EXPECT_FALSE(fs::exists(dir + "/bad")) << args;
  }
}

TEST(SgdFlowComparisonRun, AnInterruptDuringTheFlowLeavesNoOutputs) {
  const std::string dir = temp_dir("cmp-int-flow");
  std::atomic<bool> stop{true};
  RunControl control;
  control.interrupt = &stop;
  bool started = false;
  control.start = [&](double) { started = true; };
  const SgdFlowComparisonRunSummary S = run_sgd_flow_comparison(small_run(dir + "/out"), control);
  EXPECT_EQ(S.status, SgdFlowComparisonRunStatus::Interrupted);
  EXPECT_TRUE(S.files.empty());
  EXPECT_FALSE(started);  // the SGD runs never began
  EXPECT_FALSE(S.flow.completed);
  EXPECT_FALSE(fs::exists(dir + "/out/flow_trajectory.csv"));
  EXPECT_EQ(manifest_status(dir + "/out"), "interrupted");
}

TEST(SgdFlowComparisonRun, AnInterruptDuringTheSgdRunsLeavesOnlyTheFlow) {
  const std::string dir = temp_dir("cmp-int-sgd");
  std::atomic<bool> stop{false};
  RunControl control;
  control.interrupt = &stop;
  control.start = [&](double) { stop = true; };  // as the SGD runs begin
  const SgdFlowComparisonRunSummary S = run_sgd_flow_comparison(small_run(dir + "/out"), control);
  EXPECT_EQ(S.status, SgdFlowComparisonRunStatus::Interrupted);
  EXPECT_TRUE(S.flow.completed);
  EXPECT_EQ(S.files, std::vector<std::string>{dir + "/out/flow_trajectory.csv"});
  EXPECT_TRUE(S.result.per_eta.empty());
  EXPECT_TRUE(fs::exists(dir + "/out/flow_trajectory.csv"));
  EXPECT_FALSE(fs::exists(dir + "/out/compare.csv"));
  EXPECT_FALSE(fs::exists(dir + "/out/summary.json"));
  EXPECT_EQ(manifest_status(dir + "/out"), "interrupted");
}

}  // namespace
}  // namespace zeroloss
