#include "zeroloss/support/number_text.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"

#include <boost/math/constants/constants.hpp>
#include <boost/math/special_functions/erf.hpp>

#include <algorithm>
#include <array>
#include <utility>
#include <cmath>
#include <new>
#include <sstream>
#include <type_traits>

#include <Eigen/LU>

#include "numerics/vector_lanes.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/singular_values.hpp"

namespace zeroloss {
namespace {

// State layout: neurons in tiles of W = 4. Tile t holds neurons 4t .. 4t+3 as a contiguous
// rows x 4 block, element (neuron 4t + l, row k) at block[(t rows + k) W + l], where the rows are the
// p coordinates of beta_j (weight coordinates) or the n pre-activations r_kj (pre-activation
// coordinates); m is padded to a multiple of W with neurons of zero weight and a_j = 0 (their h is
// 0, so they never move). A step
// then works on the 4 neurons of a tile at once with GCC vector extensions: the kernel compiled
// for AVX2 uses one 4-double vector (Vec4) per tile, the baseline kernel two 2-double SSE2 vectors
// (Vec2; a 4-double vector lowered to SSE2 by the compiler measured 1.7x slower). The arithmetic of
// each neuron is exactly the scalar sequence written below, so the bits do not depend on the
// vector width.
constexpr int W = 4;
// Auto takes kAutoStepsPerPass steps per pass above kWindowMinN samples (smaller n run the kernels
// specialised for n, whose pass over R is short). 4 was the fastest of 2, 4 and 8 at m = 1000 and
// m = 10^4 with n = 100 (sgd_bench BM_SgdStepsPerPass; docs/performance.md): with 4 the AVX2 pass
// updates two tiles per load of K's entries (tile_pair_update_window) without running out of
// registers.
constexpr int kWindowMinN = 16;
constexpr int kAutoStepsPerPass = 4;
using namespace vector_lanes;  // Vec2, Vec4, load, store

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // vectors never cross a call: everything below is inlined

// Pre-activations of one tile, r_l = z . beta_l, written to out[0..W), with a fixed summation order
// per neuron: four interleaved partial sums over k mod 4, the tail (p mod 4 coordinates) in index
// order into the first, then (s0 + s1) + (s2 + s3). The fused update below accumulates in exactly
// this order, so recomputing pre-activations from saved weights (restore) reproduces the fused
// values bit for bit.
template <class Vec>
[[gnu::always_inline]] inline void tile_dot(const double* __restrict z, const double* __restrict t, int p,
                                            double* __restrict out) {
  constexpr int VL = static_cast<int>(sizeof(Vec) / sizeof(double));
  for (int v = 0; v < W / VL; ++v) {
    const double* tv = t + v * VL;
    Vec s0 = {}, s1 = {}, s2 = {}, s3 = {};
    int k = 0;
    for (; k + 4 <= p; k += 4) {
      s0 += z[k] * load<Vec>(tv + k * W);
      s1 += z[k + 1] * load<Vec>(tv + (k + 1) * W);
      s2 += z[k + 2] * load<Vec>(tv + (k + 2) * W);
      s3 += z[k + 3] * load<Vec>(tv + (k + 3) * W);
    }
    for (; k < p; ++k) s0 += z[k] * load<Vec>(tv + k * W);
    store<Vec>(out + v * VL, (s0 + s1) + (s2 + s3));
  }
}

// beta_l <- beta_l - hc_l z for the W neurons of a tile, with hc_l = h_l c; writes zn . beta_l (new
// weights) to out[0..W) in tile_dot's order.
template <class Vec>
[[gnu::always_inline]] inline void tile_update_and_dot(double* __restrict t, const double* __restrict h, double c,
                                                       const double* __restrict z, const double* __restrict zn, int p,
                                                       double* __restrict out) {
  constexpr int VL = static_cast<int>(sizeof(Vec) / sizeof(double));
  for (int v = 0; v < W / VL; ++v) {
    double* tv = t + v * VL;
    const Vec hc = load<Vec>(h + v * VL) * c;
    Vec s0 = {}, s1 = {}, s2 = {}, s3 = {};
    int k = 0;
    for (; k + 4 <= p; k += 4) {
      const Vec b0 = load<Vec>(tv + k * W) - hc * z[k];
      const Vec b1 = load<Vec>(tv + (k + 1) * W) - hc * z[k + 1];
      const Vec b2 = load<Vec>(tv + (k + 2) * W) - hc * z[k + 2];
      const Vec b3 = load<Vec>(tv + (k + 3) * W) - hc * z[k + 3];
      store<Vec>(tv + k * W, b0);
      store<Vec>(tv + (k + 1) * W, b1);
      store<Vec>(tv + (k + 2) * W, b2);
      store<Vec>(tv + (k + 3) * W, b3);
      s0 += zn[k] * b0;
      s1 += zn[k + 1] * b1;
      s2 += zn[k + 2] * b2;
      s3 += zn[k + 3] * b3;
    }
    for (; k < p; ++k) {
      const Vec b0 = load<Vec>(tv + k * W) - hc * z[k];
      store<Vec>(tv + k * W, b0);
      s0 += zn[k] * b0;
    }
    store<Vec>(out + v * VL, (s0 + s1) + (s2 + s3));
  }
}

// The updates of `Count` consecutive steps to one tile, in one sweep over its rows: row k moves by
// nhc_q g_q[k] for q = 0, 1, ..., Count - 1 in that order, with nhc_q = -(h_q c_q), written
// t + nhc_q g_q[k], which IEEE arithmetic makes bitwise equal to t - (h_q c_q) g_q[k] (so that the
// load folds into the addition). Each entry therefore takes the same operations in the same order
// as in Count one-step passes (tile_update below), and ends with the same bits; the tile is loaded
// and stored once instead of Count times.
template <class Vec, int Count>
[[gnu::always_inline]] inline void tile_update_window(double* __restrict t, const double* const* __restrict h,
                                                      const double* __restrict c, const double* const* __restrict g,
                                                      int p) {
  constexpr int VL = static_cast<int>(sizeof(Vec) / sizeof(double));
  for (int v = 0; v < W / VL; ++v) {
    double* tv = t + v * VL;
    Vec nhc[Count];
    for (int q = 0; q < Count; ++q) nhc[q] = -(load<Vec>(h[q] + v * VL) * c[q]);
    int k = 0;
    for (; k + 4 <= p; k += 4) {  // four rows at once: four independent chains of Count additions
      Vec x0 = load<Vec>(tv + k * W), x1 = load<Vec>(tv + (k + 1) * W);
      Vec x2 = load<Vec>(tv + (k + 2) * W), x3 = load<Vec>(tv + (k + 3) * W);
      for (int q = 0; q < Count; ++q) {
        x0 = nhc[q] * g[q][k] + x0;
        x1 = nhc[q] * g[q][k + 1] + x1;
        x2 = nhc[q] * g[q][k + 2] + x2;
        x3 = nhc[q] * g[q][k + 3] + x3;
      }
      store<Vec>(tv + k * W, x0);
      store<Vec>(tv + (k + 1) * W, x1);
      store<Vec>(tv + (k + 2) * W, x2);
      store<Vec>(tv + (k + 3) * W, x3);
    }
    for (; k < p; ++k) {
      Vec x = load<Vec>(tv + k * W);
      for (int q = 0; q < Count; ++q) x = nhc[q] * g[q][k] + x;
      store<Vec>(tv + k * W, x);
    }
  }
}

// tile_update_window for two tiles at once, one vector per tile row (AVX2): each g_q[k] is loaded
// once for both tiles. The same operations per entry as two calls of tile_update_window.
template <class Vec, int Count>
[[gnu::always_inline]] inline void tile_pair_update_window(double* __restrict t0, double* __restrict t1,
                                                           const double* const* __restrict h0,
                                                           const double* const* __restrict h1,
                                                           const double* __restrict c,
                                                           const double* const* __restrict g, int p) {
  static_assert(sizeof(Vec) == W * sizeof(double), "one vector per tile row");
  Vec nhc0[Count], nhc1[Count];
  for (int q = 0; q < Count; ++q) {
    nhc0[q] = -(load<Vec>(h0[q]) * c[q]);
    nhc1[q] = -(load<Vec>(h1[q]) * c[q]);
  }
  int k = 0;
  for (; k + 2 <= p; k += 2) {
    Vec x0 = load<Vec>(t0 + k * W), x1 = load<Vec>(t0 + (k + 1) * W);
    Vec y0 = load<Vec>(t1 + k * W), y1 = load<Vec>(t1 + (k + 1) * W);
    for (int q = 0; q < Count; ++q) {
      const double b0 = g[q][k], b1 = g[q][k + 1];
      x0 = nhc0[q] * b0 + x0;
      y0 = nhc1[q] * b0 + y0;
      x1 = nhc0[q] * b1 + x1;
      y1 = nhc1[q] * b1 + y1;
    }
    store<Vec>(t0 + k * W, x0);
    store<Vec>(t0 + (k + 1) * W, x1);
    store<Vec>(t1 + k * W, y0);
    store<Vec>(t1 + (k + 1) * W, y1);
  }
  for (; k < p; ++k) {
    Vec x = load<Vec>(t0 + k * W), y = load<Vec>(t1 + k * W);
    for (int q = 0; q < Count; ++q) {
      x = nhc0[q] * g[q][k] + x;
      y = nhc1[q] * g[q][k] + y;
    }
    store<Vec>(t0 + k * W, x);
    store<Vec>(t1 + k * W, y);
  }
}

// Row i of a tile after the first `count` updates of a window, from its row `base` at the window's
// start: the update's expression (tile_update_window) applied for u = 0, 1, ..., count - 1 in step
// order, with h[u] and c[u] the update's h (at this tile) and coefficient and k[u] = K_{i_u i};
// into out[0..W).
template <class Vec>
[[gnu::always_inline]] inline void tile_row_after_updates(const double* __restrict base,
                                                          const double* const* __restrict h,
                                                          const double* __restrict c, const double* __restrict k,
                                                          int count, double* __restrict out) {
  constexpr int VL = static_cast<int>(sizeof(Vec) / sizeof(double));
  for (int v = 0; v < W / VL; ++v) {
    Vec x = load<Vec>(base + v * VL);
    for (int u = 0; u < count; ++u) x = -(load<Vec>(h[u] + v * VL) * c[u]) * k[u] + x;
    store<Vec>(out + v * VL, x);
  }
}

// One step's update of a tile (tile_update_window with Count = 1): beta_l <- beta_l - h_l c z for
// the W neurons of a tile (batches B > 1: one call per sample, in batch order). In pre-activation
// coordinates the same call with z = row i of K = Z Z^T and p = n updates the n pre-activations of
// the tile's neurons.
template <class Vec>
[[gnu::always_inline]] inline void tile_update(double* __restrict t, const double* h, double c, const double* z,
                                               int p) {
  tile_update_window<Vec, 1>(t, &h, &c, &z, p);
}

// Row k of a tile after tile_update(t, h, c, z, .), computed from the row before the update
// (tile_row_after_updates with one update: the expression of the update, so the same bits), into
// out[0..W): the activation of the next sample need not wait for the stores of the update.
template <class Vec>
[[gnu::always_inline]] inline void tile_row_after_update(const double* t, const double* h, double c, double zk,
                                                         double* __restrict out) {
  tile_row_after_updates<Vec>(t, &h, &c, &zk, 1, out);
}

#pragma GCC diagnostic pop

// 64-byte aligned storage, so a tile row (32 bytes) never straddles a cache line.
template <class T>
struct CacheAligned {
  using value_type = T;
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* q, std::size_t) { ::operator delete(q, std::align_val_t(64)); }
  template <class U>
  bool operator==(const CacheAligned<U>&) const { return true; }
  template <class U>
  bool operator!=(const CacheAligned<U>&) const { return false; }
};
using AlignedDoubles = std::vector<double, CacheAligned<double>>;

// Activation policies: value and first derivative (the only ones SGD needs).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // the vector form is only called inlined
struct CubicAct {
  static constexpr const char* name = "cubic";
  static constexpr bool kVectorised = true;  // T is double or a vector of doubles: the same expressions
  template <class T>
  [[gnu::always_inline]] void operator()(T z, T& v, T& d) const {
    const T z2 = z * z;
    v = z + z * z2 * (1.0 / 3.0);
    d = 1.0 + z2;
  }
};
#pragma GCC diagnostic pop
struct SinhAct {
  static constexpr const char* name = "sinh";
  void operator()(double z, double& v, double& d) const {
    // One expm1: sinh = e1 (e1 + 2) / (2 (e1 + 1)), cosh = sinh + exp(-z), accurate near 0.
    const double e1 = std::expm1(z);
    const double inv = 1.0 / (e1 + 1.0);
    v = 0.5 * e1 * (e1 + 2.0) * inv;
    d = v + inv;
  }
};
struct TanhAct {
  static constexpr const char* name = "tanh";
  void operator()(double z, double& v, double& d) const {
    v = std::tanh(z);
    d = 1.0 - v * v;
  }
};
inline double logistic(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }
struct SigmoidAct {
  static constexpr const char* name = "sigmoid";
  void operator()(double z, double& v, double& d) const {
    v = logistic(z);
    d = v * (1.0 - v);
  }
};
struct SoftplusAct {
  static constexpr const char* name = "softplus";
  void operator()(double z, double& v, double& d) const {
    v = std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
    d = logistic(z);
  }
};
struct GeluAct {
  static constexpr const char* name = "gelu";
  void operator()(double z, double& v, double& d) const {
    const double cdf = 0.5 * boost::math::erfc(-z * boost::math::constants::one_div_root_two<double>());
    const double pdf = std::exp(-0.5 * z * z) * boost::math::constants::one_div_root_two_pi<double>();
    v = z * cdf;
    d = cdf + z * pdf;
  }
};
struct PolynomialAct {
  static constexpr const char* name = "polynomial";
  std::vector<double> c0, c1;  // coefficients of phi and phi', ascending
  explicit PolynomialAct(const std::vector<double>& c) : c0(c) {
    for (size_t k = 1; k < c.size(); ++k) c1.push_back(static_cast<double>(k) * c[k]);
  }
  void operator()(double z, double& v, double& d) const {
    v = 0;
    for (size_t k = c0.size(); k-- > 0;) v = v * z + c0[k];
    d = 0;
    for (size_t k = c1.size(); k-- > 0;) d = d * z + c1[k];
  }
};
struct GenericAct {
  static constexpr const char* name = "generic (virtual call per evaluation)";
  const Activation* phi;
  void operator()(double z, double& v, double& d) const {
    const ActivationDerivatives dv = phi->derivatives(z);
    v = dv.d0;
    d = dv.d1;
  }
};

}  // namespace

