#include "zeroloss/support/number_text.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/random/portable_distributions.hpp"
#include "zeroloss/manifold/geodesic.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss {
namespace {

}  // namespace

TwoLayerConvexityGeometry::TwoLayerConvexityGeometry(const TwoLayerModel& model)
    : model_(model), rc_(model.X()), reduced_(rc_.reduce(model)) {}

std::string TwoLayerConvexityGeometry::model_name() const { return model_.activation().name(); }

double TwoLayerConvexityGeometry::label_scale() const { return std::max(1.0, model_.y().cwiseAbs().maxCoeff()); }

int TwoLayerConvexityGeometry::tangent_dimension() const { return reduced_.m() * reduced_.d() - reduced_.n(); }

void TwoLayerConvexityGeometry::require_tangent_directions() const {
  if (tangent_dimension() <= 0) {
    throw InputError("convexity: the non-trivial tangent space has dimension m*p - n = " +
                     std::to_string(tangent_dimension()) + " (m = " + std::to_string(reduced_.m()) +
                     ", p = rank X = " + std::to_string(reduced_.d()) + ", n = " + std::to_string(reduced_.n()) +
                     "): the manifold is a set of isolated points in span(X)^m and has no curvature to test");
  }
}

void TwoLayerConvexityGeometry::check_point(const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                            const std::string& what) const {
  model_.check_weights(theta, what);
}

double TwoLayerConvexityGeometry::max_residual(const Eigen::Ref<const Eigen::MatrixXd>& theta) const {
  return zeroloss::max_residual(model_, theta);
}

Eigen::MatrixXd TwoLayerConvexityGeometry::zero_point() const { return Eigen::MatrixXd::Zero(model_.m(), model_.d()); }

Eigen::MatrixXd TwoLayerConvexityGeometry::reduce(const Eigen::Ref<const Eigen::MatrixXd>& theta) const {
  return rc_.reduce(theta);
}

Eigen::MatrixXd TwoLayerConvexityGeometry::lift(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                const Eigen::Ref<const Eigen::MatrixXd>& reference) const {
  return rc_.lift(x, reference);
}

Eigen::MatrixXd TwoLayerConvexityGeometry::lift_tangent(const Eigen::Ref<const Eigen::MatrixXd>& w) const {
  return rc_.lift_tangent(w);
}

std::optional<AssumptionReport> TwoLayerConvexityGeometry::assumptions(const std::vector<Eigen::MatrixXd>& thetas) const {
  std::vector<double> r;
  for (const Eigen::MatrixXd& theta : thetas) {
    const Eigen::MatrixXd R = model_.X() * theta.transpose();
    r.insert(r.end(), R.data(), R.data() + R.size());
  }
  return check_assumptions(model_.activation(), r);
}

ConvexityMeasurement TwoLayerConvexityGeometry::measure(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                               const LanczosWarmStart* warm) const {
  const SharpnessGeometry geo(reduced_, x);
  ConvexityMeasurement p;
  p.sharpness = geo.sharpness();
  p.grad_norm = geo.riemannian_gradient().norm();
  measure_curvature(x, p, warm);
  const NetworkEvaluation& e = geo.evaluation();
  p.residual = e.residuals.cwiseAbs().maxCoeff();
  p.min_first_derivative = e.dphi.minCoeff();
  p.min_third_derivative = e.d3phi.minCoeff();
  p.max_abs_preactivation = e.R.cwiseAbs().maxCoeff();
  return p;
}

double TwoLayerConvexityGeometry::sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return SharpnessGeometry(reduced_, x).sharpness();
}

Eigen::MatrixXd TwoLayerConvexityGeometry::riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return SharpnessGeometry(reduced_, x).riemannian_gradient();
}

ConvexityHessian TwoLayerConvexityGeometry::hessian(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  RiemannianHessianMatrix H = SharpnessGeometry(reduced_, x).riemannian_hessian_matrix();
  return {std::move(H.basis), std::move(H.matrix), std::move(H.eigenvalues)};
}

