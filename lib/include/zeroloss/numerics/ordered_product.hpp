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

// G = A A^T (M x M) for A M x L: the lower triangle is computed (about half the work of a product,
// in the same order as ordered_product_transposed(A, A, ...)) and copied to the upper one, so G is
// exactly symmetric. G must not alias A.
void ordered_gram(const Eigen::Ref<const Eigen::MatrixXd>& A, Eigen::Ref<Eigen::MatrixXd> G,
                  InstructionSet set = InstructionSet::Auto);

}  // namespace zeroloss
