#pragma once
// What the convexity diagnostics (diagnostics/convexity.hpp) need from a model on its zero-loss manifold M: the
// sharpness T, ||grad_M T||, the Riemannian Hessian Hess_M T on the non-trivial tangent space (its
// matrix in an orthonormal basis, its quadratic form), the Newton projection onto M, geodesics, and
// random points. The sampling, the threshold, the geodesic profiles and the adversarial search are
// written once against this class (THEORY 3, 6, 9).
//
// Two coordinate systems:
//   caller's coordinates  the model's parameters as the user gives and gets them: the two-layer
//                         network's m x d weight matrix Theta; for any other SquaredLossModel the
//                         parameter column theta (P x 1);
//   working coordinates   where the computation runs: the two-layer network's reduced weights beta
//                         (m x p, THEORY 4: an isometry onto the part of M that matters, T does not
//                         depend on the rest); for other models the parameter column itself.
// Tangent vectors in working coordinates are matrices of the same shape; a basis of the tangent
// space is a matrix whose columns are flattened tangent vectors (to_working turns a column back).
//
// Implementations: TwoLayerConvexityGeometry (two_layer_convexity_geometry.hpp) and
// ModelConvexityGeometry (model_convexity_geometry.hpp, any SquaredLossModel).

#include <Eigen/Dense>

#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/manifold/geodesic_options.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss {

// The numbers of one point of M (working coordinates).
struct ConvexityMeasurement {
  double sharpness = 0;        // T
  double grad_norm = 0;        // ||grad_M T||
  // Of Hess_M T on the non-trivial tangent space: the extremes always; every eigenvalue (ascending)
  // only when the dense spectrum ran (ConvexityGeometry::spectrum_method() == Dense), else empty.
  double lambda_min = 0, lambda_max = 0;
  Eigen::VectorXd eigenvalues;
  SpectrumMethod spectrum = SpectrumMethod::Dense;  // Dense or Lanczos, as computed
  long hessian_products = 0;   // Lanczos: Hessian-vector products spent (certificates included)
  // Lanczos: ||Hess_M T v - lambda_min v|| of the unit Ritz pair (NaN for the dense spectrum).
  double lambda_min_residual = std::numeric_limits<double>::quiet_NaN();
  double residual = 0;         // max_i |f_i - y_i|
  // Activation models only (NaN otherwise): min phi'(r_ij), min phi'''(r_ij), max |r_ij|.
  double min_first_derivative = std::numeric_limits<double>::quiet_NaN();
  double min_third_derivative = std::numeric_limits<double>::quiet_NaN();
  double max_abs_preactivation = std::numeric_limits<double>::quiet_NaN();
  // Lanczos: a warm start for a nearby point's runs (warm_start_from this point's run); null for the
  // dense spectrum. Holds two tangent vectors: drop it when keeping many measurements.
  std::shared_ptr<const LanczosWarmStart> warm_start;
};

// Hess_M T at a point as a matrix in an orthonormal basis of the non-trivial tangent space.
struct ConvexityHessian {
  Eigen::MatrixXd basis;        // N x k, orthonormal columns (flattened working tangent vectors)
  Eigen::MatrixXd matrix;       // k x k, basis^T Hess_M T basis
  Eigen::VectorXd eigenvalues;  // ascending
};

// Where the anchor of a convexity analysis came from: the caller's point, the minimizer of T, or none.
enum class AnchorSource { None, Given, Minimizer };
// "none", "given", "minimizer".
const char* to_string(AnchorSource source);

struct AnchorInfo {
  AnchorSource source = AnchorSource::None;
  std::string description;          // how it was obtained, or why there is none
  std::optional<OptimumKind> kind;  // Minimizer only: what the point is known to be
  double sharpness = std::numeric_limits<double>::quiet_NaN();
  double grad_norm = std::numeric_limits<double>::quiet_NaN();
};

// How the geometry computes the extremes of Hess_M T (sharpness/hessian_spectrum.hpp): the dense
// matrix (every eigenvalue; memory k^2, time k^3 for tangent dimension k) or Lanczos on
// Hessian-vector products (the extremes with residual certificates; memory a few dozen vectors of
// the working dimension). Auto: dense up to kDenseSpectrumMaxDimension, Lanczos above.
// Lanczos here runs to relative tolerance 1e-6 (Spectra's test: residual <= 1e-6 |lambda + c|, c about
// twice the spectral radius; inspect uses 1e-10) and stops after at most 200 implicit restarts per end
// (about 3,000 products at the default Krylov dimension 24). The question here is the sign of
// lambda_min against negative_tolerance * max |lambda|, and every Ritz value bounds lambda_min from
// above (the Krylov spaces are tangent): a Ritz value below -tolerance proves negative curvature,
// whatever the residual. Near a minimiser of T both ends of the spectrum are clusters of nearly equal
// eigenvalues that tighter tests cannot separate within thousands of products (measured at n = 100,
// d = m = 1000: at geodesic distance 0.25 to 1 from the minimiser, 1e-10 and 1e-7 both failed on 2
// of 4 points after 4,000 to 7,300 products). The residual certificate of lambda_min is recorded
// with every point; a point whose lambda_min has not converged by the cap is a failed sample with
// that reason (docs/convexity.md, "At size").
struct ConvexitySpectrum {
  SpectrumMethod method = SpectrumMethod::Auto;
  // `eigenvalues` is set by each caller (1, or 2 where lambda_2 is needed).
  LanczosOptions lanczos{1, 1e-6, 200};
};

