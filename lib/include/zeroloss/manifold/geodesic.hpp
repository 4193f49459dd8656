#pragma once
// Geodesics of the zero-loss manifold M = {Theta : f(Theta) = y} with the metric induced by the
// Euclidean (Frobenius) metric on weights (THEORY section 2):
//
//   gamma'' = -J^T (J J^T)^{-1} q,   q_i = sum_j a_j phi''(r_ij) (x_i . gamma'_j)^2,
//
// obtained by differentiating J(gamma) gamma' = 0 twice (q_i = gamma'^T Hess f_i gamma') and asking
// that the acceleration be normal. Along an exact geodesic f(gamma) = y and the speed ||gamma'|| is
// constant.
//
// Everything runs in reduced coordinates (THEORY 4): the in-span part beta (m x p) follows the
// geodesic equation with X replaced by Z = X U, and the part of the velocity orthogonal to span{x_i}
// moves on a straight line (it does not enter q, J or T). Results are returned in the caller's
// coordinates.
//
// Two integrators:
//   ProjectedRungeKutta (default): Fehlberg 7(8) with error control (Boost.Odeint) on (beta, beta'),
//     and after every accepted step the position is projected back onto M by minimum-norm Newton and
//     the velocity onto the tangent space of the new point. Accurate to the tolerance (1e-12 by
//     default): the residual stays at the Newton tolerance and the speed is constant to ~1e-11.
//   Rattle: the constrained leapfrog (RATTLE) with a fixed step h: q+ = q + h p + J(q)^T mu with mu
//     solved by Newton so that f(q+) = y, then p+ = P(q+) (q+ - q)/h. Symplectic, second order,
//     constraint exact; the speed oscillates by O(h^2). Kept as an independent second route for tests.
//
// Maps built on geodesics:
//   exponential_map(x, v) = gamma(1) with gamma(0) = x, gamma'(0) = v;
//   logarithm_map(x, y)   = v with exp_x(v) = y, found by shooting: Ceres Levenberg-Marquardt over
//                           the coordinates of v in an orthonormal basis of T_x M (numeric Jacobian);
//                           throws ConvergenceError when the shot does not land on y;
//   geodesic length ||v|| of that shot (the distance when the geodesic found is minimizing, always an
//                           upper bound on it, and at least the chord ||y - x||).

#include <Eigen/Dense>

#include <string>
#include <vector>

#include <memory>

#include "zeroloss/manifold/geodesic_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"

namespace zeroloss {

struct GeodesicSample {
  double s = 0;
  Eigen::MatrixXd theta;     // gamma(s), m x d
  Eigen::MatrixXd velocity;  // gamma'(s), m x d
};

struct GeodesicPath {
  std::vector<GeodesicSample> samples;  // one per requested s, in the requested order
  GeodesicStatistics statistics;
};

// A geodesic integrator bound to one model (holds the reduced coordinates of its data).
class GeodesicIntegrator {
 public:
  explicit GeodesicIntegrator(const TwoLayerModel& model, GeodesicOptions options = {});

  const TwoLayerModel& model() const { return model_; }
  const GeodesicOptions& options() const { return options_; }
  // The data's reduced coordinates and the model in them (X replaced by Z = X U).
  const ReducedCoordinates& reduced_coordinates() const { return rc_; }
  const TwoLayerModel& reduced_model() const { return reduced_; }

  // gamma(s) for each s in `s_values` (non-negative, non-decreasing), with gamma(0) = theta (on M)
  // and gamma'(0) = v (tangent). For s < 0 pass -v. Throws InputError on a start off M or a
  // velocity that is not tangent, SingularPointError if the geodesic reaches a singular point,
  // ConvergenceError if the step size collapses or max_steps is exceeded.
  GeodesicPath trace(const Eigen::Ref<const Eigen::MatrixXd>& theta, const Eigen::Ref<const Eigen::MatrixXd>& v,
                     const std::vector<double>& s_values) const;
  // The same in reduced coordinates: beta (m x p) on M of reduced_model(), w tangent there; returns
  // (beta(s), beta'(s)) per s. No input checks beyond sizes; this is the hot path of the callers.
  struct ReducedSample {
    Eigen::MatrixXd beta, velocity;
  };
  std::vector<ReducedSample> trace_reduced(const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                           const Eigen::Ref<const Eigen::MatrixXd>& w,
                                           const std::vector<double>& s_values,
                                           GeodesicStatistics* statistics = nullptr) const;
  // exp_theta(v) = gamma(1).
  Eigen::MatrixXd exp(const Eigen::Ref<const Eigen::MatrixXd>& theta, const Eigen::Ref<const Eigen::MatrixXd>& v,
                      GeodesicStatistics* statistics = nullptr) const;

 private:
  TwoLayerModel model_;  // shares the model's data (O(1) copy)
  GeodesicOptions options_;
  ReducedCoordinates rc_;
  TwoLayerModel reduced_;
  std::shared_ptr<const SquaredLossModel> reduced_network_;  // reduced_ as a SquaredLossModel
};

// The geodesic acceleration gamma''(0) = -J^T (J J^T)^{-1} q at theta for the tangent velocity v
// (m x d, caller's coordinates).
Eigen::MatrixXd geodesic_acceleration(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                      const Eigen::Ref<const Eigen::MatrixXd>& v);

// Orthonormal basis of the tangent space ker J at theta (m d - n columns, vectorize() order), from a
// Householder QR factorization of J^T. For a model in reduced coordinates (X = Z of full column
// rank) this is the non-trivial tangent part T_theta M intersect span(X)^m of THEORY 3. Throws
// SingularPointError where J J^T is singular.
Eigen::MatrixXd tangent_basis(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta);

// exp_theta(v) with default options.
Eigen::MatrixXd exponential_map(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                const Eigen::Ref<const Eigen::MatrixXd>& v, const GeodesicOptions& options = {});

struct LogarithmOptions {
  GeodesicOptions geodesic{};
  // Converged when ||exp_x(v) - y||_F <= tolerance * max(1, ||y||_F).
  double tolerance = 1e-9;
  int max_iterations = 50;  // Levenberg-Marquardt iterations
  // Relative step of the central-difference Jacobian of the exponential map.
  double jacobian_relative_step = 1e-6;
};

struct LogarithmResult {
  Eigen::MatrixXd velocity;  // v (m x d, tangent at x) with exp_x(v) = y
  double length = 0;         // ||v||_F: the length of the geodesic from x to y found
  double mismatch = 0;       // ||exp_x(v) - y||_F at the returned v
  int iterations = 0;        // Levenberg-Marquardt iterations
  std::string report;        // Ceres' one-line report
};

// log_x(y) by shooting. x and y must lie on M (InputError otherwise). Throws ConvergenceError, with
// the final mismatch and the solver's report, if no v with ||exp_x(v) - y|| within tolerance is found
// (y too far, beyond a conjugate point, or in another component of M).
LogarithmResult logarithm_map(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& x,
                              const Eigen::Ref<const Eigen::MatrixXd>& y, const LogarithmOptions& options = {});

// ||log_x(y)||: the length of the shooting geodesic (see logarithm_map for failures).
double geodesic_distance(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& x,
                         const Eigen::Ref<const Eigen::MatrixXd>& y, const LogarithmOptions& options = {});

}  // namespace zeroloss