struct SgdKernelBase {
  virtual ~SgdKernelBase() = default;
  virtual std::uint64_t run(LabelNoiseSgd::Core& core, std::uint64_t steps) = 0;
  virtual const char* name() const = 0;
};

struct LabelNoiseSgd::Core {
  Core(const TwoLayerModel& model_in, const SgdParameters& p) : model(model_in), params(p),
        noise(p.noise, p.seed, 2), index_rng(p.seed, 1) {}

  TwoLayerModel model;
  SgdParameters params;
  StandardNoise noise;
  Xoshiro256pp index_rng;
  int n = 0, m = 0, p = 0, B = 0;
  int tiles = 0, m_pad = 0;  // m_pad = W * tiles >= m
  int rows = 0;              // rows of a tile: p (weights) or n (pre-activations)
  bool full = false;
  bool avx2 = false;  // which compiled kernel runs (see run_avx2)
  bool pre = false;   // the state is the pre-activations R (n x m), not beta (m x p)
  double eta_over_B = 0, s = 0, residual_bound = 0;
  double rcond = 0;          // of Z when square, else 0
  std::vector<double> Z, y;  // Z row-major n x p
  std::vector<double> K;     // pre-activation coordinates: K = Z Z^T, row-major n x n
  Eigen::PartialPivLU<Eigen::MatrixXd> z_lu;  // of Z, when square
  AlignedDoubles a;          // m_pad, zero on padding neurons
  AlignedDoubles block;      // the state in tiles of W neurons (see W above), m_pad x rows
  std::uint64_t step = 0;
  std::vector<int> batch, next_batch, swaps, perm;
  std::vector<double> xi;  // standardized noise of the next step
  AlignedDoubles r;        // B x m_pad pre-activations of the next step's batch
  AlignedDoubles h;        // B x m_pad: a_j phi'(r_ij) of the current batch (0 on padding)
  std::vector<double> coef;  // B: (eta/B) (f_i - y_i - s xi_i)
  // The buffers of run_preactivation_windows (params.steps_per_pass > 1), steps_per_pass x m_pad
  // each: h of the window's steps, the rows of their samples as of the window's start, and the
  // same for the next window.
  AlignedDoubles win_h, win_rows, win_next_rows;
  std::vector<double> win_coef;
  AlignedDoubles snapshot;
  std::uint64_t snapshot_step = 0;
  SgdDivergence divergence;
  std::unique_ptr<SgdKernelBase> kernel;

