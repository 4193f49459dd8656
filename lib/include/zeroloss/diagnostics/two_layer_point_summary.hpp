#pragma once
// What `zeroloss inspect` reports about a point Theta of the two-layer network (THEORY 1-4).
//
// In the user's coordinates: the loss, max_i |f_i - y_i|, T = (1/n) sum_i ||grad f_i||^2, tr Hess L
// (= T on M), cond(J J^T), the singular values of R = X Theta^T and of phi(R), and THEORY's
// assumptions (phi' > 0, phi''' > 0) at the n*m pre-activations present. In reduced coordinates
// beta = Theta U (THEORY 4: an isometry on the non-trivial tangent part, so the spectrum is the same):
// ||grad_M T|| and the m*p - n eigenvalues of Hess_M T. Off M these are the Riemannian quantities of
// the level set {f = f(Theta)} through Theta. At a singular point (J J^T singular or numerically so)
// they are undefined: absent here, with the SingularPointError's message and condition kept.
//
// The spectrum: dense (every eigenvalue; the extremes' residuals from the tridiagonal form) or
// Lanczos (the K smallest and largest from Hessian-vector products, sharpness/hessian_spectrum.hpp);
// SpectrumMethod::Auto takes dense up to kDenseSpectrumMaxDimension = m p - n, and Lanczos above or
// when the dense objects exceed the dense limit.

#include <Eigen/Dense>

#include <optional>
#include <string>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"

namespace zeroloss {

struct TwoLayerPointSummary {
  int n = 0, d = 0, m = 0;
  int p = 0;                             // rank X
  std::string activation;                // Activation::name()
  PointCoordinates coordinates = PointCoordinates::Full;
  // Reduced only: the weights' part orthogonal to span{x_i} was dropped when they were saved
  // (reduced-weights "perpendicular": "dropped"; false: it is zero). No quantity here depends on it.
  bool perpendicular_dropped = false;
  int manifold_dimension = 0;            // m d - n
  int nontrivial_tangent_dimension = 0;  // m p - n
  double manifold_tolerance = 0;         // absolute: tolerance * max(1, max_i |y_i|)
  bool on_manifold = false;              // residual_max <= manifold_tolerance
  double loss = 0;                       // 1/(2n) sum_i (f_i - y_i)^2
  double residual_max = 0;               // max_i |f_i - y_i|
  double sharpness = 0;                  // T
  double hessian_trace = 0;              // tr Hess L (includes the residual term off M)
  double jjt_condition = 0;              // 2-norm condition of J J^T (full coordinates)
  double data_condition = 0;             // condition of X (ReducedCoordinates::condition)
  Eigen::VectorXd preactivation_singular_values;  // of R = X Theta^T, descending
  Eigen::VectorXd feature_singular_values;        // of phi(R), descending
  AssumptionReport assumptions;          // over the n*m entries of R
  bool hessian_requested = true;
  bool regular = true;                   // false: J J^T singular, the Riemannian quantities are absent
  // ||grad_M T|| and the spectrum of Hess_M T (ascending, when requested); absent when the point
  // was found singular before they were computed.
  std::optional<double> riemannian_gradient_norm;
  std::optional<Eigen::VectorXd> hessian_eigenvalues;  // dense path only
  // The K smallest and largest with residual certificates (both paths, when requested and regular).
  std::optional<HessianExtremes> hessian_extremes;
  LanczosOptions lanczos_options;        // as used (K, tolerance) on either path
  std::string singular_reason;           // the SingularPointError's message at a singular point
  double singular_condition = 0;         // and its condition number
};

// `manifold_tolerance` is relative to max(1, max_i |y_i|). Throws ResourceError when
// SpectrumMethod::Dense is asked and the dense Hessian exceeds the dense limit (numerics/dense_limit.hpp),
// InputError for invalid Lanczos options; a singular point is reported, not thrown.
TwoLayerPointSummary summarize_two_layer_point(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                               double manifold_tolerance, bool with_hessian_spectrum,
                                               SpectrumMethod spectrum = SpectrumMethod::Auto,
                                               const LanczosOptions& lanczos = {});

// The same summary from reduced coordinates only (coordinates = Reduced): `reduced` is the model
// with X replaced by Z = X U and `beta` (m x p) the point, `data` the reduced coordinates of the
// full data X (its basis U gives d, its singular values the condition of X). R = Z beta^T = X Theta^T,
// so every number equals that of summarize_two_layer_point at Theta = beta U^T + (any part orthogonal
// to span{x_i}) up to rounding; no m x d matrix is formed.
TwoLayerPointSummary summarize_reduced_two_layer_point(const TwoLayerModel& reduced,
                                                       const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                                       const ReducedCoordinates& data, double manifold_tolerance,
                                                       bool with_hessian_spectrum,
                                                       SpectrumMethod spectrum = SpectrumMethod::Auto,
                                                       const LanczosOptions& lanczos = {});

}  // namespace zeroloss
