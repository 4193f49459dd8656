// Golden outputs (issue 13, section 6): every case of tests/golden/cases.txt runs the real program in
// a fresh folder and compares what it wrote with tests/golden/expected/<case>/, recorded by
// scripts/record-golden. SGD and data generation must give the same bytes; geometry the same numbers
// to |a - b| <= 1e-12 max(1, |b|). See tests/golden/README.md.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kGolden = std::string(ZEROLOSS_SOURCE_DIR) + "/tests/golden";

// The tolerance of geometry cases: |a - b| <= kGeometryTolerance * max(1, |b|), b the expected value.
constexpr double kGeometryTolerance = 1e-12;

enum class Kind { Exact, Sgd, Geometry };

struct GoldenCase {
  std::string name;
  Kind kind = Kind::Exact;
  std::vector<std::string> only;  // with only=: the files of out/ that are kept (else all)
  std::string args;
  int line = 0;
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.name; }

// ---------------------------------------------------------------------------------------------
// What is not compared, by name. Each entry is a file name (the last part of its path, "*" for any)
// and a JSON path whose parts are keys or array indices ("*" matches any one part).

struct Exclusion {
  const char* file;
  const char* path;
  const char* why;
};

const Exclusion kExcluded[] = {
    {".zeroloss-run.json", "/pid", "process id"},
    {".zeroloss-run.json", "/started", "wall-clock date"},
    {".zeroloss-run.json", "/finished", "wall-clock date"},
    {"checkpoint_time.json", "/elapsed_seconds", "wall-clock time"},
    {"run.json", "/data", "absolute path of the input (in the temporary folder)"},
    {"run.json", "/weights", "absolute path of the input (in the temporary folder)"},
    // zeroloss sgd (per seed and for an ensemble)
    {"summary.json", "/performance/elapsed_seconds_total", "wall-clock time"},
    {"summary.json", "/performance/logging_seconds", "wall-clock time"},
    {"summary.json", "/performance/wall_seconds_this_process", "wall-clock time"},
    {"summary.json", "/performance/steps_per_second", "speed"},
    {"summary.json", "/performance/steps_per_second_all_threads", "speed"},
    {"summary.json", "/per_seed/*/steps_per_second", "speed"},
    // zeroloss flow
    {"summary.json", "/wall_seconds", "wall-clock time"},
    // zeroloss convexity
    {"summary.json", "/seconds", "wall-clock time"},
    {"summary.json", "/trajectories/*/seconds", "wall-clock time"},
    // zeroloss compare
    {"summary.json", "/flow/seconds", "wall-clock time"},
    {"summary.json", "/sgd/seconds", "wall-clock time"},
    // zeroloss run
    {"summary.json", "/environment", "timings, host, compiler, versions, gnuplot"},
    {"summary.json", "/verdicts/*/seconds", "wall-clock time"},
    {"summary.json", "/verdicts/rank_one_sgd/numbers/steps_per_second", "speed"},
};

// Parts of text fields replaced by "<masked>" in both values before they are compared.
struct Mask {
  const char* file;
  const char* path;
  const char* pattern;
  const char* why;
};

const Mask kMasked[] = {
    {"summary.json", "/verdicts/rank_one_sgd/evidence", "Speed [^ ]+ steps/s", "speed"},
    // The residual in the text is rounding-level (1e-16 to 1e-15): the numeric keys carry it and are
    // compared with the geometry tolerance; the rest of the sentence is compared exactly.
    {"stdout.json", "/hessian_spectrum/certificate", "residual [-+.0-9e]+", "rounding-level residual"},
};

// In sgd cases the key "instruction_set" (summary.json, per seed and per ensemble) names the kernel
// that ran: it must be the one asked for, while everything else must equal the recording (made with
// baseline).
const char* const kInstructionSetKey = "instruction_set";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!s.empty() && s.back() == sep) parts.emplace_back();
  return parts;
}

bool path_matches(const std::string& pattern, const std::vector<std::string>& path) {
  const std::vector<std::string> want = split(pattern.substr(1), '/');
  if (want.size() != path.size()) return false;
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] != "*" && want[i] != path[i]) return false;
  return true;
}

bool file_matches(const char* pattern, const std::string& file) {
  return std::string(pattern) == "*" || fs::path(file).filename().string() == pattern;
}

std::string join_path(const std::vector<std::string>& path) {
  std::string s;
  for (const auto& p : path) s += "/" + p;
  return s.empty() ? "/" : s;
}

