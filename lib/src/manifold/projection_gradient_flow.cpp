// Phi_GF for the two-layer network: the generic gradient-flow projection
// (manifold/gradient_flow_projection.hpp) on the network in reduced coordinates (THEORY 4); the
// perpendicular components of Theta are constant along the flow and are returned unchanged.

#include "zeroloss/manifold/gradient_flow_projection.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"

namespace zeroloss {

ProjectionResult project_gradient_flow(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                       const ProjectionOptions& options) {
  model.check_weights(theta0, "starting weights");
  const ReducedCoordinates rc(model.X());
  const auto reduced = std::make_shared<const TwoLayerNetwork>(rc.reduce(model));
  const Eigen::MatrixXd b0 = rc.reduce(theta0);
  ParameterProjection r = project_gradient_flow(reduced, reduced->parameters(b0), options);
  ProjectionResult out{rc.lift(reduced->weights(r.theta), theta0), std::move(r.summary)};
  // Reported in full coordinates (the perpendicular part did not move).
  out.summary.initial_residual = max_residual(model, theta0);
  out.summary.final_residual = max_residual(model, out.theta);
  out.summary.distance_moved = (out.theta - theta0).norm();
  return out;
}

}  // namespace zeroloss
