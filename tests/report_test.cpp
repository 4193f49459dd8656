// The verification report (`zeroloss run`), driven through the real program on small
// configurations: verdicts are computed (a configuration that breaks a claim's premise flips its
// verdict), the outputs are complete, and the page renders every figure in headless Chromium.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "test_support.hpp"

namespace {

using nlohmann::json;
using zeroloss::test::run_command;
using zeroloss::test::temp_dir;
using zeroloss::test::zeroloss_binary;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `zeroloss run CONFIG --quick --out DIR` and returns summary.json.
json run_report(const std::string& name, const json& config, std::string* dir_out = nullptr) {
  const std::string dir = temp_dir(name);
  const std::string cfg = dir + "/config.json";
  std::ofstream(cfg) << config.dump(2);
  std::string out, err;
  const int rc = run_command(zeroloss_binary() + " run " + cfg + " --quick --out " + dir + "/report", &out, &err);
  EXPECT_EQ(rc, 0) << out << err;
  if (dir_out) *dir_out = dir + "/report";
  return json::parse(slurp(dir + "/report/summary.json"));
}

const json kSmall = {
    {"claims", {"global_minimum", "flow_rate", "local_convexity"}},
    {"global_minimum", {{"starts", 2}}},
};

TEST(Report, VerdictsAreComputedAndTheOutputsComplete) {
  std::string dir;
  const json s = run_report("report-small", kSmall, &dir);
  ASSERT_TRUE(s.contains("verdicts"));
  for (const char* key : {"global_minimum", "flow_rate", "local_convexity"}) {
    ASSERT_TRUE(s["verdicts"].contains(key)) << key;
    EXPECT_EQ(s["verdicts"][key]["status"], "pass") << key << ": " << s["verdicts"][key]["evidence"];
    EXPECT_FALSE(s["verdicts"][key]["command"].get<std::string>().empty());
  }
  // The numbers behind the verdicts: every flow and L-BFGS run reached T*, the tail is exponential,
  // the minimizer is positive definite and THEORY 6's point has its documented eigenvalue.
  const json& g = s["verdicts"]["global_minimum"]["numbers"];
  EXPECT_EQ(g["missed"], 0);
  EXPECT_EQ(g["runs"], 8);  // 2 starts x (a = 1, mixed a) x (flow, L-BFGS)
  EXPECT_LT(g["worst_relative_gap"].get<double>(), 1e-6);
  EXPECT_GT(s["verdicts"]["flow_rate"]["numbers"]["rate_fit"]["rate_mu"].get<double>(), 0);
  const json& c = s["verdicts"]["local_convexity"]["numbers"];
  EXPECT_GT(c["lambda_min_at_minimizer"].get<double>(), 0);
  EXPECT_NEAR(c["theory6_lambda_min"].get<double>(), -14.76, 0.01);
  EXPECT_NEAR(c["theory6_grad_norm"].get<double>(), 30.9, 0.05);
  // The three files, the configuration actually used and the CSVs behind the figures.
  for (const char* f : {"report.html", "report.md", "summary.json"}) EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  EXPECT_EQ(s["configuration"]["mode"], "quick");
  EXPECT_EQ(s["configuration"]["global_minimum"]["starts"], 2);
  for (const auto& [key, v] : s["verdicts"].items())
    for (const auto& f : v["figures"]) {
      EXPECT_TRUE(std::filesystem::exists(dir + "/" + f["file"].get<std::string>())) << f["file"];
    }
}

TEST(Report, BreakingTheAssumptionFlipsTheConvexityVerdict) {
  // tanh has phi''' < 0 near 0: the closed-form stationary point is not a minimum, so local
  // convexity must fail (THEORY 5-6 need phi''' > 0).
  json cfg = {{"claims", {"local_convexity"}}, {"problem", {{"activation", "tanh"}}}};
  const json s = run_report("report-tanh", cfg);
  EXPECT_EQ(s["verdicts"]["local_convexity"]["status"], "fail") << s["verdicts"]["local_convexity"]["evidence"];
  EXPECT_LT(s["verdicts"]["local_convexity"]["numbers"]["lambda_min_at_minimizer"].get<double>(), 0);
}

TEST(Report, TooFewStepsFlipTheRankOneVerdict) {
  // The Figure 1 run with so few steps that the flow time is far too short for rank one.
  json cfg = {{"claims", {"rank_one_sgd"}}, {"quick", {{"rank_one_sgd", {{"steps", 20000}}}}}};
  const json s = run_report("report-short", cfg);
  EXPECT_EQ(s["verdicts"]["rank_one_sgd"]["status"], "fail") << s["verdicts"]["rank_one_sgd"]["evidence"];
  EXPECT_GT(s["verdicts"]["rank_one_sgd"]["numbers"]["final_ratios"][0].get<double>(), 0.01);
}

TEST(Report, BadConfigurationIsOneClearErrorAndNoReport) {
  const std::string dir = temp_dir("report-bad");
  std::ofstream(dir + "/c.json") << R"({"global_minimum": {"startz": 3}})";
  std::string out, err;
  const int rc = run_command(zeroloss_binary() + " run " + dir + "/c.json --out " + dir + "/report", &out, &err);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(err.find("unknown key 'global_minimum.startz'"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/report/report.html"));
  std::ofstream(dir + "/d.json") << R"({"problem": {"n": "three"}})";
  EXPECT_EQ(run_command(zeroloss_binary() + " run " + dir + "/d.json --out " + dir + "/report", &out, &err), 2);
  EXPECT_NE(err.find("'problem.n' is string, expected integer"), std::string::npos) << err;
}

TEST(Report, PrintConfigIsTheEmbeddedDefault) {
  std::string out;
  ASSERT_EQ(run_command(zeroloss_binary() + " run --print-config", &out), 0);
  const json cfg = json::parse(out);
  EXPECT_EQ(cfg["claims"].size(), 6u);
  EXPECT_TRUE(cfg.contains("quick"));
}

TEST(Report, PageShowsEveryFigureInHeadlessChromium) {
  std::string which;
  if (run_command("command -v chromium", &which) != 0) GTEST_SKIP() << "chromium not installed (scripts/install-deps installs it)";
  std::string dir;
  const json s = run_report("report-browser", kSmall, &dir);
  int figures = 0;
  for (const auto& [key, v] : s["verdicts"].items()) figures += static_cast<int>(v["figures"].size());
  ASSERT_GT(figures, 0);
  std::string dom, err;
  const std::string profile = temp_dir("chromium-profile");
  const int rc = run_command(
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
          profile + " --dump-dom file://" + dir + "/report.html",
      &dom, &err);
  ASSERT_EQ(rc, 0) << err;
  // The browser parsed the page: every figure is an inline SVG element inside a <figure>, none is
  // reported missing, and the verdict table has one row per claim.
  const std::regex fig_svg("<figure>\\s*<svg");
  const auto n_svg = std::distance(std::sregex_iterator(dom.begin(), dom.end(), fig_svg), std::sregex_iterator());
  EXPECT_EQ(n_svg, figures) << dom.substr(0, 2000);
  EXPECT_EQ(dom.find("was not produced"), std::string::npos);
  const std::regex row("<td class=\"(pass|fail|reported|error|not-applicable)\">");
  EXPECT_EQ(std::distance(std::sregex_iterator(dom.begin(), dom.end(), row), std::sregex_iterator()),
            static_cast<long>(s["verdicts"].size()));
}

}  // namespace
