// The dynamics commands driven as a user would: `zeroloss sgd`, `zeroloss flow`, `zeroloss compare`.
// Includes killing a real process and resuming it bit for bit, ensembles independent of the thread
// count, divergence handling and the output formats.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/io/weights.hpp"

namespace fs = std::filesystem;
using zeroloss::test::run_command;
using zeroloss::test::temp_dir;
using zeroloss::test::zeroloss_binary;

namespace {

using zeroloss::test::slurp;

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(slurp(path)); }

// The paper's Figure 1 sizes: n = d = 3, m = 10, data in [0, 1]. With `on_manifold` the labels are
// the network's outputs at W0 (cubic), so W0 lies on M.
struct Files {
  std::string dir, data, weights;
};
Files write_problem(const std::string& name, bool on_manifold = false, int m = 10) {
  Files f;
  f.dir = temp_dir(name);
  f.data = f.dir + "/data.csv";
  f.weights = f.dir + "/w0.csv";
  const double X[3][3] = {{0.134, 0.847, 0.764}, {0.255, 0.495, 0.449}, {0.651, 0.788, 0.094}};
  Eigen::MatrixXd W(m, 3);
  for (int j = 0; j < m; ++j)
    for (int k = 0; k < 3; ++k) W(j, k) = 0.5 * std::sin(1.7 * j + 2.3 * k + 0.4);
  double y[3] = {0.3, -0.8, 1.1};
  if (on_manifold)
    for (int i = 0; i < 3; ++i) {
      y[i] = 0;
      for (int j = 0; j < m; ++j) {
        double z = 0;
        for (int k = 0; k < 3; ++k) z += X[i][k] * W(j, k);
        y[i] += z + z * z * z / 3;
      }
    }
  std::ostringstream d;
  d << "x1,x2,x3,y\n";
  for (int i = 0; i < 3; ++i)
    d << X[i][0] << ',' << X[i][1] << ',' << X[i][2] << ',' << zeroloss::format_double(y[i]) << "\n";
  zeroloss::write_file_atomic(f.data, d.str());
  zeroloss::write_weights_csv(f.weights, W, Eigen::VectorXd::Ones(m));
  return f;
}

std::string sgd_command(const Files& f, const std::string& out, const std::string& extra) {
  return zeroloss_binary() + " sgd --data " + f.data + " --weights " + f.weights + " --lr 0.05 --label-noise 0.1 --out " +
         out + " " + extra;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  std::string l;
  while (std::getline(s, l)) out.push_back(l);
  return out;
}

TEST(DynamicsCli, SgdWritesTrajectoryWeightsAndSummary) {
  const Files f = write_problem("cli-sgd");
  std::string out, err;
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/run", "--steps 20000 --log-points 40 --seed 3"), &out, &err), 0) << err;
  EXPECT_TRUE(err.empty()) << "no progress bar when stderr is not a terminal: " << err;
  EXPECT_NE(out.find("steps/s"), std::string::npos) << out;
  const auto traj = lines(slurp(f.dir + "/run/trajectory.csv"));
  ASSERT_EQ(traj.size(), 42u);  // header + steps 0, 500, ..., 20000
  EXPECT_EQ(traj[0].rfind("step,t,tau,loss,sharpness,sharpness_gap,dist_R_opt,mean_cosine,grad_norm,sharpness_on_M,sharpness_gap_on_M,sv_phi_1", 0), 0u);
  EXPECT_EQ(traj[1].rfind("0,0,0,", 0), 0u);
  EXPECT_EQ(traj.back().rfind("20000,50.000000000000", 0), 0u) << traj.back();  // t = eta^2 k = 50
  const zeroloss::Weights w = zeroloss::read_weights_csv(f.dir + "/run/final_weights.csv", 3);
  EXPECT_EQ(w.theta.rows(), 10);
  const auto s = read_json(f.dir + "/run/summary.json");
  EXPECT_EQ(s["status"], "completed");
  EXPECT_EQ(s["steps_done"], 20000);
  EXPECT_EQ(s["kernel"], "cubic");
  EXPECT_GT(s["performance"]["steps_per_second"].get<double>(), 0);
  EXPECT_NEAR(s["tau"].get<double>(), 0.01 / 4 * 50, 1e-12);
  EXPECT_EQ(s["final"]["feature_singular_values"].size(), 3u);
}

