// The interrupt flag of the long library calls (support/interrupt_flag.hpp): a child process, the
// report's commands and the report itself, and the convexity analysis stop at their next check once
// the flag is set (from another thread, or before the call) and throw InterruptedError; the output
// folders they own are marked interrupted; `zeroloss convexity` and `zeroloss run` turn SIGINT into
// the flag and end by the signal.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_support.hpp"
#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/diagnostics/trajectory_convexity.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/io/weights.hpp"
#include "zeroloss/runs/convexity_run.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/interrupt_flag.hpp"
#include "zeroloss/verification/verification_config.hpp"
#include "zeroloss/verification/verification_context.hpp"
#include "zeroloss/verification/verification_report.hpp"

using namespace zeroloss;

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Sets `flag` after `delay` on its own thread (joined by the destructor).
class DelayedInterrupt {
 public:
  DelayedInterrupt(std::atomic<bool>& flag, std::chrono::milliseconds delay)
      : thread_([&flag, delay] {
          std::this_thread::sleep_for(delay);
          flag.store(true);
        }) {}
  ~DelayedInterrupt() { thread_.join(); }

 private:
  std::thread thread_;
};

TEST(Interrupt, AChildProcessIsSentSigintWhenTheFlagIsSet) {
  const std::string dir = test::temp_dir("interrupt-child");
  std::atomic<bool> flag{false};
  const auto t0 = Clock::now();
  ChildResult r;
  {
    DelayedInterrupt later(flag, std::chrono::milliseconds(200));
    r = run_child_process("/bin/sleep", {"30"}, dir + "/o", dir + "/e", "", &flag);
  }
  EXPECT_EQ(r.exit_code, 128 + SIGINT);
  EXPECT_LT(seconds_since(t0), 5.0);
  // An unset flag changes nothing: the child runs to its end.
  std::atomic<bool> never{false};
  EXPECT_EQ(run_child_process("/bin/sh", {"-c", "exit 3"}, dir + "/o", dir + "/e", "", &never).exit_code, 3);
}

