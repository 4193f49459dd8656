#pragma once
// Fast, deterministic, serialisable random numbers for long stochastic runs.
//
//   Xoshiro256pp      xoshiro256++ (Blackman and Vigna 2019): 256-bit state, period 2^256 - 1,
//                     seeded through splitmix64 so that nearby seeds give unrelated streams.
//   StandardNoise     a buffered source of standardized noise values (Gaussian N(0, 1) by the
//                     Marsaglia polar method, or Rademacher +-1 from single bits), drawn in
//                     batches of kBufferSize so the hot loop of SGD only reads a buffer.
//
// The same seed gives the same bits on every run on the same platform (only the C library's log and
// sqrt are used). Every state can be saved and restored exactly (see state() / restore()).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace zeroloss {

// splitmix64 step: the standard seeding generator for the xoshiro family.
std::uint64_t splitmix64(std::uint64_t& state);

class Xoshiro256pp {
  __extension__ typedef unsigned __int128 uint128;

 public:
  using result_type = std::uint64_t;
  using State = std::array<std::uint64_t, 4>;

  // Seeds the four state words from splitmix64(seed ^ stream * golden ratio), so (seed, stream)
  // pairs give independent-looking streams.
  explicit Xoshiro256pp(std::uint64_t seed = 0, std::uint64_t stream = 0);

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type(0); }

  result_type operator()() {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }

  // Uniform integer in [0, bound) without bias (Lemire's multiply-and-reject). bound >= 1.
  std::uint64_t below(std::uint64_t bound) {
    uint128 product = static_cast<uint128>((*this)()) * bound;
    std::uint64_t low = static_cast<std::uint64_t>(product);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        product = static_cast<uint128>((*this)()) * bound;
        low = static_cast<std::uint64_t>(product);
      }
    }
    return static_cast<std::uint64_t>(product >> 64);
  }

  const State& state() const { return s_; }
  // Restores a saved state; throws InputError if it is all zero (not a valid xoshiro state).
  void restore(const State& state);

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  State s_;
};

enum class NoiseKind { Gaussian, Rademacher };

// "gaussian" / "rademacher"; throws InputError on anything else.
NoiseKind parse_noise_kind(const std::string& name);
const char* noise_kind_name(NoiseKind kind);

// Buffered standardized noise: mean 0, variance 1.
class StandardNoise {
 public:
  static constexpr int kBufferSize = 512;

  // Saved state: the generator state before the current buffer was filled and the read position in
  // it. Restoring refills the same buffer and continues at the same position: bit-identical.
  struct State {
    Xoshiro256pp::State generator_before_fill{};
    int position = 0;  // kBufferSize: the buffer is exhausted (the next read refills)
  };

  StandardNoise(NoiseKind kind, std::uint64_t seed, std::uint64_t stream);

  double next() {
    if (position_ == kBufferSize) refill();
    return buffer_[position_++];
  }

  NoiseKind kind() const { return kind_; }
  State state() const { return State{before_fill_, position_}; }
  void restore(const State& state);

 private:
  void refill();
  NoiseKind kind_;
  Xoshiro256pp rng_;
  Xoshiro256pp::State before_fill_;
  std::vector<double> buffer_;
  int position_ = 0;
};

}  // namespace zeroloss
