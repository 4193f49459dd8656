#pragma once
// Shared helpers for the GoogleTest suite: random problems, finite differences, relative errors.

#include <Eigen/Dense>

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <utility>

#include "zeroloss/model/network.hpp"
#include "zeroloss/numerics/ordered_product.hpp"

namespace zeroloss::test {

// One random problem of a parameterized test: sizes, activation name, a = 1 or mixed signs.
struct ProblemConfig {
  int n, d, m;
  const char* activation;
  bool mixed_a;
};
// GoogleTest prints parameters with this (instead of their bytes) in test names and failures.
void PrintTo(const ProblemConfig& config, std::ostream* os);
// Test-name suffix such as cubic_n3_d5_m4_mixed_a.
std::string config_name(const testing::TestParamInfo<ProblemConfig>& info);

struct RandomProblem {
  TwoLayerModel model;
  Eigen::MatrixXd theta;  // m x d, pre-activations of moderate size
};

// Gaussian data (rows N(0, I/d) scaled by `data_scale`), labels N(0,1), a = 1 or mixed signs
// (alternating, magnitudes in [0.5, 1.5]), theta ~ N(0, theta_scale^2).
RandomProblem random_problem(int n, int d, int m, const std::string& activation, bool mixed_a, unsigned seed,
                             double theta_scale = 0.5, double data_scale = 1.0);

// Same but with labels set to the network's outputs at theta, so theta lies on M exactly.
RandomProblem random_problem_on_manifold(int n, int d, int m, const std::string& activation, bool mixed_a,
                                         unsigned seed, double theta_scale = 0.5);

Eigen::MatrixXd random_matrix(int rows, int cols, unsigned seed);

// Central finite-difference gradient of f at theta (step h), m x d.
Eigen::MatrixXd fd_gradient(const std::function<double(const Eigen::MatrixXd&)>& f, const Eigen::MatrixXd& theta,
                            double h = 1e-6);

// ||a - b|| / max(||b||, floor).
double rel_error(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double floor = 1e-300);

// Path to the built zeroloss binary.
std::string zeroloss_binary();
// A fresh folder zeroloss-test-<name>-<pid> in the temporary directory ($TMPDIR or /tmp). It is
// removed with everything in it when the current test ends (or at program end if made outside a
// test); ZEROLOSS_KEEP_TEST_DIRS=1 keeps it for debugging and prints its path instead.
std::string temp_dir(const std::string& name);
// Runs a shell command, returns the exit status; captures stdout and stderr.
int run_command(const std::string& command, std::string* out = nullptr, std::string* err = nullptr);

// The bytes of a file ("" if it cannot be read).
std::string slurp(const std::string& path);

// One run of the zeroloss program: exit status and what it printed.
struct RunResult {
  int code = -1;
  std::string out, err;
};
// Runs `zeroloss <args>` (args as a shell would split them).
RunResult run_zeroloss(const std::string& args);

// A test that works in a fresh folder of its own, temp_dir(prefix + the test's name), removed when
// the test ends.
class FolderTest : public testing::Test {
 protected:
  explicit FolderTest(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override;
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  // Writes `contents` byte for byte to dir_/name and returns that path.
  std::string file(const std::string& name, const std::string& contents) const;
  std::string dir_;

 private:
  std::string prefix_;
};

// Forces the threads of the Lanczos products and basis (numerics/ordered_product.hpp's settings)
// for one test and restores the defaults afterwards.
struct ThreadSetting {
  ThreadSetting(int threads, double min_work) {
    set_product_threads(threads);
    set_threaded_product_min_work(min_work);
  }
  ~ThreadSetting() {
    set_product_threads(0);
    set_threaded_product_min_work(-1);
  }
};

}  // namespace zeroloss::test
