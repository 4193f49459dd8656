#pragma once
// GCC vector types and unaligned loads and stores for the kernels that are compiled for two
// instruction sets and chosen at run time (dynamics/label_noise_sgd.cpp, numerics/ordered_product.cpp). Vec2 fills an
// SSE2 register and Vec4 an AVX2 register; arithmetic on them is IEEE arithmetic per lane, so a
// kernel written on either performs, lane by lane, the operations of its scalar form, and both
// variants give the same bits (with -ffp-contract=off, which the project sets). Private to lib/src:
// everything that passes these types around must be inlined into the function compiled for each
// instruction set (vectors never cross a call, hence -Wpsabi is silenced here).

#include <cstring>

namespace zeroloss::vector_lanes {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double Vec2 __attribute__((vector_size(16)));
typedef double Vec4 __attribute__((vector_size(32)));

// Doubles per value: 2, 4, or 1 for double itself (the scalar case of a kernel template).
template <class V>
constexpr int kLanes = static_cast<int>(sizeof(V) / sizeof(double));

template <class V>
[[gnu::always_inline]] inline V load(const double* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class V>
[[gnu::always_inline]] inline void store(double* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}
#pragma GCC diagnostic pop

}  // namespace zeroloss::vector_lanes
