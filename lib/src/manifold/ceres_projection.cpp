#include "zeroloss/manifold/ceres_projection.hpp"

#include <ceres/ceres.h>

#include <cmath>

#include "support/ceres_logging.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The n residuals f(theta) - y over one parameter block of size P, Jacobian from the model.
class ResidualCost final : public ceres::CostFunction {
 public:
  explicit ResidualCost(std::shared_ptr<const SquaredLossModel> model) : model_(std::move(model)) {
    set_num_residuals(model_->num_samples());
    mutable_parameter_block_sizes()->push_back(model_->num_parameters());
  }

  bool Evaluate(double const* const* parameters, double* residuals, double** jacobians) const override {
    const int n = model_->num_samples(), P = model_->num_parameters();
    const Eigen::Map<const Eigen::VectorXd> theta(parameters[0], P);
    if (!theta.allFinite()) return false;
    const auto point = model_->evaluate(theta);
    Eigen::Map<Eigen::VectorXd> r(residuals, n);
    r = point->outputs() - model_->labels();
    if (!r.allFinite()) return false;
    if (jacobians && jacobians[0]) Eigen::Map<RowMajorMatrix>(jacobians[0], n, P) = point->jacobian();
    return true;
  }

 private:
  std::shared_ptr<const SquaredLossModel> model_;
};

// Stops Ceres as soon as max_i |r_i| <= sqrt(2 cost) <= tolerance.
class ResidualReached final : public ceres::IterationCallback {
 public:
  explicit ResidualReached(double tol) : tol_(tol) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary& s) override {
    return std::sqrt(2 * s.cost) <= tol_ ? ceres::SOLVER_TERMINATE_SUCCESSFULLY : ceres::SOLVER_CONTINUE;
  }

 private:
  double tol_;
};

}  // namespace

ParameterProjection project_ceres(const std::shared_ptr<const SquaredLossModel>& model,
                                  const Eigen::Ref<const Eigen::VectorXd>& theta0, const ProjectionOptions& options) {
  if (!model) throw InputError("Ceres projection: no model");
  model->check_parameters(theta0, "starting weights");
  const double tol = absolute_residual_tolerance(options, model->labels());
  ParameterProjection out;
  out.summary.method = ProjectionMethod::Ceres;
  out.summary.initial_residual = model->max_residual(theta0);

  Eigen::VectorXd theta = theta0;
  {
    // Levenberg-Marquardt with DENSE_QR factors the Jacobian (n x P) stacked on its P x P diagonal
    // regularisation: an (n + P) x P dense matrix.
    const long double n = model->num_samples(), P = model->num_parameters();
    require_dense_size(n + P, P, "the dense QR system of Ceres' Levenberg-Marquardt projection",
                       "Use a projection without it (newton or gradient-flow), or a smaller model.");
  }
  ceres::Problem problem;
  problem.AddResidualBlock(new ResidualCost(model), nullptr, theta.data());
  ceres::Solver::Options so;
  so.minimizer_type = ceres::TRUST_REGION;
  so.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  so.linear_solver_type = ceres::DENSE_QR;
  so.max_num_iterations = std::max(options.max_iterations, 1) * 4;
  so.function_tolerance = 0;
  so.gradient_tolerance = 0;
  so.parameter_tolerance = 0;
  so.logging_type = ceres::SILENT;
  so.minimizer_progress_to_stdout = false;
  so.num_threads = 1;
  ResidualReached stop(tol);
  so.callbacks.push_back(&stop);
  ceres::Solver::Summary summary;
  detail::silence_ceres_logging();
  ceres::Solve(so, &problem, &summary);

  const double res = model->max_residual(theta);
  int iterations = 0;
  for (const auto& it : summary.iterations)
    if (it.iteration > 0) ++iterations;
  if (!(res <= tol)) {
    throw ConvergenceError("Ceres Levenberg-Marquardt projection stopped at max residual " + short_number(res) +
                           " above the tolerance " + short_number(tol) + " after " + std::to_string(iterations) +
                           " iterations; Ceres says: " + summary.message);
  }
  out.summary.iterations = iterations;
  out.summary.final_residual = res;
  out.summary.distance_moved = (theta - theta0).norm();
  out.summary.converged = true;
  out.summary.termination = "Levenberg-Marquardt reached residual " + short_number(res) + " in " +
                            std::to_string(iterations) + " iterations; Ceres: " + summary.message;
  out.theta = std::move(theta);
  return out;
}

}  // namespace zeroloss
