#pragma once
// Riemannian L-BFGS on the two-layer network's zero-loss manifold, for weights Theta (m x d): the
// generic path (manifold/riemannian_lbfgs.hpp: ModelManifold, the one L-BFGS loop) on the reduced
// network TwoLayerNetwork(ReducedCoordinates::reduce(model)) (THEORY 4). A point is beta (m x p,
// p = rank X) as the parameter column vectorize(beta); M has tangent dimension m p - n. The
// components of theta_j orthogonal to span{x_i} are not coordinates of M: they keep their starting
// values (T and every quantity of THEORY 2-3 do not depend on them).

#include <Eigen/Dense>

#include <functional>

#include "zeroloss/manifold/riemannian_lbfgs.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss {

// An objective on weights in full coordinates: returns F(Theta) and, if `gradient` is not null, writes
// the Euclidean gradient dF/dTheta (m x d) into it.
using ManifoldObjective = std::function<double(const Eigen::MatrixXd& theta, Eigen::MatrixXd* gradient)>;

struct ManifoldMinimizationResult {
  Eigen::MatrixXd theta;  // m x d, the perpendicular components of the start unchanged
  ManifoldMinimizationSummary summary;
};

// Minimizes F over M from theta0 (projected onto M first if it is not on M: Newton, or the
// gradient-flow limit if Newton fails), with the contract of manifold/riemannian_lbfgs.hpp: non-
// convergence in the summary (converged = false) rather than thrown; InputError on bad options or a
// gradient of the wrong shape, SingularPointError at singular points, ConvergenceError if the start
// cannot be projected, ResourceError beyond the dense limit.
ManifoldMinimizationResult minimize_on_manifold(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                const ManifoldObjective& objective,
                                                const ManifoldMinimizationOptions& options = {});

// The same for the sharpness T (THEORY 3), from the network's structured products
// (TwoLayerNetwork's ModelPoint::sharpness and sharpness_gradient).
ManifoldMinimizationResult minimize_sharpness_on_manifold(const TwoLayerModel& model,
                                                          const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                          const ManifoldMinimizationOptions& options = {});

}  // namespace zeroloss