class ConvexityGeometry {
 public:
  virtual ~ConvexityGeometry() = default;

  // The spectrum settings every measurement below uses.
  void set_spectrum(const ConvexitySpectrum& spectrum) { spectrum_ = spectrum; }
  const ConvexitySpectrum& spectrum() const { return spectrum_; }
  // Dense or Lanczos for this geometry (Auto: dense up to kDenseSpectrumMaxDimension where the dense
  // matrix, its tangent basis and the Jacobian's Q factor also fit the dense limit of
  // numerics/dense_limit.hpp; Lanczos otherwise).
  SpectrumMethod spectrum_method() const;

  // The activation's name for the two-layer network, else the model's name (ModelKind).
  virtual std::string model_name() const = 0;
  // n.
  virtual int num_samples() const = 0;
  // max(1, max_i |y_i|): the scale of "on M" tolerances.
  virtual double label_scale() const = 0;
  // Dimension of the non-trivial tangent space (two-layer: m p - n; otherwise P - n).
  virtual int tangent_dimension() const = 0;
  // Throws InputError saying why when tangent_dimension() <= 0 (M has no curvature to test).
  virtual void require_tangent_directions() const = 0;

  // --- caller's coordinates
  // Throws InputError naming `what` unless theta has the model's shape and finite entries.
  virtual void check_point(const Eigen::Ref<const Eigen::MatrixXd>& theta, const std::string& what) const = 0;
  virtual double max_residual(const Eigen::Ref<const Eigen::MatrixXd>& theta) const = 0;
  // The zero point (the shape of the caller's coordinates).
  virtual Eigen::MatrixXd zero_point() const = 0;
  virtual Eigen::MatrixXd reduce(const Eigen::Ref<const Eigen::MatrixXd>& theta) const = 0;
  // The point with working coordinates x; what x does not determine is taken from `reference`.
  virtual Eigen::MatrixXd lift(const Eigen::Ref<const Eigen::MatrixXd>& x,
                               const Eigen::Ref<const Eigen::MatrixXd>& reference) const = 0;
  virtual Eigen::MatrixXd lift_tangent(const Eigen::Ref<const Eigen::MatrixXd>& w) const = 0;
  // The pre-activation assumptions of THEORY 1 over the given points (caller's coordinates);
  // nullopt for a model without an activation.
  virtual std::optional<AssumptionReport> assumptions(const std::vector<Eigen::MatrixXd>& thetas) const = 0;

