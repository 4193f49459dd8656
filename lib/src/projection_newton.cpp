#include <cmath>
#include <optional>
#include <sstream>

#include "projection_internal.hpp"
#include "zeroloss/constraint_jacobian.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/projection.hpp"

namespace zeroloss {

double max_residual(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta) {
  return (network_outputs(model, theta) - model.y()).cwiseAbs().maxCoeff();
}

ProjectionResult project_newton(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                const ProjectionOptions& options) {
  model.check_weights(theta0, "starting weights");
  const double tol = options.residual_tolerance * std::max(1.0, model.y().cwiseAbs().maxCoeff());
  ProjectionResult out;
  out.summary.method = "newton";
  Eigen::MatrixXd theta = theta0;
  std::ostringstream history;
  for (int it = 0;; ++it) {
    // Memory: only phi' is needed (the Jacobian), and the evaluation is released before the step
    // J^T (J J^T)^{-1} r is formed; at n = 100, m = 10^4 each n x m matrix is 8 MB.
    std::optional<ConstraintJacobian> J;
    Eigen::VectorXd residuals;
    {
      NetworkEvaluation e = evaluate(model, theta, 1);
      e.R.resize(0, 0);
      e.phi.resize(0, 0);
      residuals = std::move(e.residuals);
      const double res = residuals.cwiseAbs().maxCoeff();
      if (it == 0) out.summary.initial_residual = res;
      history << (it ? ", " : "") << res;
      if (!std::isfinite(res)) {
        throw ConvergenceError("Newton projection diverged at iteration " + std::to_string(it) +
                               " (non-finite residual); residual history: " + history.str());
      }
      if (res <= tol) {
        out.summary.iterations = it;
        out.summary.final_residual = res;
        out.summary.converged = true;
        out.summary.termination = "residual " + detail::short_number(res) + " <= tolerance " + detail::short_number(tol) +
                                  " after " + std::to_string(it) + " Newton iterations";
        break;
      }
      if (it >= options.max_iterations) {
        throw ConvergenceError("Newton projection did not reach residual " + detail::short_number(tol) + " in " +
                               std::to_string(options.max_iterations) +
                               " iterations; residual history: " + history.str() +
                               ". Start closer to the manifold or use --method gradient-flow");
      }
      J.emplace(model, e, options.max_condition);
    }
    theta -= J->apply_transpose(J->solve_gram(residuals));
  }
  out.summary.distance_moved = (theta - theta0).norm();
  out.theta = std::move(theta);
  return out;
}

}  // namespace zeroloss
