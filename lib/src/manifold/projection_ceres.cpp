// Ceres' Levenberg-Marquardt projection for the two-layer network: the generic method
// (manifold/ceres_projection.hpp) on the network in reduced coordinates (THEORY 4); the perpendicular
// components of Theta do not enter the residuals and are returned unchanged.

#include "zeroloss/manifold/ceres_projection.hpp"
#include "manifold/reduced_projection.hpp"

namespace zeroloss {

ProjectionResult project_ceres(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                               const ProjectionOptions& options) {
  return project_in_reduced_coordinates(
      model, theta0, options,
      [](const std::shared_ptr<const SquaredLossModel>& reduced, const Eigen::VectorXd& beta0,
         const ProjectionOptions& o) { return project_ceres(reduced, beta0, o); });
}

}  // namespace zeroloss