  // Position of (neuron j, row k) in the block.
  std::size_t index(int j, int k) const {
    return (static_cast<std::size_t>(j / W) * rows + k) * W + static_cast<std::size_t>(j % W);
  }

  // The sample of a B = 1 step from `rng`: the run's index generator, or a copy of it that peeks at
  // the samples of the steps ahead (run_preactivation_windows).
  int draw_sample(Xoshiro256pp& rng) const {
    return full ? 0 : static_cast<int>(rng.below(static_cast<std::uint64_t>(n)));
  }

  [[gnu::always_inline]] void draw_next() {
    if (full) {
      for (int b = 0; b < B; ++b) next_batch[b] = b;
    } else if (B == 1) {
      next_batch[0] = draw_sample(index_rng);
    } else {
      // Partial Fisher-Yates on the identity permutation, undone afterwards (O(B), no state).
      for (int b = 0; b < B; ++b) {
        const int j = b + static_cast<int>(index_rng.below(static_cast<std::uint64_t>(n - b)));
        std::swap(perm[b], perm[j]);
        next_batch[b] = perm[b];
        swaps[b] = j;
      }
      for (int b = B - 1; b >= 0; --b) std::swap(perm[b], perm[swaps[b]]);
    }
    if (s != 0.0)
      for (int b = 0; b < B; ++b) xi[b] = noise.next();
  }

  // Pre-activations of the next batch into r: dot products in weight coordinates (in the fused
  // kernel's order, so a restored state reproduces them bit for bit), copied rows in pre-activation
  // coordinates.
  void compute_preactivations() {
    for (int b = 0; b < B; ++b) {
      const int i = next_batch[b];
      double* rb = r.data() + static_cast<std::size_t>(b) * m_pad;
      for (int t = 0; t < tiles; ++t) {
        const double* tile = block.data() + static_cast<std::size_t>(t) * rows * W;
        if (pre)
          std::copy(tile + static_cast<std::size_t>(i) * W, tile + static_cast<std::size_t>(i + 1) * W, rb + t * W);
        else
          tile_dot<Vec2>(Z.data() + static_cast<std::size_t>(i) * p, tile, p, rb + static_cast<std::size_t>(t) * W);
      }
    }
  }

  bool block_finite() const {
    for (double v : block)
      if (!std::isfinite(v)) return false;
    return true;
  }

  void take_snapshot() {
    if (block_finite()) {
      snapshot = block;  // same size: no allocation after the first copy
      snapshot_step = step;
    }
  }

  // The block as its matrix: beta (m x p) in weight coordinates, R (n x m) in pre-activation ones.
  Eigen::MatrixXd block_matrix(const AlignedDoubles& v) const {
    Eigen::MatrixXd out = pre ? Eigen::MatrixXd(n, m) : Eigen::MatrixXd(m, p);
    for (int j = 0; j < m; ++j)
      for (int k = 0; k < rows; ++k) (pre ? out(k, j) : out(j, k)) = v[index(j, k)];
    return out;
  }

  // beta (m x p) of a block: in pre-activation coordinates beta^T = Z^{-1} R, solved in place (P L U
  // factors of Z), so that the only n x m matrices are R and the result (at m = 10^4: 8 MB each).
  Eigen::MatrixXd weights_of(const AlignedDoubles& v) const {
    if (!pre) return block_matrix(v);
    Eigen::MatrixXd R = block_matrix(v);
    R = z_lu.permutationP() * R;  // a row permutation, applied in place by Eigen
    z_lu.matrixLU().triangularView<Eigen::UnitLower>().solveInPlace(R);
    z_lu.matrixLU().triangularView<Eigen::Upper>().solveInPlace(R);
    return R.transpose();
  }

  Eigen::MatrixXd preactivations_of(const AlignedDoubles& v) const {
    if (pre) return block_matrix(v);
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Zm(Z.data(), n, p);
    return Zm * block_matrix(v).transpose();
  }

  // Sets the block from R (n x m) in pre-activation coordinates or beta (m x p) in weight ones.
  void set_block(const Eigen::Ref<const Eigen::MatrixXd>& M) {
    block.assign(static_cast<std::size_t>(m_pad) * rows, 0.0);
    for (int j = 0; j < m; ++j)
      for (int k = 0; k < rows; ++k) block[index(j, k)] = pre ? M(k, j) : M(j, k);
  }

