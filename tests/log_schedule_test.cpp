// The default logging schedule of `sgd` (runs/run_parameters.hpp, default_sgd_log_points): the rule,
// and a run that uses it.

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "test_support.hpp"
#include "zeroloss/presentation/sgd_run_file.hpp"
#include "zeroloss/runs/label_noise_sgd_run.hpp"
#include "zeroloss/runs/run_parameters.hpp"

namespace zeroloss {
namespace {

LoggedRunSizes sizes(int n, int m, int p, bool preactivations, bool gradient = true, int batch = 1) {
  LoggedRunSizes z;
  z.n = n;
  z.m = m;
  z.p = p;
  z.batch = batch;
  z.preactivations = preactivations;
  z.gradient = gradient;
  return z;
}

// P is the largest number of points whose modelled cost is at most a ninth of the steps' (checked
// here by the inequality itself, for P and P + 1), clamped to [1, 200].
void expect_rule(std::uint64_t K, const LoggedRunSizes& z) {
  const int P = default_sgd_log_points(K, z);
  const double steps = static_cast<double>(K) * sgd_step_cost(z), row = logged_row_cost(z);
  ASSERT_GE(P, 1);
  ASSERT_LE(P, kMaxDefaultLogPoints);
  if (P > 1) {
    EXPECT_LE(P * row, steps / 9.0) << "K = " << K;
  }
  if (P < kMaxDefaultLogPoints) {
    EXPECT_GT((P + 1) * row, steps / 9.0) << "K = " << K;
  }
}

TEST(DefaultSgdLogPoints, IsTheLargestScheduleWhoseLoggingCostsAtMostATenthOfTheRun) {
  const LoggedRunSizes cases[] = {sizes(3, 10, 3, true),       sizes(100, 1000, 100, true),
                                  sizes(100, 1000, 100, false), sizes(100, 250, 100, true, false),
                                  sizes(200, 1000, 50, false, true, 4), sizes(100, 10000, 100, true)};
  for (const LoggedRunSizes& z : cases) {
    int previous = 0;
    for (std::uint64_t K : {1ULL, 100ULL, 20000ULL, 100000ULL, 1000000ULL, 20000000ULL, 1ULL << 62}) {
      expect_rule(K, z);
      const int P = default_sgd_log_points(K, z);
      EXPECT_GE(P, previous) << "more steps never log fewer points";
      previous = P;
    }
    // Without the gradient a row costs less, so there are at least as many rows.
    if (!z.gradient) continue;
    LoggedRunSizes without = z;
    without.gradient = false;
    EXPECT_LT(logged_row_cost(without), logged_row_cost(z));
    EXPECT_GE(default_sgd_log_points(100000, without), default_sgd_log_points(100000, z));
  }
  // The sizes of docs/performance.md: the Figure 1 run (2e7 steps) keeps its 200 points; the large
  // run of 2e4 steps (n = 100, d = 1000, m = 1000) logs a few, where 200 points cost 3 times its steps.
  EXPECT_EQ(default_sgd_log_points(20000000, sizes(3, 10, 3, true)), kMaxDefaultLogPoints);
  const int large = default_sgd_log_points(20000, sizes(100, 1000, 100, true));
  EXPECT_GE(large, 1);
  EXPECT_LE(large, 5);
  // A logged row of the large run costs several hundred steps; a step in weight coordinates twice
  // one in pre-activation coordinates (n = p).
  const double ratio = logged_row_cost(sizes(100, 1000, 100, true)) / sgd_step_cost(sizes(100, 1000, 100, true));
  EXPECT_GT(ratio, 300);
  EXPECT_LT(ratio, 3000);
  EXPECT_NEAR(sgd_step_cost(sizes(100, 1000, 100, false)) / sgd_step_cost(sizes(100, 1000, 100, true)), 2.0, 0.1);
}

class DefaultSchedule : public test::FolderTest {
 protected:
  DefaultSchedule() : test::FolderTest("log-schedule-") {}
};

// A run without --log-points or --log-every logs the default schedule, records its P in run.json (so
// that a resume logs the same steps whatever a later cost model says) and says so in a note; a run
// long enough for 200 points has them, and no note.
TEST_F(DefaultSchedule, ARunWithoutLogOptionsLogsTheDefaultAndRecordsIt) {
  const std::string inputs = std::string(ZEROLOSS_SOURCE_DIR) + "/tests/golden/inputs/";
  for (const std::uint64_t K : {20000ULL, 3000000ULL}) {
    LabelNoiseSgdRunOptions o;
    o.problem.data = inputs + "main_data.csv";  // n = 3, d = 5, m = 4: p = 3
    o.problem.weights = inputs + "main_w0.csv";
    o.coordinates = SgdCoordinates::Preactivations;
    o.learning_rate = 0.02;
    o.label_noise = 1;
    o.steps = K;
    o.figures = false;
    o.out = path("run_" + std::to_string(K));
    ASSERT_EQ(o.log_points, 0);
    LabelNoiseSgdRun run(o);
    const LabelNoiseSgdRunSummary S = run.run();
    ASSERT_EQ(S.status, SgdRunStatus::Completed);
    const int P = default_sgd_log_points(K, sizes(3, 4, 3, true));
    EXPECT_EQ(run.options().log_points, P);
    ASSERT_EQ(S.seeds.size(), 1u);
    ASSERT_EQ(S.seeds[0].rows.size(), static_cast<size_t>(P + 1));
    EXPECT_EQ(S.seeds[0].rows.back().step, K);
    EXPECT_EQ(read_sgd_run_file(o.out + "/run.json").options.log_points, P);
    bool noted = false;
    for (const auto& n : S.seeds[0].notes) noted = noted || n.find("--log-points " + std::to_string(P) + ", the default at this size") != std::string::npos;
    EXPECT_EQ(noted, P < kMaxDefaultLogPoints) << "K = " << K << ", P = " << P;
  }
}

}  // namespace
}  // namespace zeroloss
