#pragma once
// The global minimum of the sharpness T on the zero-loss manifold (THEORY 5).
//
// Closed form (rank X = n, linearly independent rows): per sample i, T and the constraint decouple in
// the pre-activations r_i: (r_i1..r_im). The minimizer has a_j phi''(r_ij) = c_i for all j, where c_i
// solves
//     sum_j a_j phi((phi'')^{-1}(c_i / a_j)) = y_i      (each term increases in c_i)
// by a bracketed TOMS 748 root (Boost.Math); then r_ij = (phi'')^{-1}(c_i / a_j). When all a_j equal
// one value alpha (in particular a = 1) this is r_ij = r_i* = phi^{-1}(y_i / (m alpha)) and
// c_i = alpha phi''(r_i*): R* = r* 1^T has rank one. In general the "phi''-image" [a_j phi''(r_ij)] =
// c 1^T has rank one. The weights are then beta_j = Z^{-1} r*_:j in reduced coordinates (Z = X U is
// n x n and invertible), and theta_j = U beta_j + (component of the given theta_j orthogonal to
// span{x_i}). At the minimizer lambda_i = (2/n) ||x_i||^2 c_i and the Riemannian Hessian weights are
// w_ij = (2/n) ||x_i||^2 a_j^2 phi'(r_ij) phi'''(r_ij).
//
// THEORY's guarantee that this stationary point is the global minimum needs phi' > 0 and phi''' > 0 on
// the pre-activations; `assumptions` reports whether they hold there. For tanh, sigmoid, ... the point
// is still a stationary point of T on M but need not be a minimum: `kind` says what is known
// (GlobalMinimum / LocalMinimum by a positive definite Riemannian Hessian / StationaryPoint).
//
// Without a closed form (rank X < n, e.g. n > d, where the per-sample problems are coupled) the result
// says so (closed_form = false, message) and falls back to Riemannian L-BFGS (minimize_sharpness_on_manifold)
// from the given point.
//
// Errors: DomainError naming the sample i and the value when the needed inverse does not exist
// (tanh with |y_i / (m alpha)| >= 1; a non-constant a with an activation whose phi'' is not monotone;
// y_i outside the range of c -> sum_j a_j phi((phi'')^{-1}(c / a_j))).

#include <Eigen/Dense>

#include <limits>
#include <optional>
#include <string>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/manifold/riemannian_lbfgs_two_layer.hpp"
#include "zeroloss/manifold/riemannian_trust_region.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"

namespace zeroloss {

struct SharpnessMinimumOptions {
  ProjectionOptions projection;          // residual tolerance; Newton polish of the closed-form point
  ManifoldMinimizationOptions fallback;  // L-BFGS when there is no closed form
  // false: always minimize with Riemannian L-BFGS from the given point, even when the closed form
  // exists (a second, independent route to the same minimum; the report uses it from random starts).
  bool use_closed_form = true;
  // Minimise by Riemannian trust-region Newton (manifold/riemannian_trust_region.hpp) instead of
  // L-BFGS whenever the closed form is not used.
  bool use_trust_region = false;
  TrustRegionOptions trust_region;
  // The spectrum that classifies the point (hessian_spectrum.hpp): auto is dense up to
  // kDenseSpectrumMaxDimension, Lanczos above.
  SpectrumMethod spectrum = SpectrumMethod::Auto;
  LanczosOptions lanczos;
};

// What the returned point is known to be. Without THEORY 5's guarantee the kind rests on the
// residual certificate of lambda_min (certify_definiteness in hessian_spectrum.hpp).
enum class OptimumKind {
  GlobalMinimum,    // closed form and phi' > 0, phi''' > 0 on R* (THEORY 5's guarantee)
  LocalMinimum,     // stationary with a certified positive definite Riemannian Hessian; global minimality not established
  StationaryPoint,  // stationary, and an eigenvalue <= 0 is certified: NOT a minimum
  Undetermined,     // stationary, but the spectrum does not decide (Lanczos did not converge, or the
                    // certificate does not separate lambda_min from 0): neither minimum nor saddle shown
};
// "global minimum", "local minimum", "stationary point", "stationary point of undetermined type".
const char* to_string(OptimumKind kind);

struct SharpnessMinimum {
  Eigen::MatrixXd theta;              // m x d, the minimizer
  double sharpness = 0;               // T* = T(theta)
  double riemannian_gradient_norm = 0;  // ||grad_M T|| at theta
  double max_residual = 0;            // max_i |f_i - y_i| at theta
  bool closed_form = false;           // false: the L-BFGS fallback produced theta
  std::string message;                // how theta was obtained (and why not in closed form)