  void set_weights(const Eigen::Ref<const Eigen::MatrixXd>& w) {
    if (!pre) return set_block(w);
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Zm(Z.data(), n, p);
    const Eigen::MatrixXd R = Zm * w.transpose();
    set_block(R);
  }
};

namespace {

// Records that the step c.step + 1 is refused: the output f of sample i has residual f - y_i beyond the
// bound (or not finite).
[[gnu::noinline, gnu::cold]] void refuse_step(LabelNoiseSgd::Core& c, int i, double f, double residual) {
  c.divergence.diverged = true;
  c.divergence.step = c.step + 1;
  std::ostringstream msg;
  msg << "at step " << c.step + 1 << " the output of sample " << i + 1 << " is " << short_number(f, 6)
      << " (residual f_i - y_i = " << short_number(residual, 6) << ")";
  if (std::isfinite(residual))
    msg << ", so the loss exceeds the divergence bound " << short_number(c.params.max_loss, 6);
  else
    msg << ": the weights overflowed";
  c.divergence.reason = msg.str();
}

// The activation of the first `lanes` neurons of one tile row r[0..W) (lanes < W: a last tile with
// padding, which is skipped): h_l = a_l phi'(r_l) and fl[l] += a_l phi(r_l), neuron l of the tile into
// partial sum l. Activations with a vector form (kVectorised, the cubic) evaluate a full tile in
// vectors of Vec: the same expressions lane by lane, so the same bits as the scalar loop.
template <class Act, class = void>
struct Vectorised : std::false_type {};
template <class Act>
struct Vectorised<Act, std::void_t<decltype(Act::kVectorised)>> : std::true_type {};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // vectors never cross a call: everything below is inlined
template <class Vec, class Act>
[[gnu::always_inline]] inline void tile_activation(const Act& act, const double* __restrict r,
                                                   const double* __restrict a, double* __restrict h,
                                                   double* __restrict fl, int lanes = W) {
  if constexpr (Vectorised<Act>::value) {
    if (lanes == W) {
      constexpr int VL = static_cast<int>(sizeof(Vec) / sizeof(double));
      for (int v = 0; v < W / VL; ++v) {
        Vec value, slope;
        act(load<Vec>(r + v * VL), value, slope);
        const Vec av = load<Vec>(a + v * VL);
        store<Vec>(fl + v * VL, load<Vec>(fl + v * VL) + av * value);
        store<Vec>(h + v * VL, av * slope);
      }
      return;
    }
  }
  for (int l = 0; l < lanes; ++l) {
    double v, d;
    act(r[l], v, d);
    fl[l] += a[l] * v;
    h[l] = a[l] * d;
  }
}
#pragma GCC diagnostic pop

// The activation of one batch row r[0..m) (tiles in order, the last one without its padding): h and
// the output's W partial sums fl, neuron j into fl[j mod W]. The fused pre-activation kernel computes
// the same values tile by tile in the same order, so both give the same bits.
template <class Vec, class Act>
[[gnu::always_inline]] inline void row_activation(const Act& act, const double* __restrict r,
                                                  const double* __restrict a, double* __restrict h, int m,
                                                  double* __restrict fl) {
  const int full_tiles = m / W;
  for (int t = 0; t < full_tiles; ++t) tile_activation<Vec>(act, r + t * W, a + t * W, h + t * W, fl);
  if (full_tiles * W < m)
    tile_activation<Vec>(act, r + full_tiles * W, a + full_tiles * W, h + full_tiles * W, fl, m - full_tiles * W);
}

// P > 0 (here and in run_steps): the rows of a tile known at compile time (the reduced dimension p,
// which equals n in pre-activation coordinates; small P: the loops unroll and the sample vectors stay
// in registers); P = 0: any.
//
// Pre-activation coordinates with B = 1, the paper's setting: the update of step k and the
// activation of step k + 1 in one pass. Per tile: the row of the next sample after the update is
// computed in registers from the row before it (tile_row_after_update: the same expression as the
// update, so the same bits), the n rows move by -coef h_l K_{i k}, and the next sample's row goes
// through phi and phi' at once: no separate pass over the m pre-activations. The output sum adds
// neuron j into partial sum j mod W in tile order, as in run_steps.
template <int P, class Act, class Vec>
[[gnu::always_inline]] inline std::uint64_t run_preactivation_steps(LabelNoiseSgd::Core& c, std::uint64_t steps,
                                                                    const Act& act) {
  const int m = c.m, n = P > 0 ? P : c.n, tiles = c.tiles, full_tiles = m / W;
  const std::size_t tile_size = static_cast<std::size_t>(n) * W;
  const double* a = c.a.data();
  const double* y = c.y.data();
  const double* K = c.K.data();
  double* block = c.block.data();
  double* h = c.h.data();
  const double eta_over_B = c.eta_over_B, s = c.s, bound = c.residual_bound;
  // r holds the row of the next step's sample between calls (compute_preactivations after a
  // construction or restore; this function on every return).
  auto sync_r = [&]() {
    const std::size_t next = static_cast<std::size_t>(c.next_batch[0]) * W;
    for (int t = 0; t < tiles; ++t)
      for (int l = 0; l < W; ++l) c.r[t * W + l] = block[t * tile_size + next + l];
  };
  // Prologue: the activation of the first step's sample, from r.
  double fl[W] = {};
  row_activation<Vec>(act, c.r.data(), a, h, m, fl);
  for (std::uint64_t done = 0; done < steps; ++done) {
    const double f = (fl[0] + fl[1]) + (fl[2] + fl[3]);
    const int i = c.next_batch[0];
    const double residual = f - y[i];
    if (!(std::abs(residual) <= bound)) {
      refuse_step(c, i, f, residual);
      sync_r();
      return done;
    }
    const double coef = eta_over_B * (residual - s * c.xi[0]);
    c.batch.swap(c.next_batch);
    c.draw_next();
    const double* g = K + static_cast<std::size_t>(c.batch[0]) * n;
    const std::size_t next = static_cast<std::size_t>(c.next_batch[0]) * W;
    const double g_next = g[c.next_batch[0]];
    fl[0] = fl[1] = fl[2] = fl[3] = 0.0;
    for (int t = 0; t < full_tiles; ++t) {
      double* bt = block + t * tile_size;
      double* ht = h + t * W;
      alignas(32) double row[W];
      tile_row_after_update<Vec>(bt + next, ht, coef, g_next, row);
      tile_update<Vec>(bt, ht, coef, g, n);
      tile_activation<Vec>(act, row, a + t * W, ht, fl);
    }
    if (full_tiles < tiles) {  // the last, partial tile: update all lanes (padding stays 0), skip padding
      double* bt = block + full_tiles * tile_size;
      alignas(32) double row[W];
      tile_row_after_update<Vec>(bt + next, h + full_tiles * W, coef, g_next, row);
      tile_update<Vec>(bt, h + full_tiles * W, coef, g, n);
      tile_activation<Vec>(act, row, a + full_tiles * W, h + full_tiles * W, fl, m - full_tiles * W);
    }
    ++c.step;
  }
  sync_r();
  return steps;
}

// Pre-activation coordinates with B = 1 and w = c.params.steps_per_pass > 1 steps per pass over R: the same
// iteration as run_preactivation_steps, bit for bit, with R loaded and stored once per w steps.
//
// A step needs the row of its sample after all earlier updates, and its update needs the output
// f_i, a sum over all m neurons: step k + 1 cannot start before the pass of step k has ended. But
// the row of a later sample after the window's earlier updates is cheap to form from its row at the
// window's start (m values): it moves by -(h_q c_q) K_{i_q i} for each earlier step q of the window,
// the expression tile_update applies to R. So a window runs in two phases:
//   decide  for q = 0 .. w-1: the row of step q's sample (its row at the window's start, moved by the
//           window's earlier updates in step order), phi and phi' give h_q and f, the residual gives
//           c_q, and the next sample and noise are drawn, exactly as in run_preactivation_steps;
//   apply   one pass over R: each entry takes the w updates in step order (tile_update_window), and
//           the rows of the next window's samples are copied out of each tile while it is in cache.
// The next window's samples are known before its steps run: they are peeked from a copy of the
// index generator (the run's own generator draws them again, one per step, as always). Per entry
// and per step the arithmetic is that of run_preactivation_steps, so both kernels give the same
// bits (label_noise_sgd_test), and the state between calls (R, the next sample's row in r, the
// generators) is the same.
// The apply phase with Count updates; copies the rows next[0..next_count) of the updated R into
// next_rows (row q at next_rows + q m_pad).
template <class Vec, int Count>
[[gnu::always_inline]] inline void apply_window(LabelNoiseSgd::Core& c, const int* idx, const int* next,
                                                int next_count) {
  const int n = c.n, tiles = c.tiles;
  const std::size_t tile_size = static_cast<std::size_t>(n) * W, m_pad = static_cast<std::size_t>(c.m_pad);
  const double* g[Count > 0 ? Count : 1];
  for (int q = 0; q < Count; ++q) g[q] = c.K.data() + static_cast<std::size_t>(idx[q]) * n;
  constexpr bool pairs = sizeof(Vec) == W * sizeof(double) && Count > 0 && Count <= 4;
  for (int t = 0; t < tiles; ++t) {
    double* bt = c.block.data() + t * tile_size;
    if constexpr (pairs) {  // tiles t and t + 1 updated together at even t, copied from below at both
      if (t % 2 == 0 && t + 1 < tiles) {
        const double *h0[Count > 0 ? Count : 1], *h1[Count > 0 ? Count : 1];
        for (int q = 0; q < Count; ++q) {
          h0[q] = c.win_h.data() + q * m_pad + t * W;
          h1[q] = h0[q] + W;
        }
        tile_pair_update_window<Vec, Count>(bt, bt + tile_size, h0, h1, c.win_coef.data(), g, n);
      } else if (t % 2 == 0) {
        const double* h[Count > 0 ? Count : 1];
        for (int q = 0; q < Count; ++q) h[q] = c.win_h.data() + q * m_pad + t * W;
        tile_update_window<Vec, Count>(bt, h, c.win_coef.data(), g, n);
      }
    } else if constexpr (Count > 0) {
      const double* h[Count];
      for (int q = 0; q < Count; ++q) h[q] = c.win_h.data() + q * m_pad + t * W;
      tile_update_window<Vec, Count>(bt, h, c.win_coef.data(), g, n);
    }
    for (int q = 0; q < next_count; ++q) {
      const double* row = bt + static_cast<std::size_t>(next[q]) * W;
      double* out = c.win_next_rows.data() + q * m_pad + t * W;
      for (int l = 0; l < W; ++l) out[l] = row[l];
    }
  }
}

template <class Vec>
[[gnu::always_inline]] inline void apply_window(LabelNoiseSgd::Core& c, int count, const int* idx, const int* next,
                                                int next_count) {
  switch (count) {
    case 0: apply_window<Vec, 0>(c, idx, next, next_count); break;
    case 1: apply_window<Vec, 1>(c, idx, next, next_count); break;
    case 2: apply_window<Vec, 2>(c, idx, next, next_count); break;
    case 3: apply_window<Vec, 3>(c, idx, next, next_count); break;
    case 4: apply_window<Vec, 4>(c, idx, next, next_count); break;
    case 5: apply_window<Vec, 5>(c, idx, next, next_count); break;
    case 6: apply_window<Vec, 6>(c, idx, next, next_count); break;
    case 7: apply_window<Vec, 7>(c, idx, next, next_count); break;
    default: apply_window<Vec, kMaxStepsPerPass>(c, idx, next, next_count); break;
  }
}

// The decide phase for `count` steps whose samples are idx[0..count) and whose rows at the window's
// start are in win_rows; returns the number of steps taken (fewer when one is refused).
template <class Act, class Vec>
[[gnu::always_inline]] inline int decide_window(LabelNoiseSgd::Core& c, const Act& act, int count, const int* idx) {
  const int m = c.m, n = c.n, tiles = c.tiles, full_tiles = m / W;
  const std::size_t m_pad = static_cast<std::size_t>(c.m_pad);
  const double* a = c.a.data();
  const double bound = c.residual_bound;
  for (int q = 0; q < count; ++q) {
    const int i = c.next_batch[0];
    if (i != idx[q]) throw std::logic_error("label-noise SGD: the window's peeked sample differs from the drawn one");
    double fl[W] = {};
    double* hq = c.win_h.data() + q * m_pad;
    double kq[kMaxStepsPerPass];
    for (int u = 0; u < q; ++u) kq[u] = c.K[static_cast<std::size_t>(idx[u]) * n + i];
    for (int t = 0; t < tiles; ++t) {
      alignas(32) double row[W];
      const double* hu[kMaxStepsPerPass];
      for (int u = 0; u < q; ++u) hu[u] = c.win_h.data() + u * m_pad + t * W;
      tile_row_after_updates<Vec>(c.win_rows.data() + q * m_pad + t * W, hu, c.win_coef.data(), kq, q, row);
      tile_activation<Vec>(act, row, a + t * W, hq + t * W, fl, t < full_tiles ? W : m - full_tiles * W);
    }
    const double f = (fl[0] + fl[1]) + (fl[2] + fl[3]);
    const double residual = f - c.y[i];
    if (!(std::abs(residual) <= bound)) {
      refuse_step(c, i, f, residual);
      return q;
    }
    c.win_coef[q] = c.eta_over_B * (residual - c.s * c.xi[0]);
    c.batch.swap(c.next_batch);
    c.draw_next();
    ++c.step;
  }
  return count;
}

template <class Act, class Vec>
[[gnu::always_inline]] inline std::uint64_t run_preactivation_windows(LabelNoiseSgd::Core& c, std::uint64_t steps,
                                                                      const Act& act) {
  const int w = c.params.steps_per_pass;
  const std::size_t m_pad = static_cast<std::size_t>(c.m_pad), tile_size = static_cast<std::size_t>(c.n) * W;
  int idx[kMaxStepsPerPass], next[kMaxStepsPerPass];
  // The first window's samples and their rows: the next sample's row is r, the others are read
  // from R (strided, once per call).
  int count = static_cast<int>(std::min<std::uint64_t>(w, steps));
  {
    Xoshiro256pp ahead = c.index_rng;
    idx[0] = c.next_batch[0];
    for (int q = 1; q < count; ++q) idx[q] = c.draw_sample(ahead);
    std::copy(c.r.begin(), c.r.begin() + c.m_pad, c.win_rows.begin());
    for (int q = 1; q < count; ++q)
      for (int t = 0; t < c.tiles; ++t)
        for (int l = 0; l < W; ++l)
          c.win_rows[q * m_pad + t * W + l] = c.block[t * tile_size + static_cast<std::size_t>(idx[q]) * W + l];
  }
  std::uint64_t done = 0;
  while (count > 0) {
    const int decided = decide_window<Act, Vec>(c, act, count, idx);
    done += static_cast<std::uint64_t>(decided);
    // The next window's samples (only the next one after the last window, or after a refusal:
    // its row becomes r).
    const int next_count =
        decided < count ? 1 : static_cast<int>(std::max<std::uint64_t>(1, std::min<std::uint64_t>(w, steps - done)));
    Xoshiro256pp ahead = c.index_rng;
    next[0] = c.next_batch[0];
    for (int q = 1; q < next_count; ++q) next[q] = c.draw_sample(ahead);
    apply_window<Vec>(c, decided, idx, next, next_count);
    c.win_rows.swap(c.win_next_rows);
    if (decided < count || done == steps) break;
    count = next_count;
    std::copy(next, next + next_count, idx);
  }
  std::copy(c.win_rows.begin(), c.win_rows.begin() + c.m_pad, c.r.begin());  // the next sample's row
  return done;
}

template <int P, class Act, class Vec>
[[gnu::always_inline]] inline std::uint64_t run_steps(LabelNoiseSgd::Core& c, std::uint64_t steps, const Act& act) {
  if constexpr (P == 0) {
    if (c.params.steps_per_pass > 1) return run_preactivation_windows<Act, Vec>(c, steps, act);
  }
  if (c.pre && c.B == 1) return run_preactivation_steps<P, Act, Vec>(c, steps, act);
  const int m = c.m, p = P > 0 ? P : c.p, B = c.B, tiles = c.tiles;
  const std::size_t m_pad = static_cast<std::size_t>(c.m_pad), tile_size = static_cast<std::size_t>(p) * W;
  const double* Z = c.Z.data();
  const double* a = c.a.data();
  const double* y = c.y.data();
  const double* K = c.K.data();
  const bool pre = c.pre;
  double* block = c.block.data();
  double* r = c.r.data();
  double* h = c.h.data();
  double* coef = c.coef.data();
  const double eta_over_B = c.eta_over_B, s = c.s, bound = c.residual_bound;
  for (std::uint64_t done = 0; done < steps; ++done) {
    // 1. Outputs of this step's batch (pre-activations were computed by the previous update) and
    //    h_bj = a_j phi'(r_ij). The output f = sum_j a_j phi(r_ij) is summed in W interleaved
    //    partial sums (neuron j into sum j mod W), then (f0 + f1) + (f2 + f3): a fixed order that
    //    the vector units can follow, unlike one chain of m dependent additions.
    for (int b = 0; b < B; ++b) {
      double fl[W] = {};
      row_activation<Vec>(act, r + b * m_pad, a, h + b * m_pad, m, fl);
      const double f = (fl[0] + fl[1]) + (fl[2] + fl[3]);
      const int i = c.next_batch[b];
      const double residual = f - y[i];
      if (!(std::abs(residual) <= bound)) {
        refuse_step(c, i, f, residual);
        return done;
      }
      coef[b] = eta_over_B * (residual - s * c.xi[b]);  // the step of neuron j is h_bj * coef[b] * z_i
    }
    // 2. The batch of the next step (and its noise), drawn ahead so that the update below can
    //    compute its pre-activations in the same pass over the weights.
    c.batch.swap(c.next_batch);
    c.draw_next();
    // 3. Fused update and next pre-activations, one tile of W neurons at a time.
    if (pre) {
      // Pre-activation coordinates, B > 1 (B = 1 runs in run_preactivation_steps): R <- R -
      // sum_b K[:, i_b] (coef_b h_b)^T (row k of tile t moves by coef_b h_bj K_{i_b k}, sample by
      // sample in batch order), then the rows of the next batch are read off.
      for (int t = 0; t < tiles; ++t) {
        const std::size_t o = static_cast<std::size_t>(t) * W;
        double* bt = block + t * tile_size;
        for (int b = 0; b < B; ++b)
          tile_update<Vec>(bt, h + b * m_pad + o, coef[b], K + static_cast<std::size_t>(c.batch[b]) * p, p);
        for (int b = 0; b < B; ++b) {
          const double* row = bt + static_cast<std::size_t>(c.next_batch[b]) * W;
          for (int l = 0; l < W; ++l) r[b * m_pad + o + l] = row[l];
        }
      }
    } else if (B == 1) {
      const double* z = Z + static_cast<std::size_t>(c.batch[0]) * p;
      const double* zn = Z + static_cast<std::size_t>(c.next_batch[0]) * p;
      const double c0 = coef[0];
      for (int t = 0; t < tiles; ++t) {
        const std::size_t o = static_cast<std::size_t>(t) * W;
        tile_update_and_dot<Vec>(block + t * tile_size, h + o, c0, z, zn, p, r + o);
      }
    } else {
      for (int t = 0; t < tiles; ++t) {
        const std::size_t o = static_cast<std::size_t>(t) * W;
        double* bt = block + t * tile_size;
        for (int b = 0; b < B; ++b)
          tile_update<Vec>(bt, h + b * m_pad + o, coef[b], Z + static_cast<std::size_t>(c.batch[b]) * p, p);
        for (int b = 0; b < B; ++b) tile_dot<Vec>(Z + static_cast<std::size_t>(c.next_batch[b]) * p, bt, p, r + b * m_pad + o);
      }
    }
    ++c.step;
  }
  return steps;
}

// The same kernel compiled for two instruction sets: baseline x86-64 (SSE2: a tile is two 2-lane
// vectors) and AVX2 (one 4-lane vector), chosen at run time. Neither uses fused
// multiply-add and both perform, per neuron, the same IEEE operations in the same order, so they
// give the same bits (label_noise_sgd_test checks this).
template <int P, class Act>
std::uint64_t run_baseline(LabelNoiseSgd::Core& c, std::uint64_t steps, const Act& act) {
  return run_steps<P, Act, Vec2>(c, steps, act);
}
#if defined(__GNUC__) && defined(__x86_64__)
template <int P, class Act>
[[gnu::target("avx2")]] std::uint64_t run_avx2(LabelNoiseSgd::Core& c, std::uint64_t steps, const Act& act) {
  return run_steps<P, Act, Vec4>(c, steps, act);
}
#else
template <int P, class Act>
std::uint64_t run_avx2(LabelNoiseSgd::Core& c, std::uint64_t steps, const Act& act) {  // never selected
  return run_steps<P, Act, Vec2>(c, steps, act);
}
#endif

// Reduced dimensions with a kernel specialised at compile time: 1 .. kMaxFixedP (the loops over p
// unroll fully, which at p = 10 halves the time of a step); larger p use the generic kernel, whose
// per-neuron loop is long enough to amortise its overhead.
constexpr int kMaxFixedP = 16;

template <class Act>
using RunFunction = std::uint64_t (*)(LabelNoiseSgd::Core&, std::uint64_t, const Act&);

template <class Act, int... P>
constexpr std::array<RunFunction<Act>, sizeof...(P) + 1> baseline_table(std::integer_sequence<int, P...>) {
  return {&run_baseline<0, Act>, &run_baseline<P + 1, Act>...};
}
template <class Act, int... P>
constexpr std::array<RunFunction<Act>, sizeof...(P) + 1> avx2_table(std::integer_sequence<int, P...>) {
  return {&run_avx2<0, Act>, &run_avx2<P + 1, Act>...};
}

template <class Act>
struct Kernel final : SgdKernelBase {
  Kernel(Act a, int p, bool avx2) : act(std::move(a)) {
    static constexpr auto baseline = baseline_table<Act>(std::make_integer_sequence<int, kMaxFixedP>{});
    static constexpr auto wide = avx2_table<Act>(std::make_integer_sequence<int, kMaxFixedP>{});
    run_ = (avx2 ? wide : baseline)[p <= kMaxFixedP ? p : 0];
  }
  std::uint64_t run(LabelNoiseSgd::Core& core, std::uint64_t steps) override { return run_(core, steps, act); }
  const char* name() const override { return Act::name; }
  Act act;
  RunFunction<Act> run_ = nullptr;
};

std::unique_ptr<SgdKernelBase> make_kernel(const Activation& phi, int p, bool avx2) {
  switch (phi.kind()) {
    case Activation::Kind::Cubic: return std::make_unique<Kernel<CubicAct>>(CubicAct{}, p, avx2);
    case Activation::Kind::Sinh: return std::make_unique<Kernel<SinhAct>>(SinhAct{}, p, avx2);
    case Activation::Kind::Tanh: return std::make_unique<Kernel<TanhAct>>(TanhAct{}, p, avx2);
    case Activation::Kind::Sigmoid: return std::make_unique<Kernel<SigmoidAct>>(SigmoidAct{}, p, avx2);
    case Activation::Kind::Softplus: return std::make_unique<Kernel<SoftplusAct>>(SoftplusAct{}, p, avx2);
    case Activation::Kind::Gelu: return std::make_unique<Kernel<GeluAct>>(GeluAct{}, p, avx2);
    case Activation::Kind::Polynomial:
      return std::make_unique<Kernel<PolynomialAct>>(PolynomialAct(phi.polynomial_coefficients()), p, avx2);
    case Activation::Kind::Custom: break;
  }
  return std::make_unique<Kernel<GenericAct>>(GenericAct{&phi}, p, avx2);
}

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

}  // namespace

