#pragma once
// How the commands print numbers: in JSON, a finite number as itself and NaN or an infinity as null
// (JSON has neither); in tables, 6 significant digits (support/number_text.hpp), short lists on one
// line, and a key column of fixed width.

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>
#include <vector>

namespace zeroloss {

nlohmann::ordered_json json_number(double x);
nlohmann::ordered_json json_numbers(const Eigen::Ref<const Eigen::VectorXd>& v);
nlohmann::ordered_json json_numbers(const std::vector<double>& v);

// 6 significant digits ("inf", "-inf", "nan" as the stream prints them).
std::string g6(double x);

// The first (at most) 12 entries separated by two spaces, then "  ... (k more in --json)" when
// there are more; `empty` when v is empty.
std::string numbers_inline(const Eigen::Ref<const Eigen::VectorXd>& v, const std::string& empty = "(none)");

// One table line: `key` left-aligned in a column of `width` characters, then `value`.
void table_row(std::ostream& out, int width, const std::string& key, const std::string& value);

}  // namespace zeroloss
