// Projection by Ceres Levenberg-Marquardt on the residuals f(beta) - y in reduced coordinates, with
// the analytic Jacobian (row i, block j = a_j phi'(r_ij) z_i) in a dynamically sized CostFunction.

#include <ceres/ceres.h>

#include <cmath>
#include <sstream>

#include "ceres_logging.hpp"
#include "projection_internal.hpp"
#include "zeroloss/dense_limit.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/reduced_coordinates.hpp"

namespace zeroloss {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

class ResidualCost final : public ceres::CostFunction {
 public:
  explicit ResidualCost(const TwoLayerModel& red) : red_(red) {
    set_num_residuals(red.n());
    mutable_parameter_block_sizes()->push_back(red.m() * red.d());
  }

  bool Evaluate(double const* const* parameters, double* residuals, double** jacobians) const override {
    const int n = red_.n(), m = red_.m(), p = red_.d();
    const Eigen::Map<const RowMajorMatrix> beta(parameters[0], m, p);
    const Eigen::MatrixXd R = red_.X() * beta.transpose();
    Eigen::Map<Eigen::VectorXd> r(residuals, n);
    r = -red_.y();
    Eigen::MatrixXd D(n, m);
    const Activation& act = red_.activation();
    for (int j = 0; j < m; ++j)
      for (int i = 0; i < n; ++i) {
        const ActivationDerivatives dv = act.derivatives(R(i, j));
        r(i) += red_.a()(j) * dv.d0;
        D(i, j) = red_.a()(j) * dv.d1;
      }
    if (!r.allFinite()) return false;
    if (jacobians && jacobians[0]) {
      Eigen::Map<RowMajorMatrix> J(jacobians[0], n, static_cast<Eigen::Index>(m) * p);
      for (int j = 0; j < m; ++j) J.middleCols(static_cast<Eigen::Index>(j) * p, p) = D.col(j).asDiagonal() * red_.X();
    }
    return true;
  }

 private:
  const TwoLayerModel& red_;
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

ProjectionResult project_ceres(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                               const ProjectionOptions& options) {
  model.check_weights(theta0, "starting weights");
  const ReducedCoordinates rc(model.X());
  const TwoLayerModel red = rc.reduce(model);
  const double tol = detail::residual_tolerance(model, options);

  ProjectionResult out;
  out.summary.method = "ceres";
  out.summary.initial_residual = max_residual(model, theta0);

  RowMajorMatrix beta = rc.reduce(theta0);
  {
    // Levenberg-Marquardt with DENSE_QR factors the Jacobian (n x m p) stacked on its m p x m p
    // diagonal regularisation: an (n + m p) x m p dense matrix.
    const long double n = red.n(), mp = static_cast<long double>(beta.size());
    require_dense_size(n + mp, mp, "the dense QR system of Ceres' Levenberg-Marquardt projection",
                       "Use a projection without it (newton or gradient-flow), fewer neurons m or data of lower "
                       "rank p.");
  }
  ceres::Problem problem;
  problem.AddResidualBlock(new ResidualCost(red), nullptr, beta.data());
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

  out.theta = rc.lift(beta, theta0);
  const double res = max_residual(model, out.theta);
  int iterations = 0;
  for (const auto& it : summary.iterations)
    if (it.iteration > 0) ++iterations;
  if (!(res <= tol)) {
    throw ConvergenceError("Ceres Levenberg-Marquardt projection stopped at max residual " + detail::short_number(res) +
                           " above the tolerance " + detail::short_number(tol) + " after " + std::to_string(iterations) +
                           " iterations; Ceres says: " + summary.message);
  }
  out.summary.iterations = iterations;
  out.summary.final_residual = res;
  out.summary.distance_moved = (out.theta - theta0).norm();
  out.summary.converged = true;
  out.summary.termination = "Levenberg-Marquardt reached residual " + detail::short_number(res) + " in " +
                            std::to_string(iterations) + " iterations; Ceres: " + summary.message;
  return out;
}

}  // namespace zeroloss