TEST(DynamicsCli, SameSeedSameBitsEnsembleIndependentOfThreads) {
  const Files f = write_problem("cli-ens");
  // A first, shorter run in the same folder: a fresh run (--overwrite) must not continue its checkpoint.
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/single", "--steps 10000 --seed 2 --no-figures")), 0);
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/single", "--steps 30000 --seed 2 --no-figures --overwrite")), 0);
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/single2", "--steps 30000 --seed 2 --no-figures")), 0);
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/t1", "--steps 30000 --seeds 0-3 --threads 1 --no-figures")), 0);
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/t2", "--steps 30000 --seeds 0-3 --threads 2 --no-figures")), 0);
  const std::string single = slurp(f.dir + "/single/final_weights.csv");
  EXPECT_EQ(single, slurp(f.dir + "/single2/final_weights.csv"));
  for (int s = 0; s < 4; ++s) {
    const std::string a = slurp(f.dir + "/t1/seed_" + std::to_string(s) + "/final_weights.csv");
    EXPECT_FALSE(a.empty());
    EXPECT_EQ(a, slurp(f.dir + "/t2/seed_" + std::to_string(s) + "/final_weights.csv")) << "seed " << s;
    EXPECT_EQ(slurp(f.dir + "/t1/seed_" + std::to_string(s) + "/trajectory.csv"),
              slurp(f.dir + "/t2/seed_" + std::to_string(s) + "/trajectory.csv"));
  }
  EXPECT_EQ(single, slurp(f.dir + "/t1/seed_2/final_weights.csv"));
  EXPECT_NE(single, slurp(f.dir + "/t1/seed_1/final_weights.csv"));
  const auto s = read_json(f.dir + "/t2/summary.json");
  EXPECT_EQ(s["per_seed"].size(), 4u);
  EXPECT_EQ(lines(slurp(f.dir + "/t2/ensemble_trajectory.csv"))[0].rfind("step,t,tau,seeds,loss_mean,loss_std", 0), 0u);
}

// Starts the program in the background; returns its pid.
pid_t spawn(const std::string& command) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + command + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

