// Checkpoints and resume of label-noise SGD on the diagonal linear network (runs/diagonal_sgd_run.hpp,
// presentation/diagonal_sgd_resume_files.hpp): the generic step's saved state continues bit for bit;
// a run stopped by an interrupt, or by a crash after a periodic checkpoint, and then resumed writes
// the same bytes as an uninterrupted run (times aside); edited checkpoints, changed inputs and
// finished runs are refused with the file named.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "test_support.hpp"
#include "zeroloss/dynamics/generic_label_noise_sgd.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/presentation/diagonal_sgd_resume_files.hpp"
#include "zeroloss/runs/diagonal_sgd_run.hpp"

namespace zeroloss {
namespace {

namespace fs = std::filesystem;

TEST(GenericLabelNoiseSgdState, RestoringASavedStateContinuesBitForBit) {
  const int n = 4, d = 6;
  Eigen::MatrixXd X(n, d);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) X(i, k) = std::sin(1.0 + 3 * i + 0.7 * k);
  const auto model = std::make_shared<DiagonalLinearNetwork>(X, Eigen::VectorXd::LinSpaced(n, -0.5, 0.7));
  Eigen::VectorXd theta0 = Eigen::VectorXd::LinSpaced(2 * d, 0.3, 1.1);
  for (int B : {1, 2, n}) {
    SgdParameters params;
    params.learning_rate = 0.02;
    params.label_noise = 0.6;
    params.batch_size = B;
    params.seed = 11;
    GenericLabelNoiseSgd straight(model, theta0, params), first(model, theta0, params);
    straight.advance(1337);  // crosses the noise buffer of 512 values more than once
    first.advance(600);
    const GenericLabelNoiseSgd::State saved = first.state();
    first.advance(13);  // the saved state must not depend on what the object did afterwards
    GenericLabelNoiseSgd second(model, theta0, params);
    second.restore(saved);
    EXPECT_EQ(second.step(), 600u);
    second.advance(737);
    EXPECT_EQ(second.step(), straight.step());
    EXPECT_EQ(second.parameters(), straight.parameters()) << "B = " << B;  // bits, not a tolerance
  }
  GenericLabelNoiseSgd::State wrong;
  wrong.theta = Eigen::VectorXd::Ones(2 * d + 1);
  SgdParameters params;
  params.learning_rate = 0.02;
  GenericLabelNoiseSgd sgd(model, theta0, params);
  EXPECT_THROW(sgd.restore(wrong), InputError);
  EXPECT_EQ(sgd.parameters(), theta0);  // unchanged after a refused restore
}

class DiagonalSgdResume : public test::FolderTest {
 protected:
  DiagonalSgdResume() : test::FolderTest("diagonal-sgd-resume-") {}
  void SetUp() override {
    test::FolderTest::SetUp();
    std::string data = "x1,x2,x3,x4,x5,y\n";
    for (int i = 0; i < 3; ++i) {
      for (int k = 0; k < 5; ++k) data += std::to_string(std::cos(0.9 * i + 1.7 * k + 0.2)) + ",";
      data += std::to_string(0.4 * i - 0.3) + "\n";
    }
    options_.data = file("data.csv", data);
    std::string uv = "u,v\n";
    for (int k = 0; k < 5; ++k) uv += std::to_string(0.7 + 0.05 * k) + "," + std::to_string(0.9 - 0.08 * k) + "\n";
    options_.weights = file("uv.csv", uv);
    options_.learning_rate = 0.02;
    options_.label_noise = 0.5;
    options_.batch = "2";
    options_.steps = 5000;
    options_.seed = 9;
    options_.log_every = 250;
  }
  DiagonalSgdRunOptions in(const std::string& name) const {
    DiagonalSgdRunOptions o = options_;
    o.out = path(name);
    return o;
  }
  // Every output file but the times of summary.json.
  void expect_same_outputs(const std::string& a, const std::string& b) const {
    for (const char* f : {"trajectory.csv", "final_weights.csv"})
      EXPECT_EQ(test::slurp(path(a + "/" + f)), test::slurp(path(b + "/" + f))) << f;
    nlohmann::json sa = nlohmann::json::parse(test::slurp(path(a + "/summary.json")));
    nlohmann::json sb = nlohmann::json::parse(test::slurp(path(b + "/summary.json")));
    sa.erase("performance");
    sb.erase("performance");
    EXPECT_EQ(sa, sb);
  }
  DiagonalSgdRunOptions options_;
};

TEST_F(DiagonalSgdResume, AnInterruptedRunResumedWritesTheBytesOfAnUninterruptedOne) {
  const DiagonalSgdRunSummary full = run_diagonal_label_noise_sgd(in("full"));
  ASSERT_EQ(full.status, SgdRunStatus::Completed);

  std::atomic<bool> stop{false};
  RunControl control;
  control.interrupt = &stop;
  control.progress = [&stop](double done) {
    if (done >= 2050) stop = true;
  };
  // The run stops at its next check: the logged steps (every 250) and the checkpoints (every 700), so
  // at step 2100, which is not a logged step: the outputs then hold an extra row, the state reached.
  DiagonalSgdRunOptions o = in("cut");
  o.checkpoint_every = 700;
  const DiagonalSgdRunSummary cut = run_diagonal_label_noise_sgd(o, control);
  ASSERT_EQ(cut.status, SgdRunStatus::Interrupted);
  ASSERT_EQ(cut.seeds.size(), 1u);
  const DiagonalSgdSeedResult& seed = cut.seeds[0];
  EXPECT_EQ(seed.steps_done, 2100u);
  EXPECT_EQ(seed.rows.back().step, 2100u);
  EXPECT_EQ(seed.rows[seed.rows.size() - 2].step, 2000u);
  EXPECT_EQ(read_diagonal_sgd_checkpoint(path("cut"), 9, 5).status, DiagonalSgdCheckpointStatus::Interrupted);

  DiagonalSgdRunOptions resumed_options;
  const DiagonalSgdRunSummary rest = resume_diagonal_label_noise_sgd(path("cut"), {}, &resumed_options);
  EXPECT_EQ(rest.status, SgdRunStatus::Completed);
  EXPECT_EQ(resumed_options.steps, 5000u);
  EXPECT_EQ(resumed_options.seed, 9u);
  expect_same_outputs("full", "cut");
  // A completed run has nothing to resume.
  try {
    resume_diagonal_label_noise_sgd(path("cut"));
    FAIL() << "resuming a completed run was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("completed"), std::string::npos) << e.what();
  }
}

TEST_F(DiagonalSgdResume, ACrashAfterAPeriodicCheckpointResumesFromIt) {
  DiagonalSgdRunOptions o = in("full");
  o.checkpoint_every = 700;
  run_diagonal_label_noise_sgd(o);
  o.out = path("crash");
  RunControl control;
  control.progress = [](double done) {
    if (done >= 3000) throw std::runtime_error("simulated crash");
  };
  EXPECT_THROW(run_diagonal_label_noise_sgd(o, control), std::runtime_error);
  const DiagonalSgdCheckpoint ck = read_diagonal_sgd_checkpoint(path("crash"), 9, 5);
  EXPECT_EQ(ck.status, DiagonalSgdCheckpointStatus::Running);
  EXPECT_EQ(ck.state.step, 2800u);  // the last multiple of 700 before the crash
  EXPECT_EQ(ck.rows.back().step, 2750u);
  EXPECT_FALSE(fs::exists(path("crash/trajectory.csv")));  // nothing but the checkpoint was written
  EXPECT_EQ(resume_diagonal_label_noise_sgd(path("crash")).status, SgdRunStatus::Completed);
  expect_same_outputs("full", "crash");
}

TEST_F(DiagonalSgdResume, EditedCheckpointsAndChangedInputsAreRefusedWithTheFileNamed) {
  std::atomic<bool> stop{true};  // interrupted at once: the checkpoint holds step 0
  RunControl control;
  control.interrupt = &stop;
  ASSERT_EQ(run_diagonal_label_noise_sgd(in("a"), control).status, SgdRunStatus::Interrupted);
  const std::string ck_path = path("a/checkpoint.json");
  const std::string original = test::slurp(ck_path);

  nlohmann::json edited = nlohmann::json::parse(original);
  edited["theta"][0] = edited["theta"][0].get<double>() * (1 + 1e-15) + 1e-300;
  std::ofstream(ck_path) << edited.dump();
  try {
    resume_diagonal_label_noise_sgd(path("a"));
    FAIL() << "an edited checkpoint was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(ck_path + ": the checkpoint's seal does not verify"), std::string::npos)
        << e.what();
  }
  std::ofstream(ck_path) << original;
  std::ofstream(options_.weights, std::ios::app) << "0.5,0.5\n";  // a sixth coordinate: another input
  try {
    resume_diagonal_label_noise_sgd(path("a"));
    FAIL() << "a changed input was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(options_.weights + " changed since the run"), std::string::npos) << e.what();
  }
  try {
    resume_diagonal_label_noise_sgd(path("nowhere"));
    FAIL() << "a folder without a run was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
  }
}

TEST_F(DiagonalSgdResume, AnEnsembleGivesEachSeedsOwnRunAndResumesOnlyTheUnfinishedSeeds) {
  // Each seed of an ensemble writes the bytes of that seed's single run, whatever the threads.
  DiagonalSgdRunOptions o = in("ensemble");
  o.ensemble = {9, 4, 12};
  o.threads = 2;
  const DiagonalSgdRunSummary all = run_diagonal_label_noise_sgd(o);
  ASSERT_EQ(all.status, SgdRunStatus::Completed);
  for (std::uint64_t seed : o.ensemble) {
    DiagonalSgdRunOptions single = in("single_" + std::to_string(seed));
    single.seed = seed;
    run_diagonal_label_noise_sgd(single);
    expect_same_outputs("single_" + std::to_string(seed), "ensemble/seed_" + std::to_string(seed));
  }
  // The mean table against the seeds' own trajectories, recomputed here.
  ASSERT_EQ(all.ensemble_mean.size(), 21u);  // steps 0, 250, ..., 5000
  for (const DiagonalSgdEnsembleRow& e : all.ensemble_mean) {
    double sum = 0, sum2 = 0;
    for (const auto& r : all.seeds) {
      const auto row = std::find_if(r.rows.begin(), r.rows.end(), [&](const DiagonalSgdRow& x) { return x.step == e.step; });
      ASSERT_NE(row, r.rows.end());
      sum += row->sharpness;
      sum2 += row->sharpness * row->sharpness;
    }
    EXPECT_EQ(e.seeds, 3);
    const double mean = sum / 3, var = (sum2 - 3 * mean * mean) / 2;
    EXPECT_NEAR(e.sharpness_mean, mean, 1e-13 * std::abs(mean));
    EXPECT_NEAR(e.sharpness_std, std::sqrt(std::max(0.0, var)), 1e-6 * std::abs(mean));
  }
  const std::string table = test::slurp(path("ensemble/ensemble_trajectory.csv"));
  EXPECT_EQ(table.substr(0, table.find('\n')),
            "step,t,tau,seeds,loss_mean,loss_std,sharpness_mean,sharpness_std,weighted_l1_bound_mean,weighted_l1_bound_std");

  // Interrupted at once (every seed at step 0, each with its checkpoint); then seed 9's folder replaced
  // by the finished one, as if it had completed before the interrupt. The resume reads seed 9 back
  // and runs the other two: the same bytes as the uninterrupted ensemble.
  o.out = path("cut_ensemble");
  std::atomic<bool> stop{true};
  RunControl control;
  control.interrupt = &stop;
  const DiagonalSgdRunSummary cut = run_diagonal_label_noise_sgd(o, control);
  ASSERT_EQ(cut.status, SgdRunStatus::Interrupted);
  for (const auto& r : cut.seeds) EXPECT_EQ(r.steps_done, 0u);
  fs::remove_all(path("cut_ensemble/seed_9"));
  fs::copy(path("ensemble/seed_9"), path("cut_ensemble/seed_9"));
  EXPECT_EQ(read_diagonal_sgd_checkpoint(path("cut_ensemble/seed_9"), 9, 5).status,
            DiagonalSgdCheckpointStatus::Completed);
  const DiagonalSgdRunSummary rest = resume_diagonal_label_noise_sgd(path("cut_ensemble"), {}, nullptr, 2);
  EXPECT_EQ(rest.status, SgdRunStatus::Completed);
  EXPECT_EQ(rest.seeds[0].rows.size(), 21u);  // read back from its checkpoint
  for (std::uint64_t seed : o.ensemble)
    expect_same_outputs("ensemble/seed_" + std::to_string(seed), "cut_ensemble/seed_" + std::to_string(seed));
  EXPECT_EQ(test::slurp(path("cut_ensemble/ensemble_trajectory.csv")), table);

  o.ensemble = {3, 5, 3};
  o.out = path("repeat");
  EXPECT_THROW(run_diagonal_label_noise_sgd(o), InputError);
}

TEST_F(DiagonalSgdResume, CheckpointEveryLargerThanTheStepsIsRefusedBeforeAnyFile) {
  DiagonalSgdRunOptions o = in("big");
  o.checkpoint_every = 6000;
  try {
    run_diagonal_label_noise_sgd(o);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--checkpoint-every 6000 is larger than --steps 5000"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(path("big")));
}

}  // namespace
}  // namespace zeroloss