LabelNoiseSgd::LabelNoiseSgd(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta0,
                             const SgdParameters& params) {
  model.check_weights(beta0, "starting weights of label-noise SGD");
  require(std::isfinite(params.learning_rate) && params.learning_rate > 0,
          "label-noise SGD: learning rate eta = " + short_number(params.learning_rate, 6) + "; expected a finite number > 0");
  require(std::isfinite(params.label_noise) && params.label_noise >= 0,
          "label-noise SGD: label noise s = " + short_number(params.label_noise, 6) + "; expected a finite number >= 0");
  require(params.batch_size >= 1 && params.batch_size <= model.n(),
          "label-noise SGD: batch size B = " + std::to_string(params.batch_size) + "; expected 1 <= B <= n = " +
              std::to_string(model.n()) + " (or the full batch)");
  require(std::isfinite(params.max_loss), "label-noise SGD: the divergence bound max_loss must be finite");
  core_ = std::make_unique<Core>(model, params);
  Core& c = *core_;
  c.n = model.n();
  c.m = model.m();
  c.p = model.d();
  c.B = params.batch_size;
  c.full = c.B == c.n;
  c.eta_over_B = params.learning_rate / c.B;
  c.s = params.label_noise;
  if (!(c.params.max_loss > 0)) {
    const double loss0 = (network_outputs(model, beta0) - model.y()).squaredNorm() / (2.0 * c.n);
    const double y2 = model.y().squaredNorm() / c.n;
    c.params.max_loss = 1e6 * std::max({1.0, std::isfinite(loss0) ? loss0 : 1.0, y2});
  }
  c.residual_bound = std::sqrt(2.0 * c.n * c.params.max_loss);
  c.Z.resize(static_cast<std::size_t>(c.n) * c.p);
  for (int i = 0; i < c.n; ++i)
    for (int k = 0; k < c.p; ++k) c.Z[static_cast<std::size_t>(i) * c.p + k] = model.X()(i, k);
  c.y.assign(model.y().data(), model.y().data() + c.n);
  if (c.n == c.p) {
    // sigma_min / sigma_max from the singular values (an LU estimate such as PartialPivLU::rcond is
    // not reliable on an exactly singular Z: it can return 1e-2 with a zero pivot).
    const Eigen::VectorXd sv = singular_values(model.X());  // descending
    c.rcond = sv.size() > 0 && sv(0) > 0 ? sv(sv.size() - 1) / sv(0) : 0.0;
    if (!std::isfinite(c.rcond)) c.rcond = 0;
  }
  switch (params.coordinates) {
    case SgdCoordinates::Auto: c.pre = c.n == c.p && c.rcond >= kPreactivationMinRcond; break;
    case SgdCoordinates::Weights: c.pre = false; break;
    case SgdCoordinates::Preactivations:
      require(c.n == c.p, "label-noise SGD: pre-activation coordinates need a square Z (n = p), but n = " +
                              std::to_string(c.n) + " and p = " + std::to_string(c.p) +
                              " (use weight coordinates; with full coordinates and d > n, reduce to the data's span first: "
                              "model/reduced_coordinates.hpp)");
      require(c.rcond >= 1e-12, "label-noise SGD: pre-activation coordinates need an invertible Z, but its "
                                "reciprocal condition number is " + short_number(c.rcond, 6) +
                                    " (near-dependent data: use weight coordinates)");
      c.pre = true;
      break;
  }
  c.params.coordinates = c.pre ? SgdCoordinates::Preactivations : SgdCoordinates::Weights;
  c.rows = c.pre ? c.n : c.p;
  if (c.pre) {
    c.z_lu.compute(model.X());
    const Eigen::MatrixXd& K = model.gram();  // Z Z^T (the model's, computed once)
    c.K.resize(static_cast<std::size_t>(c.n) * c.n);
    for (int i = 0; i < c.n; ++i)
      for (int k = 0; k < c.n; ++k) c.K[static_cast<std::size_t>(i) * c.n + k] = K(i, k);
  }
  c.tiles = (c.m + W - 1) / W;
  c.m_pad = c.tiles * W;
  c.a.assign(static_cast<std::size_t>(c.m_pad), 0.0);
  std::copy(model.a().data(), model.a().data() + c.m, c.a.begin());
  c.set_weights(beta0);
  c.batch.assign(c.B, 0);
  c.next_batch.assign(c.B, 0);
  c.swaps.assign(c.B, 0);
  c.perm.resize(c.n);
  for (int i = 0; i < c.n; ++i) c.perm[i] = i;
  c.xi.assign(c.B, 0.0);
  c.r.assign(static_cast<std::size_t>(c.B) * c.m_pad, 0.0);
  c.h.assign(static_cast<std::size_t>(c.B) * c.m_pad, 0.0);
  c.coef.assign(c.B, 0.0);
  require(params.steps_per_pass >= 0 && params.steps_per_pass <= kMaxStepsPerPass,
          "label-noise SGD: steps per pass = " + std::to_string(params.steps_per_pass) + "; expected 0 (auto) to " +
              std::to_string(kMaxStepsPerPass));
  const bool windows_apply = c.pre && c.B == 1;
  require(params.steps_per_pass <= 1 || windows_apply,
          "label-noise SGD: " + std::to_string(params.steps_per_pass) +
              " steps per pass need pre-activation coordinates and batch size 1 (this run: " +
              to_string(c.params.coordinates) + " coordinates, B = " + std::to_string(c.B) + ")");
  const int window = params.steps_per_pass > 0 ? params.steps_per_pass
                                               : (windows_apply && c.n > kWindowMinN ? kAutoStepsPerPass : 1);
  c.params.steps_per_pass = window;
  if (window > 1) {
    const std::size_t size = static_cast<std::size_t>(window) * c.m_pad;
    c.win_h.assign(size, 0.0);
    c.win_rows.assign(size, 0.0);
    c.win_next_rows.assign(size, 0.0);
    c.win_coef.assign(window, 0.0);
  }
  c.avx2 = use_avx2(params.instruction_set, "label-noise SGD");
  c.params.instruction_set = c.avx2 ? SgdInstructionSet::Avx2 : SgdInstructionSet::Baseline;
  c.kernel = make_kernel(c.model.activation(), window > 1 ? 0 : c.p, c.avx2);
  c.draw_next();
  c.compute_preactivations();
  c.take_snapshot();
}

