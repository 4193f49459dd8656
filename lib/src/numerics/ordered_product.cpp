#include "zeroloss/numerics/ordered_product.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "numerics/parallel_ranges.hpp"
#include "numerics/vector_lanes.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

using Index = Eigen::Index;

using namespace vector_lanes;  // Vec2, Vec4, kLanes, load, store

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"  // vectors never cross a call: everything below is inlined

// A(i, l) = a[i + l * lda]; B(l, j) = b[l * rsb + j * csb]; C(i, j) = c[i + j * ldc].
struct Operands {
  const double* a;
  Index lda;
  const double* b;
  Index rsb, csb;
  double* c;
  Index ldc;
  bool a_lower = false;  // A lower triangular: the rows [i, i + r) stop after l = i + r - 1
};

// The block of C with rows i .. i + NV * lanes - 1 and columns j .. j + NR - 1, over l in [l0, l1):
// each entry starts from C (from_c) or 0 and takes its products in increasing l, one rounded
// multiplication then one rounded addition (subtraction) each. V = double is the scalar case; the
// vector cases do the same per lane.
template <class V, int NV, int NR, bool Subtract>
[[gnu::always_inline]] inline void block(const Operands& o, Index i, Index j, Index l0, Index l1, bool from_c) {
  constexpr int VL = kLanes<V>;
  V acc[NR][NV];
  double* c = o.c + i + j * o.ldc;
  for (int jj = 0; jj < NR; ++jj)
    for (int v = 0; v < NV; ++v) acc[jj][v] = from_c ? load<V>(c + jj * o.ldc + v * VL) : V{};
  const double* a = o.a + i + l0 * o.lda;
  const double* b = o.b + l0 * o.rsb + j * o.csb;
  if (o.a_lower) l1 = std::min<Index>(l1, i + NV * VL);
  for (Index l = l0; l < l1; ++l, a += o.lda, b += o.rsb) {
    V av[NV];
    for (int v = 0; v < NV; ++v) av[v] = load<V>(a + v * VL);
    for (int jj = 0; jj < NR; ++jj) {
      const double bj = b[jj * o.csb];
      for (int v = 0; v < NV; ++v) {
        const V p = av[v] * bj;
        if constexpr (Subtract) {
          acc[jj][v] = acc[jj][v] - p;
        } else {
          acc[jj][v] = acc[jj][v] + p;
        }
      }
    }
  }
  for (int jj = 0; jj < NR; ++jj)
    for (int v = 0; v < NV; ++v) store<V>(c + jj * o.ldc + v * VL, acc[jj][v]);
}

// Rows [i, M) of the NR columns at j: blocks of two vectors, then one vector, then (AVX2) one
// 2-lane vector, then single rows.
template <class V, int NR, bool Subtract>
[[gnu::always_inline]] inline void column_strip(const Operands& o, Index i, Index M, Index j, Index l0, Index l1,
                                                bool from_c) {
  constexpr int VL = kLanes<V>;
  for (; i + 2 * VL <= M; i += 2 * VL) block<V, 2, NR, Subtract>(o, i, j, l0, l1, from_c);
  if (i + VL <= M) {
    block<V, 1, NR, Subtract>(o, i, j, l0, l1, from_c);
    i += VL;
  }
  if constexpr (VL > 2) {
    if (i + 2 <= M) {
      block<Vec2, 1, NR, Subtract>(o, i, j, l0, l1, from_c);
      i += 2;
    }
  }
  for (; i < M; ++i) block<double, 1, NR, Subtract>(o, i, j, l0, l1, from_c);
}

// Depth of one pass over l. When B is read along its rows (b_lj = Bt(j, l), the Gram matrix and
// ordered_product_transposed) each l touches a new cache line of A and of B, and a depth of 96
// keeps both strips in a 32 KB first-level cache; otherwise the M x kc slice of A (read once per
// column strip) stays in a 256 KB second-level cache. Any value gives the same bits; these were the
// fastest at n = 100, m = 1000 (docs/performance.md).
Index pass_depth(Index M, bool b_by_rows) {
  return b_by_rows ? 96 : std::max<Index>(16, 32768 / std::max<Index>(M, 1));
}

