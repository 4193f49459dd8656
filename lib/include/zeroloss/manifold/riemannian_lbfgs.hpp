#pragma once
// Riemannian L-BFGS on the zero-loss manifold of any SquaredLossModel: Ceres' GradientProblemSolver
// (LBFGS direction, Wolfe line search) over ModelManifold (model_manifold.hpp), with re-anchoring.
//
// The objective F is given on the ambient parameter space R^P with its Euclidean gradient; Ceres
// works with its tangent gradient B(x)^T grad F, whose norm is that of the Riemannian gradient
// grad_M F = P(x) grad F. The start is put on M first if it is not there (Newton projection, or the
// gradient-flow limit if Newton fails). When the tangent basis degrades (basis_quality below
// min_basis_quality) or Ceres fails to retract a long step after making progress, the solver is
// restarted from the current point with a new reference basis, new units of F and the L-BFGS memory
// cleared; at most max_reanchors times.
//
// Units of F: Ceres measures its gradient by the step Plus(x, -grad) and aborts if that long step
// cannot be retracted, so each (re)start scales F by a positive constant that makes
// ||grad_M F|| at most max(1, ||x||) there (the minimizers do not change).
//
// Convergence is judged at the end, by the Riemannian gradient: converged when
// ||grad_M F|| <= gradient_tolerance * max(1, |F|) and the point is on M. Non-convergence is
// reported in the summary (converged = false), not thrown.
//
// Sizes: the dense limit of ModelManifold applies (objects of at most P x P doubles; ResourceError
// beyond it).

#include <Eigen/Dense>

#include <functional>
#include <memory>
#include <string>

#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

struct ManifoldMinimizationOptions {
  int max_iterations = 2000;         // L-BFGS iterations in total (over all re-anchorings), >= 0
  int lbfgs_rank = 20;               // pairs kept by L-BFGS, >= 1
  // Converged when ||grad_M F|| <= gradient_tolerance * max(1, |F|) at the end (> 0). L-BFGS with a
  // function-value line search stalls once steps change F by rounding error only, i.e. near
  // ||grad|| ~ sqrt(machine epsilon * |F| * curvature): about 1e-8..1e-6 relative in practice, where F
  // itself is already accurate to ~1e-13 relative (the error in F is quadratic in the gradient).
  double gradient_tolerance = 1e-6;
  double function_tolerance = 1e-15;  // Ceres: relative decrease of F below which it stops (>= 0)
  double min_basis_quality = 0.5;     // re-anchor the tangent basis below this basis_quality, in [0, 1)
  int max_reanchors = 100;            // restarts allowed, >= 0
  ProjectionOptions projection;       // Newton tolerances of Plus and of the initial projection

  // Empty when the options are usable; otherwise what is wrong, naming the option.
  std::string validation_error() const;
};

struct ManifoldMinimizationSummary {
  int iterations = 0;       // L-BFGS iterations
  int reanchors = 0;        // tangent-basis re-anchorings
  int evaluations = 0;      // objective evaluations
  bool start_projected = false;  // the start was off M and was projected onto M first
  double initial_value = 0;      // F at the (projected) start
  double final_value = 0;        // F at the result
  double riemannian_gradient_norm = 0;  // ||grad_M F|| at the result (tangent projection of grad F)
  double final_residual = 0;     // max_i |f_i - y_i| at the result
  bool converged = false;        // riemannian_gradient_norm within the tolerance and the result on M
  std::string termination;       // the convergence verdict and Ceres' last message
};

// An objective on parameters theta in R^P: returns F(theta) and, if `gradient` is not null, writes
// the Euclidean gradient dF/dtheta (P entries) into it. It may throw zeroloss::Error where F is not
// defined (Ceres then shortens the step).
using ParameterObjective = std::function<double(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient)>;

struct ParameterMinimization {
  Eigen::VectorXd theta;  // the result, on M
  ManifoldMinimizationSummary summary;
};

// Minimizes F over the model's M from theta0. Throws InputError on bad options or a malformed
// theta0, SingularPointError at singular points, ConvergenceError if the start cannot be projected,
// ResourceError beyond the dense limit.
ParameterMinimization minimize_on_manifold(const std::shared_ptr<const SquaredLossModel>& model,
                                           const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                           const ParameterObjective& objective,
                                           const ManifoldMinimizationOptions& options = {});

// The same for the sharpness T = (1/n) sum_i ||grad f_i||^2 (ModelPoint::sharpness and
// ModelPoint::sharpness_gradient).
ParameterMinimization minimize_sharpness_on_manifold(const std::shared_ptr<const SquaredLossModel>& model,
                                                     const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                                     const ManifoldMinimizationOptions& options = {});

}  // namespace zeroloss