LabelNoiseSgd::~LabelNoiseSgd() = default;
LabelNoiseSgd::LabelNoiseSgd(LabelNoiseSgd&&) noexcept = default;
LabelNoiseSgd& LabelNoiseSgd::operator=(LabelNoiseSgd&&) noexcept = default;

std::uint64_t LabelNoiseSgd::advance(std::uint64_t steps) {
  Core& c = *core_;
  if (c.divergence.diverged) return 0;
  c.take_snapshot();
  const std::uint64_t done = c.kernel->run(c, steps);
  if (c.divergence.diverged) c.take_snapshot();
  return done;
}

int LabelNoiseSgd::steps_per_pass() const { return core_->params.steps_per_pass; }
std::uint64_t LabelNoiseSgd::step() const { return core_->step; }
bool LabelNoiseSgd::diverged() const { return core_->divergence.diverged; }
const SgdDivergence& LabelNoiseSgd::divergence() const { return core_->divergence; }
Eigen::MatrixXd LabelNoiseSgd::weights() const { return core_->weights_of(core_->block); }
Eigen::MatrixXd LabelNoiseSgd::last_finite_weights() const { return core_->weights_of(core_->snapshot); }
Eigen::MatrixXd LabelNoiseSgd::preactivations() const { return core_->preactivations_of(core_->block); }
std::uint64_t LabelNoiseSgd::last_finite_step() const { return core_->snapshot_step; }

