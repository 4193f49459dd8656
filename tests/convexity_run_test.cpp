// The run of `zeroloss convexity` called as a library (runs/convexity_run.hpp): the checks on its
// files, and its summary against the files it wrote.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/runs/convexity_run.hpp"

namespace zeroloss {
namespace {

using test::slurp;
using test::temp_dir;
const std::string kInputs = std::string(ZEROLOSS_SOURCE_DIR) + "/tests/golden/inputs";

// A seconds-scale setting at main_on_M.csv (on M), no search.
ConvexityRunOptions small_run(const std::string& out) {
  ConvexityRunOptions o;
  o.problem.data = kInputs + "/main_data.csv";
  o.problem.weights = kInputs + "/main_on_M.csv";
  o.settings.quick = true;
  o.settings.random_points = 4;
  o.settings.geodesic_points = 4;
  o.settings.directions = 1;
  o.settings.profile_points = 5;
  o.settings.search = false;
  o.settings.figures = false;
  o.out = out;
  return o;
}

// The weights of main_on_M.csv with the second layer's last entry changed to `a`.
std::string other_second_layer(const std::string& dir, const std::string& a) {
  std::string text = slurp(kInputs + "/main_on_M.csv");
  const std::size_t end = text.find_last_not_of('\n');
  const std::size_t comma = text.rfind(',', end);
  text = text.substr(0, comma + 1) + a + "\n";
  const std::string path = dir + "/other_a.csv";
  write_file_atomic(path, text);
  return path;
}

TEST(ConvexityRun, TheSummaryListsWhatWasWritten) {
  const std::string dir = temp_dir("convexity-run");
  const ConvexityRunOptions o = small_run(dir + "/out");
  std::vector<std::string> stages;
  const ConvexityRunSummary S = run_convexity(o, [&](const std::string& s) { stages.push_back(s); });
  EXPECT_FALSE(stages.empty());
  EXPECT_NE(S.problem.find("n = 3, d = 5, m = 4"), std::string::npos) << S.problem;
  ASSERT_TRUE(S.result.point);
  EXPECT_EQ(S.options.sampling.random_points, 4);
  EXPECT_FALSE(S.options.run_search);
  EXPECT_TRUE(S.result.search.empty());
  const nlohmann::json summary = nlohmann::json::parse(slurp(o.out + "/summary.json"));
  EXPECT_EQ(summary.at("figures"), nlohmann::json(S.figures));
  EXPECT_EQ(summary.at("figure_notes"), nlohmann::json(S.figure_notes));
  EXPECT_NE(std::find(S.files.begin(), S.files.end(), o.out + "/summary.json"), S.files.end());
  for (const std::string& f : S.files) EXPECT_FALSE(slurp(f).empty()) << f;
}

TEST(ConvexityRun, RefusesWeightsOfAnotherNetwork) {
  const std::string dir = temp_dir("convexity-run-a");
  ConvexityRunOptions o = small_run(dir + "/out");
  o.anchor = other_second_layer(dir, "-1");
  try {
    run_convexity(o);
    FAIL() << "another second layer was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("other_a.csv: its column 'a' differs from the network's second layer"),
              std::string::npos)
        << e.what();
  }
  // The same second layer written out again is accepted (as the anchor: the point itself).
  o.anchor = other_second_layer(dir, "1");
  o.out = dir + "/out2";
  EXPECT_NO_THROW(run_convexity(o));
}

}  // namespace
}  // namespace zeroloss