std::string number_text(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// The case list.

std::vector<GoldenCase> load_cases(std::string* error) {
  std::vector<GoldenCase> cases;
  std::ifstream in(kGolden + "/cases.txt");
  if (!in) {
    *error = kGolden + "/cases.txt: cannot be read";
    return cases;
  }
  const std::regex name_re("[a-z0-9_]+");
  const std::regex args_re("[A-Za-z0-9 ._,:/=+-]+");
  std::string line;
  int number = 0;
  std::set<std::string> names;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream words(line);
    GoldenCase c;
    std::string kind;
    words >> c.name >> kind;
    c.line = number;
    const std::string where = "cases.txt:" + std::to_string(number) + ": ";
    if (!std::regex_match(c.name, name_re)) *error += where + "bad case name '" + c.name + "'\n";
    if (!names.insert(c.name).second) *error += where + "case '" + c.name + "' appears twice\n";
    if (kind == "exact")
      c.kind = Kind::Exact;
    else if (kind == "sgd")
      c.kind = Kind::Sgd;
    else if (kind == "geometry")
      c.kind = Kind::Geometry;
    else
      *error += where + "unknown kind '" + kind + "'\n";
    std::string rest;
    std::getline(words, rest);
    rest.erase(0, rest.find_first_not_of(' '));
    if (rest.rfind("only=", 0) == 0) {
      const auto space = rest.find(' ');
      c.only = split(rest.substr(5, space - 5), ',');
      rest = space == std::string::npos ? "" : rest.substr(space + 1);
    }
    while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.pop_back();
    c.args = rest;
    if (!std::regex_match(c.args, args_re))
      *error += where + "the arguments may contain only letters, digits, spaces and ._,:/=+-\n";
    cases.push_back(c);
  }
  return cases;
}

std::vector<GoldenCase> cases_or_empty() {
  std::string error;
  return load_cases(&error);
}

// ---------------------------------------------------------------------------------------------
// Comparisons. Each appends one line per difference to `diffs` (the caller prints them).

struct Diffs {
  std::vector<std::string> lines;
  size_t limit = 20;  // per file; the count of the rest is reported
  size_t dropped = 0;
  void add(const std::string& line) {
    if (lines.size() < limit)
      lines.push_back(line);
    else
      ++dropped;
  }
};

bool numbers_agree(double expected, double actual, Kind kind) {
  if (std::isnan(expected) || std::isnan(actual)) return std::isnan(expected) && std::isnan(actual);
  if (kind != Kind::Geometry) return expected == actual && std::signbit(expected) == std::signbit(actual);
  if (std::isinf(expected) || std::isinf(actual)) return expected == actual;
  return std::abs(actual - expected) <= kGeometryTolerance * std::max(1.0, std::abs(expected));
}

std::string number_diff(double expected, double actual) {
  return "expected " + number_text(expected) + ", got " + number_text(actual) + " (difference " +
         number_text(actual - expected) + ")";
}

std::vector<std::string> csv_cells(const std::string& line) {
  // Cells are numbers, words, or "quoted text" without commas inside (what zeroloss writes).
  return split(line, ',');
}

void compare_csv(const std::string& file, const std::string& expected, const std::string& actual, Kind kind,
                 Diffs* diffs) {
  if (kind != Kind::Geometry && expected == actual) return;
  const size_t before = diffs->lines.size() + diffs->dropped;
  const std::vector<std::string> e_lines = split(expected, '\n');
  const std::vector<std::string> a_lines = split(actual, '\n');
  if (e_lines.size() != a_lines.size())
    diffs->add(file + ": " + std::to_string(e_lines.size()) + " lines expected, " + std::to_string(a_lines.size()) +
               " written");
  const std::vector<std::string> header = e_lines.empty() ? std::vector<std::string>{} : csv_cells(e_lines[0]);
  for (size_t i = 0; i < std::min(e_lines.size(), a_lines.size()); ++i) {
    if (e_lines[i] == a_lines[i]) continue;
    const std::vector<std::string> e = csv_cells(e_lines[i]);
    const std::vector<std::string> a = csv_cells(a_lines[i]);
    const std::string row = file + ": line " + std::to_string(i + 1) + (i == 0 ? " (header)" : "");
    if (e.size() != a.size()) {
      diffs->add(row + ": " + std::to_string(e.size()) + " cells expected, " + std::to_string(a.size()) +
                 " written: expected '" + e_lines[i] + "', got '" + a_lines[i] + "'");
      continue;
    }
    for (size_t k = 0; k < e.size(); ++k) {
      if (e[k] == a[k]) continue;
      const std::string column = k < header.size() && i > 0 ? "column '" + header[k] + "'" : "column " + std::to_string(k + 1);
      double x = 0, y = 0;
      const bool numeric = i > 0 && zeroloss::parse_double(e[k], x) && zeroloss::parse_double(a[k], y);
      if (kind == Kind::Geometry && numeric) {
        if (!numbers_agree(x, y, kind))
          diffs->add(row + ", " + column + ": " + number_diff(x, y) + ", beyond the tolerance 1e-12 max(1, |expected|)");
      } else {
        diffs->add(row + ", " + column + ": expected '" + e[k] + "', got '" + a[k] + "'" +
                   (kind == Kind::Geometry ? "" : " (byte for byte)"));
      }
    }
  }
  if (kind != Kind::Geometry && diffs->lines.size() + diffs->dropped == before)
    diffs->add(file + ": differs from the recording byte for byte (line endings or a trailing newline)");
}

