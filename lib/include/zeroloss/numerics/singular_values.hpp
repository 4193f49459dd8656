#pragma once
// Singular values of a dense matrix, cheaply when that is accurate, accurately always.
//
// The trajectory logs the singular values of the n x m pre-activation and feature matrices at
// every logged point (diagnostics/trajectory_metrics.hpp). A bidiagonalization of the whole n x m matrix
// (Eigen::BDCSVD) costs 4 m n^2 flops; at n = 100, m = 1000 that was 5 to 7 ms per matrix. With
// k = min(rows, cols), this function takes one of three routes:
//
//   Direct            k < 16 or the matrix is square-ish (max < 2 k): Eigen::BDCSVD of the matrix
//                     (for k < 16 BDCSVD itself runs JacobiSVD); the values are those of BDCSVD.
//   Gram              the eigenvalues lambda of the k x k Gram matrix (A A^T or A^T A, its lower
//                     triangle by ordered_gram, m k^2 flops) give sigma = sqrt(lambda). Forming the
//                     Gram matrix squares the condition: the computed lambda_i carry an absolute
//                     error of a few eps * lambda_1, so sigma_i carries a relative error of about
//                     eps (sigma_1 / sigma_i)^2. The route is taken only when every
//                     sigma_i >= kGramMinRatio * sigma_1 = 0.05 sigma_1, where that is at most
//                     ~400 eps (measured: below 1e-13; tested against JacobiSVD to 1e-12).
//   TriangularFactor  otherwise (some sigma_i < 0.05 sigma_1, e.g. a nearly rank-one matrix):
//                     Householder QR of the tall orientation (2 m k^2 flops) and BDCSVD of the
//                     k x k triangular factor. Backward stable like BDCSVD of the matrix itself:
//                     every sigma_i has an absolute error of a few eps * sigma_1 (so
//                     sigma_2 / sigma_1 = 1e-9 keeps about 6 correct digits, as with BDCSVD).
//
// Values are returned in descending order, min(rows, cols) of them. At n = 100, m = 1000 the
// Gram route takes about 1 ms, the triangular route about 3.5 ms, BDCSVD of the matrix 5 to 7 ms.

#include <Eigen/Dense>

#include "zeroloss/support/instruction_set.hpp"

namespace zeroloss {

enum class SingularValueRoute { Direct, Gram, TriangularFactor };

// The Gram route is used only when sigma_min >= kGramMinRatio * sigma_max.
inline constexpr double kGramMinRatio = 0.05;

// Singular values of A, descending. Throws InputError if A has a non-finite entry. `route`, if
// given, receives the route taken. The Gram route forms its matrix with ordered_gram
// (numerics/ordered_product.hpp), so its values have the same bits in both instruction sets; `set` picks the
// compiled variant.
Eigen::VectorXd singular_values(const Eigen::Ref<const Eigen::MatrixXd>& A, SingularValueRoute* route = nullptr,
                                InstructionSet set = InstructionSet::Auto);

}  // namespace zeroloss
