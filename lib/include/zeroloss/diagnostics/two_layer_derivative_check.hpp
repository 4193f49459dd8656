#pragma once
// The derivative checks (diagnostics/derivative_check.hpp) for the two-layer network's sharpness T,
// run in reduced coordinates beta = Theta U (THEORY 4): tangent directions are drawn there, i.e. on
// the non-trivial tangent part where T actually varies, and the Hessian's rounding scale is the
// network's structured bound (max_ij |(2/n) ||z_i||^2 a_j^2 (phi''^2 + phi' phi''')(r_ij)| +
// max |lambda| max_ij |a_j phi''(r_ij)|) sigma_max(Z)^2.

#include <Eigen/Dense>

#include "zeroloss/diagnostics/derivative_check.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss {

DerivativeCheckResult check_sharpness_derivatives(const TwoLayerModel& model,
                                                  const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                                  const DerivativeCheckOptions& options = {},
                                                  const InjectedError& injected = {});

}  // namespace zeroloss
