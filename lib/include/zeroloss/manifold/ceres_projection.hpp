#pragma once
// Projection onto the zero-loss manifold by Ceres' Levenberg-Marquardt on the n residuals f - y of
// any SquaredLossModel, with the model's analytic Jacobian (ModelPoint::jacobian). Converged when
// max_i |f_i - y_i| <= absolute_residual_tolerance(options, y) (Ceres is stopped by a callback as
// soon as sqrt(2 cost) is below it). The point reached depends on Levenberg-Marquardt's path: it is
// on M, near the start, but neither the nearest point nor Phi_GF.
//
// The linear solver is dense QR of the (n + P) x P system (J stacked on the damping), so P is
// limited by the dense limit (numerics/dense_limit.hpp: ResourceError before allocating).
// Throws InputError on a malformed start, ConvergenceError if Ceres stops above the tolerance (with
// Ceres' own message).

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

ParameterProjection project_ceres(const std::shared_ptr<const SquaredLossModel>& model,
                                  const Eigen::Ref<const Eigen::VectorXd>& theta0, const ProjectionOptions& options = {});

}  // namespace zeroloss
