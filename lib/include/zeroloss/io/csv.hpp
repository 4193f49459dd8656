#pragma once
// Minimal, strict CSV reading and atomic file writing shared by the data and weights formats.
// Errors name the file, the line (1-based) and the column, and say what was expected.

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace zeroloss {

// A parsed CSV file: an optional header and numeric rows, each with its line number in the file.
struct CsvTable {
  std::string path;
  std::vector<std::string> header;  // empty when the file has no header row
  std::vector<std::vector<double>> rows;
  std::vector<int> line_numbers;  // line of each row in the file
};

enum class CsvHeader { Required, Optional, None };

// Reads a comma-separated file of numbers. Blank lines are skipped; every row must have as many
// cells as the first. With CsvHeader::Optional a first row that is not all numbers is the header.
// Non-numeric cells, NaN, Inf, ragged rows and empty files throw InputError.
CsvTable read_csv(const std::string& path, CsvHeader header);

// Reads the column `name` of a CSV file whose first line is a header, as numbers in row order. For
// outputs whose other columns may hold text (e.g. a scheme name): only the named column is parsed.
// An empty cell is NaN (a quantity not measured at that row); blank lines are skipped. A missing
// file or column, a row with fewer cells than the header, or a cell that is not a number throws
// InputError naming the file, the line and the column.
std::vector<double> read_csv_column(const std::string& path, const std::string& name);

// Reads a whole cell as a number: exactly the texts std::strtod reads completely (decimal numbers
// through std::from_chars, the rest through strtod). Returns false if the cell is not a number;
// infinities and NaN are returned as such (read_csv rejects them).
bool parse_double(std::string_view cell, double& out);

// Writes `contents` to `path` atomically (a temporary file <path>.tmp.<pid>.<k> in the same folder,
// then rename), so an interrupted or failed write never leaves a partial file and concurrent writers
// of one path each install a whole file. Inside a folder open as an OutputDirectory the file is
// recorded in its run manifest first (formats/output_directory.hpp). Throws InputError if it cannot write.
void write_file_atomic(const std::string& path, const std::string& contents);
// The same, streaming: `write` writes the contents to the stream of the temporary file (large files
// need not exist as one string in memory). An exception from `write` removes the temporary file and
// propagates; `path` is then left as it was.
void write_file_atomic_stream(const std::string& path, const std::function<void(std::ostream&)>& write);

// Formats a double with the fewest digits that read back to the same bits (at most %.17g).
std::string format_double(double x);
// The same text written to `buffer` (at least kFormatDoubleChars chars, not terminated); returns the
// end of the text. For writers of millions of numbers (no string per number).
constexpr int kFormatDoubleChars = 32;
char* format_double_to(char* buffer, double x);

}  // namespace zeroloss
