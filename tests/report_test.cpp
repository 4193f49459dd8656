// The verification report (`zeroloss run`), driven through the real program on small
// configurations: verdicts are computed (a configuration that breaks a claim's premise flips its
// verdict), the outputs are complete, and the page renders every figure in headless Chromium.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "test_support.hpp"

namespace {

using zeroloss::test::slurp;

using nlohmann::json;
using zeroloss::test::run_command;
using zeroloss::test::temp_dir;
using zeroloss::test::zeroloss_binary;

// Runs `zeroloss run config.json --quick --out report` inside a fresh folder (so the commands in the
// report use the relative paths report/...), expects exit code `expected_rc` and returns summary.json.
json run_report(const std::string& name, const json& config, std::string* dir_out = nullptr, int expected_rc = 0,
                std::string* stderr_out = nullptr) {
  const std::string dir = temp_dir(name);
  std::ofstream(dir + "/config.json") << config.dump(2);
  std::string out, err;
  const int rc = run_command("cd " + dir + " && " + zeroloss_binary() + " run config.json --quick --out report", &out, &err);
  EXPECT_EQ(rc, expected_rc) << out << err;
  if (dir_out) *dir_out = dir + "/report";
  if (stderr_out) *stderr_out = err;
  return json::parse(slurp(dir + "/report/summary.json"));
}

// The cells of each <tr> of the first <table> in `html`: {header cells, body rows...} as counts.
std::vector<int> verdict_table_cells(const std::string& html) {
  const size_t b = html.find("<table>"), e = html.find("</table>", b);
  std::vector<int> counts;
  if (b == std::string::npos || e == std::string::npos) return counts;
  const std::string table = html.substr(b, e - b);
  const std::regex tr("<tr>([\\s\\S]*?)</tr>"), cell("<t[hd][ >]");
  for (auto it = std::sregex_iterator(table.begin(), table.end(), tr); it != std::sregex_iterator(); ++it) {
    const std::string row = (*it)[1];
    counts.push_back(static_cast<int>(std::distance(std::sregex_iterator(row.begin(), row.end(), cell),
                                                    std::sregex_iterator())));
  }
  return counts;
}

// The x values of every datablock ($s0 << EOD ... EOD) of a gnuplot script written by svg_plot.
std::vector<double> datablock_x(const std::string& gp) {
  std::vector<double> xs;
  std::istringstream in(gp);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.find("<< EOD") != std::string::npos) {
      inside = true;
    } else if (line == "EOD") {
      inside = false;
    } else if (inside) {
      xs.push_back(std::stod(line.substr(0, line.find(' '))));
    }
  }
  return xs;
}

// The ```sh blocks of report.md (the Reproduce blocks), in order.
std::vector<std::string> reproduce_blocks(const std::string& md) {
  std::vector<std::string> blocks;
  size_t at = 0;
  while ((at = md.find("```sh\n", at)) != std::string::npos) {
    const size_t end = md.find("\n```", at + 6);
    blocks.push_back(md.substr(at + 6, end - at - 6));
    at = end;
  }
  return blocks;
}

