#include "zeroloss/manifold/riemannian_trust_region.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {

const char* to_string(TruncatedCgStop stop) {
  switch (stop) {
    case TruncatedCgStop::None: return "none";
    case TruncatedCgStop::NegativeCurvature: return "negative curvature";
    case TruncatedCgStop::TrustRegionBoundary: return "trust-region boundary";
    case TruncatedCgStop::ModelIncreased: return "model increased";
    case TruncatedCgStop::LinearResidual: return "linear residual (kappa)";
    case TruncatedCgStop::SuperlinearResidual: return "superlinear residual (theta)";
    case TruncatedCgStop::MaxInnerIterations: return "max inner iterations";
  }
  return "?";
}

const char* to_string(TrustRegionTermination termination) {
  switch (termination) {
    case TrustRegionTermination::GradientTolerance: return "gradient tolerance";
    case TrustRegionTermination::MaxIterations: return "max iterations";
    case TrustRegionTermination::RadiusCollapsed: return "radius collapsed";
    case TrustRegionTermination::GradientStalled: return "gradient stalled at its rounding floor";
  }
  return "?";
}

std::string TrustRegionOptions::validation_error() const {
  const auto finite = [](double x) { return std::isfinite(x); };
  if (max_iterations < 0) return "max_iterations must be >= 0 (got " + std::to_string(max_iterations) + ")";
  if (!(gradient_tolerance > 0) || !finite(gradient_tolerance)) return "gradient_tolerance must be a positive number";
  if (!(max_radius >= 0) || !finite(max_radius)) return "max_radius must be >= 0 (0: sqrt of the tangent dimension)";
  if (!(initial_radius >= 0) || !finite(initial_radius)) return "initial_radius must be >= 0 (0: max_radius / 8)";
  if (max_radius > 0 && initial_radius > max_radius) return "initial_radius must not exceed max_radius";
  if (!(rho_prime >= 0 && rho_prime < 0.25)) return "rho_prime must be in [0, 1/4)";
  if (!(rho_regularization >= 0) || !finite(rho_regularization)) return "rho_regularization must be >= 0";
  if (!(kappa > 0 && kappa < 1)) return "kappa must be in (0, 1)";
  if (!(theta > 0) || !finite(theta)) return "theta must be positive";
  if (max_inner_iterations < 0) return "max_inner_iterations must be >= 0 (0: the tangent dimension)";
  if (!(radius_floor > 0) || !finite(radius_floor)) return "radius_floor must be positive";
  if (stall_iterations < 0) return "stall_iterations must be >= 0 (0: never stop as stalled), got " +
                                   std::to_string(stall_iterations);
  return "";
}

namespace {

struct InnerResult {
  Eigen::VectorXd eta, Heta;
  int products = 0;
  TruncatedCgStop stop = TruncatedCgStop::MaxInnerIterations;
  bool at_boundary = false;
};

// Steihaug-Toint truncated CG on the model <g, eta> + 1/2 <eta, H eta>, ||eta|| <= Delta, eta0 = 0
// (trs_tCG.m without preconditioner; the norms of eta and d recomputed at each step). `tangent` re-projects a direction onto T_x M.
template <class Apply, class Tangent>
InnerResult truncated_cg(const Eigen::VectorXd& grad, double Delta, const TrustRegionOptions& o, int max_inner,
                         const Apply& hessian, const Tangent& tangent) {
  InnerResult out;
  const Eigen::Index P = grad.size();
  out.eta = Eigen::VectorXd::Zero(P);
  out.Heta = Eigen::VectorXd::Zero(P);
  Eigen::VectorXd r = grad;
  double e_Pe = 0, r_r = r.squaredNorm();
  const double norm_g = std::sqrt(r_r);
  double z_r = r_r, d_Pd = z_r, e_Pd = 0, model_value = 0;
  Eigen::VectorXd mdelta = r;  // minus the CG direction
  for (int j = 1; j <= max_inner; ++j) {
    const Eigen::VectorXd Hm = hessian(mdelta);
    ++out.products;
    const double d_Hd = mdelta.dot(Hm);
    const double alpha = z_r / d_Hd;
    const double e_Pe_new = e_Pe + 2.0 * alpha * e_Pd + alpha * alpha * d_Pd;
    if (d_Hd <= 0 || e_Pe_new >= Delta * Delta) {
      const double tau = (-e_Pd + std::sqrt(e_Pd * e_Pd + d_Pd * (Delta * Delta - e_Pe))) / d_Pd;
      out.eta -= tau * mdelta;
      out.Heta -= tau * Hm;
      out.at_boundary = true;
      out.stop = d_Hd <= 0 ? TruncatedCgStop::NegativeCurvature : TruncatedCgStop::TrustRegionBoundary;
      return out;
    }
    Eigen::VectorXd new_eta = out.eta - alpha * mdelta;
    Eigen::VectorXd new_Heta = out.Heta - alpha * Hm;
    const double new_model = new_eta.dot(grad) + 0.5 * new_eta.dot(new_Heta);
    if (new_model >= model_value) {
      out.stop = TruncatedCgStop::ModelIncreased;
      return out;
    }
    out.eta = std::move(new_eta);
    out.Heta = std::move(new_Heta);
    model_value = new_model;
    r -= alpha * Hm;
    r_r = r.squaredNorm();
    const double norm_r = std::sqrt(r_r);
    if (norm_r <= norm_g * std::min(std::pow(norm_g, o.theta), o.kappa)) {
      out.stop = o.kappa < std::pow(norm_g, o.theta) ? TruncatedCgStop::LinearResidual
                                                      : TruncatedCgStop::SuperlinearResidual;
      return out;
    }
    const double zold_rold = z_r;
    z_r = r_r;
    const double beta = z_r / zold_rold;
    mdelta = tangent(r + beta * mdelta);
    // Inner products recomputed (not CG's recurrences, which assume exact orthogonality and drift
    // once ||g|| is near rounding level): the boundary test and tau then use the actual ||eta||.
    e_Pe = out.eta.squaredNorm();
    e_Pd = -out.eta.dot(mdelta);
    d_Pd = mdelta.squaredNorm();
  }
  out.stop = TruncatedCgStop::MaxInnerIterations;
  return out;
}

}  // namespace

