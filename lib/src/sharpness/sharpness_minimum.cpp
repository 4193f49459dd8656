#include "zeroloss/sharpness/sharpness_minimum.hpp"


#include <cmath>
#include <sstream>

#include "zeroloss/support/number_text.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/root_finding.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"

namespace zeroloss {

const char* to_string(OptimumKind kind) {
  switch (kind) {
    case OptimumKind::GlobalMinimum: return "global minimum";
    case OptimumKind::LocalMinimum: return "local minimum";
    case OptimumKind::StationaryPoint: return "stationary point";
    case OptimumKind::Undetermined: return "stationary point of undetermined type";
  }
  return "?";
}
namespace {

std::string sample_name(int sample, double y) { return "sample " + std::to_string(sample + 1) + " (y = " + short_number(y, 10) + ")"; }

// Whether all a_j are the same number.
bool constant(const Eigen::Ref<const Eigen::VectorXd>& a) { return (a.array() == a(0)).all(); }

Eigen::VectorXd singular_values(const Eigen::MatrixXd& M) {
  Eigen::BDCSVD<Eigen::MatrixXd> svd(M);
  return svd.singularValues();
}

}  // namespace

SampleOptimum solve_sample_optimum(const Activation& phi, const Eigen::Ref<const Eigen::VectorXd>& a, double y,
                                   int sample) {
  const Eigen::Index m = a.size();
  SampleOptimum out;
  if (m == 0) throw InputError("closed-form optimum: no neurons");
  if (constant(a)) {
    // r_ij = phi^{-1}(y / (m alpha)) for every j.
    const double alpha = a(0);
    const double target = y / (static_cast<double>(m) * alpha);
    double r;
    try {
      r = phi.inverse(target);
    } catch (const DomainError& e) {
      throw DomainError(sample_name(sample, y) + ": the minimum of T needs r* = phi^{-1}(y_i / (m a)) = phi^{-1}(" +
                        short_number(target, 10) + "), which does not exist: " + e.what());
    }
    out.r = Eigen::VectorXd::Constant(m, r);
    out.c = alpha * phi.derivatives(r).d2;
    return out;
  }
  if (!phi.second_derivative_increasing()) {
    throw DomainError(sample_name(sample, y) + ": with a non-constant second layer a the minimum of T needs (phi'')^{-1}, "
                      "but phi'' of activation " + phi.name() + " is not strictly increasing (phi''' > 0 fails), so "
                      "sum_j a_j phi((phi'')^{-1}(c / a_j)) = y_i has no well-defined solution");
  }
  // g(c) = sum_j a_j phi((phi'')^{-1}(c / a_j)) - y, increasing in c.
  auto g = [&](double c) {
    double s = -y;
    for (Eigen::Index j = 0; j < m; ++j) s += a(j) * phi.value(phi.second_derivative_inverse(c / a(j)));
    return s;
  };
  auto fail = [&](const std::string& why) {
    return DomainError(sample_name(sample, y) + ": no c with sum_j a_j phi((phi'')^{-1}(c / a_j)) = y_i for activation " +
                       phi.name() + " (" + why + ")");
  };
  std::optional<double> root;
  try {
    root = increasing_root(g);
  } catch (const DomainError& e) {
    throw fail(std::string("y_i is outside the range reachable: ") + e.what());
  }
  if (!root) throw fail("y_i is outside the range reachable");
  const double c = *root;
  out.c = c;
  out.r.resize(m);
  for (Eigen::Index j = 0; j < m; ++j) out.r(j) = phi.second_derivative_inverse(c / a(j));
  return out;
}

ClosedFormPreactivations closed_form_preactivations(const TwoLayerModel& model) {
  const int n = model.n(), m = model.m();
  ClosedFormPreactivations out;
  out.R.resize(n, m);
  out.c.resize(n);
  for (int i = 0; i < n; ++i) {
    const SampleOptimum s = solve_sample_optimum(model.activation(), model.a(), model.y()(i), i);
    out.c(i) = s.c;
    out.R.row(i) = s.r.transpose();
  }
  return out;
}

ClosedFormOptimum closed_form_optimum(const TwoLayerModel& model, int rank) {
  const int n = model.n(), m = model.m();
  ClosedFormOptimum out;
  if (rank < n) {
    out.note = "no closed-form optimum: the data rows are linearly dependent (rank X = " + std::to_string(rank) +
               " < n = " + std::to_string(n) + "), so the per-sample problems of THEORY 5 are coupled; T - T* and "
               "the distance to R* are not reported";
    return out;
  }
  RankOneOptimum opt;
  const Activation& phi = model.activation();
  try {
    opt.preactivations = closed_form_preactivations(model).R;
  } catch (const DomainError& e) {
    out.note = std::string("no closed-form optimum: ") + e.what();
    return out;
  }
  double T = 0;
  for (int i = 0; i < n; ++i) {
    double row = 0;
    for (int j = 0; j < m; ++j) row += std::pow(model.a()(j) * phi.derivatives(opt.preactivations(i, j)).d1, 2);
    T += model.row_norms_squared()(i) * row;
  }
  opt.sharpness = T / n;
  const std::vector<double> points(opt.preactivations.data(), opt.preactivations.data() + opt.preactivations.size());
  const AssumptionReport a = check_assumptions(phi, points);
  out.note = "closed form of THEORY 5 (a_j phi''(r_ij) = c_i, one bracketed root per sample)";
  if (!a.holds()) {
    out.note += "; THEORY's assumptions fail at R* (" + a.describe(phi.name()) +
                "), so R* is a stationary point of T on M but need not be its minimum: T - T* can be negative";
  }
  out.optimum = std::move(opt);
  return out;
}

SharpnessMinimum sharpness_minimum(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta_reference,
                                   const SharpnessMinimumOptions& options) {
  model.check_weights(theta_reference, "reference weights");
  const int n = model.n();
  const ReducedCoordinates rc(model.X());
  const TwoLayerModel red = rc.reduce(model);
  const int p = rc.rank();
  SharpnessMinimum out;

  if (p == n && options.use_closed_form) {
    // Closed form: per-sample roots, then beta = (Z^{-1} R*)^T.
    ClosedFormPreactivations star = closed_form_preactivations(model);
    const Eigen::MatrixXd& R = star.R;
    out.c = std::move(star.c);
    const Eigen::MatrixXd& Z = red.X();  // n x n
    Eigen::MatrixXd beta = Z.fullPivLu().solve(R).transpose();  // m x p
    const double tol = absolute_residual_tolerance(options.projection, model.y());
    std::ostringstream msg;
    msg << "closed form (THEORY 5): rank X = n = " << n << ", "
        << (constant(model.a()) ? "constant a: r_i* = phi^{-1}(y_i / (m a))" : "per-sample TOMS 748 roots for c_i");
    if (!(max_residual(red, beta) <= tol)) {
      // Rounding in Z^{-1} (ill-conditioned data): polish onto M and say so.
      const ProjectionResult pr = project_newton(red, beta, options.projection);
      out.newton_polish = pr.summary.distance_moved;
      beta = pr.theta;
      msg << "; Newton polish moved " << short_number(out.newton_polish) << " (cond X = "
          << short_number(rc.condition()) << ")";
    }
    out.theta = rc.lift(beta, theta_reference);
    out.closed_form = true;
    out.message = msg.str();
    out.multipliers = (2.0 / n) * model.row_norms_squared().cwiseProduct(out.c);
  } else if (options.use_trust_region) {
    TwoLayerTrustRegionMinimization r = minimize_sharpness_trust_region(model, theta_reference, options.trust_region);
    out.theta = std::move(r.theta);
    out.closed_form = false;
    ManifoldMinimizationSummary& f = out.fallback_summary;
    f.iterations = r.summary.iterations;
    f.start_projected = r.summary.start_projected;
    f.initial_value = r.summary.initial_value;
    f.final_value = r.summary.final_value;
    f.riemannian_gradient_norm = r.summary.gradient_norm;
    f.final_residual = r.summary.final_residual;
    f.converged = r.summary.converged;
    f.termination = r.summary.message;
    out.message = (p == n ? std::string("Riemannian trust-region Newton from the given point (requested instead of the closed form): ")
                          : "no closed form: rank X = " + std::to_string(p) + " < n = " + std::to_string(n) +
                                "; minimized T over M with Riemannian trust-region Newton from the given point: ") +
                  r.summary.message;
    out.trust_region = std::move(r.summary);
  } else {
    const ManifoldMinimizationResult r = minimize_sharpness_on_manifold(model, theta_reference, options.fallback);
    out.theta = r.theta;
    out.closed_form = false;
    out.fallback_summary = r.summary;
    std::ostringstream msg;
    if (p == n)
      msg << "Riemannian L-BFGS from the given point (requested instead of the closed form): " << r.summary.termination;
    else
      msg << "no closed form: rank X = " << p << " < n = " << n
          << " (the per-sample problems are coupled through the shared weights); minimized T over M with Riemannian "
             "L-BFGS from the given point instead: "
          << r.summary.termination;
    out.message = msg.str();
  }

  // Report, evaluated at the returned point (reduced coordinates for the Hessian spectrum).
  const Eigen::MatrixXd beta = rc.reduce(out.theta);
  const SharpnessGeometry geo(red, beta);
  out.sharpness = geo.sharpness();
  out.riemannian_gradient_norm = geo.riemannian_gradient().norm();
  out.max_residual = max_residual(model, out.theta);
  if (!out.closed_form) out.multipliers = geo.multipliers();
  const NetworkEvaluation& e = geo.evaluation();
  out.preactivations = model.X() * out.theta.transpose();
  out.preactivation_singular_values = singular_values(out.preactivations);
  out.second_derivative_singular_values = singular_values(e.d2phi * model.a().asDiagonal());
  // The extremes of the Hessian spectrum with their certificates: dense up to
  // kDenseSpectrumMaxDimension, Lanczos above (hessian_spectrum.hpp).
  const long tangent_dimension = static_cast<long>(red.m()) * red.d() - n;
  if (tangent_dimension > 0) {
    if (resolve_spectrum_method(options.spectrum, tangent_dimension) == SpectrumMethod::Lanczos) {
      out.hessian = riemannian_hessian_extremes(geo, options.lanczos);
    } else {
      out.hessian = dense_extremes(geo.riemannian_hessian_matrix(false).matrix, 1, nullptr);
    }
    if (std::isfinite(out.hessian->smallest_residuals(0))) out.hessian_min_eigenvalue = out.hessian->lambda_min();
    out.definiteness = certify_definiteness(*out.hessian);
  } else {
    out.definiteness = certify_definiteness(HessianExtremes{});
  }
  std::vector<double> points(out.preactivations.data(), out.preactivations.data() + out.preactivations.size());
  out.assumptions = check_assumptions(model.activation(), points);

  // Positive definite: lambda_min above rounding relative to the spectrum, certified (a trivial
  // non-trivial tangent part, m*p = n, makes the point isolated on its slice: a minimum).
  const std::string act = model.activation().name();
  if (out.closed_form && out.assumptions.holds()) {
    out.kind = OptimumKind::GlobalMinimum;
    out.verdict = "global minimum of T on M (THEORY 5: phi' > 0 and phi''' > 0 hold on the pre-activations)";
  } else if (out.definiteness.definiteness == Definiteness::PositiveDefinite) {
    out.kind = OptimumKind::LocalMinimum;
    out.verdict = out.closed_form
                      ? "strict local minimum (positive definite Riemannian Hessian); global minimality is not "
                        "guaranteed because " + out.assumptions.describe(act)
                      : "strict local minimum found by " + std::string(out.trust_region ? "trust-region Newton" : "L-BFGS") +
                        " (positive definite Riemannian Hessian); global minimality "
                        "is not established without the closed form";
  } else if (out.definiteness.definiteness == Definiteness::NotPositiveDefinite) {
    out.kind = OptimumKind::StationaryPoint;
    out.verdict = "stationary point of T on M that is NOT a minimum: the Riemannian Hessian has eigenvalue " +
                  short_number(out.hessian_min_eigenvalue) + " <= 0 (" + out.assumptions.describe(act) + ")";
  } else {
    out.kind = OptimumKind::Undetermined;
    out.verdict = "stationary point of T on M of undetermined type (minimum or not): " + out.definiteness.reason +
                  " (" + out.assumptions.describe(act) + ")";
  }
  return out;
}

}  // namespace zeroloss
