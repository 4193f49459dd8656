// `zeroloss optimum --method trust-region` through the real program, for both models: the point it
// writes has the T* of the independent routes (the closed form for the two-layer network, the
// certified weighted-l1 optimum for the diagonal one), the JSON carries the iteration log, --log
// writes the same log as CSV, and --log without the trust region is refused before any output.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "test_support.hpp"

namespace zeroloss {
namespace {

using test::RunResult;

class TrustRegionCli : public test::FolderTest {
 protected:
  TrustRegionCli() : test::FolderTest("trust-region-cli-") {}
};

TEST_F(TrustRegionCli, TwoLayerReachesTheClosedFormAndLogsEveryIteration) {
  const std::string data = path("d.csv"), w = path("w.csv");
  ASSERT_EQ(test::run_zeroloss("data --generator gaussian --n 5 --d 8 --seed 2 --out " + data + " --weights-out " + w +
                               " --m 6").code, 0);
  const std::string common = "optimum --json --data " + data + " --weights " + w;
  const RunResult closed = test::run_zeroloss(common + " --out " + path("closed.csv"));
  ASSERT_EQ(closed.code, 0) << closed.err;
  const RunResult tr =
      test::run_zeroloss(common + " --method trust-region --out " + path("tr.csv") + " --log " + path("log.csv"));
  ASSERT_EQ(tr.code, 0) << tr.err;
  const nlohmann::json jc = nlohmann::json::parse(closed.out), jt = nlohmann::json::parse(tr.out);
  EXPECT_EQ(jc["method"], "closed-form");
  EXPECT_EQ(jt["method"], "trust-region");
  const double Tc = jc["sharpness"], Tt = jt["sharpness"];
  EXPECT_NEAR(Tt, Tc, 1e-12 * Tc);
  EXPECT_LT(jt["riemannian_grad_norm"].get<double>(), 1e-12);
  EXPECT_TRUE(jt["trust_region"]["converged"].get<bool>());
  const nlohmann::json& log = jt["trust_region"]["log"];
  ASSERT_EQ(static_cast<int>(log.size()), jt["trust_region"]["iterations"].get<int>() + 1);
  EXPECT_LT(log.back()["riemannian_grad_norm"].get<double>(), 1e-12);
  // The CSV has the header and one line per log row, with the same numbers.
  std::istringstream csv(test::slurp(path("log.csv")));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "iteration,sharpness,riemannian_grad_norm,radius,rho,step_norm,inner_iterations,inner_stop,accepted");
  int rows = 0;
  while (std::getline(csv, line)) ++rows;
  EXPECT_EQ(rows, static_cast<int>(log.size()));
}

TEST_F(TrustRegionCli, DiagonalReachesTheCertifiedOptimum) {
  const std::string data = path("d.csv");
  ASSERT_EQ(test::run_zeroloss("data --generator gaussian --n 4 --d 10 --seed 3 --out " + data).code, 0);
  std::string uv = "u,v\n";
  for (int k = 0; k < 10; ++k) uv += std::to_string(0.6 + 0.07 * k) + "," + std::to_string(1.3 - 0.05 * k) + "\n";
  const std::string w = file("uv.csv", uv);
  const RunResult r = test::run_zeroloss("optimum --model diagonal-linear --method trust-region --json --data " + data +
                                         " --weights " + w + " --out " + path("o.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "trust-region");
  const double T = j["sharpness"], Tc = j["certified_sharpness"];
  EXPECT_NEAR(T, Tc, 1e-12 * Tc);
  EXPECT_LE(j["certified_max_dual_violation"].get<double>(), 1e-9);
  EXPECT_LT(j["riemannian_grad_norm"].get<double>(), 1e-12);
  EXPECT_TRUE(std::filesystem::exists(path("o.csv")));
}

TEST_F(TrustRegionCli, LogWithoutTrustRegionIsRefusedAndNothingWritten) {
  const std::string data = path("d.csv"), w = path("w.csv");
  ASSERT_EQ(test::run_zeroloss("data --generator gaussian --n 3 --d 5 --seed 1 --out " + data + " --weights-out " + w +
                               " --m 4").code, 0);
  const RunResult r = test::run_zeroloss("optimum --data " + data + " --weights " + w + " --out " + path("o.csv") +
                                         " --log " + path("log.csv"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--method trust-region"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path("o.csv")));
  EXPECT_FALSE(std::filesystem::exists(path("log.csv")));
  const RunResult bad = test::run_zeroloss("optimum --data " + data + " --weights " + w + " --out " + path("o.csv") +
                                           " --method trust-region --tr-gradient-tolerance 0");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--tr-gradient-tolerance"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace zeroloss
