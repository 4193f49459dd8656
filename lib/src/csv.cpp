#include "zeroloss/csv.hpp"

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "zeroloss/errors.hpp"

namespace zeroloss {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  std::stringstream ss(line);
  while (std::getline(ss, cell, ',')) cells.push_back(trim(cell));
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
}

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

CsvTable read_csv(const std::string& path, CsvHeader header) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file for reading");
  CsvTable t;
  t.path = path;
  std::string line;
  int lineno = 0;
  size_t width = 0;
  bool first = true;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    std::vector<std::string> cells = split(line);
    if (first) {
      first = false;
      width = cells.size();
      bool numeric = true;
      double v;
      for (const auto& c : cells) numeric = numeric && parse_number(c, v);
      if (header == CsvHeader::Required || (header == CsvHeader::Optional && !numeric)) {
        for (size_t k = 0; k < cells.size(); ++k)
          if (cells[k].empty())
            throw InputError(path + ":" + std::to_string(lineno) + ": header column " + std::to_string(k + 1) +
                             " has an empty name");
        t.header = cells;
        continue;
      }
    }
    if (cells.size() != width) {
      throw InputError(path + ":" + std::to_string(lineno) + ": " + std::to_string(cells.size()) + " cells, expected " +
                       std::to_string(width) + " (as in the first row)");
    }
    std::vector<double> row(cells.size());
    for (size_t k = 0; k < cells.size(); ++k) {
      const std::string col = t.header.empty() ? "column " + std::to_string(k + 1)
                                               : "column " + std::to_string(k + 1) + " ('" + t.header[k] + "')";
      if (!parse_number(cells[k], row[k])) {
        throw InputError(path + ":" + std::to_string(lineno) + ": " + col + ": '" + cells[k] + "' is not a number");
      }
      if (!std::isfinite(row[k])) {
        throw InputError(path + ":" + std::to_string(lineno) + ": " + col + ": '" + cells[k] +
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

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(path + ": cannot open for writing");
    out << contents;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw InputError(path + ": write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(path + ": cannot move the finished file into place");
  }
}

std::string format_double(double x) {
  // The shortest %.Ng that reads back to the same bits (at most 17 digits): 1e-09, not
  // 1.0000000000000001e-09.
  char buf[40];
  if (!std::isfinite(x)) {
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  return buf;
}

}  // namespace zeroloss
