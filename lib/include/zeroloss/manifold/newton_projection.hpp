#pragma once
// Minimum-norm Gauss-Newton projection onto the zero-loss manifold of any SquaredLossModel
// (THEORY 2a):  theta <- theta - J^T (J J^T)^{-1} (f(theta) - y),
// until max_i |f_i - y_i| <= residual_tolerance * max(1, max_i |y_i|). Quadratic convergence near
// M; from theta0 + t v (theta0 on M, v tangent) it is a second-order retraction. This is the one
// Newton projection of the library: the two-layer network's project_newton (manifold/projection.hpp) and
// every re-projection inside flows and geodesics call it.

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

struct ParameterProjection {
  Eigen::VectorXd theta;
  ProjectionSummary summary;
};

// Throws InputError on malformed theta0, ConvergenceError if the residual does not reach the
// tolerance within options.max_iterations or becomes non-finite (the message carries the residual
// history), SingularPointError if J J^T is singular at an iterate.
ParameterProjection project_newton(const std::shared_ptr<const SquaredLossModel>& model,
                                   const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                   const ProjectionOptions& options = {});

}  // namespace zeroloss