bool wait_for_file(const std::string& path, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// --instruction-set and --steps-per-pass: the baseline and AVX2 kernels, with one or several steps
// per pass, write the same bytes (the weights and every diagnostic of trajectory.csv), and
// summary.json says what ran.
TEST(DynamicsCli, InstructionSetsAndStepsPerPassWriteTheSameBytes) {
  const bool avx2 = zeroloss::cpu_has_avx2();
  const Files f = write_problem("cli-isa");
  const std::vector<std::pair<std::string, std::string>> runs{
      {"baseline", "--instruction-set baseline --steps-per-pass 1"},
      {"baseline3", "--instruction-set baseline --steps-per-pass 3"},
      {"avx2", "--instruction-set avx2 --steps-per-pass 1"},
      {"avx2_8", "--instruction-set avx2 --steps-per-pass 8"}};
  for (const auto& [name, options] : runs) {
    if (!avx2 && name.rfind("avx2", 0) == 0) continue;
    ASSERT_EQ(run_command(sgd_command(f, f.dir + "/" + name, "--steps 20000 --seed 4 --no-figures " + options)), 0)
        << options;
  }
  const std::string base = slurp(f.dir + "/baseline/final_weights.csv");
  EXPECT_FALSE(base.empty());
  for (const auto& [name, options] : runs) {
    if (name == "baseline" || (!avx2 && name.rfind("avx2", 0) == 0)) continue;
    EXPECT_EQ(base, slurp(f.dir + "/" + name + "/final_weights.csv")) << options;
    EXPECT_EQ(slurp(f.dir + "/baseline/trajectory.csv"), slurp(f.dir + "/" + name + "/trajectory.csv")) << options;
  }
  EXPECT_EQ(read_json(f.dir + "/baseline/summary.json").at("instruction_set"), "baseline");
  EXPECT_EQ(read_json(f.dir + "/baseline3/summary.json").at("steps_per_pass"), 3);
  if (avx2) {
    EXPECT_EQ(read_json(f.dir + "/avx2/summary.json").at("instruction_set"), "avx2");
    EXPECT_EQ(read_json(f.dir + "/avx2_8/summary.json").at("steps_per_pass"), 8);
  }
  EXPECT_NE(run_command(sgd_command(f, f.dir + "/bad", "--steps 10 --instruction-set avx512")), 0);
  EXPECT_NE(run_command(sgd_command(f, f.dir + "/bad2", "--steps 10 --steps-per-pass 9")), 0);
}

TEST(DynamicsCli, KilledRunResumesBitForBit) {
  const Files f = write_problem("cli-kill");
  const std::string opts = "--steps 10000000 --seed 7 --log-points 30 --no-figures --checkpoint-every 50000";
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/full", opts)), 0);
  // SIGKILL: nothing runs on the way out; the periodic checkpoint is what is left.
  const pid_t pid = spawn(sgd_command(f, f.dir + "/killed", opts));
  ASSERT_TRUE(wait_for_file(f.dir + "/killed/checkpoint.json", 20.0));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed; make it longer";
  const auto ck = read_json(f.dir + "/killed/checkpoint.json");
  EXPECT_EQ(ck["status"], "running");
  EXPECT_LT(ck["state"]["step"].get<std::uint64_t>(), 10000000u);
  // The weights are in the block the JSON names, of the JSON's step (written before the JSON).
  const auto& block = ck["state"].contains("preactivations") ? ck["state"]["preactivations"] : ck["state"]["weights"];
  EXPECT_EQ(block["file"], "checkpoint_" + std::to_string(ck["state"]["step"].get<std::uint64_t>()) + ".csv");
  EXPECT_TRUE(fs::exists(f.dir + "/killed/" + block["file"].get<std::string>()));
  EXPECT_FALSE(fs::exists(f.dir + "/killed/final_weights.csv"));
  std::string out, err;
  ASSERT_EQ(run_command(zeroloss_binary() + " sgd --resume " + f.dir + "/killed", &out, &err), 0) << err;
  EXPECT_EQ(slurp(f.dir + "/killed/final_weights.csv"), slurp(f.dir + "/full/final_weights.csv"));
  EXPECT_EQ(slurp(f.dir + "/killed/trajectory.csv"), slurp(f.dir + "/full/trajectory.csv"));
  EXPECT_GT(read_json(f.dir + "/killed/summary.json")["performance"]["resumed_from_step"].get<std::uint64_t>(), 0u);
}

TEST(DynamicsCli, SigtermWritesCheckpointAndResumesBitForBit) {
  const Files f = write_problem("cli-term");
  const std::string opts = "--steps 10000000 --seed 8 --log-points 30 --no-figures";
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/full", opts)), 0);
  const pid_t pid = spawn(sgd_command(f, f.dir + "/term", opts));
  ASSERT_TRUE(wait_for_file(f.dir + "/term/run.json", 20.0));  // the run has started
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
  const auto ck = read_json(f.dir + "/term/checkpoint.json");
  EXPECT_EQ(ck["status"], "interrupted");
  EXPECT_LT(ck["state"]["step"].get<std::uint64_t>(), 10000000u);
  EXPECT_EQ(read_json(f.dir + "/term/summary.json")["status"], "interrupted");
  std::string out, err;
  ASSERT_EQ(run_command(zeroloss_binary() + " sgd --resume " + f.dir + "/term", &out, &err), 0) << err;
  EXPECT_EQ(slurp(f.dir + "/term/final_weights.csv"), slurp(f.dir + "/full/final_weights.csv"));
  EXPECT_EQ(slurp(f.dir + "/term/trajectory.csv"), slurp(f.dir + "/full/trajectory.csv"));
  // Resuming a finished run is refused and changes nothing.
  const std::string before = slurp(f.dir + "/term/final_weights.csv");
  ASSERT_EQ(run_command(zeroloss_binary() + " sgd --resume " + f.dir + "/term", &out, &err), 2);
  EXPECT_NE(err.find("completed; there is nothing to resume"), std::string::npos) << err;
  EXPECT_EQ(before, slurp(f.dir + "/term/final_weights.csv"));
}

TEST(DynamicsCli, DivergenceNamesTheStepSuggestsSmallerLrAndKeepsFiniteWeights) {
  const Files f = write_problem("cli-div");
  std::string out, err;
  const int code = run_command(zeroloss_binary() + " sgd --data " + f.data + " --weights " + f.weights +
                                   " --lr 3 --label-noise 0.1 --steps 100000 --no-figures --out " + f.dir + "/run",
                               &out, &err);
  EXPECT_EQ(code, 5) << err;
  EXPECT_NE(err.find("diverged"), std::string::npos) << err;
  EXPECT_NE(err.find("at step"), std::string::npos) << err;
  EXPECT_NE(err.find("Try --lr below"), std::string::npos) << err;
  const zeroloss::Weights w = zeroloss::read_weights_csv(f.dir + "/run/final_weights.csv", 3);  // finite, or it throws
  EXPECT_TRUE(w.theta.allFinite());
  const auto s = read_json(f.dir + "/run/summary.json");
  EXPECT_EQ(s["status"], "diverged");
  EXPECT_GT(s["divergence"]["step"].get<std::uint64_t>(), 0u);
}

TEST(DynamicsCli, BadOptionsGetOneMessageAndExitCode2) {
  const Files f = write_problem("cli-bad");
  std::string out, err;
  // A malformed option value is a usage error (exit 1), refused at parse time; the rest are exit 2.
  EXPECT_EQ(run_command(sgd_command(f, f.dir + "/a", "--steps 10 --batch 0"), &out, &err), 1);
  EXPECT_NE(err.find("--batch"), std::string::npos) << err;
  EXPECT_EQ(run_command(sgd_command(f, f.dir + "/b", "--steps 10 --seeds 3-1"), &out, &err), 1);
  EXPECT_NE(err.find("--seeds"), std::string::npos) << err;
  EXPECT_EQ(run_command(zeroloss_binary() + " sgd --resume " + f.dir + "/nothing", &out, &err), 2);
  ASSERT_EQ(run_command(sgd_command(f, f.dir + "/c", "--steps 10 --no-figures")), 0);
  EXPECT_EQ(run_command(zeroloss_binary() + " sgd --resume " + f.dir + "/c --lr 0.1", &out, &err), 2);
  EXPECT_NE(err.find("--lr"), std::string::npos) << err;
  EXPECT_EQ(run_command(zeroloss_binary() + " flow --data " + f.data + " --weights " + f.weights + " --time 1 --out " +
                            f.dir + "/f",
                        &out, &err),
            2);
  EXPECT_NE(err.find("--coefficient"), std::string::npos) << err;
}

TEST(DynamicsCli, FlowReportsStepsDriftAndReachesTheMinimumFast) {
  const Files f = write_problem("cli-flow", /*on_manifold=*/true);
  std::string out, err;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(run_command(zeroloss_binary() + " flow --data " + f.data + " --weights " + f.weights +
                            " --coefficient 1 --time 3000 --until-grad 1e-9 --log-points 300 --out " + f.dir + "/flow",
                        &out, &err),
            0)
      << err;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 30.0);  // generous: a sanity bound, the speed itself is measured in docs
  const auto s = read_json(f.dir + "/flow/summary.json");
  EXPECT_EQ(s["status"], "completed");
  EXPECT_TRUE(s["start"]["on_manifold"].get<bool>());
  EXPECT_GT(s["accepted_steps"].get<int>(), 0);
  EXPECT_TRUE(s.contains("rejected_steps"));
  EXPECT_LT(s["max_constraint_drift"].get<double>(), 1e-6);
  EXPECT_LT(s["final_grad_norm"].get<double>(), 1e-9);
  EXPECT_LT(s["final"]["sharpness"].get<double>(), s["initial"]["sharpness"].get<double>());
  // Rank one at the end: sigma_2 / sigma_1 of the features tiny.
  const auto sv = s["final"]["feature_singular_values"];
  EXPECT_LT(sv[1].get<double>() / sv[0].get<double>(), 1e-6);
  EXPECT_NE(out.find("accepted"), std::string::npos);
  // The closed-form optimum (THEORY 5) is the limit: T -> T*, R -> R*, and the tail is exponential.
  ASSERT_TRUE(s["optimum"]["available"].get<bool>()) << s["optimum"].dump();
  EXPECT_NEAR(s["final"]["sharpness"].get<double>(), s["optimum"]["sharpness"].get<double>(), 1e-9);
  EXPECT_LT(s["final"]["dist_R_opt"].get<double>(), 1e-6);
  ASSERT_TRUE(s.contains("rate_fit"));
  EXPECT_TRUE(s["rate_fit"]["fitted"].get<bool>()) << s["rate_fit"].dump();
  EXPECT_TRUE(s["assumptions_at_end"]["holds"].get<bool>());
  EXPECT_EQ(lines(slurp(f.dir + "/flow/trajectory.csv"))[0].rfind("step,t,tau,", 0), 0u);
}