const json kSmall = {
    {"claims", {"global_minimum", "flow_rate", "local_convexity"}},
    {"global_minimum", {{"starts", 2}}},
    {"local_convexity", {{"draws", 1}}},  // the population of --quick is the golden report_quick's
    {"flow_rate", {{"gaussian_draws", 1}, {"figure1", {{"draws", 1}, {"first_data_seed", 22}}}}},
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
  // Claim 1's power: every mutant is rejected, the perturbed end point as not stationary.
  const json& power = s["verdicts"]["global_minimum"]["power"];
  ASSERT_EQ(power.size(), 4u);
  for (const auto& m : power) EXPECT_TRUE(m["rejected"].get<bool>()) << m;
  EXPECT_EQ(power[3]["mutant"], "n_greater_than_d");
  EXPECT_EQ(g["mutants"]["perturbed_endpoint"]["rules_failed"], json::array({"stationary"}));
  // The stationary-point search: on the problem every converged point is T* (one distinct point, a
  // strict minimum); on the n > d mutant it found saddles. The population ran on every member.
  const json& search = g["stationary_search"];
  ASSERT_EQ(search["ones"]["distinct"].size(), 1u) << search;
  EXPECT_EQ(search["ones"]["distinct"][0]["negative"], 0);
  EXPECT_GT(search["mutant_n_gt_d"]["saddles"].get<int>(), 0) << search;
  EXPECT_EQ(g["population"]["not_global"], 0);
  EXPECT_EQ(g["population"]["members"], 4 + 3 * 2);  // quick: 4 Figure 1 draws, 2 Gaussian draws per size
  // Figure 1 seed 1 (lambda_min ~ 1e-7): 1 and 0 of its 4 searches converged, so both of its layers
  // are untested and counted neither way; the other 18 member layers are tested, which covers the
  // population (every family has a tested member).
  EXPECT_EQ(g["population"]["member_layers"], 20);
  EXPECT_EQ(g["population"]["tested"], 18);
  ASSERT_EQ(g["population"]["untested"].size(), 2u) << g["population"]["untested"];
  for (const auto& u : g["population"]["untested"]) {
    EXPECT_EQ(u["member"], "figure1_n3_d3_m10_seed1");
    EXPECT_LT(u["converged"].get<int>(), 2);
  }
  const std::string gm_members = slurp(dir + "/global_minimum/population/members.csv");
  EXPECT_NE(gm_members.find("figure1,3,3,10,1,mixed,"), std::string::npos);
  EXPECT_NE(gm_members.find(",4,0,no,"), std::string::npos) << gm_members;  // 4 starts, 0 converged, untested
  EXPECT_GT(g["lambda_min_at_minimiser"]["ones"].get<double>(), 0);
  // Claim 2: both members reached T* and decayed finally at 2 lambda_min; every mutant was rejected.
  const json& f = s["verdicts"]["flow_rate"]["numbers"];
  EXPECT_EQ(f["reached"], 2);
  EXPECT_EQ(f["rate_matched"], 2);
  for (const auto& m : f["members"]) EXPECT_LT(m["relative_rate_error"].get<double>(), 0.05) << m.dump();
  ASSERT_EQ(s["verdicts"]["flow_rate"]["power"].size(), 4u);
  for (const auto& m : s["verdicts"]["flow_rate"]["power"]) EXPECT_TRUE(m["rejected"].get<bool>()) << m.dump();
  const json& c = s["verdicts"]["local_convexity"]["numbers"];
  EXPECT_GT(c["lambda_min_at_minimizer"].get<double>(), 0);
  EXPECT_NEAR(c["theory6_lambda_min"].get<double>(), -14.76, 0.01);
  EXPECT_NEAR(c["theory6_grad_norm"].get<double>(), 30.9, 0.05);
  // Claim 5's threshold bracket comes from the configured problem's own search, and both mutants
  // (tanh; the problem's counterexamples removed) are rejected by the same rule.
  EXPECT_GT(c["convex_up_to"].get<double>(), 0);
  EXPECT_GT(c["counterexample_at"].get<double>(), c["convex_up_to"].get<double>());
  const json& convexity_power = s["verdicts"]["local_convexity"]["power"];
  ASSERT_EQ(convexity_power.size(), 2u);
  for (const auto& m : convexity_power) EXPECT_TRUE(m["rejected"].get<bool>()) << m["mutant"];
  // The three files, the configuration actually used and the CSVs behind the figures.
  for (const char* f : {"report.html", "report.md", "summary.json"}) EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  EXPECT_EQ(s["configuration"]["mode"], "quick");
  EXPECT_EQ(s["configuration"]["global_minimum"]["starts"], 2);
  for (const auto& [key, v] : s["verdicts"].items())
    for (const auto& f : v["figures"]) {
      EXPECT_TRUE(std::filesystem::exists(dir + "/" + f["file"].get<std::string>())) << f["file"];
    }

  // The verdict table: as many header cells as cells in every row.
  const std::vector<int> cells = verdict_table_cells(slurp(dir + "/report.html"));
  ASSERT_EQ(cells.size(), 4u);  // header + 3 claims
  for (size_t r = 1; r < cells.size(); ++r) EXPECT_EQ(cells[r], cells[0]) << "row " << r;

  // Claim 5's scatter: the stationary anchor (||grad_M T|| ~ 1e-15) is drawn at a floor, so the log
  // axis spans the sampled points (a few decades), and the caption says so.
  const std::vector<double> xs = datablock_x(slurp(dir + "/local_convexity/scatter.gp"));
  ASSERT_FALSE(xs.empty());
  const double lo = *std::min_element(xs.begin(), xs.end()), hi = *std::max_element(xs.begin(), xs.end());
  EXPECT_GT(lo, 0);
  EXPECT_LE(hi / lo, 1e6 * (1 + 1e-12)) << lo << " .. " << hi;
  const std::string caption = s["verdicts"]["local_convexity"]["figures"][0]["caption"];
  EXPECT_NE(caption.find("stationary anchor"), std::string::npos) << caption;
}

