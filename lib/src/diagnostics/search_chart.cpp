#include "zeroloss/diagnostics/search_chart.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/interrupt_flag.hpp"

namespace zeroloss {

const char* to_string(CurvatureGradient method) {
  switch (method) {
    case CurvatureGradient::Eigenvector: return "eigenvector";
    case CurvatureGradient::EigenvalueDifferences: return "eigenvalue-differences";
  }
  return "?";
}

Eigen::MatrixXd SearchChart::point(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::VectorXd>& c,
                                   const ProjectionOptions& projection) const {
  const Eigen::MatrixXd start = center + geometry.to_working(basis * c);
  if (!start.allFinite()) throw ConvergenceError("search chart: the chart point is not finite");
  return geometry.project(start, projection).first;
}

SmallestEigenpair smallest_eigenpair(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x,
                                     const SmallestEigenpair* near) {
  SmallestEigenpair out;
  if (geometry.spectrum_method() == SpectrumMethod::Dense) {
    const ConvexityHessian H = geometry.hessian(x);
    Eigen::VectorXd values;
    const HessianExtremes e = dense_extremes(H.matrix, 1, &values);
    out.value = e.smallest(0);
    out.next = values.size() > 1 ? values(1) : std::numeric_limits<double>::infinity();
    out.scale = values.cwiseAbs().maxCoeff();
    out.residual = e.smallest_residuals(0);
    const Eigen::VectorXd u = H.basis * e.smallest_vectors.col(0);
    out.vector = geometry.to_working(u / u.norm());
    return out;
  }
  const bool warm = near != nullptr && near->lanczos_vectors.smallest.size() > 0;
  const HessianExtremes e = geometry.converged_lanczos_extremes(x, 2, "the smallest eigenpair of Hess_M T",
                                                                warm ? &near->lanczos_vectors : nullptr);
  out.lanczos_vectors = warm_start_from(e);
  out.value = e.smallest(0);
  out.next = e.smallest.size() > 1 ? e.smallest(1) : std::numeric_limits<double>::infinity();
  out.scale = std::max(std::abs(e.smallest(0)), std::abs(e.largest(0)));
  out.residual = e.smallest_residuals(0);
  const Eigen::MatrixXd u = geometry.to_working(e.smallest_vectors.col(0));
  out.vector = u / u.norm();
  return out;
}

CurvatureExtremes curvature_extremes(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x) {
  if (geometry.spectrum_method() == SpectrumMethod::Dense) {
    const Eigen::VectorXd ev = geometry.hessian(x).eigenvalues;
    return {ev.minCoeff(), ev.maxCoeff()};
  }
  const HessianExtremes e = geometry.converged_lanczos_extremes(x, 1, "the extremes of Hess_M T");
  return {e.lambda_min(), e.lambda_max()};
}

Eigen::MatrixXd subspace_chart_basis(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x,
                                     const Eigen::Ref<const Eigen::MatrixXd>& eigenvector, int dimension,
                                     std::mt19937_64& rng) {
  const long k = std::min<long>(dimension, geometry.tangent_dimension());
  if (k < 1) throw InputError("subspace chart: the dimension must be at least 1, got " + std::to_string(dimension));
  const Eigen::Index N = x.size();
  Eigen::MatrixXd B(N, k);
  long filled = 0;
  // Appends the tangent projection of v, orthogonalised against the columns so far (twice: classical
  // Gram-Schmidt with re-orthogonalisation), when it keeps a relative norm above 1e-8.
  auto append = [&](const Eigen::MatrixXd& v) {
    if (filled >= k) return;
    Eigen::VectorXd u = geometry.flatten(geometry.tangent_projection(x, v));
    const double norm0 = u.norm();
    if (!(norm0 > 0) || !std::isfinite(norm0)) return;
    for (int pass = 0; pass < 2; ++pass) u -= B.leftCols(filled) * (B.leftCols(filled).transpose() * u);
    if (!(u.norm() > 1e-8 * norm0)) return;
    B.col(filled++) = u / u.norm();
  };
  if (eigenvector.size() > 0) append(eigenvector);
  const Eigen::MatrixXd grad = geometry.riemannian_gradient(x);
  if (grad.norm() > 0) append(grad);
  for (int tries = 0; filled < k && tries < 4 * k; ++tries) append(random_tangent_direction(geometry, x, rng));
  if (filled < k) throw ConvergenceError("subspace chart: could not build " + std::to_string(k) + " orthonormal tangent directions");
  return B;
}

namespace {

// The numbers of one perturbed point: g and the curvature value (rho or lambda_min); false if the
// projection or the geometry failed there.
bool perturbed(const ConvexityGeometry& G, const SearchChart& chart, const Eigen::VectorXd& c,
               const ChartGradientOptions& o, const Eigen::MatrixXd* frozen, const ChartPointObserver& observe,
               double& g, double& curvature) {
  try {
    const Eigen::MatrixXd x = chart.point(G, c, o.projection);
    g = G.riemannian_gradient(x).norm();
    if (frozen) {
      const Eigen::MatrixXd w = G.tangent_projection(x, *frozen);
      curvature = G.hessian_form(x, w) / w.squaredNorm();
    } else {
      curvature = curvature_extremes(G, x).lambda_min;
      if (observe && std::isfinite(curvature) && std::isfinite(g)) observe(x, g, curvature);
    }
    return std::isfinite(g) && std::isfinite(curvature);
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

ChartGradient chart_gradient(const ConvexityGeometry& G, const SearchChart& chart,
                             const Eigen::Ref<const Eigen::VectorXd>& c, double g, const SmallestEigenpair& pair,
                             const ChartGradientOptions& o, const ChartPointObserver& observe) {
  const Eigen::Index k = chart.basis.cols();
  ChartGradient out;
  out.method = o.method == CurvatureGradient::Eigenvector && pair.simple(o.simple_gap) && pair.vector.size() > 0
                   ? CurvatureGradient::Eigenvector
                   : CurvatureGradient::EigenvalueDifferences;
  const Eigen::MatrixXd* frozen = out.method == CurvatureGradient::Eigenvector ? &pair.vector : nullptr;
  out.lambda_min.resize(k);
  out.grad_norm.resize(k);
  Eigen::VectorXd x = c;
  const double h = o.step;
  for (Eigen::Index i = 0; i < k; ++i) {
    if (interrupt_requested(o.interrupt)) return out;
    double gp = 0, lp = 0, gm = 0, lm = 0;
    x(i) = c(i) + h;
    const bool okp = perturbed(G, chart, x, o, frozen, observe, gp, lp);
    x(i) = c(i) - h;
    const bool okm = perturbed(G, chart, x, o, frozen, observe, gm, lm);
    x(i) = c(i);
    out.evaluations += 2;
    if (okp && okm) {
      out.lambda_min(i) = (lp - lm) / (2 * h);
      out.grad_norm(i) = (gp - gm) / (2 * h);
    } else if (okp) {
      out.lambda_min(i) = (lp - pair.value) / h;
      out.grad_norm(i) = (gp - g) / h;
    } else if (okm) {
      out.lambda_min(i) = (pair.value - lm) / h;
      out.grad_norm(i) = (g - gm) / h;
    } else {
      return out;
    }
  }
  out.ok = true;
  return out;
}

}  // namespace zeroloss
