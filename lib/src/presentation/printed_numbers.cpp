#include "zeroloss/presentation/printed_numbers.hpp"

#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "zeroloss/support/number_text.hpp"

namespace zeroloss {

nlohmann::ordered_json json_number(double x) {
  return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json json_numbers(const Eigen::Ref<const Eigen::VectorXd>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Eigen::Index k = 0; k < v.size(); ++k) a.push_back(json_number(v(k)));
  return a;
}

nlohmann::ordered_json json_numbers(const std::vector<double>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (double x : v) a.push_back(json_number(x));
  return a;
}

std::string g6(double x) { return short_number(x, 6); }

std::string numbers_inline(const Eigen::Ref<const Eigen::VectorXd>& v, const std::string& empty) {
  if (v.size() == 0) return empty;
  std::ostringstream s;
  const Eigen::Index show = std::min<Eigen::Index>(v.size(), 12);
  for (Eigen::Index k = 0; k < show; ++k) s << (k ? "  " : "") << g6(v(k));
  if (show < v.size()) s << "  ... (" << v.size() - show << " more in --json)";
  return s.str();
}

void table_row(std::ostream& out, int width, const std::string& key, const std::string& value) {
  out << std::left << std::setw(width) << key << value << "\n";
}

}  // namespace zeroloss