double LabelNoiseSgd::time() const {
  const double eta = core_->params.learning_rate;
  return eta * eta * static_cast<double>(core_->step);
}
double LabelNoiseSgd::flow_time_per_step() const {
  return zeroloss::flow_time_per_step(core_->params.label_noise, core_->B, core_->params.learning_rate);
}
double LabelNoiseSgd::flow_time() const { return flow_time_per_step() * static_cast<double>(core_->step); }

const TwoLayerModel& LabelNoiseSgd::model() const { return core_->model; }
const SgdParameters& LabelNoiseSgd::parameters() const { return core_->params; }
const char* LabelNoiseSgd::kernel_name() const { return core_->kernel->name(); }
SgdInstructionSet LabelNoiseSgd::instruction_set() const {
  return core_->avx2 ? SgdInstructionSet::Avx2 : SgdInstructionSet::Baseline;
}
SgdCoordinates LabelNoiseSgd::coordinates() const {
  return core_->pre ? SgdCoordinates::Preactivations : SgdCoordinates::Weights;
}
double LabelNoiseSgd::data_rcond() const { return core_->rcond; }

const char* to_string(SgdCoordinates coordinates) {
  switch (coordinates) {
    case SgdCoordinates::Auto: return "auto";
    case SgdCoordinates::Weights: return "weights";
    case SgdCoordinates::Preactivations: return "preactivations";
  }
  return "unknown";
}

