#pragma once
// The two-layer network's entry points of the projections: a projection of any SquaredLossModel
// (Newton, nearest point, gradient-flow limit, Ceres) run on the network in reduced coordinates
// beta = Theta U (THEORY 4) and lifted back. The components of Theta orthogonal to span{x_i} do not
// enter f, so every projection leaves them unchanged; the summary's residuals and distance moved are
// reported in full coordinates.

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/model/two_layer_network.hpp"

namespace zeroloss {

// `project(model, theta, options)` is a projection of the generic interface, returning a
// ParameterProjection (e.g. a lambda calling project_ceres).
template <class ProjectParameters>
ProjectionResult project_in_reduced_coordinates(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                const ProjectionOptions& options, const ProjectParameters& project) {
  model.check_weights(theta0, "starting weights");
  const ReducedCoordinates rc(model.X());
  const auto reduced = std::make_shared<const TwoLayerNetwork>(rc.reduce(model));
  const std::shared_ptr<const SquaredLossModel> generic = reduced;
  ParameterProjection r = project(generic, reduced->parameters(rc.reduce(theta0)), options);
  ProjectionResult out{rc.lift(reduced->weights(r.theta), theta0), std::move(r.summary)};
  out.summary.initial_residual = max_residual(model, theta0);
  out.summary.final_residual = max_residual(model, out.theta);
  out.summary.distance_moved = (out.theta - theta0).norm();
  return out;
}

}  // namespace zeroloss
