#include "zeroloss/manifold/newton_projection.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {
ParameterProjection project_newton(const std::shared_ptr<const SquaredLossModel>& model,
                                   const Eigen::Ref<const Eigen::VectorXd>& theta0, const ProjectionOptions& options) {
  model->check_parameters(theta0, "starting weights");
  const double tol = absolute_residual_tolerance(options, model->labels());
  ParameterProjection out;
  out.summary.method = ProjectionMethod::Newton;
  Eigen::VectorXd theta = theta0;
  std::ostringstream history;
  for (int it = 0;; ++it) {
    const ManifoldPoint point(model, theta, options.max_condition);
    const Eigen::VectorXd residuals = point.residuals();
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
      out.summary.termination = "residual " + short_number(res) + " <= tolerance " + short_number(tol) + " after " +
                                std::to_string(it) + " Newton iterations";
      break;
    }
    if (it >= options.max_iterations) {
      throw ConvergenceError("Newton projection did not reach residual " + short_number(tol) + " in " +
                             std::to_string(options.max_iterations) + " iterations; residual history: " +
                             history.str() + ". Start closer to the manifold or use --method gradient-flow");
    }
    theta -= point.evaluation().jacobian_transpose_apply(point.solve_gram(residuals));
  }
  out.summary.distance_moved = (theta - theta0).norm();
  out.theta = std::move(theta);
  return out;
}

}  // namespace zeroloss
