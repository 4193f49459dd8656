#include "zeroloss/support/number_text.hpp"

#include <sstream>

namespace zeroloss {

std::string short_number(double x, int significant_digits) {
  std::ostringstream s;
  s.precision(significant_digits);
  s << x;
  return s.str();
}

}  // namespace zeroloss
