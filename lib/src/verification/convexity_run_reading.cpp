#include "convexity_run_reading.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {

namespace {

// The rows of a CSV written by `zeroloss convexity` (points.csv, search.csv) as text cells by column
// name; the scheme names hold no comma (diagnostics/convexity.hpp).
std::vector<std::vector<std::string>> read_text_csv(const std::string& path, std::vector<std::string>& header) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot read");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, ',')) cells.push_back(cell);
    if (first) {
      header = cells;
      first = false;
    } else {
      rows.push_back(cells);
    }
  }
  return rows;
}

size_t column(const std::vector<std::string>& header, const std::string& name, const std::string& path) {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) throw InputError(path + ": no column '" + name + "'");
  return static_cast<size_t>(it - header.begin());
}

double cell_number(const std::vector<std::string>& row, size_t k) {
  double x = std::numeric_limits<double>::quiet_NaN();
  if (k < row.size()) parse_double(row[k], x);
  return x;
}

}  // namespace

ConvexityRead read_convexity_run(const std::string& dir) {
  ConvexityRead r;
  std::vector<std::string> h;
  const std::string points = dir + "/points.csv";
  const auto rows = read_text_csv(points, h);
  const size_t scheme = column(h, "scheme", points), grad = column(h, "grad_norm", points),
               negative = column(h, "negative", points), parameter = column(h, "parameter", points);
  for (const auto& row : rows) {
    const std::string s = scheme < row.size() ? row[scheme] : "";
    const bool neg = negative < row.size() && row[negative] == "1";
    r.observations.push_back({s == "anchor" || s == "given", cell_number(row, grad), neg});
    if (s == "geodesic") r.geodesic.emplace_back(cell_number(row, parameter), cell_number(row, grad));
    ++r.sampled;
  }
  const std::string search = dir + "/search.csv";
  const auto rungs = read_text_csv(search, h);
  const size_t eps = column(h, "eps", search), feasible = column(h, "feasible_start", search),
               sgrad = column(h, "grad_norm", search), sneg = column(h, "negative", search);
  for (const auto& row : rungs) {
    if (feasible >= row.size() || row[feasible] != "1") continue;
    const bool neg = sneg < row.size() && row[sneg] == "1";
    r.observations.push_back({false, cell_number(row, sgrad), neg, cell_number(row, eps)});
    r.rungs.emplace_back(cell_number(row, eps), neg);
    ++r.searched;
  }
  return r;
}

}  // namespace zeroloss