// Columns [j, j + R) for the last R < NR columns.
template <class V, int R, bool Subtract>
[[gnu::always_inline]] inline void last_columns(const Operands& o, Index i, Index M, Index j, Index l0, Index l1,
                                                bool from_c, Index count) {
  if constexpr (R > 0) {
    if (count == R) {
      column_strip<V, R, Subtract>(o, i, M, j, l0, l1, from_c);
    } else {
      last_columns<V, R - 1, Subtract>(o, i, M, j, l0, l1, from_c, count);
    }
  }
}

// C (op)= A B over all of l, for columns [0, N), NR = 6 at a time (12 vector accumulators); with
// `lower` only rows i >= j are needed (the blocks on the diagonal compute a few entries above it as
// well).
template <class V, bool Subtract>
[[gnu::always_inline]] inline void run(const Operands& o, Index M, Index N, Index L, bool from_c, bool lower) {
  constexpr int NR = 6;
  const Index kc = pass_depth(M, o.rsb != 1);
  for (Index l0 = 0; l0 < L; l0 += kc) {
    const Index l1 = std::min(L, l0 + kc);
    const bool start_from_c = from_c || l0 > 0;
    Index j = 0;
    for (; j + NR <= N; j += NR) column_strip<V, NR, Subtract>(o, lower ? j : 0, M, j, l0, l1, start_from_c);
    last_columns<V, NR - 1, Subtract>(o, lower ? j : 0, M, j, l0, l1, start_from_c, N - j);
  }
}

template <class V>
[[gnu::always_inline]] inline void run_any(const Operands& o, Index M, Index N, Index L, ProductUpdate update,
                                           bool lower) {
  if (update == ProductUpdate::Subtract) {
    run<V, true>(o, M, N, L, true, lower);
  } else {
    run<V, false>(o, M, N, L, update == ProductUpdate::Add, lower);
  }
}

void run_baseline(const Operands& o, Index M, Index N, Index L, ProductUpdate update, bool lower) {
  run_any<Vec2>(o, M, N, L, update, lower);
}
#if defined(__GNUC__) && defined(__x86_64__)
[[gnu::target("avx2")]] void run_avx2(const Operands& o, Index M, Index N, Index L, ProductUpdate update, bool lower) {
  run_any<Vec4>(o, M, N, L, update, lower);
}
#else
void run_avx2(const Operands& o, Index M, Index N, Index L, ProductUpdate update, bool lower) {  // never selected
  run_any<Vec2>(o, M, N, L, update, lower);
}
#endif
#pragma GCC diagnostic pop

std::string shape(Index rows, Index cols) { return std::to_string(rows) + " x " + std::to_string(cols); }

// True when the memory spans of two matrices overlap.
bool overlap(const double* p, Index outer, Index rows, Index cols, const double* q, Index q_outer, Index q_rows,
             Index q_cols) {
  if (rows == 0 || cols == 0 || q_rows == 0 || q_cols == 0) return false;
  const double* p_end = p + (cols - 1) * outer + rows;
  const double* q_end = q + (q_cols - 1) * q_outer + q_rows;
  return std::less<const double*>()(p, q_end) && std::less<const double*>()(q, p_end);
}

void execute_resolved(const Operands& o, Index M, Index N, Index L, ProductUpdate update, bool lower, bool avx2) {
  if (M == 0 || N == 0) return;
  if (L == 0) {
    if (update == ProductUpdate::Assign) {
      for (Index j = 0; j < N; ++j) std::fill(o.c + j * o.ldc, o.c + j * o.ldc + M, 0.0);
    }
    return;
  }
  if (avx2) {
    run_avx2(o, M, N, L, update, lower);
  } else {
    run_baseline(o, M, N, L, update, lower);
  }
}

