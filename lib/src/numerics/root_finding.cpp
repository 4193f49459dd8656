#include "zeroloss/numerics/root_finding.hpp"

#include <boost/math/tools/roots.hpp>
#include <boost/math/tools/toms748_solve.hpp>

#include <cmath>

namespace zeroloss {

std::optional<double> increasing_root(const std::function<double(double)>& g) {
  double lo = -1, hi = 1;
  double flo = g(lo), fhi = g(hi);
  // 1100 doublings pass the largest double: the loops end on a sign change or a non-finite value.
  for (int k = 0; k < 1100 && flo > 0 && std::isfinite(flo); ++k) {
    hi = lo;
    fhi = flo;
    lo *= 2;
    flo = g(lo);
  }
  for (int k = 0; k < 1100 && fhi < 0 && std::isfinite(fhi); ++k) {
    lo = hi;
    flo = fhi;
    hi *= 2;
    fhi = g(hi);
  }
  if (!std::isfinite(flo) || !std::isfinite(fhi) || !(flo <= 0 && fhi >= 0)) return std::nullopt;
  if (flo == 0) return lo;
  if (fhi == 0) return hi;
  boost::uintmax_t max_iter = 300;
  const auto r = boost::math::tools::toms748_solve(g, lo, hi, flo, fhi, boost::math::tools::eps_tolerance<double>(52),
                                                   max_iter);
  return 0.5 * (r.first + r.second);
}

}  // namespace zeroloss