TEST(DynamicsCli, FlowCoefficientFromLabelNoiseAndBatch) {
  const Files f = write_problem("cli-flow-c", true);
  ASSERT_EQ(run_command(zeroloss_binary() + " flow --data " + f.data + " --weights " + f.weights +
                        " --label-noise 0.2 --batch full --time 10 --no-figures --out " + f.dir + "/flow"),
            0);
  const auto s = read_json(f.dir + "/flow/summary.json");
  EXPECT_NEAR(s["parameters"]["coefficient"].get<double>(), 0.04 / 12, 1e-15);
  EXPECT_NEAR(s["tau_reached"].get<double>(), 10 * 0.04 / 12, 1e-12);
}

TEST(DynamicsCli, CompareReportsPerStepSizeAndFittedOrder) {
  const Files f = write_problem("cli-cmp", /*on_manifold=*/true, 4);
  std::string out, err;
  ASSERT_EQ(run_command(zeroloss_binary() + " compare --data " + f.data + " --weights " + f.weights +
                            " --label-noise 1 --batch 1 --lr-list 0.04,0.02,0.01,0.005 --time 0.1 --seeds 16 --points 2 "
                            "--no-figures --out " + f.dir + "/cmp",
                        &out, &err),
            0)
      << err;
  const auto summary = lines(slurp(f.dir + "/cmp/compare_summary.csv"));
  ASSERT_EQ(summary.size(), 5u);  // header + four step sizes
  EXPECT_EQ(lines(slurp(f.dir + "/cmp/compare.csv")).size(), 1u + 4u * 2u);
  const auto s = read_json(f.dir + "/cmp/summary.json");
  ASSERT_FALSE(s["order_fit"].is_null());
  EXPECT_TRUE(s["order_fit"].contains("slope_ci_low"));
  // The error shrinks with eta: a positive order, the whole 95% interval above zero.
  EXPECT_GT(s["order_fit"]["exponent_p"].get<double>(), 0.2);
  EXPECT_GT(s["order_fit"]["slope_ci_low"].get<double>(), 0.0);
  EXPECT_EQ(s["parameters"]["projection"], "gradient-flow");
  EXPECT_NE(out.find("fitted order"), std::string::npos) << out;
  for (const auto& e : s["per_eta"]) EXPECT_EQ(e["seeds"], 16);
}

