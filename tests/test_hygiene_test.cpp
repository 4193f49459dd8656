// The suite cleans up after itself: tests that make temp_dir folders, run in a subprocess with
// TMPDIR pointing at a fresh folder, leave that folder empty; ZEROLOSS_KEEP_TEST_DIRS=1 keeps them.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace fs = std::filesystem;
using zeroloss::test::run_command;
using zeroloss::test::temp_dir;

namespace {

// Tests that make temp_dir folders (and, through CLI tests, run_command files), quick to run.
const char* const kSubset =
    "CsvInput.DataRoundTripKeepsEveryBit:CsvInput.WeightsRoundTripAndOptionalHeader:"
    "MatrixCsv.RoundTripKeepsEveryBitAndTheChecksumIsTheFiles:ReducedWeights.RoundTripIsBitExact:"
    "SvgPlot.WithoutGnuplotWritesTheScriptAndSaysSo";

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

// Runs kSubset of this test program with TMPDIR = `tmp`; returns what is left in `tmp`.
std::vector<std::string> run_subset(const fs::path& tmp, const std::string& keep) {
  fs::create_directories(tmp);
  std::string out, err;
  const int rc = run_command("env -u GTEST_OUTPUT TMPDIR=" + tmp.string() + " ZEROLOSS_KEEP_TEST_DIRS=" + keep + " " +
                                 fs::read_symlink("/proc/self/exe").string() + " --gtest_filter='" + kSubset + "'",
                             &out, &err);
  EXPECT_EQ(rc, 0) << out << err;
  EXPECT_NE(out.find("[  PASSED  ] 5 tests"), std::string::npos) << out;
  return entries(tmp);
}

}  // namespace

TEST(TestHygiene, TestsRemoveTheirTempDirsUnlessAskedToKeepThem) {
  const fs::path dir = temp_dir("hygiene");
  EXPECT_EQ(run_subset(dir / "clean", "0"), std::vector<std::string>{});
  // The same tests do make folders: kept on request, named zeroloss-test-*.
  const std::vector<std::string> kept = run_subset(dir / "kept", "1");
  EXPECT_GE(kept.size(), 3u);
  for (const auto& name : kept) EXPECT_EQ(name.rfind("zeroloss-test-", 0), 0u) << name;
}
