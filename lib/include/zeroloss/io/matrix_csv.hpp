#pragma once
// Large matrices as CSV files, streamed: the m x p weight block and the d x p basis of reduced
// weights (formats/reduced_weights.hpp) and the weight block of `zeroloss sgd` checkpoints (10^6 numbers at
// m = 10^4, p = 100). Written atomically (temporary file + rename, io/csv.hpp) without building the
// text in memory, in the shortest round-trip form of format_double; read straight into an Eigen
// matrix (no per-row vectors), so a round trip keeps every bit.
//
// Form: a header row <prefix>1,...,<prefix>cols, optionally followed by one more named column
// (e.g. "a", the second-layer weights), then one row per matrix row. Blank lines and Windows line
// endings are accepted on reading, as in every CSV of the toolkit (docs/formats.md).

#include <Eigen/Dense>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace zeroloss {

// FNV-1a 64-bit hash of bytes (continue a running hash by passing it as `hash`).
constexpr std::uint64_t kFnv1aOffset = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a64(const char* data, std::size_t size, std::uint64_t hash = kFnv1aOffset);
// FNV-1a 64 of a file's bytes. Throws InputError if the file cannot be read.
std::uint64_t file_checksum(const std::string& path);

// Streams a CSV atomically: the `header` line, then `rows` lines of `cols` numbers value(r, k) in
// the shortest round-trip form (non-finite values as "nan", "inf", "-inf"). Returns the FNV-1a 64
// hash of the bytes written. The text is formatted into a small buffer: no string per number and
// no text of the whole file in memory.
std::uint64_t write_numbers_csv(const std::string& path, const std::string& header, Eigen::Index rows,
                                Eigen::Index cols, const std::function<double(Eigen::Index, Eigen::Index)>& value);

// Writes M with header <prefix>1..<prefix>cols (and `last_name` with the entries of `last`, one per
// row, when `last` is given) atomically. Returns the FNV-1a 64 hash of the bytes written (equal to
// file_checksum of the file). Throws InputError on non-finite values, mismatched sizes or a file
// that cannot be written.
std::uint64_t write_matrix_csv(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& M,
                               const std::string& prefix, const Eigen::VectorXd* last = nullptr,
                               const std::string& last_name = "a");

struct MatrixCsv {
  Eigen::MatrixXd values;               // rows x cols
  std::optional<Eigen::VectorXd> last;  // the named extra column, when the file has it
};

// Reads a file of the form above with exactly `rows` data rows and `cols` columns named
// <prefix>1..<prefix>cols, plus the column `last_name` if the header has it (pass "" for none).
// Throws InputError naming the file (and line and column where there is one) and what was expected
// for: a missing file, a different header, a row with another number of cells, a cell that is not a
// finite number, and fewer rows than `rows` (a truncated file) or more.
MatrixCsv read_matrix_csv(const std::string& path, const std::string& prefix, Eigen::Index cols, Eigen::Index rows,
                          const std::string& last_name = "");

}  // namespace zeroloss
