// Phi_GF for the two-layer network: the generic gradient-flow projection
// (manifold/gradient_flow_projection.hpp) on the network in reduced coordinates (THEORY 4); the
// perpendicular components of Theta are constant along the flow and are returned unchanged.

#include "zeroloss/manifold/gradient_flow_projection.hpp"
#include "manifold/reduced_projection.hpp"

namespace zeroloss {

ProjectionResult project_gradient_flow(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                       const ProjectionOptions& options) {
  return project_in_reduced_coordinates(
      model, theta0, options,
      [](const std::shared_ptr<const SquaredLossModel>& reduced, const Eigen::VectorXd& beta0,
         const ProjectionOptions& o) { return project_gradient_flow(reduced, beta0, o); });
}

}  // namespace zeroloss
