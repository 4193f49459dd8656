#include "zeroloss/presentation/significant_digits.hpp"

#include <sstream>

namespace zeroloss {

std::string significant_digits(double x, int digits) {
  std::ostringstream s;
  s.precision(digits);
  s << x;
  return s.str();
}

}  // namespace zeroloss
