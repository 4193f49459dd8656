#pragma once
// Numbers in messages: the one formatter the library's error messages and summaries use.

#include <string>

namespace zeroloss {

// x with 3 significant digits in the shortest of fixed and scientific notation (printf's %.3g
// rules, through an ostream with precision 3): 0.000123 -> "0.000123", 1.5e-13 -> "1.5e-13",
// inf -> "inf". For messages and human-readable summaries only, never for data files.
std::string short_number(double x);

}  // namespace zeroloss