void execute(const char* who, const Operands& o, Index M, Index N, Index L, ProductUpdate update, bool lower,
             InstructionSet set) {
  execute_resolved(o, M, N, L, update, lower, use_avx2(set, who));
}

// The columns of C (and of B) split into at most `threads` contiguous ranges of whole 6-column
// blocks (the kernel's register block; the last range takes the remainder), one thread each. Every
// entry is formed by the same kernel operations as without the split (the l blocking depends on M
// only), so the bits do not depend on the number of threads.
void execute_split(const Operands& o, Index M, Index N, Index L, ProductUpdate update, bool avx2, int threads) {
  constexpr Index kColumns = 6;
  for_each_range_in_parallel((N + kColumns - 1) / kColumns, threads, [&](Index b0, Index b1) {
    Operands p = o;
    const Index j0 = b0 * kColumns, j1 = std::min(N, b1 * kColumns);
    p.b = o.b + j0 * o.csb;
    p.c = o.c + j0 * o.ldc;
    execute_resolved(p, M, j1 - j0, L, update, false, avx2);
  });
}

std::atomic<int> product_threads_setting{0};
std::atomic<double> threaded_min_work_setting{-1.0};

void check_output(const char* who, const Eigen::Ref<const Eigen::MatrixXd>& A,
                  const Eigen::Ref<const Eigen::MatrixXd>& B, const Eigen::Ref<Eigen::MatrixXd>& C, Index rows,
                  Index cols, const char* b_name) {
  if (C.rows() != rows || C.cols() != cols)
    throw InputError(std::string(who) + ": the output is " + shape(C.rows(), C.cols()) + "; expected " +
                     shape(rows, cols));
  if (overlap(C.data(), C.outerStride(), C.rows(), C.cols(), A.data(), A.outerStride(), A.rows(), A.cols()) ||
      overlap(C.data(), C.outerStride(), C.rows(), C.cols(), B.data(), B.outerStride(), B.rows(), B.cols()))
    throw InputError(std::string(who) + ": the output shares memory with A or " + b_name);
}

// The operands of C (op)= A B after checking the sizes and that C does not alias A or B.
Operands checked_product(const char* who, const Eigen::Ref<const Eigen::MatrixXd>& A,
                         const Eigen::Ref<const Eigen::MatrixXd>& B, Eigen::Ref<Eigen::MatrixXd>& C) {
  if (A.cols() != B.rows())
    throw InputError(std::string(who) + ": A is " + shape(A.rows(), A.cols()) + " and B is " +
                     shape(B.rows(), B.cols()) + "; the inner sizes differ");
  check_output(who, A, B, C, A.rows(), B.cols(), "B");
  return Operands{A.data(), A.outerStride(), B.data(), 1, B.outerStride(), C.data(), C.outerStride()};
}

}  // namespace

void ordered_product(const Eigen::Ref<const Eigen::MatrixXd>& A, const Eigen::Ref<const Eigen::MatrixXd>& B,
                     Eigen::Ref<Eigen::MatrixXd> C, ProductUpdate update, InstructionSet set) {
  const char* who = "ordered product";
  execute(who, checked_product(who, A, B, C), A.rows(), B.cols(), A.cols(), update, false, set);
}

void ordered_product_transposed(const Eigen::Ref<const Eigen::MatrixXd>& A, const Eigen::Ref<const Eigen::MatrixXd>& Bt,
                                Eigen::Ref<Eigen::MatrixXd> C, ProductUpdate update, InstructionSet set) {
  const char* who = "ordered product (B transposed)";
  if (A.cols() != Bt.cols())
    throw InputError(std::string(who) + ": A is " + shape(A.rows(), A.cols()) + " and B^T is " +
                     shape(Bt.rows(), Bt.cols()) + "; they need the same number of columns");
  check_output(who, A, Bt, C, A.rows(), Bt.rows(), "B");
  const Operands o{A.data(), A.outerStride(), Bt.data(), Bt.outerStride(), 1, C.data(), C.outerStride()};
  execute(who, o, A.rows(), Bt.rows(), A.cols(), update, false, set);
}