const char* json_type(const json& j) {
  if (j.is_number_integer() || j.is_number_unsigned()) return "integer";
  if (j.is_number_float()) return "floating-point number";
  return j.type_name();
}

struct JsonComparison {
  std::string file;
  Kind kind;
  std::string instruction_set;  // sgd cases: the kernel asked for
  Diffs* diffs;

  bool excluded(const std::vector<std::string>& path) const {
    for (const auto& e : kExcluded)
      if (file_matches(e.file, file) && path_matches(e.path, path)) return true;
    return false;
  }

  std::string masked(const std::vector<std::string>& path, std::string text) const {
    for (const auto& m : kMasked)
      if (file_matches(m.file, file) && path_matches(m.path, path))
        text = std::regex_replace(text, std::regex(m.pattern), "<masked>");
    return text;
  }

  void compare(const json& e, const json& a, std::vector<std::string>& path) const {
    if (excluded(path)) return;
    const std::string where = file + ": " + join_path(path);
    if (kind == Kind::Sgd && !path.empty() && path.back() == kInstructionSetKey && e.is_string()) {
      if (a != json(instruction_set))
        diffs->add(where + ": expected \"" + instruction_set + "\" (the kernel asked for), got " + a.dump());
      return;
    }
    if (e.is_object() && a.is_object()) {
      for (auto it = e.begin(); it != e.end(); ++it) {
        path.push_back(it.key());
        if (!a.contains(it.key())) {
          if (!excluded(path)) diffs->add(file + ": " + join_path(path) + ": missing (expected " + it->dump() + ")");
        } else {
          compare(*it, a.at(it.key()), path);
        }
        path.pop_back();
      }
      for (auto it = a.begin(); it != a.end(); ++it) {
        path.push_back(it.key());
        if (!e.contains(it.key()) && !excluded(path))
          diffs->add(file + ": " + join_path(path) + ": not in the recording (got " + it->dump() + ")");
        path.pop_back();
      }
      return;
    }
    if (e.is_array() && a.is_array()) {
      if (e.size() != a.size())
        diffs->add(where + ": " + std::to_string(e.size()) + " elements expected, " + std::to_string(a.size()) +
                   " written");
      for (size_t i = 0; i < std::min(e.size(), a.size()); ++i) {
        path.push_back(std::to_string(i));
        compare(e[i], a[i], path);
        path.pop_back();
      }
      return;
    }
    if (e.is_number() && a.is_number()) {
      const bool e_int = !e.is_number_float(), a_int = !a.is_number_float();
      if (e_int != a_int) {
        diffs->add(where + ": expected " + e.dump() + " (" + json_type(e) + "), got " + a.dump() + " (" + json_type(a) + ")");
      } else if (e_int) {
        if (e != a) diffs->add(where + ": expected " + e.dump() + ", got " + a.dump());
      } else if (!numbers_agree(e.get<double>(), a.get<double>(), kind)) {
        diffs->add(where + ": " + number_diff(e.get<double>(), a.get<double>()) +
                   (kind == Kind::Geometry ? ", beyond the tolerance 1e-12 max(1, |expected|)" : " (exact)"));
      }
      return;
    }
    if (e.is_string() && a.is_string()) {
      if (masked(path, e.get<std::string>()) != masked(path, a.get<std::string>()))
        diffs->add(where + ": expected " + e.dump() + ", got " + a.dump());
      return;
    }
    if (e != a) diffs->add(where + ": expected " + e.dump() + ", got " + a.dump());
  }
};

void compare_json(const std::string& file, const std::string& expected, const std::string& actual, Kind kind,
                  const std::string& instruction_set, Diffs* diffs) {
  json e, a;
  try {
    e = json::parse(expected);
  } catch (const std::exception& ex) {
    diffs->add(file + ": the recording is not JSON: " + ex.what());
    return;
  }
  try {
    a = json::parse(actual);
  } catch (const std::exception& ex) {
    diffs->add(file + ": the output is not JSON: " + ex.what());
    return;
  }
  std::vector<std::string> path;
  JsonComparison{file, kind, instruction_set, diffs}.compare(e, a, path);
}