  Eigen::VectorXd c;                  // n, a_j phi''(r_ij) = c_i (closed form only; empty otherwise)
  Eigen::VectorXd multipliers;        // lambda (n): (2/n) ||x_i||^2 c_i in closed form, else from grad T
  Eigen::MatrixXd preactivations;     // R* = X theta^T (n x m)
  Eigen::VectorXd preactivation_singular_values;     // of R*, descending (rank one for constant a)
  Eigen::VectorXd second_derivative_singular_values; // of [a_j phi''(r_ij)], descending (rank one at a stationary point)
  // Smallest eigenvalue of the Riemannian Hessian of T on the non-trivial tangent part (NaN if that
  // part is {0}, i.e. m*p = n, or if Lanczos did not converge for it).
  double hessian_min_eigenvalue = std::numeric_limits<double>::quiet_NaN();
  // The extremes behind it with their certificates (K = 1; none when the part is {0}) and what the
  // certificate establishes.
  std::optional<HessianExtremes> hessian;
  DefinitenessCertificate definiteness;
  AssumptionReport assumptions;       // phi' > 0, phi''' > 0 over the entries of R*
  OptimumKind kind = OptimumKind::StationaryPoint;
  std::string verdict;                // one sentence explaining `kind`
  double newton_polish = 0;           // distance moved by the Newton polish of the closed-form point
  ManifoldMinimizationSummary fallback_summary;  // filled when !closed_form (L-BFGS: all fields; trust
                                                 // region: converged, iterations, initial/final value)
  std::optional<TrustRegionSummary> trust_region;  // filled when the trust region produced theta
};

// The minimizer of T on M with the components orthogonal to span{x_i} taken from `theta_reference`
// (m x d; for the fallback it is also the starting point, projected onto M first if needed).
SharpnessMinimum sharpness_minimum(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta_reference,
                                   const SharpnessMinimumOptions& options = {});

// One sample of the closed form: c and r_j = (phi'')^{-1}(c / a_j) with sum_j a_j phi(r_j) = y.
// `sample` (0-based) only names the sample in error messages. Throws DomainError as described above.
struct SampleOptimum {
  double c = 0;
  Eigen::VectorXd r;  // m pre-activations
};
SampleOptimum solve_sample_optimum(const Activation& phi, const Eigen::Ref<const Eigen::VectorXd>& a, double y,
                                   int sample = 0);

// The closed-form minimizer in pre-activation space (THEORY 5), one bracketed root per sample and
// no polishing: R* (n x m) with a_j phi''(r_ij) = c_i and sum_j a_j phi(r_ij) = y_i. Needs independent
// rows (the per-sample problems decouple only then). Throws DomainError when a root does not exist.
struct ClosedFormPreactivations {
  Eigen::MatrixXd R;  // n x m
  Eigen::VectorXd c;  // n
};
ClosedFormPreactivations closed_form_preactivations(const TwoLayerModel& model);

// R* and T* = (1/n) sum_i ||x_i||^2 sum_j (a_j phi'(r_ij*))^2 for the trajectory metrics (T - T*,
// ||R - R*||), or none, with a note that says which and why: none when rank X < n (the per-sample
// problems are coupled) or a root does not exist; the note also says when THEORY's assumptions fail
// at R* (then R* is a stationary point of T on M but need not be its minimum).
struct ClosedFormOptimum {
  std::optional<RankOneOptimum> optimum;
  std::string note;
};
ClosedFormOptimum closed_form_optimum(const TwoLayerModel& model, int rank);

}  // namespace zeroloss