TEST(Report, ReproduceBlocksRunInAnEmptyFolder) {
  // Every Reproduce block creates its own inputs (data, random starts, hand-made files) before the
  // commands that read them: run as written, from an empty folder, each one succeeds.
  std::string dir;
  run_report("report-reproduce",
             {{"claims", {"flow_rate", "local_convexity", "diagonal_sparse_interpolator"}},
              {"diagonal_sparse_interpolator", {{"draws", 1}, {"steps", 200000}, {"max_steps", 200000}}}},
             &dir);
  const std::vector<std::string> blocks = reproduce_blocks(slurp(dir + "/report.md"));
  ASSERT_EQ(blocks.size(), 3u);
  const std::string bin = std::filesystem::path(zeroloss_binary()).parent_path().string();
  for (size_t k = 0; k < blocks.size(); ++k) {
    const std::string fresh = temp_dir("report-reproduce-" + std::to_string(k));
    std::ofstream(fresh + "/block.sh") << "set -e\n" << blocks[k] << "\n";
    std::string out, err;
    EXPECT_EQ(run_command("cd " + fresh + " && PATH=" + bin + ":$PATH sh block.sh", &out, &err), 0)
        << blocks[k] << "\n" << err;
    std::filesystem::remove_all(fresh);
  }
}

TEST(Report, BreakingTheAssumptionFlipsTheConvexityVerdict) {
  // tanh has phi''' < 0 near 0: the closed-form stationary point is not a minimum, so local
  // convexity must fail (THEORY 5-6 need phi''' > 0).
  json cfg = {{"claims", {"local_convexity", "flow_rate"}}, {"problem", {{"activation", "tanh"}}}, {"local_convexity", {{"draws", 1}}}};
  const json s = run_report("report-tanh", cfg, nullptr, 8);  // 8: a claim failed
  EXPECT_EQ(s["verdicts"]["local_convexity"]["status"], "fail") << s["verdicts"]["local_convexity"]["evidence"];
  // There is no minimum T* for the flow to reach: claim 2 does not apply (and is not an error).
  EXPECT_EQ(s["verdicts"]["flow_rate"]["status"], "not-applicable") << s["verdicts"]["flow_rate"]["evidence"];
  EXPECT_LT(s["verdicts"]["local_convexity"]["numbers"]["lambda_min_at_minimizer"].get<double>(), 0);
}

TEST(Report, ABudgetTooShortFlipsTheFlowRateVerdict) {
  // Flows that run for only 3 decades of the predicted decay end far above rounding: reaches_optimum fails.
  const json cfg = {{"claims", {"flow_rate"}},
                    {"flow_rate", {{"gaussian_draws", 1}, {"figure1", {{"draws", 0}}}, {"budget_decades", 3.0}}}};
  const json s = run_report("report-flow-budget", cfg, nullptr, 8);
  const json& v = s["verdicts"]["flow_rate"];
  EXPECT_EQ(v["status"], "fail") << v["evidence"];
  EXPECT_FALSE(v["numbers"]["rules"]["reaches_optimum"].get<bool>());
  EXPECT_GT(v["numbers"]["members"][0]["final_relative_gap"].get<double>(), 1e-6);
  // Figure 1 seed 1 needs flow time 2.4e7 (lambda_min = 7.8e-7): capped at 1000 it is still on its plateau.
  const json capped = {{"claims", {"flow_rate"}},
                       {"flow_rate", {{"gaussian_draws", 0}, {"figure1", {{"draws", 1}}}, {"max_flow_time", 1000.0}}}};
  const json c = run_report("report-flow-cap", capped, nullptr, 8)["verdicts"]["flow_rate"];
  EXPECT_EQ(c["status"], "fail") << c["evidence"];
  EXPECT_TRUE(c["numbers"]["members"][0]["budget_capped"].get<bool>());
  EXPECT_NE(c["evidence"].get<std::string>().find("1 of 1 capped"), std::string::npos) << c["evidence"];
}

