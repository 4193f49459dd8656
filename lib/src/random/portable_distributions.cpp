#include "zeroloss/random/portable_distributions.hpp"

#include <cmath>
#include <cstdint>

namespace zeroloss {

static_assert(RandomEngine::min() == 0 && RandomEngine::max() == ~std::uint64_t(0),
              "unit_uniform takes one full 64-bit word per draw");

double unit_uniform(RandomEngine& engine) {
  // 2^64 is exactly representable; double(word) rounds to nearest, so the quotient can reach 1.
  const double value = static_cast<double>(engine()) / 18446744073709551616.0;
  if (value >= 1.0) return std::nextafter(1.0, 0.0);
  return value;
}

double UniformDistribution::operator()(RandomEngine& engine) const {
  return (unit_uniform(engine) * (b_ - a_)) + a_;
}

double StandardNormal::operator()(RandomEngine& engine) {
  if (has_cached_) {
    has_cached_ = false;
    return cached_;
  }
  double x = 0.0;
  double y = 0.0;
  double r2 = 0.0;
  do {
    x = 2.0 * unit_uniform(engine) - 1.0;
    y = 2.0 * unit_uniform(engine) - 1.0;
    r2 = x * x + y * y;
  } while (r2 > 1.0 || r2 == 0.0);
  const double multiplier = std::sqrt(-2.0 * std::log(r2) / r2);
  cached_ = x * multiplier;
  has_cached_ = true;
  return y * multiplier;
}

}  // namespace zeroloss
