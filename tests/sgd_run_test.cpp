// The runs of label-noise SGD and of its limiting flow called through the library (runs/), without
// the program: resume equals an uninterrupted run bit for bit, the ensemble table is the mean and
// standard deviation over the seeds' own rows, interruption through the caller's flag, and bad
// option sets refused by their validation methods with the option named.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/runs/label_noise_sgd_run.hpp"
#include "zeroloss/runs/run_parameters.hpp"
#include "zeroloss/runs/sgd_ensemble_table.hpp"
#include "zeroloss/runs/sharpness_flow_run.hpp"

namespace zeroloss {
namespace {

const std::string kInputs = std::string(ZEROLOSS_SOURCE_DIR) + "/tests/golden/inputs/";

class SgdRun : public test::FolderTest {
 protected:
  SgdRun() : test::FolderTest("sgd-run-") {}
  LabelNoiseSgdRunOptions options(const std::string& out) const {
    LabelNoiseSgdRunOptions o;
    o.problem.data = kInputs + "main_data.csv";
    o.problem.weights = kInputs + "main_w0.csv";
    o.learning_rate = 0.02;
    o.label_noise = 1;
    o.steps = 20000;
    o.log_points = 8;
    o.seeds = {3};
    o.figures = false;
    o.out = path(out);
    return o;
  }
};

TEST_F(SgdRun, ResumeAfterAnInterruptionEqualsTheUninterruptedRunBitForBit) {
  for (const SgdCoordinates coordinates : {SgdCoordinates::Weights, SgdCoordinates::Preactivations}) {
    const std::string tag = to_string(coordinates);
    LabelNoiseSgdRunOptions o = options("full_" + tag);
    o.coordinates = coordinates;
    o.checkpoint_every = 3000;
    const LabelNoiseSgdRunSummary full = LabelNoiseSgdRun(o).run();
    ASSERT_EQ(full.status, SgdRunStatus::Completed);

    // The same run, interrupted by the caller's flag once the progress passes 5000 steps.
    o.out = path("cut_" + tag);
    std::atomic<bool> stop{false};
    RunControl control;
    control.interrupt = &stop;
    control.progress = [&stop](double done) {
      if (done >= 5000) stop = true;
    };
    const LabelNoiseSgdRunSummary cut = LabelNoiseSgdRun(o).run(control);
    ASSERT_EQ(cut.status, SgdRunStatus::Interrupted);
    ASSERT_LT(cut.seeds[0].steps_done, o.steps);
    ASSERT_TRUE(cut.seeds[0].final_is_interrupt_state);
    EXPECT_FALSE(std::filesystem::exists(o.out + "/final_weights.csv"));

    LabelNoiseSgdRun resumed = LabelNoiseSgdRun::resume(o.out, 1, false);
    EXPECT_EQ(resumed.options().steps, o.steps);
    EXPECT_EQ(resumed.options().coordinates, coordinates);
    const LabelNoiseSgdRunSummary rest = resumed.run();
    ASSERT_EQ(rest.status, SgdRunStatus::Completed);
    EXPECT_EQ(rest.seeds[0].steps_done, o.steps);
    for (const char* file : {"trajectory.csv", "final_weights.csv"})
      EXPECT_EQ(test::slurp(o.out + "/" + file), test::slurp(path("full_" + tag) + "/" + file)) << tag << " " << file;
    ASSERT_EQ(rest.seeds[0].rows.size(), full.seeds[0].rows.size());
    for (size_t i = 0; i < rest.seeds[0].rows.size(); ++i) {
      EXPECT_EQ(rest.seeds[0].rows[i].step, full.seeds[0].rows[i].step);
      EXPECT_EQ(rest.seeds[0].rows[i].metrics.sharpness, full.seeds[0].rows[i].metrics.sharpness);
    }
    // A finished run is not run again: the folder is refused.
    EXPECT_THROW(LabelNoiseSgdRun::resume(o.out, 1, false), InputError);
  }
}

TEST_F(SgdRun, EnsembleTableIsTheMeanAndStandardDeviationOverTheSeedsRows) {
  LabelNoiseSgdRunOptions o = options("ens");
  o.steps = 4000;
  o.log_points = 4;
  o.seeds = {0, 1, 5};
  o.ensemble = true;
  o.threads = 2;
  const LabelNoiseSgdRunSummary S = LabelNoiseSgdRun(o).run();
  ASSERT_EQ(S.status, SgdRunStatus::Completed);
  ASSERT_EQ(S.seeds.size(), 3u);
  ASSERT_EQ(S.ensemble_mean.size(), 5u);
  const CsvTable csv = read_csv(o.out + "/ensemble_trajectory.csv", CsvHeader::Required);
  ASSERT_EQ(csv.rows.size(), 5u);
  auto column = [&](const std::string& name) {
    for (size_t c = 0; c < csv.header.size(); ++c)
      if (csv.header[c] == name) return c;
    ADD_FAILURE() << "no column " << name;
    return size_t{0};
  };
  for (size_t r = 0; r < S.ensemble_mean.size(); ++r) {
    // Two-pass mean and sample variance over the seeds' rows at this step.
    std::vector<double> loss, T, sv1;
    for (const auto& seed : S.seeds) {
      ASSERT_EQ(seed.rows[r].step, S.ensemble_mean[r].step);
      loss.push_back(seed.rows[r].metrics.loss);
      T.push_back(seed.rows[r].metrics.sharpness);
      sv1.push_back(seed.rows[r].metrics.feature_singular_values(0));
    }
    auto mean = [](const std::vector<double>& v) {
      double s = 0;
      for (double x : v) s += x;
      return s / v.size();
    };
    auto stddev = [&](const std::vector<double>& v) {
      const double m = mean(v);
      double s = 0;
      for (double x : v) s += (x - m) * (x - m);
      return std::sqrt(s / (v.size() - 1));
    };
    EXPECT_NEAR(S.ensemble_mean[r].metrics.loss, mean(loss), 1e-14 * std::abs(mean(loss)));
    EXPECT_NEAR(S.ensemble_mean[r].metrics.sharpness, mean(T), 1e-14 * mean(T));
    EXPECT_NEAR(S.ensemble_mean[r].metrics.feature_singular_values(0), mean(sv1), 1e-14 * mean(sv1));
    EXPECT_EQ(S.ensemble_seed_counts[r], 3);
    EXPECT_EQ(csv.rows[r][column("seeds")], 3);
    EXPECT_NEAR(csv.rows[r][column("sharpness_mean")], mean(T), 1e-14 * mean(T));
    // At step 0 every seed stands at the start: no spread.
    const double tolerance = r == 0 ? 1e-12 * mean(T) : 1e-9 * stddev(T);
    EXPECT_NEAR(csv.rows[r][column("sharpness_std")], stddev(T), tolerance) << "row " << r;
    if (r > 0) {
      EXPECT_GT(stddev(T), 0);
      EXPECT_NEAR(csv.rows[r][column("loss_std")], stddev(loss), 1e-9 * stddev(loss));
    }
  }
}

TEST(SgdEnsembleTable, AveragesOnlyTheSeedsThatReachedAStepAndOnlyTheValuesThatExist) {
  auto row = [](std::uint64_t step, double loss, std::optional<double> gap) {
    TrajectoryRow r;
    r.step = step;
    r.t = 0.5 * step;
    r.tau = 0.25 * step;
    r.metrics.loss = loss;
    r.metrics.sharpness = 2 * loss;
    r.metrics.sharpness_gap = gap;
    r.metrics.feature_singular_values = Eigen::Vector2d(loss, 1);
    r.metrics.preactivation_singular_values = Eigen::Vector2d(1, loss);
    return r;
  };
  // Seed 2 stopped before step 10; seed 1 has no T - T* at step 10.
  const std::vector<std::vector<TrajectoryRow>> runs = {{row(0, 1, 0.5), row(10, 2, 1.0)},
                                                         {row(0, 3, 0.5), row(10, 6, std::nullopt)},
                                                         {row(0, 5, 0.5)}};
  const SgdEnsembleTable t = sgd_ensemble_table(runs, {0, 10, 20}, 2);
  ASSERT_EQ(t.mean.size(), 2u);  // no seed reached step 20
  EXPECT_EQ(t.seeds, (std::vector<int>{3, 2}));
  EXPECT_EQ(t.mean[0].metrics.loss, 3);
  EXPECT_EQ(t.mean[1].metrics.loss, 4);
  EXPECT_EQ(t.mean[1].metrics.sharpness_gap, 1.0);  // the one value that exists
  EXPECT_FALSE(t.mean[1].metrics.distance_to_optimum.has_value());
  EXPECT_EQ(t.mean[1].tau, 2.5);
  // Sample standard deviation: loss 1, 3, 5 at step 0 has std 2; 2, 6 at step 10 has std 2 sqrt(2).
  EXPECT_NE(t.csv.find("\n0,0,0,3,3,2,"), std::string::npos) << t.csv;
  EXPECT_NE(t.csv.find("\n10,5,2.5,2,4," + format_double(2 * std::sqrt(2.0)) + ","), std::string::npos) << t.csv;
}

TEST_F(SgdRun, OptionSetsThatCannotRunAreRefusedWithTheOptionNamed) {
  struct Case {
    std::function<void(LabelNoiseSgdRunOptions&)> edit;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](LabelNoiseSgdRunOptions& o) { o.steps = 0; }, "--steps must be at least 1"},
      {[](LabelNoiseSgdRunOptions& o) { o.learning_rate = 1e300; }, "is not a finite number"},
      {[](LabelNoiseSgdRunOptions& o) { o.learning_rate = -0.1; }, "--lr -0.1: expected a finite step size eta > 0"},
      {[](LabelNoiseSgdRunOptions& o) { o.label_noise = NAN; }, "--label-noise nan"},
      {[](LabelNoiseSgdRunOptions& o) { o.random_start = true; }, "--init needs --m M"},
      {[](LabelNoiseSgdRunOptions& o) { o.seeds = {1, 2}; }, "exactly one seed"},
      {[](LabelNoiseSgdRunOptions& o) {
         o.ensemble = true;
         o.seeds = {1, 2, 1};
       },
       "appears twice"},
      {[](LabelNoiseSgdRunOptions& o) {
         o.log_every = 0;
         o.log_points = -1;
       },
       "--log-points -1: expected P >= 1"},
      {[](LabelNoiseSgdRunOptions& o) { o.rank_one_threshold = 0; }, "--rank-one-threshold"},
      {[](LabelNoiseSgdRunOptions& o) { o.out.clear(); }, "--out"}};
  EXPECT_TRUE(options("ok").is_valid(nullptr));
  for (const Case& c : cases) {
    LabelNoiseSgdRunOptions o = options("bad");
    c.edit(o);
    std::string why;
    EXPECT_FALSE(o.is_valid(&why));
    EXPECT_NE(why.find(c.message), std::string::npos) << why;
    try {
      LabelNoiseSgdRun run(o);
      ADD_FAILURE() << "accepted: " << c.message;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), why);
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path("bad")));  // refused before any file
  // The batch size needs n = 3 and is refused when the run starts, before its folder exists.
  LabelNoiseSgdRunOptions o = options("batch");
  o.batch = "4";
  LabelNoiseSgdRun run(o);
  EXPECT_THROW(run.run(), InputError);
  EXPECT_FALSE(std::filesystem::exists(path("batch")));
}

