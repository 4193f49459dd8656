#include "zeroloss/manifold/ceres_projection.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "support/ceres_logging.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The n residuals f(theta) - y with theta split into consecutive parameter blocks of the given sizes
// (one block of size P for the dense solver; blocks of at most kIterativeBlockSize for CGNR, whose
// Jacobi preconditioner is the block diagonal of J^T J), Jacobian from the model.
class ResidualCost final : public ceres::CostFunction {
 public:
  ResidualCost(std::shared_ptr<const SquaredLossModel> model, const std::vector<int>& block_sizes)
      : model_(std::move(model)) {
    set_num_residuals(model_->num_samples());
    for (const int b : block_sizes) mutable_parameter_block_sizes()->push_back(b);
  }

  bool Evaluate(double const* const* parameters, double* residuals, double** jacobians) const override {
    const int n = model_->num_samples(), P = model_->num_parameters();
    const std::vector<int32_t>& sizes = parameter_block_sizes();
    // Ceres passes each block separately (not necessarily contiguous): gather theta.
    Eigen::VectorXd theta(P);
    for (std::size_t k = 0, offset = 0; k < sizes.size(); offset += sizes[k], ++k)
      theta.segment(static_cast<Eigen::Index>(offset), sizes[k]) = Eigen::Map<const Eigen::VectorXd>(parameters[k], sizes[k]);
    if (!theta.allFinite()) return false;
    const auto point = model_->evaluate(theta);
    Eigen::Map<Eigen::VectorXd> r(residuals, n);
    r = point->outputs() - model_->labels();
    if (!r.allFinite()) return false;
    if (jacobians) {
      const Eigen::MatrixXd J = point->jacobian();
      for (std::size_t k = 0, offset = 0; k < sizes.size(); offset += sizes[k], ++k)
        if (jacobians[k])
          Eigen::Map<RowMajorMatrix>(jacobians[k], n, sizes[k]) = J.middleCols(static_cast<Eigen::Index>(offset), sizes[k]);
    }
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
  const int P = model->num_parameters();
  const bool dense = P <= kDenseLevenbergMarquardtMaxParameters;
  if (dense) {
    // Levenberg-Marquardt with DENSE_QR factors the Jacobian (n x P) stacked on its P x P diagonal
    // regularisation: an (n + P) x P dense matrix.
    const long double n = model->num_samples();
    require_dense_size(n + P, P, "the dense QR system of Ceres' Levenberg-Marquardt projection",
                       "Use a projection without it (newton or gradient-flow), or a smaller model.");
  }
  std::vector<int> block_sizes;
  if (dense) {
    block_sizes.push_back(P);
  } else {
    for (int offset = 0; offset < P; offset += kIterativeBlockSize) block_sizes.push_back(std::min(kIterativeBlockSize, P - offset));
  }
  std::vector<double*> blocks;
  for (std::size_t k = 0, offset = 0; k < block_sizes.size(); offset += block_sizes[k], ++k)
    blocks.push_back(theta.data() + offset);
  ceres::Problem problem;
  problem.AddResidualBlock(new ResidualCost(model, block_sizes), nullptr, blocks);
  ceres::Solver::Options so;
  so.minimizer_type = ceres::TRUST_REGION;
  so.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  if (dense) {
    so.linear_solver_type = ceres::DENSE_QR;
  } else {
    // Conjugate gradients on the normal equations (J^T J + D) delta = -J^T r, with J products only
    // and the block-Jacobi preconditioner (blocks of kIterativeBlockSize): memory O(n P).
    so.linear_solver_type = ceres::CGNR;
    so.preconditioner_type = ceres::JACOBI;
    so.eta = kIterativeForcingTolerance;
    so.max_linear_solver_iterations = std::max(4 * model->num_samples(), 100);
  }
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
  out.summary.termination = std::string("Levenberg-Marquardt (") + (dense ? "dense QR" : "CGNR") +
                            ") reached residual " + short_number(res) + " in " + std::to_string(iterations) +
                            " iterations; Ceres: " + summary.message;
  out.theta = std::move(theta);
  return out;
}

}  // namespace zeroloss
