#include "zeroloss/manifold/riemannian_lbfgs_two_layer.hpp"

#include <memory>
#include <string>

#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

// Runs `minimize` (the generic L-BFGS on the reduced network from vectorize(beta0)) and lifts the result.
template <class Minimize>
ManifoldMinimizationResult minimize_reduced(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                            const ManifoldMinimizationOptions& options, const Minimize& minimize) {
  const std::string bad = options.validation_error();
  if (!bad.empty()) throw InputError("Riemannian L-BFGS options: " + bad);
  model.check_weights(theta0, "starting weights");
  const ReducedCoordinates rc(model.X());
  const auto network = std::make_shared<const TwoLayerNetwork>(rc.reduce(model));
  const ParameterMinimization r = minimize(network, rc, vectorize(rc.reduce(theta0)));
  return {rc.lift(unvectorize(r.theta, model.m(), rc.rank()), theta0), r.summary};
}

}  // namespace

ManifoldMinimizationResult minimize_on_manifold(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                const ManifoldObjective& objective,
                                                const ManifoldMinimizationOptions& options) {
  if (!objective) throw InputError("Riemannian L-BFGS: no objective");
  const Eigen::MatrixXd theta_ref = theta0;
  return minimize_reduced(model, theta0, options, [&](const auto& network, const ReducedCoordinates& rc,
                                                      const Eigen::VectorXd& x0) {
    const int m = model.m(), p = rc.rank();
    // F(beta) = F(lift(beta)), dF/dbeta = (dF/dTheta) U.
    const ParameterObjective F = [&](const Eigen::VectorXd& x, Eigen::VectorXd* gradient) {
      const Eigen::MatrixXd theta = rc.lift(unvectorize(x, m, p), theta_ref);
      if (!gradient) return objective(theta, nullptr);
      Eigen::MatrixXd g = Eigen::MatrixXd::Zero(theta.rows(), theta.cols());
      const double value = objective(theta, &g);
      if (g.rows() != theta.rows() || g.cols() != theta.cols()) {
        throw InputError("Riemannian L-BFGS: the objective's gradient is " + std::to_string(g.rows()) + " x " +
                         std::to_string(g.cols()) + ", expected m x d = " + std::to_string(theta.rows()) + " x " +
                         std::to_string(theta.cols()));
      }
      *gradient = vectorize(g * rc.basis());
      return value;
    };
    return minimize_on_manifold(network, x0, F, options);
  });
}

ManifoldMinimizationResult minimize_sharpness_on_manifold(const TwoLayerModel& model,
                                                          const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                          const ManifoldMinimizationOptions& options) {
  return minimize_reduced(model, theta0, options,
                          [&](const auto& network, const ReducedCoordinates&, const Eigen::VectorXd& x0) {
                            return minimize_sharpness_on_manifold(network, x0, options);
                          });
}

}  // namespace zeroloss