// Plain gradient descent and label noise too small for a double (--label-noise 0 or 1e-300, any
// batch): the flow time tau stays 0, so a rate over tau does not exist. The run completes (exit 0,
// summary.json written) and says the rate fit does not apply and why, in summary.json and on stdout;
// a --resume of the finished run is refused as having nothing to resume.
TEST(DynamicsCli, SgdWithoutLabelNoiseCompletesAndCallsTheRateFitNotApplicable) {
  const Files f = write_problem("cli-noiseless");
  for (const std::string& opts : {std::string("--label-noise 0"), std::string("--label-noise 0 --batch full"),
                                  std::string("--label-noise 1e-300 --batch 2")}) {
    const std::string out_dir = f.dir + "/run" + std::to_string(opts.size());
    std::string out, err;
    ASSERT_EQ(run_command(zeroloss_binary() + " sgd --data " + f.data + " --weights " + f.weights + " --lr 0.05 " + opts +
                              " --steps 4000 --log-points 20 --out " + out_dir,
                          &out, &err),
              0)
        << opts << ": " << err;
    const auto s = read_json(out_dir + "/summary.json");
    EXPECT_EQ(s["status"], "completed") << opts;
    EXPECT_EQ(s["tau"], 0.0) << opts;
    ASSERT_TRUE(s.contains("rate_fit")) << opts;
    EXPECT_EQ(s["rate_fit"]["applicable"], false) << opts;
    EXPECT_EQ(s["rate_fit"]["fitted"], false) << opts;
    const std::string verdict = s["rate_fit"]["verdict"];
    EXPECT_EQ(verdict.rfind("not applicable: the flow time tau", 0), 0u) << verdict;
    EXPECT_NE(out.find("note: rate fit of T - T*: not applicable: the flow time tau"), std::string::npos) << out;
    EXPECT_NE(out.find("final: loss"), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(out_dir + "/final_weights.csv"));
    ASSERT_EQ(run_command(zeroloss_binary() + " sgd --resume " + out_dir, &out, &err), 2) << err;
    EXPECT_NE(err.find("completed; there is nothing to resume"), std::string::npos) << err;
  }
}