void ordered_lower_triangular_product(const Eigen::Ref<const Eigen::MatrixXd>& L,
                                      const Eigen::Ref<const Eigen::MatrixXd>& B, Eigen::Ref<Eigen::MatrixXd> C,
                                      InstructionSet set) {
  const char* who = "ordered lower-triangular product";
  if (L.rows() != L.cols() || L.cols() != B.rows())
    throw InputError(std::string(who) + ": L is " + shape(L.rows(), L.cols()) + " and B is " +
                     shape(B.rows(), B.cols()) + "; expected a square L with as many columns as B has rows");
  check_output(who, L, B, C, L.rows(), B.cols(), "B");
  Operands o{L.data(), L.outerStride(), B.data(), 1, B.outerStride(), C.data(), C.outerStride()};
  o.a_lower = true;
  execute(who, o, L.rows(), B.cols(), L.cols(), ProductUpdate::Assign, false, set);
}

void ordered_gram(const Eigen::Ref<const Eigen::MatrixXd>& A, Eigen::Ref<Eigen::MatrixXd> G, InstructionSet set) {
  const char* who = "ordered Gram matrix";
  check_output(who, A, A, G, A.rows(), A.rows(), "A");
  const Operands o{A.data(), A.outerStride(), A.data(), A.outerStride(), 1, G.data(), G.outerStride()};
  execute(who, o, A.rows(), A.rows(), A.cols(), ProductUpdate::Assign, true, set);
  for (Index j = 1; j < G.cols(); ++j)
    for (Index i = 0; i < j; ++i) G(i, j) = G(j, i);
}

int default_product_threads() {
  return static_cast<int>(std::clamp<unsigned>(std::thread::hardware_concurrency(), 1u, kMaxProductThreads));
}

void set_product_threads(int threads) {
  if (threads < 0) throw InputError("product threads: expected 0 (the default) or a count >= 1, got " + std::to_string(threads));
  product_threads_setting = threads;
}

int product_threads() {
  const int t = product_threads_setting;
  return t > 0 ? t : default_product_threads();
}

void set_threaded_product_min_work(double multiply_adds) { threaded_min_work_setting = multiply_adds; }

double threaded_product_min_work() {
  const double w = threaded_min_work_setting;
  return w >= 0 ? w : kThreadedProductMinWork;
}

int threads_for_product(Eigen::Index M, Eigen::Index N, Eigen::Index L) {
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(L);
  if (work < threaded_product_min_work()) return 1;
  const Eigen::Index ranges = (N + 5) / 6;  // at least one block of 6 columns per thread
  return static_cast<int>(std::max<Eigen::Index>(1, std::min<Eigen::Index>(product_threads(), ranges)));
}

void ordered_product_threaded(const Eigen::Ref<const Eigen::MatrixXd>& A, const Eigen::Ref<const Eigen::MatrixXd>& B,
                              Eigen::Ref<Eigen::MatrixXd> C, ProductUpdate update, InstructionSet set) {
  const char* who = "ordered product (threaded)";
  const Operands o = checked_product(who, A, B, C);
  const bool avx2 = use_avx2(set, who);
  const int threads = threads_for_product(A.rows(), B.cols(), A.cols());
  if (threads <= 1 || A.cols() == 0) {
    execute_resolved(o, A.rows(), B.cols(), A.cols(), update, false, avx2);
  } else {
    execute_split(o, A.rows(), B.cols(), A.cols(), update, avx2, threads);
  }
}

}  // namespace zeroloss