HessianExtremes TwoLayerConvexityGeometry::hessian_extremes(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                           SpectrumMethod method, const LanczosOptions& options,
                                                           Eigen::VectorXd* all, const LanczosWarmStart* warm) const {
  const SharpnessGeometry geo(reduced_, x);
  if (resolve_spectrum_method(method, tangent_dimension()) == SpectrumMethod::Lanczos) {
    return riemannian_hessian_extremes(geo, options, warm);
  }
  const RiemannianHessianMatrix H = geo.riemannian_hessian_matrix();
  return dense_extremes_in_basis(H.matrix, H.basis, options.eigenvalues, all);
}

double TwoLayerConvexityGeometry::hessian_form(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                               const Eigen::Ref<const Eigen::MatrixXd>& w) const {
  return SharpnessGeometry(reduced_, x).riemannian_hessian_form(w);
}

Eigen::MatrixXd TwoLayerConvexityGeometry::tangent_projection(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                              const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  return SharpnessGeometry(reduced_, x).jacobian().tangent_projection(v);
}

Eigen::MatrixXd TwoLayerConvexityGeometry::tangent_basis(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return zeroloss::tangent_basis(reduced_, x);
}

Eigen::MatrixXd TwoLayerConvexityGeometry::to_working(const Eigen::Ref<const Eigen::VectorXd>& flat) const {
  return unvectorize(flat, reduced_.m(), reduced_.d());
}

// Gaussian reduced weights scaled so that the RMS of the pre-activations R = Z beta^T is `scale`.
Eigen::MatrixXd TwoLayerConvexityGeometry::random_point(std::mt19937_64& rng, double scale) const {
  const int m = reduced_.m(), p = reduced_.d();
  StandardNormal normal;
  Eigen::MatrixXd beta(m, p);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < p; ++j) beta(i, j) = normal(rng);
  const double rms = std::sqrt((reduced_.X() * beta.transpose()).squaredNorm() / (reduced_.n() * m));
  if (rms > 0) beta *= scale / rms;
  return beta;
}

std::pair<Eigen::MatrixXd, double> TwoLayerConvexityGeometry::project(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                                      const ProjectionOptions& options) const {
  ProjectionResult pr = project_newton(reduced_, x0, options);
  return {std::move(pr.theta), pr.summary.distance_moved};
}

std::pair<Eigen::MatrixXd, Eigen::MatrixXd> TwoLayerConvexityGeometry::geodesic(
    const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& w, double s,
    const GeodesicOptions& options) const {
  const GeodesicIntegrator integ(model_, options);
  auto r = integ.trace_reduced(x, w, {s});
  return {std::move(r.front().beta), std::move(r.front().velocity)};
}

AnchorInfo TwoLayerConvexityGeometry::minimizer_anchor(const Eigen::Ref<const Eigen::MatrixXd>& reference,
                                                       std::optional<Eigen::MatrixXd>& anchor) const {
  AnchorInfo info;
  const std::string skip = "; continuing without an anchor (no geodesic scheme; the search starts from sampled points)";
  SharpnessMinimum s;
  try {
    s = sharpness_minimum(model_, reference);
  } catch (const Error& e) {
    info.description = std::string("no minimizer of T available: ") + e.what() + skip;
    return info;
  }
  if (!s.closed_form && !s.fallback_summary.converged) {
    info.description = "no minimizer of T available: " + s.message + skip;
    return info;
  }
  if (!(s.max_residual <= kOnManifoldTolerance * label_scale())) {
    info.description = "no minimizer of T available: the point found is off M (max_i |f_i - y_i| = " +
                       short_number(s.max_residual, 4) + ")" + skip;
    return info;
  }
  info.source = AnchorSource::Minimizer;
  info.kind = s.kind;
  info.description = (s.kind == OptimumKind::StationaryPoint || s.kind == OptimumKind::Undetermined ? "candidate minimizer of T ("
                                                                                                   : "minimizer of T (") +
                     s.message + "): " + s.verdict;
  info.sharpness = s.sharpness;
  info.grad_norm = s.riemannian_gradient_norm;
  anchor = s.theta;
  return info;
}

}  // namespace zeroloss
