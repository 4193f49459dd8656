#pragma once
// Geodesics of the zero-loss manifold of any SquaredLossModel, with the metric induced by the
// Euclidean metric on parameters (THEORY 2):
//
//   gamma'' = -J^T (J J^T)^{-1} q(gamma'),   q_i(v) = v^T Hess f_i v,
//
// (differentiate J(gamma) gamma' = 0 and ask that the acceleration be normal). Along an exact
// geodesic f(gamma) = y and the speed ||gamma'|| is constant. Two integrators (GeodesicMethod):
//   ProjectedRungeKutta: Fehlberg 7(8) with error control (Boost.Odeint) on the state (theta, theta');
//     after every accepted step theta is put back on M by Newton projection and the velocity is
//     projected onto the tangent space there;
//   Rattle: the constrained leapfrog with a fixed step h: q+ = q + h p + J(q)^T mu with mu solved by
//     Newton so that f(q+) = y, then p+ = P(q+) (q+ - q)/h; symplectic, second order, constraint
//     exact; kept as an independent second route for tests.
// The two-layer network's GeodesicIntegrator (manifold/geodesic.hpp) runs this on its reduced coordinates.

#include <Eigen/Dense>

#include <memory>
#include <vector>

#include "zeroloss/manifold/geodesic_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

// Throws InputError unless the tolerances, initial_step and rattle_step are > 0 and max_steps >= 1.
void check_geodesic_options(const GeodesicOptions& options);

struct ParameterGeodesicSample {
  Eigen::VectorXd theta, velocity;  // gamma(s), gamma'(s)
};

// gamma(s), gamma'(s) for each s in s_values (finite, non-negative, non-decreasing; InputError
// otherwise), with gamma(0) = theta (on M) and gamma'(0) = v (tangent); no other input checks: this
// is the hot path of its callers. Throws SingularPointError if the geodesic reaches a singular point,
// ConvergenceError if the step size collapses, the state stops being finite or max_steps is exceeded.
std::vector<ParameterGeodesicSample> trace_geodesic(const std::shared_ptr<const SquaredLossModel>& model,
                                                    const Eigen::Ref<const Eigen::VectorXd>& theta,
                                                    const Eigen::Ref<const Eigen::VectorXd>& v,
                                                    const std::vector<double>& s_values,
                                                    const GeodesicOptions& options = {},
                                                    GeodesicStatistics* statistics = nullptr);

}  // namespace zeroloss
