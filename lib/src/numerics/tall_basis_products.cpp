#include "numerics/tall_basis_products.hpp"

#include <algorithm>

#include "numerics/parallel_ranges.hpp"
#include "zeroloss/numerics/ordered_product.hpp"

namespace zeroloss {
namespace {

using Eigen::Index;

Index chunk_count(Index rows) { return (rows + kBasisChunkRows - 1) / kBasisChunkRows; }
Index chunk_begin(Index c) { return c * kBasisChunkRows; }
Index chunk_rows(Index rows, Index c) { return std::min(kBasisChunkRows, rows - c * kBasisChunkRows); }

// The partial sums of the chunks (one column each) added in chunk order.
void add_in_order(const Eigen::MatrixXd& partials, Eigen::Ref<Eigen::VectorXd> y) {
  y.setZero();
  for (Index c = 0; c < partials.cols(); ++c) y += partials.col(c);
}

}  // namespace

int threads_for_basis(Index rows, Index cols) {
  if (static_cast<double>(rows) * static_cast<double>(cols) < threaded_product_min_work()) return 1;
  return static_cast<int>(std::min<Index>(product_threads(), chunk_count(rows)));
}

void basis_transpose_times(const Eigen::Ref<const Eigen::MatrixXd>& V, const Eigen::Ref<const Eigen::VectorXd>& x,
                           Eigen::Ref<Eigen::VectorXd> y, int threads) {
  const Index N = V.rows(), C = chunk_count(N);
  Eigen::MatrixXd partials(V.cols(), C);
  for_each_range_in_parallel(C, threads, [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) {
      const Index r0 = chunk_begin(c), r = chunk_rows(N, c);
      partials.col(c).noalias() = V.middleRows(r0, r).transpose() * x.segment(r0, r);
    }
  });
  add_in_order(partials, y);
}

double basis_subtract_and_project(const Eigen::Ref<const Eigen::MatrixXd>& U, const Eigen::Ref<const Eigen::VectorXd>& h,
                                  Eigen::Ref<Eigen::VectorXd> x, const Eigen::Ref<const Eigen::MatrixXd>& V,
                                  Eigen::Ref<Eigen::VectorXd> y, int threads) {
  const Index N = x.size(), C = chunk_count(N);
  Eigen::MatrixXd partials(V.cols(), C);
  Eigen::VectorXd squares(C);
  for_each_range_in_parallel(C, threads, [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) {
      const Index r0 = chunk_begin(c), r = chunk_rows(N, c);
      auto xc = x.segment(r0, r);
      xc.noalias() -= U.middleRows(r0, r) * h;
      partials.col(c).noalias() = V.middleRows(r0, r).transpose() * xc;
      squares(c) = xc.squaredNorm();
    }
  });
  add_in_order(partials, y);
  double sum = 0;
  for (Index c = 0; c < C; ++c) sum += squares(c);
  return sum;
}

double chunked_squared_norm(const Eigen::Ref<const Eigen::VectorXd>& x, int threads) {
  const Index N = x.size(), C = chunk_count(N);
  Eigen::VectorXd squares(C);
  for_each_range_in_parallel(C, threads, [&](Index c0, Index c1) {
    for (Index c = c0; c < c1; ++c) squares(c) = x.segment(chunk_begin(c), chunk_rows(N, c)).squaredNorm();
  });
  double sum = 0;
  for (Index c = 0; c < C; ++c) sum += squares(c);
  return sum;
}

void basis_times_in_place(Eigen::Ref<Eigen::MatrixXd> V, const Eigen::Ref<const Eigen::MatrixXd>& Q,
                          const std::vector<Index>& leading, int threads) {
  const Index N = V.rows(), C = chunk_count(N), k = Q.cols();
  for_each_range_in_parallel(C, threads, [&](Index c0, Index c1) {
    Eigen::MatrixXd block(kBasisChunkRows, k);
    for (Index c = c0; c < c1; ++c) {
      const Index r0 = chunk_begin(c), r = chunk_rows(N, c);
      for (Index i = 0; i < k; ++i) {
        const Index l = leading[static_cast<std::size_t>(i)];
        block.col(i).head(r).noalias() = V.block(r0, 0, r, l) * Q.col(i).head(l);
      }
      V.block(r0, 0, r, k) = block.topRows(r);
    }
  });
}

}  // namespace zeroloss
