#pragma once
// Projection onto the zero-loss manifold by Ceres' Levenberg-Marquardt on the n residuals f - y of
// any SquaredLossModel, with the model's analytic Jacobian (ModelPoint::jacobian). Converged when
// max_i |f_i - y_i| <= absolute_residual_tolerance(options, y) (Ceres is stopped by a callback as
// soon as sqrt(2 cost) is below it). The point reached depends on Levenberg-Marquardt's path: it is
// on M, near the start, but neither the nearest point nor Phi_GF.
//
// The linear solver: up to kDenseLevenbergMarquardtMaxParameters parameters, dense QR of the
// (n + P) x P system (J stacked on the damping; also limited by the dense limit,
// numerics/dense_limit.hpp: ResourceError before allocating); above it, conjugate gradients on the
// normal equations (Ceres' CGNR: products with J and J^T only, a block-Jacobi preconditioner over
// consecutive blocks of kIterativeBlockSize parameters, memory O(n P)), each linear solve stopped at
// the relative residual kIterativeForcingTolerance (Ceres' eta).
// Throws InputError on a malformed start, ConvergenceError if Ceres stops above the tolerance (with
// Ceres' own message).

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

// Dense QR at or below this many parameters, CGNR above (docs/performance.md, section 15: at P = 5000
// dense QR took about 50 s of CPU per projection).
inline constexpr int kDenseLevenbergMarquardtMaxParameters = 1500;
inline constexpr int kIterativeBlockSize = 64;
inline constexpr double kIterativeForcingTolerance = 1e-6;

ParameterProjection project_ceres(const std::shared_ptr<const SquaredLossModel>& model,
                                  const Eigen::Ref<const Eigen::VectorXd>& theta0, const ProjectionOptions& options = {});

}  // namespace zeroloss
