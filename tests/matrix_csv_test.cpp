// Streamed matrix CSV files (io/matrix_csv.hpp) and the number parsing of io/csv.hpp: round trips keep
// every bit, the checksum returned by the writer is that of the file, and a truncated, reshaped or
// altered file is rejected with an InputError naming the file and what was expected.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/matrix_csv.hpp"

namespace {

using zeroloss::test::slurp;

using namespace zeroloss;
namespace fs = std::filesystem;

void spit(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Entries spread over many orders of magnitude, both signs, some exact zeros and integers.
Eigen::MatrixXd awkward_matrix(int rows, int cols, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  Eigen::MatrixXd M(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) M(r, c) = g(rng) * std::pow(10.0, 40.0 * g(rng));
  M(0, 0) = 0.0;
  M(rows - 1, cols - 1) = -3.0;
  M(rows / 2, 0) = 5e-324;  // the smallest subnormal
  return M;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(MatrixCsv, RoundTripKeepsEveryBitAndTheChecksumIsTheFiles) {
  const std::string dir = test::temp_dir("matrix-csv");
  const Eigen::MatrixXd M = awkward_matrix(37, 5, 1);
  const Eigen::VectorXd a = Eigen::VectorXd::LinSpaced(37, -2.0, 3.0);
  const std::string path = dir + "/m.csv";
  const std::uint64_t sum = write_matrix_csv(path, M, "b", &a, "a");
  EXPECT_EQ(sum, file_checksum(path));
  EXPECT_EQ(sum, fnv1a64(slurp(path).data(), slurp(path).size()));
  EXPECT_EQ(slurp(path).substr(0, 16), "b1,b2,b3,b4,b5,a");
  const MatrixCsv r = read_matrix_csv(path, "b", 5, 37, "a");
  EXPECT_TRUE((r.values.array() == M.array()).all());
  ASSERT_TRUE(r.last.has_value());
  EXPECT_TRUE((r.last->array() == a.array()).all());
  // Without the extra column; the writer's buffer is flushed many times (10^4 numbers).
  const Eigen::MatrixXd big = awkward_matrix(2000, 5, 2);
  write_matrix_csv(path, big, "u");
  const MatrixCsv rb = read_matrix_csv(path, "u", 5, 2000, "a");
  EXPECT_TRUE((rb.values.array() == big.array()).all());
  EXPECT_FALSE(rb.last.has_value());
  // The same text as format_double, number by number.
  std::string line;
  std::istringstream text(slurp(path));
  std::getline(text, line);
  std::getline(text, line);
  EXPECT_EQ(line.substr(0, line.find(',')), format_double(big(0, 0)));
}

TEST(MatrixCsv, TruncatedReshapedOrAlteredFilesAreRejectedByName) {
  const std::string dir = test::temp_dir("matrix-csv-bad");
  const Eigen::MatrixXd M = awkward_matrix(6, 3, 3);
  const std::string path = dir + "/m.csv";
  write_matrix_csv(path, M, "b");
  const std::string good = slurp(path);
  // Cut in the middle of the last row (after its first number): that row has too few cells.
  const std::size_t last_row = good.rfind('\n', good.size() - 2) + 1;
  spit(path, good.substr(0, good.find(',', last_row)));
  std::string msg = error_of([&] { read_matrix_csv(path, "b", 3, 6); });
  EXPECT_NE(msg.find(path + ":7: 1 cells, expected 3"), std::string::npos) << msg;
  // Cut at a line end: rows are missing.
  spit(path, good.substr(0, good.rfind('\n', good.size() - 2) + 1));
  msg = error_of([&] { read_matrix_csv(path, "b", 3, 6); });
  EXPECT_NE(msg.find(path + ": 5 rows, expected 6"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // Other shapes than expected.
  spit(path, good);
  msg = error_of([&] { read_matrix_csv(path, "b", 4, 6); });
  EXPECT_NE(msg.find(path + ":1: header 'b1,b2,b3'; expected the header b1,b2,b3,b4"), std::string::npos) << msg;
  msg = error_of([&] { read_matrix_csv(path, "b", 3, 5); });
  EXPECT_NE(msg.find("more than the expected 5 rows"), std::string::npos) << msg;
  // A number replaced by text or a non-finite value.
  std::string bad = good;
  bad.replace(bad.find('\n') + 1, 1, "x");
  spit(path, bad);
  msg = error_of([&] { read_matrix_csv(path, "b", 3, 6); });
  EXPECT_NE(msg.find(path + ":2: column 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a finite number"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { read_matrix_csv(dir + "/none.csv", "b", 3, 6); }).find("cannot open"), std::string::npos);
  spit(path, "");
  EXPECT_NE(error_of([&] { read_matrix_csv(path, "b", 3, 6); }).find("empty file"), std::string::npos);
  // The writer refuses non-finite numbers and leaves no file.
  Eigen::MatrixXd nan = M;
  nan(2, 1) = std::nan("");
  EXPECT_THROW(write_matrix_csv(dir + "/nan.csv", nan, "b"), InputError);
  EXPECT_FALSE(fs::exists(dir + "/nan.csv"));
  EXPECT_FALSE(fs::exists(dir + "/nan.csv.tmp"));
}

TEST(MatrixCsv, StreamedAtomicWriteLeavesTheOldFileWhenTheWriterFails) {
  const std::string dir = test::temp_dir("matrix-csv-atomic");
  const std::string path = dir + "/f.txt";
  write_file_atomic(path, "old\n");
  EXPECT_THROW(write_file_atomic_stream(path,
                                        [](std::ostream& out) {
                                          out << "half of the new";
                                          throw InputError("writer failed");
                                        }),
               InputError);
  EXPECT_EQ(slurp(path), "old\n");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

// parse_double reads exactly what strtod reads completely, to the same bits (the fast path through
// std::from_chars must not change the accepted set or the values).
TEST(ParseDouble, AgreesWithStrtod) {
  const char* cells[] = {"0",       "-0",         "1",        "+1",      "-2.5",    "1e-3",     "1E+300", "0x1p-3",
                         "1e-400",  "4.9e-324",   "1e999",    "-1e999",  "inf",     "nan",      ".5",     "5.",
                         "1e",      "",           "-",        "+-1",     "1.5.2",   "abc",      "1,2",    "0.1",
                         "3.14159265358979323846264338327950288", "123456789012345678901234567890", "2.2250738585072011e-308"};
  for (const char* c : cells) {
    char* end = nullptr;
    const double expected = std::strtod(c, &end);
    const bool strtod_reads = *c != '\0' && *end == '\0';
    double v = 12345;
    const bool ok = parse_double(c, v);
    EXPECT_EQ(ok, strtod_reads) << "'" << c << "'";
    if (ok && strtod_reads && !std::isnan(expected)) {
      EXPECT_EQ(std::memcmp(&v, &expected, sizeof v), 0) << "'" << c << "': " << v << " vs " << expected;
    }
  }
  // Random doubles printed in the shortest form read back to the same bits.
  std::mt19937_64 rng(4);
  for (int k = 0; k < 20000; ++k) {
    std::uint64_t bits = rng();
    double x;
    std::memcpy(&x, &bits, sizeof x);
    if (!std::isfinite(x)) continue;
    double y = 0;
    ASSERT_TRUE(parse_double(format_double(x), y)) << format_double(x);
    ASSERT_EQ(std::memcmp(&x, &y, sizeof x), 0) << format_double(x);
  }
}

}  // namespace
