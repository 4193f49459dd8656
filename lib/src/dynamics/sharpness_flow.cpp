#include "zeroloss/dynamics/sharpness_flow.hpp"

#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

namespace zeroloss {

Eigen::MatrixXd sharpness_flow_velocity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                        double coefficient) {
  const SharpnessGeometry g(model, beta);
  return -coefficient * g.riemannian_gradient();
}

FlowResult integrate_sharpness_flow(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta0,
                                    const FlowOptions& options, const FlowObserver& observer) {
  model.check_weights(beta0, "starting weights of the sharpness flow");
  const auto network = std::make_shared<const TwoLayerNetwork>(model);
  const int m = model.m(), p = model.d();
  Eigen::MatrixXd beta(m, p);
  ParameterFlowObserver forward;
  if (observer) {
    forward = [&](const ParameterFlowSample& s) {
      beta = unvectorize(*s.theta, m, p);
      FlowSample sample;
      sample.t = s.t;
      sample.tau = s.tau;
      sample.beta = &beta;
      sample.gradient_norm = s.gradient_norm;
      sample.sharpness = s.sharpness;
      sample.accepted = s.accepted;
      sample.rejected = s.rejected;
      return observer(sample);
    };
  }
  ParameterFlowResult r = integrate_sharpness_flow(network, vectorize(beta0), options, forward);
  return FlowResult{unvectorize(r.theta, m, p), std::move(r.summary)};
}

}  // namespace zeroloss
