#pragma once
// Products with a tall matrix V (N x c, N large and c small: the basis of a Krylov space) over fixed
// chunks of kBasisChunkRows rows. A sum over the rows (V^T x, ||x||^2) is formed chunk by chunk and
// the chunks' partial sums are added in chunk order; an entry of V h or V Q is formed within its
// chunk. The operations of a chunk are Eigen's (one fixed order for a given build), and do not
// depend on which thread runs the chunk, so the bits do not depend on the number of threads (they
// do on kBasisChunkRows, which is a constant). Chunks also keep a piece of V in cache between the
// two halves of a fused step (x -= U h, then V^T x): V is read from memory once instead of twice.
// Private to lib/src.

#include <Eigen/Core>

#include <vector>

namespace zeroloss {

inline constexpr Eigen::Index kBasisChunkRows = 1024;

// Threads for operations on an N x c basis: product_threads() (numerics/ordered_product.hpp) when
// N c, the multiply-adds of V^T x, reaches threaded_product_min_work() (the one threshold of both
// kinds of work), else 1; at most one thread per chunk.
int threads_for_basis(Eigen::Index rows, Eigen::Index cols);

// y = V^T x (V N x b, x and y of sizes N and b).
void basis_transpose_times(const Eigen::Ref<const Eigen::MatrixXd>& V, const Eigen::Ref<const Eigen::VectorXd>& x,
                           Eigen::Ref<Eigen::VectorXd> y, int threads);

// x -= U h, then y = V^T x with the updated x (U N x a, h of size a, V N x b, y of size b); returns
// ||x||^2 of the updated x.
double basis_subtract_and_project(const Eigen::Ref<const Eigen::MatrixXd>& U, const Eigen::Ref<const Eigen::VectorXd>& h,
                                  Eigen::Ref<Eigen::VectorXd> x, const Eigen::Ref<const Eigen::MatrixXd>& V,
                                  Eigen::Ref<Eigen::VectorXd> y, int threads);

// ||x||^2, summed over the chunks in order.
double chunked_squared_norm(const Eigen::Ref<const Eigen::VectorXd>& x, int threads);

// V.leftCols(k) = V.leftCols(r) Q in place, for Q r x k with k <= r <= V.cols(), where column i of
// the product uses only the first leading[i] entries of Q.col(i) (the rest are zeros of Q's
// structure: V.leftCols(leading[i]) Q.col(i).head(leading[i])).
void basis_times_in_place(Eigen::Ref<Eigen::MatrixXd> V, const Eigen::Ref<const Eigen::MatrixXd>& Q,
                          const std::vector<Eigen::Index>& leading, int threads);

}  // namespace zeroloss