TEST(SharpnessFlowRunOptions, RefusesAmbiguousOrMissingCoefficientsAndBadTolerances) {
  SharpnessFlowRunOptions o;
  o.time = 1;
  o.out = "x";
  std::string why;
  EXPECT_FALSE(o.is_valid(&why));
  EXPECT_NE(why.find("give either --coefficient C or --label-noise S"), std::string::npos) << why;
  o.coefficient = 1;
  EXPECT_TRUE(o.is_valid(&why)) << why;
  o.label_noise = 1;
  EXPECT_FALSE(o.is_valid(&why));
  o.label_noise.reset();
  o.batch = "2";
  EXPECT_FALSE(o.is_valid(&why));
  EXPECT_NE(why.find("--batch only enters through C"), std::string::npos) << why;
  o.batch.reset();
  o.rtol = 0;
  EXPECT_FALSE(o.is_valid(&why));
  EXPECT_NE(why.find("--rtol"), std::string::npos) << why;
  o.rtol = 1e-9;
  // Every projection method is written against the model interface: the diagonal network takes them too.
  o.model = ModelKind::DiagonalLinear;
  o.projection = ProjectionMethod::Nearest;
  EXPECT_TRUE(o.is_valid(&why)) << why;
}

class FlowRun : public test::FolderTest {
 protected:
  FlowRun() : test::FolderTest("flow-run-") {}
};

