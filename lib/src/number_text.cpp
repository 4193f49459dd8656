#include "zeroloss/number_text.hpp"

#include <sstream>

namespace zeroloss {

std::string short_number(double x) {
  std::ostringstream s;
  s.precision(3);
  s << x;
  return s.str();
}

}  // namespace zeroloss
