#pragma once
// Dense matrix products with one fixed order of floating-point operations per entry.
//
// Entry (i, j) of a result starts from 0 (ProductUpdate::Assign) or from C(i, j) (Add, Subtract)
// and then adds (subtracts) the rounded products a_il * b_lj one at a time, l = 0, 1, ..., L - 1,
// with no fused multiply-add: exactly the plain scalar triple loop
//
//   for l in 0 .. L-1:  c_ij = c_ij + a_il * b_lj      (c_ij = c_ij - a_il * b_lj for Subtract)
//
// So the result's bits are the same on every processor, whatever the instruction set (the baseline
// SSE2 and the AVX2 variants, support/instruction_set.hpp), the vector width or the cache sizes. Eigen's
// own products do not promise this: their summation order depends on the packet size, on extra
// accumulators of some loop paths and on blocking sizes derived from the machine's caches.
//
// The loops are register-blocked (8 rows x 6 columns of accumulators in AVX2, 4 x 6 in SSE2) and
// blocked over l for the caches; blocking only changes when a partial sum is kept in C, never the
// order in which it is formed. Speed at n = 100, m = 1000 in AVX2: 15 to 20 GMAC/s, 2x to 2.5x
// Eigen's SSE2 products of this build (bench/geometry_bench.cpp, BM_GramOrdered, BM_ProductOrdered
// against BM_GramEigen, BM_ProductEigen; docs/performance.md, section 2).
//
// These products serve the per-point diagnostics of label-noise SGD (diagnostics/trajectory_metrics.hpp,
// numerics/singular_values.hpp), whose cost is dominated by n x n x m products.

#include <Eigen/Core>

#include "zeroloss/support/instruction_set.hpp"

namespace zeroloss {

enum class ProductUpdate { Assign, Add, Subtract };

// C = A B, C += A B or C -= A B (the order above), with A M x L, B L x N and C M x N, all
// column-major with unit inner stride (blocks of column-major matrices are fine). C must not alias
// A or B. Throws InputError on mismatched sizes.
void ordered_product(const Eigen::Ref<const Eigen::MatrixXd>& A, const Eigen::Ref<const Eigen::MatrixXd>& B,
                     Eigen::Ref<Eigen::MatrixXd> C, ProductUpdate update = ProductUpdate::Assign,
                     InstructionSet set = InstructionSet::Auto);

// The same with B given transposed: C (op)= A Bt^T, Bt N x L (b_lj = Bt(j, l)).
void ordered_product_transposed(const Eigen::Ref<const Eigen::MatrixXd>& A, const Eigen::Ref<const Eigen::MatrixXd>& Bt,
                                Eigen::Ref<Eigen::MatrixXd> C, ProductUpdate update = ProductUpdate::Assign,
                                InstructionSet set = InstructionSet::Auto);

// C = L B for a lower-triangular L (M x M; its entries above the diagonal must be zero) and a finite
// B: the order of ordered_product, with each block of rows [i, i + r) stopping after l = i + r - 1.
// Within a block the zeros above the diagonal add +0, which changes nothing (a sum that starts at +0
// is never -0), so the result has the bits of the scalar loop over l <= i whatever the block size,
// for about half the work of a product.
void ordered_lower_triangular_product(const Eigen::Ref<const Eigen::MatrixXd>& L,
                                      const Eigen::Ref<const Eigen::MatrixXd>& B, Eigen::Ref<Eigen::MatrixXd> C,
                                      InstructionSet set = InstructionSet::Auto);

// The same product with the columns of C split over threads. Each entry is computed exactly as by
// ordered_product, so the bits do not depend on the number of threads. Products of fewer than
// threaded_product_min_work() multiply-adds (M N L) run on the calling thread and pay no thread
// start-up; above it threads_for_product() threads run, each on a range of whole 6-column blocks.
// For the large products of one computation (the Lanczos operator of
// sharpness/hessian_spectrum.hpp); label-noise SGD's diagnostics use ordered_product, on one thread.
void ordered_product_threaded(const Eigen::Ref<const Eigen::MatrixXd>& A, const Eigen::Ref<const Eigen::MatrixXd>& B,
                              Eigen::Ref<Eigen::MatrixXd> C, ProductUpdate update = ProductUpdate::Assign,
                              InstructionSet set = InstructionSet::Auto);

// Threads of the threaded computations, a process-wide setting in the style of Eigen::setNbThreads:
// 0 restores the default, the hardware concurrency capped at kMaxProductThreads; InputError below 0.
inline constexpr unsigned kMaxProductThreads = 8;
void set_product_threads(int threads);
// The setting resolved (>= 1).
int product_threads();
// Multiply-adds from which a computation is split over threads (a product's M N L; see
// sharpness/hessian_spectrum.hpp for the Lanczos basis). Chosen so that a thread's start and join
// stay under a quarter of the work's time on one core (docs/performance.md, section 19;
// bench/geometry_bench.cpp, BM_ProductThreaded): the Lanczos products of small problems (tangent
// dimensions of a few thousand at n = p = 20) stay on one thread.
inline constexpr double kThreadedProductMinWork = 2e6;
// Overrides the threshold, process-wide (tests force threads on small problems); negative restores
// kThreadedProductMinWork.
void set_threaded_product_min_work(double multiply_adds);
double threaded_product_min_work();
// The threads ordered_product_threaded runs for an M x L by L x N product: 1 below the threshold,
// else min(product_threads(), ceil(N / 6)).
int threads_for_product(Eigen::Index M, Eigen::Index N, Eigen::Index L);

// G = A A^T (M x M) for A M x L: the lower triangle is computed (about half the work of a product,
// in the same order as ordered_product_transposed(A, A, ...)) and copied to the upper one, so G is
// exactly symmetric. G must not alias A.
void ordered_gram(const Eigen::Ref<const Eigen::MatrixXd>& A, Eigen::Ref<Eigen::MatrixXd> G,
                  InstructionSet set = InstructionSet::Auto);

}  // namespace zeroloss
