#pragma once
// Numbers in sentences (the report's evidence): a fixed number of significant digits.

#include <string>

namespace zeroloss {

// `x` with at most `digits` significant digits, as std::ostream prints it with that precision
// (the %g style: 0.0001234, 1.234e-05, 12340, inf, nan).
std::string significant_digits(double x, int digits = 4);

}  // namespace zeroloss