TEST(Interrupt, TheReportsCommandsStopAndNoFurtherCommandStarts) {
  const std::string dir = test::temp_dir("interrupt-context");
  VerificationContext ctx(json::object(), dir + "/report", "/bin/sh", nullptr);
  std::atomic<bool> flag{false};
  ctx.set_interrupt(&flag);
  EXPECT_EQ(ctx.run("before", {"-c", "echo ok"}), "ok\n");
  const auto t0 = Clock::now();
  {
    DelayedInterrupt later(flag, std::chrono::milliseconds(200));
    EXPECT_THROW(ctx.run("long", {"-c", "exec sleep 30"}), InterruptedError);
  }
  EXPECT_LT(seconds_since(t0), 5.0);
  const size_t runs = ctx.runs();
  EXPECT_THROW(ctx.try_run("after", {"-c", "echo no"}), InterruptedError);
  EXPECT_THROW(ctx.try_run_parallel({{"p1", {"-c", "echo no"}}, {"p2", {"-c", "echo no"}}}, 2), InterruptedError);
  EXPECT_EQ(ctx.runs(), runs);  // nothing was started
  EXPECT_FALSE(std::filesystem::exists(dir + "/report/logs/after.out"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/report/logs/p1.out"));
}

TEST(Interrupt, ABatchStopsItsRunningCommandsAndStartsNoOther) {
  const std::string dir = test::temp_dir("interrupt-batch");
  VerificationContext ctx(json::object(), dir + "/report", "/bin/sh", nullptr);
  std::atomic<bool> flag{false};
  ctx.set_interrupt(&flag);
  const auto t0 = Clock::now();
  {
    DelayedInterrupt later(flag, std::chrono::milliseconds(200));
    // One worker: the first command is running when the flag is set, the other two never start.
    EXPECT_THROW(ctx.try_run_parallel({{"b1", {"-c", "exec sleep 30"}}, {"b2", {"-c", "exec sleep 30"}},
                                       {"b3", {"-c", "exec sleep 30"}}},
                                      1),
                 InterruptedError);
  }
  EXPECT_LT(seconds_since(t0), 5.0);
}

TEST(Interrupt, TheReportStopsBeforeItsNextClaimAndMarksItsFolder) {
  const std::string dir = test::temp_dir("interrupt-report");
  std::atomic<bool> flag{true};
  VerificationReportOptions o;
  o.out = dir + "/report";
  o.program = "/bin/sh";  // never started: the flag is set before the first claim
  o.interrupt = &flag;
  const json cfg = parse_verification_config("null", "config", true);
  EXPECT_THROW(write_verification_report(cfg, o, nullptr), InterruptedError);
  EXPECT_EQ(read_run_manifest(o.out).status, "interrupted");
  EXPECT_FALSE(std::filesystem::exists(o.out + "/summary.json"));
  EXPECT_FALSE(std::filesystem::exists(o.out + "/report.html"));
  EXPECT_TRUE(std::filesystem::is_empty(o.out + "/logs"));
}

// A problem whose thorough analysis takes far longer than the bounds below (a minute or two).
struct Problem {
  test::RandomProblem p = test::random_problem(3, 3, 10, "cubic", false, 5, 0.5);
  Eigen::MatrixXd on_m() const { return sharpness_minimum(p.model, p.theta).theta; }
};

TEST(Interrupt, TheConvexityAnalysisStopsPromptlyFromAnotherThread) {
  const Problem pr;
  ConvexityOptions o = ConvexityOptions::full();
  std::atomic<bool> flag{false};
  o.interrupt = &flag;
  const auto t0 = Clock::now();
  {
    DelayedInterrupt later(flag, std::chrono::milliseconds(500));
    EXPECT_THROW(analyze_convexity(pr.p.model, pr.on_m(), std::nullopt, o), InterruptedError);
  }
  EXPECT_LT(seconds_since(t0), 5.0);
}

TEST(Interrupt, EveryConvexityEntryPointChecksTheFlag) {
  const Problem pr;
  const Eigen::MatrixXd x = pr.on_m();
  std::atomic<bool> set{true};
  PointConvexityOptions point;
  point.interrupt = &set;
  EXPECT_THROW(analyze_point(pr.p.model, x, point), InterruptedError);
  SamplingOptions sampling;
  sampling.random_points = 5;
  sampling.interrupt = &set;
  EXPECT_THROW(sample_points(pr.p.model, x, x, sampling), InterruptedError);
  const std::vector<SampledPoint> starts = {evaluate_point(pr.p.model, x, "given", 0, 0.0)};
  SearchOptions search;
  search.interrupt = &set;
  EXPECT_THROW(search_negative_curvature(pr.p.model, x, starts, {1.0}, search), InterruptedError);
  FlowConvexityOptions flow;
  flow.flow_time = 0.1;
  flow.points = 4;
  flow.interrupt = &set;
  EXPECT_THROW(flow_convexity(pr.p.model, x, flow), InterruptedError);
  SgdConvexityOptions sgd;
  sgd.sgd.learning_rate = 1e-3;
  sgd.sgd.label_noise = 0.5;
  sgd.steps = 100;
  sgd.points = 4;
  sgd.interrupt = &set;
  EXPECT_THROW(sgd_convexity(pr.p.model, x, sgd), InterruptedError);
  // ConvexityOptions::interrupt reaches the trajectories too.
  ConvexityOptions all = ConvexityOptions::quick();
  all.along_sgd = sgd;
  all.along_sgd->interrupt = nullptr;
  all.interrupt = &set;
  EXPECT_EQ(interrupt_every_part(all).along_sgd->interrupt, &set);
  EXPECT_EQ(interrupt_every_part(all).search.interrupt, &set);
  EXPECT_THROW(analyze_convexity(pr.p.model, x, std::nullopt, all), InterruptedError);
}

TEST(Interrupt, AnUnsetFlagLeavesTheAnalysisBitForBit) {
  const Problem pr;
  ConvexityOptions o = ConvexityOptions::quick();
  o.sampling.random_points = 10;
  o.sampling.geodesic_points = 10;
  o.search.rungs = 2;
  o.search.max_evaluations_per_rung = 300;
  const ConvexityResult plain = analyze_convexity(pr.p.model, pr.on_m(), std::nullopt, o);
  std::atomic<bool> flag{false};
  o.interrupt = &flag;
  const ConvexityResult flagged = analyze_convexity(pr.p.model, pr.on_m(), std::nullopt, o);
  ASSERT_EQ(plain.sampling.points.size(), flagged.sampling.points.size());
  for (std::size_t k = 0; k < plain.sampling.points.size(); ++k)
    EXPECT_EQ(plain.sampling.points[k].lambda_min, flagged.sampling.points[k].lambda_min);
  ASSERT_EQ(plain.search.size(), flagged.search.size());
  for (std::size_t k = 0; k < plain.search.size(); ++k) {
    EXPECT_EQ(plain.search[k].evaluations, flagged.search[k].evaluations);
    EXPECT_EQ(plain.search[k].lambda_min, flagged.search[k].lambda_min);
  }
}

// Writes the problem as data.csv and w0.csv (the minimiser, on M) into dir.
void write_problem(const Problem& pr, const std::string& dir) {
  std::ofstream data(dir + "/data.csv");
  data.precision(17);
  data << "x1,x2,x3,y\n";
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 3; ++k) data << pr.p.model.X()(i, k) << ",";
    data << pr.p.model.y()(i) << "\n";
  }
  write_weights_csv(dir + "/w0.csv", pr.on_m(), pr.p.model.a());
}