  // --- working coordinates
  // `warm` (Lanczos only): start the runs from a nearby point's extremes (converged_lanczos_extremes).
  virtual ConvexityMeasurement measure(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                       const LanczosWarmStart* warm = nullptr) const = 0;
  virtual double sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;
  virtual Eigen::MatrixXd riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;
  // hessian_extremes by Lanczos with spectrum().lanczos and K eigenvalues at each end (from `warm`
  // when given: sharpness/hessian_spectrum.hpp, "Warm start"); throws ConvergenceError (naming
  // `what`, the products spent and the estimate of lambda_min) when the run did not converge: an
  // uncertified value never becomes a number. The last cold result is remembered with its point
  // (bit for bit), K and options, and a cold call with the same three returns it instead of running
  // again: a cold run is a deterministic function of them, so the answer is the one a new run would
  // give (the convexity analysis measures the given point twice: its profiles and its sample). Safe
  // to call from several threads (the memory is guarded; a copy of the geometry starts without it).
  HessianExtremes converged_lanczos_extremes(const Eigen::Ref<const Eigen::MatrixXd>& x, int K,
                                             const std::string& what,
                                             const LanczosWarmStart* warm = nullptr) const;
  // The dense matrix (refused with ResourceError above the dense limit, numerics/dense_limit.hpp).
  virtual ConvexityHessian hessian(const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;
  // The K = options.eigenvalues smallest and largest eigenpairs of Hess_M T at x by `method` (Dense
  // or Lanczos; Auto is resolved by tangent_dimension()), vectors as flattened working-coordinate
  // tangent vectors (to_working turns a column back). Dense: `all` receives every eigenvalue.
  // Throws SingularPointError at a singular point; a Lanczos run that did not converge is returned
  // with converged = false (callers decide). `warm` (Lanczos only) starts the runs from a nearby
  // point's extremes (sharpness/hessian_spectrum.hpp, "Warm start").
  virtual HessianExtremes hessian_extremes(const Eigen::Ref<const Eigen::MatrixXd>& x, SpectrumMethod method,
                                           const LanczosOptions& options, Eigen::VectorXd* all = nullptr,
                                           const LanczosWarmStart* warm = nullptr) const = 0;
  // Hess_M T[w, w] for tangent w.
  virtual double hessian_form(const Eigen::Ref<const Eigen::MatrixXd>& x,
                              const Eigen::Ref<const Eigen::MatrixXd>& w) const = 0;
  // P_x v = v - J^T (J J^T)^{-1} J v: the orthogonal projection of a working-coordinate vector v
  // (any shape the working coordinates have) onto the non-trivial tangent space at x (THEORY 2; for
  // the two-layer network in reduced coordinates ker J is the non-trivial part). Throws
  // SingularPointError where J J^T is singular.
  virtual Eigen::MatrixXd tangent_projection(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                             const Eigen::Ref<const Eigen::MatrixXd>& v) const = 0;
  // Orthonormal basis of the non-trivial tangent space at x (N x k).
  virtual Eigen::MatrixXd tangent_basis(const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;
  // A flattened tangent vector (a combination of basis columns) as a working-coordinate matrix.
  virtual Eigen::MatrixXd to_working(const Eigen::Ref<const Eigen::VectorXd>& flat) const = 0;
  // The inverse of to_working: a working-coordinate matrix as a flattened column.
  virtual Eigen::VectorXd flatten(const Eigen::Ref<const Eigen::MatrixXd>& w) const = 0;
  // A random start of the "random" scheme at the given scale (see SamplingOptions), drawing from rng.
  virtual Eigen::MatrixXd random_point(std::mt19937_64& rng, double scale) const = 0;
  // Newton projection onto M: the point and ||x - x0||.
  virtual std::pair<Eigen::MatrixXd, double> project(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                     const ProjectionOptions& options) const = 0;
  // gamma(s), gamma'(s) of the geodesic with gamma(0) = x (on M), gamma'(0) = w (tangent), s >= 0.
  virtual std::pair<Eigen::MatrixXd, Eigen::MatrixXd> geodesic(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                               const Eigen::Ref<const Eigen::MatrixXd>& w, double s,
                                                               const GeodesicOptions& options) const = 0;
  // The minimizer of T as the anchor, from `reference` (caller's coordinates): sets `anchor` when it
  // can be used; otherwise the AnchorInfo says why not (source None).
  virtual AnchorInfo minimizer_anchor(const Eigen::Ref<const Eigen::MatrixXd>& reference,
                                      std::optional<Eigen::MatrixXd>& anchor) const = 0;

 protected:
  // For implementations of measure(): lambda_min, lambda_max (and every eigenvalue when the dense
  // path runs) into `out` by spectrum_method(). Throws ConvergenceError, naming the products spent
  // and the estimate, when Lanczos did not converge: an uncertified lambda_min never becomes a number.
  void measure_curvature(const Eigen::Ref<const Eigen::MatrixXd>& x, ConvexityMeasurement& out,
                         const LanczosWarmStart* warm = nullptr) const;

 private:
  ConvexitySpectrum spectrum_;
  // The last cold converged_lanczos_extremes (see there).
  struct LanczosMemo {
    Eigen::MatrixXd point;
    int eigenvalues = 0;
    LanczosOptions options;
    HessianExtremes extremes;
  };
  struct LanczosMemory {
    std::mutex mutex;
    std::optional<LanczosMemo> last;
    LanczosMemory() = default;
    LanczosMemory(const LanczosMemory&) {}                               // copies start empty
    LanczosMemory& operator=(const LanczosMemory&) { return *this; }  // and keep their own
  };
  mutable LanczosMemory last_cold_lanczos_;
};

// For implementations of hessian_extremes: dense_extremes of `matrix` (k x k, in the orthonormal
// `basis`, N x k) with the vectors mapped to flattened working coordinates.
HessianExtremes dense_extremes_in_basis(const Eigen::Ref<const Eigen::MatrixXd>& matrix,
                                        const Eigen::Ref<const Eigen::MatrixXd>& basis, int K, Eigen::VectorXd* all);

// A unit tangent vector at x (working coordinates) uniform on the sphere of the non-trivial tangent
// space: P g / ||P g|| for a standard Gaussian g of the working shape (P the orthogonal projection,
// tangent_projection; the law of P g is the standard Gaussian of the tangent space, so its direction
// is uniform). Needs no tangent basis.
Eigen::MatrixXd random_tangent_direction(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& x,
                                         std::mt19937_64& rng);

}  // namespace zeroloss
