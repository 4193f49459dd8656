#include "zeroloss/io/csv.hpp"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <limits>
#include <string_view>
#include <system_error>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/support/printable_text.hpp"

namespace zeroloss {
namespace {

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// The comma-separated cells of a line, trimmed: k commas give k + 1 cells ("a,b," has three).
void split(std::string_view line, std::vector<std::string_view>& cells) {
  cells.clear();
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      cells.push_back(trim(line.substr(start)));
      return;
    }
    cells.push_back(trim(line.substr(start, comma - start)));
    start = comma + 1;
  }
}

}  // namespace

bool parse_double(std::string_view s, double& out) {
  if (s.empty()) return false;
  // Fast path: std::from_chars reads plain decimal numbers, correctly rounded like strtod.
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return true;
  // Everything else strtod reads (a leading '+', hexadecimal, out-of-range values that strtod
  // rounds to 0 or infinity) goes through strtod itself, so the accepted set is exactly strtod's.
  const std::string copy(s);
  char* end = nullptr;
  out = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

CsvTable read_csv(const std::string& path, CsvHeader header) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file for reading");
  CsvTable t;
  t.path = path;
  std::string line;
  std::vector<std::string_view> cells;
  int lineno = 0;
  size_t width = 0;
  bool first = true;
  auto column = [&](size_t k) {
    return t.header.empty() ? "column " + std::to_string(k + 1)
                            : "column " + std::to_string(k + 1) + " ('" + printable_text(t.header[k]) + "')";
  };
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    split(line, cells);
    if (first) {
      first = false;
      width = cells.size();
      bool numeric = true;
      double v;
      for (const auto& c : cells) numeric = numeric && parse_double(c, v);
      if (header == CsvHeader::Required || (header == CsvHeader::Optional && !numeric)) {
        for (size_t k = 0; k < cells.size(); ++k)
          if (cells[k].empty())
            throw InputError(path + ":" + std::to_string(lineno) + ": header column " + std::to_string(k + 1) +
                             " has an empty name");
        t.header.assign(cells.begin(), cells.end());
        continue;
      }
    }
    if (cells.size() != width) {
      throw InputError(path + ":" + std::to_string(lineno) + ": " + std::to_string(cells.size()) + " cells, expected " +
                       std::to_string(width) + " (as in the first row)");
    }
    std::vector<double> row(cells.size());
    for (size_t k = 0; k < cells.size(); ++k) {
      if (!parse_double(cells[k], row[k])) {
        throw InputError(path + ":" + std::to_string(lineno) + ": " + column(k) + ": '" + printable_text(cells[k]) +
                         "' is not a number");
      }
      if (!std::isfinite(row[k])) {
        throw InputError(path + ":" + std::to_string(lineno) + ": " + column(k) + ": '" + printable_text(cells[k]) +
                         "' is not finite; expected a finite number");
      }
    }
    t.rows.push_back(std::move(row));
    t.line_numbers.push_back(lineno);
  }
  if (t.rows.empty()) {
    throw InputError(path + ": no data rows" + std::string(t.header.empty() ? " (empty file)" : " after the header"));
  }
  return t;
}

std::vector<double> read_csv_column(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file for reading");
  std::string line;
  std::vector<std::string_view> cells;
  int lineno = 0;
  size_t column = 0, width = 0;
  bool have_header = false;
  std::vector<double> out;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    split(line, cells);
    if (!have_header) {
      have_header = true;
      width = cells.size();
      column = width;
      for (size_t k = 0; k < width && column == width; ++k)
        if (cells[k] == name) column = k;
      if (column == width) throw InputError(path + ": no column '" + printable_text(name) + "' in the header");
      continue;
    }
    if (cells.size() < width) {
      throw InputError(path + ":" + std::to_string(lineno) + ": " + std::to_string(cells.size()) +
                       " cells, expected " + std::to_string(width) + " (as in the header)");
    }
    double v = std::numeric_limits<double>::quiet_NaN();
    if (!cells[column].empty() && !parse_double(cells[column], v)) {
      throw InputError(path + ":" + std::to_string(lineno) + ": column " + std::to_string(column + 1) + " ('" +
                       printable_text(name) + "'): '" + printable_text(cells[column]) + "' is not a number");
    }
    out.push_back(v);
  }
  if (!have_header) throw InputError(path + ": empty file (expected a header naming '" + printable_text(name) + "')");
  return out;
}

void write_file_atomic_stream(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const OutputWrite recorded(path);  // in an open output folder: listed in its manifest first
  // A name of this process and write alone (<path>.tmp.<pid>.<k>), so that concurrent writers of
  // one path never share a temporary file: each rename installs one whole file.
  static std::atomic<unsigned long> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(path + ": cannot open for writing");
    try {
      write(out);
    } catch (...) {
      out.close();
      std::remove(tmp.c_str());
      throw;
    }
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw InputError(path + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(path + ": cannot move the finished file into place");
  }
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  write_file_atomic_stream(path, [&](std::ostream& out) { out << contents; });
}

char* format_double_to(char* buffer, double x) {
  // The shortest text that reads back to the same bits (std::to_chars: fixed or scientific, whichever
  // is shorter): 10, 0.25, 1e-09, not 1.0000000000000001e-09.
  if (!std::isfinite(x)) {
    const int n = std::snprintf(buffer, kFormatDoubleChars, "%.17g", x);
    return buffer + n;
  }
  return std::to_chars(buffer, buffer + kFormatDoubleChars, x).ptr;
}

std::string format_double(double x) {
  char buf[kFormatDoubleChars];
  return std::string(buf, format_double_to(buf, x));
}

}  // namespace zeroloss
