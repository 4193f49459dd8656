// The derivative checks of the two-layer network's sharpness: the generic checks
// (diagnostics/derivative_check.hpp) on the network in reduced coordinates, with the network's
// structured rounding scale for the Hessian's residuals.

#include "zeroloss/diagnostics/two_layer_derivative_check.hpp"

#include <string>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

namespace zeroloss {

DerivativeCheckResult check_sharpness_derivatives(const TwoLayerModel& model,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                                  const DerivativeCheckOptions& options,
                                                  const InjectedError& injected) {
  model.check_weights(theta);
  const ReducedCoordinates rc(model.X());
  const auto reduced = std::make_shared<const TwoLayerNetwork>(rc.reduce(model));
  const TwoLayerModel& red = reduced->network();
  const Eigen::VectorXd beta_in = reduced->parameters(rc.reduce(theta));
  try {
    // The Hessian's rounding scale at the base point on M (the retraction moves it there first):
    // max |weights of the unprojected Hessian form| sigma_max(Z)^2.
    const Eigen::VectorXd beta0 = options.retraction ? options.retraction(beta_in, Eigen::VectorXd::Zero(beta_in.size()))
                                                     : newton_retraction(reduced, beta_in, Eigen::VectorXd::Zero(beta_in.size()));
    const SharpnessGeometry g0(red, reduced->weights(beta0));
    const NetworkEvaluation& e = g0.evaluation();
    const double n = red.n();
    const Eigen::VectorXd a2 = red.a().array().square();
    const Eigen::MatrixXd hw = (2.0 / n) * red.row_norms_squared().asDiagonal() *
                               (e.d2phi.cwiseProduct(e.d2phi) + e.dphi.cwiseProduct(e.d3phi)) * a2.asDiagonal();
    const double lam = g0.multipliers().cwiseAbs().maxCoeff();
    const double smax = rc.singular_values()(0);
    const double hessian_scale =
        (hw.cwiseAbs().maxCoeff() + lam * (e.d2phi * red.a().cwiseAbs().asDiagonal()).cwiseAbs().maxCoeff()) * smax * smax;
    return check_sharpness_derivatives(reduced, beta_in, options, injected, hessian_scale);
  } catch (const SingularPointError& err) {
    throw SingularPointError(std::string(err.what()) + " [derivative check of T in reduced coordinates, where d is "
                             "replaced by p = rank X; in the model's coordinates M has dimension m*d - n = " +
                             std::to_string(model.m() * model.d() - model.n()) + "]",
                             err.condition());
  }
}

}  // namespace zeroloss