TEST(Report, TooFewStepsFlipTheRankOneVerdict) {
  // The Figure 1 population with budgets far too short for rank one (a hundredth of the predicted
  // flow time, at least min_steps): every draw ends above the threshold.
  json cfg = {{"claims", {"rank_one_sgd"}},
              {"quick", {{"rank_one_sgd", {{"draws", 2}, {"budget_factor", 0.01}, {"min_steps", 20000}}}}}};
  std::string dir, err;
  const json s = run_report("report-short", cfg, &dir, 8, &err);
  const json& v = s["verdicts"]["rank_one_sgd"];
  EXPECT_EQ(v["status"], "fail") << v["evidence"];
  EXPECT_EQ(v["numbers"]["tested"], 2);
  EXPECT_EQ(v["numbers"]["reached"], 0);
  for (const auto& m : v["numbers"]["members"]) EXPECT_GT(m["final_sigma2_over_sigma1"].get<double>(), 0.01) << m;
  EXPECT_FALSE(v["numbers"]["rules"]["feature_rank_one"].get<bool>());
  EXPECT_NE(err.find("claim failed: rank_one_sgd"), std::string::npos) << err;
  // The power table lists the short-budget mutant.
  ASSERT_EQ(v["power"].size(), 1u);
  EXPECT_EQ(v["power"][0]["mutant"], "short_budget");
  // Figure 1 carries its rank-one threshold 0.01 as a dashed line across the run, named in the caption.
  const std::string gp = slurp(dir + "/rank_one_sgd/singular_values.gp");
  EXPECT_NE(gp.find("title \"rank-one threshold sigma_2/sigma_1 = 0.01\""), std::string::npos) << gp.substr(0, 500);
  EXPECT_NE(gp.find(" 0.01\n"), std::string::npos);
  const std::string caption = v["figures"].empty() ? std::string() : v["figures"][0]["caption"].get<std::string>();
  if (!caption.empty()) {
    EXPECT_NE(caption.find("threshold sigma_2/sigma_1 = 0.01"), std::string::npos) << caption;
  }
}

TEST(Report, AMutantThatPassesMakesTheClaimInconclusive) {
  // Claim 1 with a perturbation of 1e-13: the "perturbed" end point is still stationary, the rule
  // rightly accepts it, so the mutant is not rejected and the claim is inconclusive (exit 9).
  json cfg = {{"claims", {"global_minimum"}},
              {"global_minimum", {{"starts", 1}, {"mixed_second_layer", false}, {"perturbation", 1e-13}}}};
  std::string err;
  json s = run_report("report-weak-mutant-1", cfg, nullptr, 9, &err);
  EXPECT_EQ(s["verdicts"]["global_minimum"]["status"], "inconclusive") << s["verdicts"]["global_minimum"]["evidence"];
  for (const auto& m : s["verdicts"]["global_minimum"]["power"])
    EXPECT_EQ(m["rejected"].get<bool>(), m["mutant"] != "perturbed_endpoint") << m;
  // Claim 4 with a "short" budget of 0.9 of the predicted time on the quick draws 8 and 9, which
  // reach rank one at 0.45 and 0.66 of it: the mutant passes, the claim is inconclusive.
  cfg = {{"claims", {"rank_one_sgd"}},
         {"rank_one_sgd", {{"first_data_seed", 8}, {"draws", 2}, {"mutant_budget_fraction", 0.9}}}};
  s = run_report("report-weak-mutant-4", cfg, nullptr, 9, &err);
  EXPECT_EQ(s["verdicts"]["rank_one_sgd"]["status"], "inconclusive") << s["verdicts"]["rank_one_sgd"]["evidence"];
  EXPECT_FALSE(s["verdicts"]["rank_one_sgd"]["power"][0]["rejected"].get<bool>());
  EXPECT_NE(err.find("rank_one_sgd"), std::string::npos) << err;
}

TEST(Report, ACheckThatCannotCompleteExitsNine) {
  // The flow's output folder is taken by a file: the flow command fails, the claim is "error" (the
  // check could not be completed), the report is still written and the exit code is 9.
  const std::string dir = temp_dir("report-error");
  std::filesystem::create_directories(dir + "/report/flow_rate/gaussian_n3_d5_m4_seed1");
  std::ofstream(dir + "/report/flow_rate/gaussian_n3_d5_m4_seed1/flow") << "not a folder\n";
  std::ofstream(dir + "/config.json") << R"({"claims": ["flow_rate"]})";
  std::string out, err;
  // --overwrite: the folder holds a file zeroloss did not write (kept, so the flow's --out stays taken).
  EXPECT_EQ(run_command("cd " + dir + " && " + zeroloss_binary() + " run config.json --quick --overwrite --out report", &out,
                        &err),
            9)
      << out << err;
  EXPECT_NE(err.find("check not completed: flow_rate"), std::string::npos) << err;
  const json s = json::parse(slurp(dir + "/report/summary.json"));
  EXPECT_EQ(s["verdicts"]["flow_rate"]["status"], "error");
  std::filesystem::remove_all(dir);
}