void compare_file(const std::string& file, const std::string& expected, const std::string& actual, Kind kind,
                  const std::string& instruction_set, Diffs* diffs) {
  const std::string ext = fs::path(file).extension().string();
  if (ext == ".json")
    compare_json(file, expected, actual, kind, instruction_set, diffs);
  else if (ext == ".csv")
    compare_csv(file, expected, actual, kind, diffs);
  else if (expected != actual)
    diffs->add(file + ": differs from the recording (byte for byte)");
}

// Regular files under `dir`, as paths relative to it.
std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.insert(fs::relative(e.path(), dir).generic_string());
  return files;
}

// ---------------------------------------------------------------------------------------------

class GoldenCaseTest : public zeroloss::test::FolderTest, public testing::WithParamInterface<GoldenCase> {
 protected:
  GoldenCaseTest() : FolderTest("golden-") {}

  // Runs the case in DIR/<label>/ (a copy of inputs/ and an empty out/) and compares its outputs
  // with expected/<case>/. `instruction_set` is appended as --instruction-set for sgd cases.
  void run_and_compare(const GoldenCase& c, const std::string& label, const std::string& instruction_set) {
    SCOPED_TRACE(c.name + (instruction_set.empty() ? "" : " (--instruction-set " + instruction_set + ")"));
    const fs::path work = fs::path(dir_) / label;
    fs::create_directories(work / "out");
    fs::copy(kGolden + "/inputs", work, fs::copy_options::recursive);
    const std::string extra = instruction_set.empty() ? "" : " --instruction-set " + instruction_set;
    zeroloss::test::RunResult r;
    r.code = zeroloss::test::run_command("cd '" + work.string() + "' && ZEROLOSS_GNUPLOT=none '" +
                                             zeroloss::test::zeroloss_binary() + "' " + c.args + extra,
                                         &r.out, &r.err);
    ASSERT_EQ(r.code, 0) << "zeroloss " << c.args << extra << "\nstderr:\n" << r.err;

    const fs::path expected_dir = fs::path(kGolden) / "expected" / c.name;
    ASSERT_TRUE(fs::is_directory(expected_dir))
        << expected_dir << " does not exist: record the case with scripts/record-golden " << c.name;
    const bool json_stdout = (" " + c.args + " ").find(" --json ") != std::string::npos;

    // The files: every recorded one must be written again; without only=, nothing else may be.
    std::set<std::string> expected_files = files_under(expected_dir);
    std::set<std::string> actual_files;
    if (c.only.empty()) {
      actual_files = files_under(work / "out");
      actual_files.erase(".zeroloss-run.lock");
    } else {
      for (const auto& f : c.only)
        if (fs::exists(work / "out" / f)) actual_files.insert(f);
    }
    if (json_stdout) actual_files.insert("stdout.json");
    for (const auto& f : expected_files)
      EXPECT_TRUE(actual_files.count(f)) << c.name << ": " << f << " was recorded but not written this time";
    for (const auto& f : actual_files)
      EXPECT_TRUE(expected_files.count(f)) << c.name << ": " << f
                                           << " was written but is not in the recording (re-record if intended)";

    for (const auto& f : expected_files) {
      if (!actual_files.count(f)) continue;
      const std::string expected = zeroloss::test::slurp((expected_dir / f).string());
      const std::string actual = f == "stdout.json" && json_stdout ? r.out : zeroloss::test::slurp((work / "out" / f).string());
      Diffs diffs;
      compare_file(f, expected, actual, c.kind, instruction_set, &diffs);
      std::ostringstream message;
      for (const auto& line : diffs.lines) message << "  " << line << "\n";
      if (diffs.dropped) message << "  ... and " << diffs.dropped << " more differences\n";
      EXPECT_TRUE(diffs.lines.empty()) << c.name << ": " << f << " differs from tests/golden/expected/" << c.name
                                       << "/" << f << ":\n"
                                       << message.str();
    }
  }
};

TEST_P(GoldenCaseTest, MatchesTheRecording) {
  const GoldenCase& c = GetParam();
  if (c.kind != Kind::Sgd) {
    run_and_compare(c, "run", "");
    return;
  }
  // The same expected files for both kernels: the bits must not depend on the dispatch.
  run_and_compare(c, "baseline", "baseline");
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) {
    run_and_compare(c, "avx2", "avx2");
  } else {
    std::cout << "[   NOTE   ] " << c.name << ": this processor has no AVX2; only the baseline kernel was compared\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, GoldenCaseTest, testing::ValuesIn(cases_or_empty()),
                         [](const testing::TestParamInfo<GoldenCase>& info) { return info.param.name; });