const std::vector<int>& LabelNoiseSgd::next_batch() const { return core_->next_batch; }
std::vector<double> LabelNoiseSgd::next_noise() const { return core_->xi; }

SgdState LabelNoiseSgd::state() const {
  const Core& c = *core_;
  SgdState st;
  st.step = c.step;
  if (c.pre)
    st.preactivations = c.block_matrix(c.block);  // the state; beta = Z^{-1} R is weights()
  else
    st.beta = c.block_matrix(c.block);
  st.index_generator = c.index_rng.state();
  st.noise_generator = c.noise.state();
  st.next_batch = c.next_batch;
  st.next_noise = c.xi;
  return st;
}

void LabelNoiseSgd::restore(const SgdState& st) {
  Core& c = *core_;
  const bool use_r = c.pre && st.preactivations.size() > 0;
  if (use_r) {
    require(st.preactivations.rows() == c.n && st.preactivations.cols() == c.m,
            "SGD state: pre-activations are " + std::to_string(st.preactivations.rows()) + " x " +
                std::to_string(st.preactivations.cols()) + "; expected n x m = " + std::to_string(c.n) + " x " +
                std::to_string(c.m));
    require(st.preactivations.allFinite(), "SGD state: the saved pre-activations are not finite");
  } else {
    require(st.beta.size() > 0 || st.preactivations.size() == 0,
            "SGD state: the state holds pre-activations only, but this run uses weight coordinates "
            "(restore it into a run in pre-activation coordinates)");
    require(st.beta.rows() == c.m && st.beta.cols() == c.p,
            "SGD state: weights are " + std::to_string(st.beta.rows()) + " x " + std::to_string(st.beta.cols()) +
                "; expected " + std::to_string(c.m) + " x " + std::to_string(c.p));
    require(st.beta.allFinite(), "SGD state: the saved weights are not finite");
  }
  require(static_cast<int>(st.next_batch.size()) == c.B && static_cast<int>(st.next_noise.size()) == c.B,
          "SGD state: the saved batch has " + std::to_string(st.next_batch.size()) + " entries; expected B = " +
              std::to_string(c.B));
  for (int b = 0; b < c.B; ++b) {
    require(st.next_batch[b] >= 0 && st.next_batch[b] < c.n,
            "SGD state: batch index " + std::to_string(st.next_batch[b]) + " is outside [0, n)");
    require(!c.full || st.next_batch[b] == b, "SGD state: a full-batch state must list the samples in order");
    require(std::isfinite(st.next_noise[b]), "SGD state: the saved noise is not finite");
  }
  c.index_rng.restore(st.index_generator);
  c.noise.restore(st.noise_generator);
  c.step = st.step;
  if (use_r)
    c.set_block(st.preactivations);
  else
    c.set_weights(st.beta);
  c.next_batch = st.next_batch;
  c.xi = st.next_noise;
  c.divergence = SgdDivergence{};
  c.compute_preactivations();
  c.take_snapshot();
}

}  // namespace zeroloss