TEST_F(FlowRun, TheCallersFlagStopsTheFlowWithTheStateReachedWritten) {
  SharpnessFlowRunOptions o;
  o.problem.data = kInputs + "main_data.csv";
  o.problem.weights = kInputs + "main_w0.csv";
  o.time = 4;
  o.label_noise = 1;
  o.log_points = 40;
  o.figures = false;
  o.out = path("full");
  const SharpnessFlowRunSummary full = run_sharpness_flow(o);
  ASSERT_EQ(full.status, FlowRunStatus::Completed);
  EXPECT_EQ(full.coefficient, 0.25);  // s^2 / (4B), B = 1
  EXPECT_EQ(full.rows.size(), 41u);
  EXPECT_FALSE(full.start_on_manifold);
  ASSERT_TRUE(full.optimum_sharpness.has_value());
  EXPECT_GT(full.rows.back().metrics.sharpness, *full.optimum_sharpness);
  EXPECT_LT(full.rows.back().metrics.sharpness, full.rows.front().metrics.sharpness);

  std::atomic<bool> stop{false};
  RunControl control;
  control.interrupt = &stop;
  control.progress = [&stop](double t) {
    if (t >= 1) stop = true;
  };
  o.out = path("cut");
  const SharpnessFlowRunSummary cut = run_sharpness_flow(o, control);
  ASSERT_EQ(cut.status, FlowRunStatus::Interrupted);
  EXPECT_GE(cut.flow.t_reached, 1);
  EXPECT_LT(cut.flow.t_reached, o.time);
  ASSERT_EQ(cut.rows.size(), 11u);  // t = 0, 0.1, ..., 1
  // Up to the interrupt the rows are those of the full run.
  for (size_t i = 0; i < cut.rows.size(); ++i) EXPECT_EQ(cut.rows[i].metrics.sharpness, full.rows[i].metrics.sharpness);
  const CsvTable t = read_csv(o.out + "/trajectory.csv", CsvHeader::Required);
  EXPECT_EQ(t.rows.size(), 11u);
  EXPECT_TRUE(std::filesystem::exists(o.out + "/final_weights.csv"));
}

