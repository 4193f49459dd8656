#pragma once
// Random distributions with the same bits on every standard library.
//
// std::mt19937_64 is specified exactly by the C++ standard (the same seed gives the same 64-bit
// words everywhere); std::uniform_real_distribution and std::normal_distribution are not: each
// standard library chooses its own algorithm. These distributions fix the algorithm to the one
// libstdc++ uses, so every output drawn through them keeps the bits it had with libstdc++ and has
// the same bits with libc++ or MSVC's library:
//
//   unit_uniform        u = g() / 2^64 for one 64-bit word g(), with the quotient rounded to
//                       double (round to nearest) and a result of 1 replaced by the largest double
//                       below 1; u is in [0, 1). (libstdc++'s generate_canonical<double, 53> on a
//                       64-bit engine takes exactly one word.)
//   UniformDistribution a + u (b - a), evaluated as (u * (b - a)) + a without fused multiply-add.
//   StandardNormal      the Marsaglia polar method: x = 2u - 1, y = 2u' - 1 from two consecutive
//                       unit_uniform draws until 0 < r2 = x^2 + y^2 <= 1; then m = sqrt(-2 ln r2 / r2)
//                       and the two values are y m (returned first) and x m (cached and returned by
//                       the next call without drawing).
//
// What is portable: the engine's words, the uniform values (exact IEEE operations on them), and the
// polar method's acceptance decisions. What still depends on the platform: std::log in m (libm's;
// correctly rounded on no common libm, so a different libm may move a normal value by an ulp);
// std::sqrt is correctly rounded by IEEE 754 and is the same everywhere.
#include <random>

namespace zeroloss {

// The one engine the library draws its data, starts and directions from.
using RandomEngine = std::mt19937_64;

// Uniform in [0, 1) from one 64-bit draw (see above).
double unit_uniform(RandomEngine& engine);

// Uniform on [a, b): (unit_uniform * (b - a)) + a. Requires a < b (not checked: the callers'
// bounds are constants).
class UniformDistribution {
 public:
  UniformDistribution(double a, double b) : a_(a), b_(b) {}
  double operator()(RandomEngine& engine) const;
  double a() const { return a_; }
  double b() const { return b_; }

 private:
  double a_;
  double b_;
};

// Standard normal N(0, 1) by the polar method with its cached second value. The cache is state:
// two objects drawing from one engine interleave as two std::normal_distribution objects would.
class StandardNormal {
 public:
  double operator()(RandomEngine& engine);
  // Forgets the cached value, so the next call draws a fresh pair.
  void reset() { has_cached_ = false; }

 private:
  double cached_ = 0.0;
  bool has_cached_ = false;
};

}  // namespace zeroloss
