#include "test_support.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <vector>

namespace zeroloss::test {
namespace {

// Folders made by temp_dir since the last cleanup.
std::vector<std::filesystem::path>& created_dirs() {
  static std::vector<std::filesystem::path> dirs;
  return dirs;
}

bool keep_test_dirs() {
  const char* keep = std::getenv("ZEROLOSS_KEEP_TEST_DIRS");
  return keep && *keep && std::string(keep) != "0";
}

void remove_created_dirs() {
  for (const auto& dir : created_dirs()) {
    if (keep_test_dirs()) {
      std::cerr << "ZEROLOSS_KEEP_TEST_DIRS: kept " << dir.string() << "\n";
      continue;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  created_dirs().clear();
}

// Removes every test's temp_dir folders when the test ends (and any made outside a test when the
// program ends), so the suite leaves nothing in the temporary directory.
class RemoveTempDirs : public testing::EmptyTestEventListener {
  void OnTestEnd(const testing::TestInfo&) override { remove_created_dirs(); }
  void OnTestProgramEnd(const testing::UnitTest&) override { remove_created_dirs(); }
};

[[maybe_unused]] const bool remove_temp_dirs_registered = [] {
  testing::UnitTest::GetInstance()->listeners().Append(new RemoveTempDirs);
  return true;
}();

}  // namespace

void PrintTo(const ProblemConfig& c, std::ostream* os) {
  *os << c.activation << " n=" << c.n << " d=" << c.d << " m=" << c.m << (c.mixed_a ? " mixed a" : " a=1");
}

std::string config_name(const testing::TestParamInfo<ProblemConfig>& info) {
  std::string act = info.param.activation;
  for (auto& ch : act)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return act + "_n" + std::to_string(info.param.n) + "_d" + std::to_string(info.param.d) + "_m" +
         std::to_string(info.param.m) + (info.param.mixed_a ? "_mixed_a" : "_a1");
}

Eigen::MatrixXd random_matrix(int rows, int cols, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd M(rows, cols);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) M(i, j) = normal(rng);
  return M;
}

RandomProblem random_problem(int n, int d, int m, const std::string& activation, bool mixed_a, unsigned seed,
                             double theta_scale, double data_scale) {
  Eigen::MatrixXd X = random_matrix(n, d, seed) * (data_scale / std::sqrt(static_cast<double>(d)));
  Eigen::VectorXd y = random_matrix(n, 1, seed + 1).col(0);
  Eigen::VectorXd a = Eigen::VectorXd::Ones(m);
  if (mixed_a) {
    std::mt19937_64 rng(seed + 2);
    std::uniform_real_distribution<double> u(0.5, 1.5);
    for (int j = 0; j < m; ++j) a(j) = (j % 2 ? -1.0 : 1.0) * u(rng);
  }
  Eigen::MatrixXd theta = random_matrix(m, d, seed + 3) * theta_scale * std::sqrt(static_cast<double>(d));
  return RandomProblem{TwoLayerModel(X, y, a, Activation::from_name(activation)), theta};
}

RandomProblem random_problem_on_manifold(int n, int d, int m, const std::string& activation, bool mixed_a,
                                         unsigned seed, double theta_scale) {
  RandomProblem p = random_problem(n, d, m, activation, mixed_a, seed, theta_scale);
  Eigen::VectorXd y = network_outputs(p.model, p.theta);
  return RandomProblem{p.model.with_labels(y), p.theta};
}

Eigen::MatrixXd fd_gradient(const std::function<double(const Eigen::MatrixXd&)>& f, const Eigen::MatrixXd& theta,
                            double h) {
  Eigen::MatrixXd g(theta.rows(), theta.cols());
  for (Eigen::Index j = 0; j < theta.rows(); ++j)
    for (Eigen::Index k = 0; k < theta.cols(); ++k) {
      Eigen::MatrixXd tp = theta, tm = theta;
      tp(j, k) += h;
      tm(j, k) -= h;
      g(j, k) = (f(tp) - f(tm)) / (2 * h);
    }
  return g;
}

double rel_error(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double floor) {
  return (a - b).norm() / std::max(b.norm(), floor);
}

std::string zeroloss_binary() { return ZEROLOSS_BINARY; }

std::string temp_dir(const std::string& name) {
  std::filesystem::path p = std::filesystem::temp_directory_path() /
                            ("zeroloss-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  created_dirs().push_back(p);
  return p.string();
}

int run_command(const std::string& command, std::string* out, std::string* err) {
  static int counter = 0;
  const std::string base = std::filesystem::temp_directory_path() /
                           ("zeroloss-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  const std::string full = "(" + command + ") >" + base + ".out 2>" + base + ".err </dev/null";
  const int status = std::system(full.c_str());
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  if (out) *out = slurp(base + ".out");
  if (err) *err = slurp(base + ".err");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

RunResult run_zeroloss(const std::string& args) {
  RunResult r;
  r.code = run_command(zeroloss_binary() + " " + args, &r.out, &r.err);
  return r;
}

void FolderTest::SetUp() { dir_ = temp_dir(prefix_ + testing::UnitTest::GetInstance()->current_test_info()->name()); }

std::string FolderTest::file(const std::string& name, const std::string& contents) const {
  const std::string p = path(name);
  std::ofstream(p, std::ios::binary) << contents;
  return p;
}

}  // namespace zeroloss::test