TrustRegionMinimization minimize_sharpness_trust_region(const std::shared_ptr<const SquaredLossModel>& model,
                                                        const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                                        const TrustRegionOptions& options) {
  const std::string bad = options.validation_error();
  if (!bad.empty()) throw InputError("trust-region options: " + bad);
  if (!model) throw InputError("trust-region: no model");
  model->check_parameters(theta0, "starting parameters");
  const int n = model->num_samples();
  const long P = model->num_parameters();
  const long dim = P - n;
  if (dim <= 0)
    throw InputError("trust-region: the manifold has dimension P - n = " + std::to_string(dim) + " (P = " +
                     std::to_string(P) + ", n = " + std::to_string(n) + "); there is nothing to minimise over");

  TrustRegionMinimization out;
  TrustRegionSummary& s = out.summary;
  const double tol = absolute_residual_tolerance(options.projection, model->labels());
  Eigen::VectorXd x = theta0;
  if (!(model->max_residual(x) <= tol)) {
    x = project_newton(model, x, options.projection).theta;
    s.start_projected = true;
  }
  const double max_radius = options.max_radius > 0 ? options.max_radius : std::sqrt(static_cast<double>(dim));
  double Delta = options.initial_radius > 0 ? options.initial_radius : max_radius / 8;
  const int max_inner = options.max_inner_iterations > 0 ? options.max_inner_iterations
                                                          : static_cast<int>(std::min<long>(std::max<long>(2 * dim, 50), 1L << 30));

  auto at = std::make_unique<RiemannianSharpness>(model, x, options.projection.max_condition);
  if (!at->point().regular()) at->multipliers();  // throws SingularPointError with the condition number
  double fx = at->value();
  Eigen::VectorXd grad = at->riemannian_gradient();
  double gnorm = grad.norm();
  s.initial_value = fx;
  s.log.push_back({0, fx, gnorm, Delta, std::numeric_limits<double>::quiet_NaN(), 0, 0, TruncatedCgStop::None, false});

  constexpr double kEps = std::numeric_limits<double>::epsilon();
  s.termination = TrustRegionTermination::MaxIterations;
  // Stall test: `stalled_for` counts the outer iterations since ||grad_M T|| last fell below half of
  // `reference` (the smallest value before them) or an accepted step changed T above rounding.
  double reference = gnorm, smallest = gnorm;
  int stalled_for = 0;
  for (int k = 1;; ++k) {
    if (gnorm <= options.gradient_tolerance) {
      s.termination = TrustRegionTermination::GradientTolerance;
      break;
    }
    if (k > options.max_iterations) break;
    if (Delta < options.radius_floor * std::max(1.0, x.norm())) {
      s.termination = TrustRegionTermination::RadiusCollapsed;
      break;
    }
    if (options.stall_iterations > 0 && stalled_for >= options.stall_iterations) {
      s.termination = TrustRegionTermination::GradientStalled;
      break;
    }
    const RiemannianSharpness& here = *at;
    const auto hessian = [&](const Eigen::VectorXd& v) { return here.riemannian_hessian_apply(v); };
    const auto tangent = [&](const Eigen::VectorXd& v) { return here.point().tangent_projection(v); };
    const InnerResult inner = truncated_cg(grad, Delta, options, max_inner, hessian, tangent);
    s.hessian_products += inner.products;
    TrustRegionIteration row;
    row.iteration = k;
    row.radius = Delta;
    row.step_norm = inner.eta.norm();
    row.inner_iterations = inner.products;
    row.stop = inner.stop;

    // Candidate and regularised ratio.
    std::unique_ptr<RiemannianSharpness> cand;
    double rho = std::numeric_limits<double>::quiet_NaN();
    bool model_decreased = false;
    try {
      Eigen::VectorXd xp = project_newton(model, x + inner.eta, options.projection).theta;
      cand = std::make_unique<RiemannianSharpness>(model, std::move(xp), options.projection.max_condition);
      if (!cand->point().regular()) cand->multipliers();
      const double reg = std::max(1.0, std::abs(fx)) * kEps * options.rho_regularization;
      const double num = fx - cand->value() + reg;
      const double den = -(grad.dot(inner.eta) + 0.5 * inner.eta.dot(inner.Heta)) + reg;
      model_decreased = den >= 0;
      rho = num / den;
    } catch (const ConvergenceError&) {
      cand.reset();
    } catch (const SingularPointError&) {
      cand.reset();
    }
    if (!cand) ++s.retraction_failures;
    const bool accept = cand && model_decreased && rho > options.rho_prime;
    const double rounding_level = std::max(1.0, std::abs(fx)) * kEps * options.rho_regularization;
    const bool value_moved = accept && std::abs(fx - cand->value()) > rounding_level;
    row.rho = rho;
    row.accepted = accept;
    if (!accept || rho < 0.25 || std::isnan(rho))
      Delta /= 4;
    else if (rho > 0.75 && inner.at_boundary)
      Delta = std::min(2 * Delta, max_radius);
    if (accept) {
      at = std::move(cand);
      x = at->point().point();
      fx = at->value();
      grad = at->riemannian_gradient();
      gnorm = grad.norm();
    }
    smallest = std::min(smallest, gnorm);
    if (gnorm <= 0.5 * reference || value_moved) {
      reference = smallest;
      stalled_for = 0;
    } else {
      ++stalled_for;
    }
    row.value = fx;
    row.gradient_norm = gnorm;
    s.log.push_back(row);
    s.iterations = k;
  }
  s.converged = s.termination == TrustRegionTermination::GradientTolerance;
  s.final_value = fx;
  s.gradient_norm = gnorm;
  s.gradient_floor = smallest;
  s.final_residual = model->max_residual(x);
  std::ostringstream msg;
  msg.precision(3);
  msg << "trust-region Newton: " << to_string(s.termination) << " after " << s.iterations << " iterations ("
      << s.hessian_products << " Hessian products), ||grad_M T|| = " << gnorm;
  if (!s.converged) msg << " > tolerance " << options.gradient_tolerance;
  if (s.termination == TrustRegionTermination::GradientStalled)
    msg << " (no halving and T constant to rounding for " << options.stall_iterations
        << " iterations: the gradient's rounding floor here is about " << smallest
        << "; a tolerance at or above it is reachable)";
  s.message = msg.str();
  out.theta = std::move(x);
  return out;
}

TwoLayerTrustRegionMinimization minimize_sharpness_trust_region(const TwoLayerModel& model,
                                                                const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                                const TrustRegionOptions& options) {
  model.check_weights(theta0, "starting weights");
  const ReducedCoordinates rc(model.X());
  const auto reduced = std::make_shared<const TwoLayerNetwork>(rc.reduce(model));
  TrustRegionMinimization r =
      minimize_sharpness_trust_region(reduced, reduced->parameters(rc.reduce(theta0)), options);
  TwoLayerTrustRegionMinimization out;
  out.theta = rc.lift(reduced->weights(r.theta), theta0);
  out.summary = std::move(r.summary);
  return out;
}

}  // namespace zeroloss
