#include "zeroloss/support/number_text.hpp"
#include "zeroloss/diagnostics/model_convexity_geometry.hpp"

#include "zeroloss/sharpness/hessian_spectrum.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/random/portable_distributions.hpp"
#include "zeroloss/manifold/geodesics.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {
namespace {

Eigen::VectorXd column(const Eigen::Ref<const Eigen::MatrixXd>& x) {
  return Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
}

}  // namespace

ModelConvexityGeometry::ModelConvexityGeometry(std::shared_ptr<const SquaredLossModel> model, std::string name,
                                               MinimizerFunction minimizer)
    : model_(std::move(model)), name_(std::move(name)), minimizer_(std::move(minimizer)) {
  if (!model_) throw InputError("convexity: no model");
}

double ModelConvexityGeometry::label_scale() const {
  return std::max(1.0, model_->labels().cwiseAbs().maxCoeff());
}

void ModelConvexityGeometry::require_tangent_directions() const {
  if (tangent_dimension() <= 0) {
    throw InputError("convexity: the tangent space of the " + model_->description() + " has dimension P - n = " +
                     std::to_string(tangent_dimension()) +
                     ": the manifold is a set of isolated points and has no curvature to test");
  }
}

void ModelConvexityGeometry::check_point(const Eigen::Ref<const Eigen::MatrixXd>& theta, const std::string& what) const {
  if (theta.cols() != 1 || theta.rows() != model_->num_parameters()) {
    throw InputError(what + ": expected " + std::to_string(model_->num_parameters()) + " parameters (a column), got " +
                     std::to_string(theta.rows()) + " x " + std::to_string(theta.cols()));
  }
  model_->check_parameters(column(theta), what);
}

double ModelConvexityGeometry::max_residual(const Eigen::Ref<const Eigen::MatrixXd>& theta) const {
  return model_->max_residual(column(theta));
}

ConvexityMeasurement ModelConvexityGeometry::measure(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                               const LanczosWarmStart* warm) const {
  const RiemannianSharpness s(model_, column(x));
  ConvexityMeasurement p;
  p.sharpness = s.value();
  p.grad_norm = s.riemannian_gradient().norm();
  measure_curvature(x, p, warm);
  p.residual = s.point().max_residual();
  return p;
}

double ModelConvexityGeometry::sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return model_->evaluate(column(x))->sharpness();
}

Eigen::MatrixXd ModelConvexityGeometry::riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return RiemannianSharpness(model_, column(x)).riemannian_gradient();
}

ConvexityHessian ModelConvexityGeometry::hessian(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  TangentHessian h = RiemannianSharpness(model_, column(x)).riemannian_hessian_matrix();
  ConvexityHessian out;
  out.eigenvalues = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(h.matrix, Eigen::EigenvaluesOnly).eigenvalues();
  out.basis = std::move(h.basis);
  out.matrix = std::move(h.matrix);
  return out;
}

HessianExtremes ModelConvexityGeometry::hessian_extremes(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                        SpectrumMethod method, const LanczosOptions& options,
                                                        Eigen::VectorXd* all, const LanczosWarmStart* warm) const {
  const RiemannianSharpness s(model_, column(x));
  if (resolve_spectrum_method(method, tangent_dimension()) == SpectrumMethod::Lanczos) {
    return riemannian_hessian_extremes(s, options, warm);
  }
  const TangentHessian H = s.riemannian_hessian_matrix();
  return dense_extremes_in_basis(H.matrix, H.basis, options.eigenvalues, all);
}

double ModelConvexityGeometry::hessian_form(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                            const Eigen::Ref<const Eigen::MatrixXd>& w) const {
  return RiemannianSharpness(model_, column(x)).riemannian_hessian_form(column(w));
}

Eigen::MatrixXd ModelConvexityGeometry::tangent_projection(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                           const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  return ManifoldPoint(model_, column(x)).tangent_projection(column(v));
}

Eigen::MatrixXd ModelConvexityGeometry::tangent_basis(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return ManifoldPoint(model_, column(x)).tangent_basis();
}

Eigen::MatrixXd ModelConvexityGeometry::random_point(std::mt19937_64& rng, double scale) const {
  StandardNormal normal;
  Eigen::VectorXd theta(model_->num_parameters());
  for (Eigen::Index k = 0; k < theta.size(); ++k) theta(k) = normal(rng);
  const double rms = theta.norm() / std::sqrt(static_cast<double>(theta.size()));
  if (rms > 0) theta *= scale / rms;
  return theta;
}

std::pair<Eigen::MatrixXd, double> ModelConvexityGeometry::project(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                                   const ProjectionOptions& options) const {
  ParameterProjection p = project_newton(model_, column(x0), options);
  return {std::move(p.theta), p.summary.distance_moved};
}

std::pair<Eigen::MatrixXd, Eigen::MatrixXd> ModelConvexityGeometry::geodesic(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                                             const Eigen::Ref<const Eigen::MatrixXd>& w,
                                                                             double s,
                                                                             const GeodesicOptions& options) const {
  auto r = trace_geodesic(model_, column(x), column(w), {s}, options);
  return {std::move(r.front().theta), std::move(r.front().velocity)};
}

AnchorInfo ModelConvexityGeometry::minimizer_anchor(const Eigen::Ref<const Eigen::MatrixXd>& reference,
                                                    std::optional<Eigen::MatrixXd>& anchor) const {
  AnchorInfo info;
  const std::string skip = "; continuing without an anchor (no geodesic scheme; the search starts from sampled points)";
  if (!minimizer_) {
    info.description = "no minimizer of T known for the " + model_->description() + skip;
    return info;
  }
  Minimizer m;
  try {
    m = minimizer_(column(reference));
  } catch (const Error& e) {
    info.description = std::string("no minimizer of T available: ") + e.what() + skip;
    return info;
  }
  const double res = model_->max_residual(m.theta);
  if (!(res <= kOnManifoldTolerance * label_scale())) {
    info.description = "no minimizer of T available: the point found is off M (max_i |f_i - y_i| = " + short_number(res, 4) +
                       ")" + skip;
    return info;
  }
  const RiemannianSharpness s(model_, m.theta);
  info.source = AnchorSource::Minimizer;
  info.kind = OptimumKind::GlobalMinimum;
  info.description = m.description;
  info.sharpness = s.value();
  info.grad_norm = s.riemannian_gradient().norm();
  anchor = Eigen::MatrixXd(m.theta);
  return info;
}

ModelConvexityGeometry diagonal_linear_convexity_geometry(std::shared_ptr<const DiagonalLinearNetwork> model) {
  const std::shared_ptr<const DiagonalLinearNetwork> net = model;
  auto minimizer = [net](const Eigen::VectorXd& reference) {
    const Eigen::VectorXd start =
        reference.isZero(0) ? random_diagonal_start(net->dimension(), 1.0, 0) : Eigen::VectorXd(reference);
    const DiagonalLinearOptimum r = diagonal_linear_optimum(*net, start);
    std::ostringstream d;
    d.precision(8);
    d << "minimizer of T (the weighted-l1 interpolator, certified by LP duality: T* = " << r.sharpness
      << ", support of size " << r.support.size() << ")";
    return ModelConvexityGeometry::Minimizer{r.theta, d.str()};
  };
  return ModelConvexityGeometry(std::move(model), "diagonal-linear", minimizer);
}

}  // namespace zeroloss
