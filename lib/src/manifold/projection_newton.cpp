#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/manifold/projection.hpp"

namespace zeroloss {

double max_residual(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta) {
  return (network_outputs(model, theta) - model.y()).cwiseAbs().maxCoeff();
}

ProjectionResult project_newton(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                const ProjectionOptions& options) {
  model.check_weights(theta0, "starting weights");
  const auto network = std::make_shared<const TwoLayerNetwork>(model);
  ParameterProjection r = project_newton(network, vectorize(theta0), options);
  return ProjectionResult{unvectorize(r.theta, model.m(), model.d()), std::move(r.summary)};
}

}  // namespace zeroloss