pid_t spawn_capturing(const std::string& command, const std::string& out_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + command + " >" + out_path + " 2>/dev/null").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits until the run in `dir` has started (run.json written) and a little longer, sends SIGTERM
// and reaps the process: true when it ended by that signal, as an interrupted run must.
testing::AssertionResult terminated_after_start(pid_t pid, const std::string& dir) {
  if (!wait_for_file(dir + "/run.json", 20.0)) return testing::AssertionFailure() << dir << "/run.json never appeared";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (kill(pid, SIGTERM) != 0) return testing::AssertionFailure() << "kill failed";
  int status = 0;
  waitpid(pid, &status, 0);
  if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))
    return testing::AssertionFailure() << "exit status " << status << ", not ended by SIGTERM";
  return testing::AssertionSuccess();
}

// SIGTERM between two logged steps (only steps 0 and K are logged): the summary and the stdout
// report the state at the interrupt, at the step the run reached, marked interrupted (not the row
// of step 0).
TEST(DynamicsCli, InterruptedRunReportsTheStateItReached) {
  const Files f = write_problem("cli-reached");
  const std::string dir = f.dir + "/term", out_path = f.dir + "/term.out";
  const pid_t pid = spawn_capturing(sgd_command(f, dir, "--steps 100000000 --seed 4 --log-points 1 --no-figures"), out_path);
  ASSERT_TRUE(terminated_after_start(pid, dir));
  const auto s = read_json(dir + "/summary.json");
  EXPECT_EQ(s["status"], "interrupted");
  const auto k = s["steps_done"].get<std::uint64_t>();
  ASSERT_GT(k, 0u) << "the signal came before the first step; wait longer";
  ASSERT_LT(k, 100000000u);
  EXPECT_EQ(s["final"]["step"].get<std::uint64_t>(), k);
  EXPECT_EQ(s["final"]["interrupted"], true);
  EXPECT_NEAR(s["final"]["t"].get<double>(), 0.0025 * static_cast<double>(k), 1e-9 * static_cast<double>(k));
  const std::string out = slurp(out_path);
  EXPECT_NE(out.find("state at the interrupt (step " + std::to_string(k) + "): loss"), std::string::npos) << out;
  EXPECT_EQ(out.find("final: loss"), std::string::npos) << out;
  // The logged rows (and so the resume) are those of the schedule only.
  EXPECT_EQ(lines(slurp(dir + "/trajectory.csv")).size(), 2u);  // header + step 0
}

// An ensemble interrupted with its seeds at different steps (one thread: seed 0 runs, seeds 1 and 2
// stop at step 0): each seed's step and state are reported, and no mean over different steps.
TEST(DynamicsCli, InterruptedEnsembleNeverAveragesDifferentSteps) {
  const Files f = write_problem("cli-reached-ens");
  const std::string dir = f.dir + "/term", out_path = f.dir + "/term.out";
  const pid_t pid = spawn_capturing(
      sgd_command(f, dir, "--steps 100000000 --seeds 0-2 --threads 1 --log-points 1 --no-figures"), out_path);
  ASSERT_TRUE(terminated_after_start(pid, dir));
  const auto s = read_json(dir + "/summary.json");
  EXPECT_EQ(s["status"], "interrupted");
  ASSERT_EQ(s["per_seed"].size(), 3u);
  const auto k0 = s["per_seed"][0]["steps_done"].get<std::uint64_t>();
  ASSERT_GT(k0, 0u) << "the signal came before the first step; wait longer";
  for (const auto& seed : s["per_seed"]) {
    EXPECT_EQ(seed["status"], "interrupted");
    EXPECT_EQ(seed["final"]["step"], seed["steps_done"]);
    EXPECT_EQ(seed["final"]["interrupted"], true);
  }
  EXPECT_EQ(s["per_seed"][1]["steps_done"], 0);
  EXPECT_FALSE(s.contains("final_mean")) << s["final_mean"].dump();
  bool noted = false;
  for (const auto& n : s["notes"]) noted = noted || n.get<std::string>().rfind("no mean over seeds", 0) == 0;
  EXPECT_TRUE(noted) << s["notes"].dump();
  const std::string out = slurp(out_path);
  EXPECT_NE(out.find("seed 0, interrupted at step " + std::to_string(k0) + " (state at the interrupt): loss"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("seed 2, interrupted at step 0 (state at the interrupt): loss"), std::string::npos) << out;
  EXPECT_EQ(out.find("mean at step"), std::string::npos) << out;
}

}  // namespace