// The default schedule (log_points = 0) never shortens a step: the integration is the one of a
// single logged time (--log-points 1, whose only time is T_END) bit for bit, and the rows are at
// the first accepted step at or after each of the 200 times q T_END / 200, at most one per step.
TEST_F(FlowRun, TheDefaultScheduleLogsAtTheStepsAndAddsNone) {
  SharpnessFlowRunOptions o;
  o.problem.data = kInputs + "main_data.csv";
  o.problem.weights = kInputs + "main_w0.csv";
  o.time = 4;
  o.label_noise = 1;
  o.figures = false;
  ASSERT_EQ(o.log_points, 0);
  o.out = path("default");
  const SharpnessFlowRunSummary def = run_sharpness_flow(o);
  o.log_points = 1;
  o.out = path("one");
  const SharpnessFlowRunSummary one = run_sharpness_flow(o);
  o.log_points = kDefaultFlowLogPoints;
  o.out = path("landing");
  const SharpnessFlowRunSummary landing = run_sharpness_flow(o);
  ASSERT_EQ(def.status, FlowRunStatus::Completed);
  EXPECT_EQ(def.flow.accepted, one.flow.accepted);
  EXPECT_EQ(def.flow.rejected, one.flow.rejected);
  EXPECT_EQ(test::slurp(path("default/final_weights.csv")), test::slurp(path("one/final_weights.csv")));
  EXPECT_GT(landing.flow.accepted, def.flow.accepted) << "landing on 200 times adds steps";
  ASSERT_GE(def.rows.size(), 2u);
  EXPECT_LE(def.rows.size(), std::min<std::size_t>(kDefaultFlowLogPoints + 1, def.flow.accepted + 1));
  EXPECT_EQ(def.rows.front().t, 0.0);
  EXPECT_EQ(def.rows.back().t, o.time);
  EXPECT_EQ(def.rows.back().step, def.flow.accepted);
  for (std::size_t i = 1; i < def.rows.size(); ++i) {
    EXPECT_GT(def.rows[i].step, def.rows[i - 1].step) << "one row per step at most";
    EXPECT_GT(def.rows[i].t, def.rows[i - 1].t);
  }
  // Every row but the first and the last is the first step past a time q T_END / 200 it had not
  // passed at the previous row.
  for (std::size_t i = 1; i + 1 < def.rows.size(); ++i) {
    const double q_now = std::floor(def.rows[i].t * kDefaultFlowLogPoints / o.time);
    const double q_before = std::floor(def.rows[i - 1].t * kDefaultFlowLogPoints / o.time);
    EXPECT_GT(q_now, q_before) << "row " << i;
  }
  // The rows' values are those of the trajectory at their steps: the last equals the landing run's
  // end point to the integrators' tolerance, and the sharpness decreases.
  EXPECT_NEAR(def.rows.back().metrics.sharpness, landing.rows.back().metrics.sharpness,
              1e-6 * landing.rows.back().metrics.sharpness);
  EXPECT_LT(def.rows.back().metrics.sharpness, def.rows.front().metrics.sharpness);
}

}  // namespace
}  // namespace zeroloss