TEST(Report, BadConfigurationIsOneClearErrorAndNoReport) {
  const std::string dir = temp_dir("report-bad");
  // Each bad configuration: exit 2 before any work (no output folder at all), one message naming
  // the file and the key.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"global_minimum": {"startz": 3}})", "unknown key 'global_minimum.startz'"},
      {R"({"problem": {"n": "three"}})", "key 'problem.n' is string, expected integer"},
      {R"({"flow_rate": {"max_flow_time": -5}})", "key 'flow_rate.max_flow_time' must be a finite number > 0 (got -5)"},
      {R"({"flow_rate": {"log_points": 0}})", "key 'flow_rate.log_points' must be an integer >= 1 (got 0)"},
      {R"({"problem": {"activation": "relu"}})", "key 'problem.activation' is not an activation"},
      {R"({"rank_one_sgd": {"lr": -0.05}})", "key 'rank_one_sgd.lr' must be a finite number > 0 (got -0.05)"},
      {R"({"rank_one_sgd": {"lr": 1e400}})", "at key 'rank_one_sgd.lr'"},
  };
  for (size_t k = 0; k < bad.size(); ++k) {
    const std::string cfg = dir + "/c" + std::to_string(k) + ".json";
    std::ofstream(cfg) << bad[k].first;
    std::string out, err;
    EXPECT_EQ(run_command(zeroloss_binary() + " run " + cfg + " --out " + dir + "/report", &out, &err), 2) << err;
    EXPECT_NE(err.find("zeroloss run: error: " + cfg + ": "), std::string::npos) << err;
    EXPECT_NE(err.find(bad[k].second), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/report")) << bad[k].first;
  }
  std::filesystem::remove_all(dir);
}

TEST(Report, PrintConfigIsTheEmbeddedDefault) {
  std::string out;
  ASSERT_EQ(run_command(zeroloss_binary() + " run --print-config", &out), 0);
  const json cfg = json::parse(out);
  EXPECT_EQ(cfg["claims"].size(), 8u);
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
  // reported missing, and the verdict table has one row per claim (each power table adds one
  // pass/fail cell per mutant).
  const std::regex fig_svg("<figure>\\s*<svg");
  const auto n_svg = std::distance(std::sregex_iterator(dom.begin(), dom.end(), fig_svg), std::sregex_iterator());
  EXPECT_EQ(n_svg, figures) << dom.substr(0, 2000);
  EXPECT_EQ(dom.find("was not produced"), std::string::npos);
  const std::regex row("<td class=\"(pass|fail|reported|error|not-applicable|inconclusive)\">");
  long cells_expected = static_cast<long>(s["verdicts"].size());
  for (const auto& [key, v] : s["verdicts"].items()) cells_expected += static_cast<long>(v["power"].size());
  EXPECT_EQ(std::distance(std::sregex_iterator(dom.begin(), dom.end(), row), std::sregex_iterator()), cells_expected);
  const std::vector<int> cells = verdict_table_cells(dom);
  ASSERT_FALSE(cells.empty());
  for (size_t r = 1; r < cells.size(); ++r) EXPECT_EQ(cells[r], cells[0]) << "row " << r;

  // Laid out at 1200 px, no Reproduce (or other) box hides text behind a horizontal scroll: a copy
  // of the page measures every <pre> in the browser and writes the count of overflowing ones.
  std::string page = slurp(dir + "/report.html");
  const std::string probe =
      "<script>document.body.setAttribute('data-overflowing', Array.from(document.querySelectorAll('pre'))"
      ".filter(p => p.scrollWidth > p.clientWidth + 1).length + '/' + document.querySelectorAll('pre').length);"
      "</script>";
  page.insert(page.rfind("</body>"), probe);
  std::ofstream(dir + "/probe.html") << page;
  ASSERT_EQ(run_command("timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                        "--disable-background-networking --disable-component-update --disable-sync --window-size=1200,2000 "
                        "--user-data-dir=" + profile + " --dump-dom file://" + dir + "/probe.html",
                        &dom, &err),
            0)
      << err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("data-overflowing=\"(\\d+)/(\\d+)\"")));
  EXPECT_EQ(m[1].str(), "0") << m[0].str();
  EXPECT_NE(m[2].str(), "0");
}

}  // namespace
