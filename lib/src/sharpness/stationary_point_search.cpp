#include "zeroloss/sharpness/stationary_point_search.hpp"

#include <cmath>
#include <optional>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {

bool StationaryPointSearchOptions::is_valid() const { return invalid_reason().empty(); }

std::string StationaryPointSearchOptions::invalid_reason() const {
  if (!(gradient_tolerance > 0) || !std::isfinite(gradient_tolerance))
    return "gradient_tolerance must be finite and > 0, got " + format_double(gradient_tolerance);
  if (max_iterations < 1) return "max_iterations must be at least 1, got " + std::to_string(max_iterations);
  if (!(initial_damping > 0) || !std::isfinite(initial_damping))
    return "initial_damping must be finite and > 0, got " + format_double(initial_damping);
  if (!(max_damping > initial_damping) || !std::isfinite(max_damping))
    return "max_damping must be finite and above initial_damping, got " + format_double(max_damping);
  return "";
}

const char* to_string(StationaryPointTermination termination) {
  switch (termination) {
    case StationaryPointTermination::Converged: return "converged";
    case StationaryPointTermination::Stalled: return "stalled";
    case StationaryPointTermination::IterationLimit: return "iteration limit";
    case StationaryPointTermination::Failed: return "failed";
  }
  return "failed";
}

namespace {

// What the search knows at an accepted point: T, both gradients and the tangent Hessian's
// eigen-decomposition with its basis.
struct Linearisation {
  Eigen::VectorXd theta;
  double sharpness = 0;
  Eigen::VectorXd gradient;  // grad_M T
  double euclidean_gradient_norm = 0;
  Eigen::MatrixXd basis;      // B
  Eigen::VectorXd eigenvalues;  // l, ascending
  Eigen::MatrixXd eigenvectors;  // V
};

Linearisation linearise(const std::shared_ptr<const SquaredLossModel>& model, Eigen::VectorXd theta,
                        const ProjectionOptions& projection) {
  const RiemannianSharpness s(model, std::move(theta), projection.max_condition);
  Linearisation L;
  L.theta = s.point().point();
  L.sharpness = s.value();
  L.gradient = s.riemannian_gradient();
  L.euclidean_gradient_norm = s.euclidean_gradient().norm();
  const TangentHessian h = s.riemannian_hessian_matrix();
  L.basis = h.basis;
  if (h.matrix.size() > 0) {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(h.matrix);
    L.eigenvalues = eig.eigenvalues();
    L.eigenvectors = eig.eigenvectors();
  }
  return L;
}

// ||grad_M T|| at theta (already on M), or nullopt at a singular point.
std::optional<double> gradient_norm_at(const std::shared_ptr<const SquaredLossModel>& model,
                                       const Eigen::VectorXd& theta, const ProjectionOptions& projection) {
  try {
    const RiemannianSharpness s(model, theta, projection.max_condition);
    const double g = s.riemannian_gradient().norm();
    if (!std::isfinite(g)) return std::nullopt;
    return g;
  } catch (const SingularPointError&) {
    return std::nullopt;
  }
}

}  // namespace

StationaryPointSearchSummary find_stationary_point(const std::shared_ptr<const SquaredLossModel>& model,
                                                   const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                                   const StationaryPointSearchOptions& options) {
  if (!options.is_valid()) throw InputError("stationary point search options: " + options.invalid_reason());
  model->check_parameters(theta0, "the start of the stationary point search");
  StationaryPointSearchSummary out;
  Linearisation L;
  try {
    L = linearise(model, project_newton(model, theta0, options.projection).theta, options.projection);
  } catch (const ConvergenceError& e) {
    out.message = std::string("the start could not be projected onto M: ") + e.what();
    return out;
  } catch (const SingularPointError& e) {
    out.message = std::string("singular point at the projected start: ") + e.what();
    return out;
  }
  auto record = [&](StationaryPointTermination t) {
    out.termination = t;
    out.theta = L.theta;
    out.sharpness = L.sharpness;
    out.gradient_norm = L.gradient.norm();
    out.euclidean_gradient_norm = L.euclidean_gradient_norm;
    out.hessian_eigenvalues = L.eigenvalues;
    return out;
  };
  double g = L.gradient.norm();
  out.gradient_history.push_back(g);
  double relative_mu = options.initial_damping;
  while (true) {
    if (g <= options.gradient_tolerance * L.euclidean_gradient_norm) return record(StationaryPointTermination::Converged);
    if (out.iterations >= options.max_iterations) return record(StationaryPointTermination::IterationLimit);
    if (relative_mu > options.max_damping || L.eigenvalues.size() == 0) return record(StationaryPointTermination::Stalled);
    ++out.iterations;
    const double scale = L.eigenvalues.cwiseAbs2().maxCoeff();
    const double mu = relative_mu * scale;
    const Eigen::VectorXd c = L.eigenvectors.transpose() * (L.basis.transpose() * L.gradient);
    Eigen::VectorXd w(c.size());
    for (Eigen::Index k = 0; k < c.size(); ++k) {
      const double l = L.eigenvalues(k);
      w(k) = l * l + mu > 0 ? -l / (l * l + mu) * c(k) : 0.0;
    }
    const Eigen::VectorXd step = L.basis * (L.eigenvectors * w);
    std::optional<double> trial_g;
    Eigen::VectorXd trial;
    try {
      trial = project_newton(model, L.theta + step, options.projection).theta;
      trial_g = gradient_norm_at(model, trial, options.projection);
    } catch (const ConvergenceError&) {
    } catch (const SingularPointError&) {
    }
    if (trial_g && *trial_g < g) {
      try {
        L = linearise(model, trial, options.projection);
      } catch (const SingularPointError& e) {
        record(StationaryPointTermination::Failed);
        out.message = std::string("singular point during the search: ") + e.what();
        return out;
      }
      g = L.gradient.norm();
      out.gradient_history.push_back(g);
      ++out.accepted;
      relative_mu = std::max(relative_mu / 3, 1e-16);
    } else {
      relative_mu *= 2;
    }
  }
}

}  // namespace zeroloss
