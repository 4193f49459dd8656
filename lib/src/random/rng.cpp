#include "zeroloss/random/rng.hpp"

#include <cmath>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Xoshiro256pp::Xoshiro256pp(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t sm = seed ^ (stream * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL * (stream != 0));
  for (auto& word : s_) word = splitmix64(sm);
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // never all zero (probability 2^-256)
}

void Xoshiro256pp::restore(const State& state) {
  if ((state[0] | state[1] | state[2] | state[3]) == 0) {
    throw InputError("random generator state: all four xoshiro256++ words are zero, which is not a valid state");
  }
  s_ = state;
}

NoiseKind parse_noise_kind(const std::string& name) {
  if (name == "gaussian") return NoiseKind::Gaussian;
  if (name == "rademacher") return NoiseKind::Rademacher;
  throw InputError("unknown label-noise distribution '" + name + "'; expected gaussian or rademacher");
}

const char* noise_kind_name(NoiseKind kind) { return kind == NoiseKind::Gaussian ? "gaussian" : "rademacher"; }

StandardNoise::StandardNoise(NoiseKind kind, std::uint64_t seed, std::uint64_t stream)
    : kind_(kind), rng_(seed, stream), before_fill_(rng_.state()), buffer_(kBufferSize, 0.0) {
  refill();  // the buffer is always the fill that started at before_fill_, so state() is exact
}

void StandardNoise::refill() {
  before_fill_ = rng_.state();
  if (kind_ == NoiseKind::Rademacher) {
    for (int w = 0; w < kBufferSize / 64; ++w) {
      std::uint64_t bits = rng_();
      for (int b = 0; b < 64; ++b, bits >>= 1) buffer_[w * 64 + b] = (bits & 1U) ? 1.0 : -1.0;
    }
  } else {
    // Marsaglia's polar method: two independent N(0, 1) values per accepted point of the unit disc.
    int k = 0;
    while (k < kBufferSize) {
      const double u = 2.0 * rng_.uniform() - 1.0;
      const double v = 2.0 * rng_.uniform() - 1.0;
      const double s = u * u + v * v;
      if (s >= 1.0 || s == 0.0) continue;
      const double f = std::sqrt(-2.0 * std::log(s) / s);
      buffer_[k++] = u * f;
      buffer_[k++] = v * f;
    }
  }
  position_ = 0;
}

void StandardNoise::restore(const State& state) {
  if (state.position < 0 || state.position > kBufferSize) {
    throw InputError("noise generator state: buffer position " + std::to_string(state.position) +
                     " is outside [0, " + std::to_string(kBufferSize) + "]");
  }
  rng_.restore(state.generator_before_fill);
  refill();  // reproduces the same buffer and leaves the generator where the original left it
  position_ = state.position;
}

}  // namespace zeroloss
