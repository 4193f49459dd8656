#include "zeroloss/diagnostics/convexity_geometry.hpp"

#include <algorithm>

#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/random/portable_distributions.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {

namespace {

bool same_lanczos_options(const LanczosOptions& a, const LanczosOptions& b) {
  return a.eigenvalues == b.eigenvalues && a.tolerance == b.tolerance && a.max_iterations == b.max_iterations &&
         a.krylov_dimension == b.krylov_dimension && a.ends == b.ends;
}

}  // namespace

SpectrumMethod ConvexityGeometry::spectrum_method() const {
  const long k = tangent_dimension();
  const SpectrumMethod method = resolve_spectrum_method(spectrum_.method, k);
  if (spectrum_.method != SpectrumMethod::Auto || method == SpectrumMethod::Lanczos) return method;
  // The dense objects (as require_dense_riemannian_hessian counts them in reduced coordinates): J, the
  // N x N Q factor of J^T, the N x k basis, H B and the basis once more, the k x k matrix twice.
  const long double n = num_samples(), N = static_cast<long double>(k) + n;
  try {
    require_dense_memory(n * N + N * N + 3 * N * k + 2.0L * k * k, "the dense Riemannian Hessian", "");
  } catch (const ResourceError&) {
    return SpectrumMethod::Lanczos;
  }
  return SpectrumMethod::Dense;
}

void ConvexityGeometry::measure_curvature(const Eigen::Ref<const Eigen::MatrixXd>& x, ConvexityMeasurement& out,
                                          const LanczosWarmStart* warm) const {
  const SpectrumMethod method = spectrum_method();
  out.spectrum = method;
  if (method == SpectrumMethod::Dense) {
    out.eigenvalues = hessian(x).eigenvalues;
    out.lambda_min = out.eigenvalues.size() ? out.eigenvalues.minCoeff() : 0.0;
    out.lambda_max = out.eigenvalues.size() ? out.eigenvalues.maxCoeff() : 0.0;
    out.hessian_products = 0;
    return;
  }
  const HessianExtremes e = converged_lanczos_extremes(x, 1, "the extremes of Hess_M T", warm);
  out.warm_start = std::make_shared<const LanczosWarmStart>(warm_start_from(e));
  out.eigenvalues.resize(0);
  out.hessian_products = e.matrix_vector_products;
  out.lambda_min = e.lambda_min();
  out.lambda_max = e.lambda_max();
  out.lambda_min_residual = e.smallest_residuals(0);
}

HessianExtremes ConvexityGeometry::converged_lanczos_extremes(const Eigen::Ref<const Eigen::MatrixXd>& x, int K,
                                                             const std::string& what,
                                                             const LanczosWarmStart* warm) const {
  LanczosOptions lanczos = spectrum_.lanczos;
  lanczos.eigenvalues = K;
  if (!warm) {
    const std::lock_guard<std::mutex> lock(last_cold_lanczos_.mutex);
    const std::optional<LanczosMemo>& memo = last_cold_lanczos_.last;
    if (memo && memo->eigenvalues == K && same_lanczos_options(memo->options, lanczos) &&
        memo->point.rows() == x.rows() && memo->point.cols() == x.cols() && memo->point == x) {
      return memo->extremes;
    }
  }
  HessianExtremes e = hessian_extremes(x, SpectrumMethod::Lanczos, lanczos, nullptr, warm);
  if (!warm && e.converged) {
    const std::lock_guard<std::mutex> lock(last_cold_lanczos_.mutex);
    last_cold_lanczos_.last = LanczosMemo{Eigen::MatrixXd(x), K, lanczos, e};
  }
  if (!e.converged) {
    throw ConvergenceError("Lanczos for " + what + " did not converge (tangent dimension " +
                           std::to_string(e.tangent_dimension) + ", " + std::to_string(e.matrix_vector_products) +
                           " products, " + std::to_string(e.converged_pairs) + " of " + std::to_string(2 * K) +
                           " pairs converged, estimate lambda_min = " + short_number(e.lambda_min(), 6) +
                           "); the point is not measured");
  }
  return e;
}

HessianExtremes dense_extremes_in_basis(const Eigen::Ref<const Eigen::MatrixXd>& matrix,
                                        const Eigen::Ref<const Eigen::MatrixXd>& basis, int K, Eigen::VectorXd* all) {
  HessianExtremes e = dense_extremes(matrix, K, all);
  e.smallest_vectors = basis * e.smallest_vectors;
  e.largest_vectors = basis * e.largest_vectors;
  return e;
}

Eigen::MatrixXd random_tangent_direction(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x,
                                         std::mt19937_64& rng) {
  StandardNormal normal;
  Eigen::MatrixXd g(x.rows(), x.cols());
  for (Eigen::Index j = 0; j < g.cols(); ++j)
    for (Eigen::Index i = 0; i < g.rows(); ++i) g(i, j) = normal(rng);
  Eigen::MatrixXd u = geometry.tangent_projection(x, g);
  const double norm = u.norm();
  if (!(norm > 0)) throw ConvergenceError("random tangent direction: the projected Gaussian vector is zero");
  return u / norm;
}

}  // namespace zeroloss