TEST(Interrupt, RunConvexityMarksItsFolderInterrupted) {
  const Problem pr;
  const std::string dir = test::temp_dir("interrupt-run-convexity");
  write_problem(pr, dir);
  ConvexityRunOptions o;
  o.problem.data = dir + "/data.csv";
  o.problem.weights = dir + "/w0.csv";
  o.problem.activation = "cubic";
  o.out = dir + "/out";
  std::atomic<bool> set{true};
  o.interrupt = &set;
  EXPECT_THROW(run_convexity(o), InterruptedError);
  const RunManifest m = read_run_manifest(o.out);
  EXPECT_EQ(m.status, "interrupted");
  EXPECT_TRUE(m.files.empty());
  EXPECT_FALSE(std::filesystem::exists(o.out + "/summary.json"));
}

TEST(Interrupt, TheCommandsEndBySigint) {
  const Problem pr;
  const std::string dir = test::temp_dir("interrupt-cli");
  write_problem(pr, dir);
  std::string out, err;
  // The thorough preset takes a minute or two; SIGINT after one second.
  auto t0 = Clock::now();
  int rc = test::run_command("timeout --preserve-status -s INT 1 " + test::zeroloss_binary() + " convexity --data " +
                                 dir + "/data.csv --weights " + dir + "/w0.csv --no-figures --out " + dir + "/c",
                             &out, &err);
  EXPECT_EQ(rc, 128 + SIGINT) << err;
  EXPECT_LT(seconds_since(t0), 15.0);
  EXPECT_NE(err.find("zeroloss convexity: convexity"), std::string::npos) << err;
  EXPECT_NE(err.find("interrupted by SIGINT"), std::string::npos) << err;
  EXPECT_EQ(read_run_manifest(dir + "/c").status, "interrupted");
  // The report: its first claim runs commands for longer than two seconds.
  t0 = Clock::now();
  rc = test::run_command("timeout --preserve-status -s INT 2 " + test::zeroloss_binary() + " run --quick --out " +
                             dir + "/r",
                         &out, &err);
  EXPECT_EQ(rc, 128 + SIGINT) << err;
  EXPECT_LT(seconds_since(t0), 30.0);
  EXPECT_NE(err.find("zeroloss run: the report: interrupted by SIGINT"), std::string::npos) << err;
  EXPECT_EQ(read_run_manifest(dir + "/r").status, "interrupted");
  EXPECT_FALSE(std::filesystem::exists(dir + "/r/summary.json"));
}

}  // namespace
