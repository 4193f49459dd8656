#include "zeroloss/diagnostics/search_chart.hpp"

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

SmallestEigenpair smallest_eigenpair(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x) {
  const ConvexityHessian H = geometry.hessian(x);
  Eigen::VectorXd values;
  const HessianExtremes e = dense_extremes(H.matrix, 1, &values);
  SmallestEigenpair out;
  out.value = e.smallest(0);
  out.next = values.size() > 1 ? values(1) : std::numeric_limits<double>::infinity();
  out.scale = values.cwiseAbs().maxCoeff();
  out.residual = e.smallest_residuals(0);
  const Eigen::VectorXd u = H.basis * e.smallest_vectors.col(0);
  out.vector = geometry.to_working(u / u.norm());
  return out;
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
      curvature = G.hessian(x).eigenvalues.minCoeff();
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
