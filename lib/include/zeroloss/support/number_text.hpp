#pragma once
// Numbers in messages: the one formatter the library's error messages and summaries use.

#include <string>

namespace zeroloss {

// x with `significant_digits` significant digits in the shortest of fixed and scientific notation
// (printf's %g rules, through an ostream with that precision): with 3, 0.000123 -> "0.000123",
// 1.5e-13 -> "1.5e-13", inf -> "inf". For messages and human-readable summaries only, never for
// data files (those keep every bit: io/csv.hpp).
std::string short_number(double x, int significant_digits = 3);

}  // namespace zeroloss