// The list itself: it parses, every case has a recording and every recording a case, and the cases
// that issue 13 section 6 asks for are there (a case cannot disappear silently).
TEST(GoldenCases, ListIsCompleteAndMatchesTheRecordings) {
  std::string error;
  const std::vector<GoldenCase> cases = load_cases(&error);
  ASSERT_EQ(error, "");
  std::set<std::string> names;
  for (const auto& c : cases) names.insert(c.name);
  std::set<std::string> recorded;
  for (const auto& e : fs::directory_iterator(kGolden + "/expected"))
    if (e.is_directory()) recorded.insert(e.path().filename().string());
  for (const auto& n : names) EXPECT_TRUE(recorded.count(n)) << n << ": no expected/" << n << " (scripts/record-golden " << n << ")";
  for (const auto& n : recorded) EXPECT_TRUE(names.count(n)) << "expected/" << n << " has no case in cases.txt";

  const char* const required[] = {
      "sgd_preactivations_b1", "sgd_weights_b1",   "sgd_preactivations_b2_rademacher", "sgd_weights_b2_rademacher",
      "flow_rkf78",            "inspect_off_manifold", "inspect_on_manifold",          "optimum_closed_form",
      "project_newton",        "project_nearest",  "project_gradient_flow",            "project_ceres",
      "convexity",             "compare",          "report_quick",
  };
  for (const char* n : required) EXPECT_TRUE(names.count(n)) << "the case " << n << " is required (issue 13, section 6)";
  for (const auto& c : cases) {
    if (c.name.rfind("sgd_", 0) == 0) {
      EXPECT_TRUE(c.kind == Kind::Sgd) << c.name << ": SGD cases are compared bit for bit under both kernels (kind sgd)";
    }
  }
}

// The comparison helpers themselves: they see a change in the last digit (exact) or beyond 1e-12
// (geometry), say where it is, and let the named exclusions through.
TEST(GoldenCases, ComparisonsFindAndLocateDifferences) {
  Diffs d1;
  compare_csv("t.csv", "a,b\n1,0.1\n", "a,b\n1,0.10000000000000002\n", Kind::Exact, &d1);
  ASSERT_EQ(d1.lines.size(), 1u);
  EXPECT_NE(d1.lines[0].find("t.csv: line 2, column 'b': expected '0.1', got '0.10000000000000002'"), std::string::npos)
      << d1.lines[0];

  Diffs d2;
  compare_csv("t.csv", "a,b\n1,2.5\n", "a,b\n1,2.5000000000001\n", Kind::Geometry, &d2);
  EXPECT_TRUE(d2.lines.empty());
  compare_csv("t.csv", "a,b\n1,2.5\n", "a,b\n1,2.5000000001\n", Kind::Geometry, &d2);
  ASSERT_EQ(d2.lines.size(), 1u);
  EXPECT_NE(d2.lines[0].find("column 'b': expected 2.5, got 2.5000000001"), std::string::npos) << d2.lines[0];

  Diffs d3;
  compare_json("summary.json", R"({"final": {"loss": 1e-30, "T": [1.0, 2.0]}, "wall_seconds": 1.0, "s": "x"})",
               R"({"final": {"loss": 2e-30, "T": [1.0, 2.0000001]}, "wall_seconds": 7.0, "s": "y"})", Kind::Geometry, "",
               &d3);
  ASSERT_EQ(d3.lines.size(), 2u);
  EXPECT_NE(d3.lines[0].find("summary.json: /final/T/1: expected 2, got 2.0000000999999998"), std::string::npos)
      << d3.lines[0];
  EXPECT_NE(d3.lines[1].find("summary.json: /s: expected \"x\", got \"y\""), std::string::npos) << d3.lines[1];

  Diffs d4;
  compare_json("summary.json", R"({"instruction_set": "baseline", "steps": 3, "x": 0.5})",
               R"({"instruction_set": "avx2", "steps": 3.0, "x": 0.5000000000000001})", Kind::Sgd, "avx2", &d4);
  ASSERT_EQ(d4.lines.size(), 2u);
  EXPECT_NE(d4.lines[0].find("/steps: expected 3 (integer), got 3.0 (floating-point number)"), std::string::npos)
      << d4.lines[0];
  EXPECT_NE(d4.lines[1].find("/x: expected 0.5, got 0.50000000000000011"), std::string::npos) << d4.lines[1];
}

}  // namespace
