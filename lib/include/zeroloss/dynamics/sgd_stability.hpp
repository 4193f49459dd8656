#pragma once
// The step-size limit of (label-noise) SGD near the zero-loss manifold.

#include <Eigen/Dense>

#include "zeroloss/model/network.hpp"

namespace zeroloss {

// The largest step size at which a step near the zero-loss manifold does not amplify a residual:
// a step on sample i multiplies f_i - y_i by about 1 - eta ||grad f_i||^2, so eta must stay below
// 2 / max_i ||grad f_i(theta)||^2 (for every batch size: a batch's Hessian is an average of the
// samples' rank-one terms). ||grad f_i||^2 = ||x_i||^2 sum_j a_j^2 phi'(r_ij)^2 is the diagonal of
// J J^T (THEORY 2). Infinity when every gradient vanishes. Full or reduced coordinates alike.
double sgd_stability_limit(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta);

}  // namespace zeroloss
