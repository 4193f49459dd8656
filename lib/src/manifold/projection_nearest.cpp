// The nearest point of M for the two-layer network: the generic KKT Newton method
// (manifold/nearest_point_projection.hpp) on the network in reduced coordinates (THEORY 4), where the
// Lagrangian Hessian has m blocks H_j = I + Z^T diag(mu o a_j phi''(r_:j)) Z of size p. The
// constraints do not depend on the components of Theta orthogonal to span{x_i}, so the nearest
// point keeps them.

#include "zeroloss/manifold/nearest_point_projection.hpp"
#include "manifold/reduced_projection.hpp"

namespace zeroloss {

ProjectionResult project_nearest(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                 const ProjectionOptions& options) {
  return project_in_reduced_coordinates(
      model, theta0, options,
      [](const std::shared_ptr<const SquaredLossModel>& reduced, const Eigen::VectorXd& beta0,
         const ProjectionOptions& o) { return project_nearest(reduced, beta0, o); });
}

}  // namespace zeroloss
