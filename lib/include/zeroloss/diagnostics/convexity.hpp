#pragma once
// Geodesic convexity diagnostics for the sharpness T on the zero-loss manifold M (THEORY 3 and 6).
//
// The question: is T geodesically convex near its stationary points (the paper proves positive
// semi-definiteness of Hess_M T where ||grad_M T|| is small), how near, and where does convexity fail?
// Three kinds of evidence, each a library function so that reports can call them:
//
// 1. At a point (analyze_point): the full spectrum of the Riemannian Hessian of T on the non-trivial
//    tangent part T M intersect span(X)^m (SharpnessGeometry::riemannian_hessian_matrix, the numbers
//    `zeroloss inspect` prints), and T along K unit-speed geodesics through the point (profiles,
//    d/ds and d^2/ds^2 at 0 from the THEORY 3 identities and from finite differences of the profile).
//
// 2. Over M (sample_points + convexity_threshold): points drawn by documented schemes, each recorded
//    with (||grad_M T||, lambda_min(Hess_M T)):
//      "random"     random starts in span(X)^m, Gaussian with a random pre-activation scale
//                   (log-uniform in [random_scale_min, random_scale_max], RMS of R = Z beta^T),
//                   projected onto M with project_newton;
//      "geodesic"   exp_anchor(rho u) for unit tangent u uniform on the sphere of the non-trivial tangent
//                   part and rho stratified on (0, max_distance]: points at geodesic length rho from the
//                   anchor (normally the minimizer of T);
//      "trajectory" caller-supplied weight matrices (flow / SGD trajectories, checkpoints, any list),
//                   projected onto M when they are off it; analyze_convexity adds the states of the flow
//                   and SGD runs it makes itself (diagnostics/trajectory_convexity.hpp) as "trajectory:flow" / ":sgd";
//      "anchor", "given" the anchor and the analyzed point themselves.
//    The threshold g* is the smallest ||grad_M T|| among points with negative curvature
//    (lambda_min < -negative_tolerance * max_k |lambda_k|): no sampled point with a smaller gradient norm
//    had negative curvature. Points with negative curvature are the counterexamples above g*.
//
// 3. Adversarial search (search_negative_curvature): for each eps of a ladder, minimize
//    lambda_min(Hess_M T) over M subject to ||grad_M T|| <= eps. Method: log-barrier
//    lambda_min - mu log(1 - ||grad_M T||^2 / eps^2), mu decreased over stages, minimized by Ceres L-BFGS
//    (GradientProblemSolver) in retraction charts (c -> project_newton(beta + B c), B an orthonormal
//    tangent basis), re-centred after each stage; the gradient of lambda_min from its eigenvector
//    (differences of the frozen eigenvector's Rayleigh quotient, diagnostics/search_chart.hpp), of the
//    barrier from differences of ||grad_M T||.
//    Starts: the best point of the previous rung, the anchor, the sampled points with
//    ||grad_M T|| < eps (half with the lowest lambda_min, half closest to the boundary), and the sampled
//    counterexamples just above eps, first pulled inside by an exact penalty
//    lambda_min + rho max(0, ||grad_M T|| / (eps (1 - 1e-3)) - 1) (this is how the search can lower the
//    sampled threshold). Only feasible points count, and the best one is re-evaluated from scratch
//    before it is reported.
//
// At size (tangent dimension above kDenseSpectrumMaxDimension, or dense objects over the dense limit:
// ConvexityGeometry::spectrum_method() == Lanczos) nothing forms the dense Hessian: a point's spectrum
// is lambda_min and lambda_max from Lanczos with residual certificates (PointConvexity::eigenvalues
// is then empty), random tangent directions are projected Gaussians (random_tangent_direction), and
// the search's charts are 16-dimensional subspaces (kSearchSubspaceDimension); docs/convexity.md,
// "At size".
//
// All of it is written once against ConvexityGeometry (diagnostics/convexity_geometry.hpp): every
// function below takes one, and the TwoLayerModel overloads use TwoLayerConvexityGeometry, which runs
// in reduced coordinates (THEORY 4); ModelConvexityGeometry runs it on any SquaredLossModel (the
// diagonal linear network of THEORY 9: diagonal_linear_convexity_geometry). For the two-layer network
// it works for activations outside THEORY's assumptions (tanh, softplus, ...): the pre-activations
// visited are checked with check_assumptions and the result says where phi' > 0 or phi''' > 0 fails.
// "theta" below is always in the caller's coordinates (two-layer: m x d; other models: P x 1).

#include <Eigen/Dense>

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/diagnostics/convexity_geometry.hpp"
#include "zeroloss/diagnostics/search_chart.hpp"
#include "zeroloss/manifold/geodesic.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/diagnostics/trajectory_convexity.hpp"

namespace zeroloss {

// ---------------------------------------------------------------------------------------------
// 1. At a point.

struct PointConvexityOptions {
  int directions = 8;                    // K random unit-speed geodesics
  bool include_min_eigenvector = true;   // plus the geodesic along the eigenvector of lambda_min
  double profile_length = 1.0;           // profiles cover s in [-L, L] (s = arc length, weight units)
  int profile_points = 41;               // grid points on [-L, L] (odd, so that s = 0 is one of them)
  double derivative_step = 1e-2;         // h of the Richardson finite differences at s = 0 (h and h/2)
  std::uint64_t seed = 0;
  GeodesicOptions geodesic{};
  // When it becomes true, analyze_point throws InterruptedError before its next geodesic direction.
  const std::atomic<bool>* interrupt = nullptr;
};

// T along one unit-speed geodesic gamma with gamma(0) = the point, gamma'(0) = v.
struct GeodesicProfile {
  int direction = 0;
  std::string kind;              // "min-eigenvector" or "random"
  Eigen::MatrixXd velocity;      // v, unit norm, tangent (caller's coordinates)
  std::vector<double> s;         // arc length (ascending; a profile cut short by a failure is shorter)
  std::vector<double> sharpness; // T(gamma(s))
  double first_derivative = 0;   // <grad_M T, v>                      (THEORY 3)
  double second_derivative = 0;  // Hess_M T[v, v] = sum_ij w_ij (x_i . v_j)^2
  double second_derivative_fd = 0;  // Richardson central difference of T(gamma(s)) at 0
  double min_second_difference = std::numeric_limits<double>::quiet_NaN();  // min over the grid
  bool complete = true;          // false if the geodesic failed before reaching +-L
  std::string failure;           // why it stopped (empty when complete)
};

struct PointConvexity {
  double sharpness = 0;          // T
  double grad_norm = 0;          // ||grad_M T||
  double residual = 0;           // max_i |f_i - y_i|
  // Of Hess_M T on the non-trivial tangent part: every eigenvalue, ascending (m p - n of them), when
  // the dense spectrum ran; empty when Lanczos computed only the extremes (spectrum == Lanczos, above
  // the geometry's dense dimension: ConvexityGeometry::spectrum_method).
  Eigen::VectorXd eigenvalues;
  double lambda_min = 0, lambda_max = 0;
  SpectrumMethod spectrum = SpectrumMethod::Dense;
  // Lanczos only: the residual certificates ||Hess_M T v - lambda v|| of the two extremes (NaN when
  // dense) and the Hessian-vector products spent.
  double lambda_min_residual = std::numeric_limits<double>::quiet_NaN();
  double lambda_max_residual = std::numeric_limits<double>::quiet_NaN();
  long hessian_products = 0;
  std::vector<GeodesicProfile> profiles;
  double min_second_derivative = 0;  // min over the profiles of Hess_M T[v, v] (>= lambda_min)
  AssumptionReport assumptions;       // on this point's pre-activations
};

// Throws InputError if theta is off M (residual above 1e-8 * max(1, |y|)) or if m p <= n (no
// non-trivial tangent directions), SingularPointError at a singular point.
PointConvexity analyze_point(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                             const PointConvexityOptions& options = {});
PointConvexity analyze_point(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                             const PointConvexityOptions& options = {});

// ---------------------------------------------------------------------------------------------
// 2. Over M.

// A caller-supplied point (e.g. one state of a flow or SGD trajectory).
struct ExternalPoint {
  std::string source;     // e.g. "flow", "sgd", a file name; becomes scheme "trajectory:<source>"
  double time = 0;        // flow time, step, or any ordering parameter (recorded as `parameter`)
  Eigen::MatrixXd theta;  // m x d, caller's coordinates
};

struct SamplingOptions {
  int random_points = 200;
  double random_scale_min = 0.1;   // RMS pre-activation of the random starts, log-uniform range
  double random_scale_max = 3.0;
  int geodesic_points = 200;       // needs an anchor
  double max_distance = 2.0;       // geodesic length from the anchor, stratified on (0, max]
  std::vector<ExternalPoint> external;
  // Negative curvature: lambda_min < -negative_tolerance * max_k |lambda_k| at that point.
  double negative_tolerance = 1e-10;
  std::uint64_t seed = 0;
  // Newton projection of random starts and off-manifold trajectory points. The tolerance is looser
  // than project_newton's default (1e-13): random starts can land at pre-activations in the hundreds,
  // where the rounding floor of f is around 1e-12; every point is still within 1e-11 * max(1, |y|) of M.
  ProjectionOptions projection{1e-11, 50, 1e13};
  GeodesicOptions geodesic{};
  // When it becomes true, sample_points throws InterruptedError before its next point.
  const std::atomic<bool>* interrupt = nullptr;
};

struct SampledPoint {
  std::string scheme;     // "given", "anchor", "random", "geodesic", "trajectory:<source>"
  int index = 0;          // within its scheme
  double parameter = 0;   // random: start scale; geodesic: distance rho; trajectory: time; else 0
  Eigen::MatrixXd theta;  // on M, caller's coordinates
  double sharpness = 0;
  double grad_norm = 0;
  double lambda_min = 0, lambda_max = 0;
  double residual = 0;             // max_i |f_i - y_i|
  double projection_distance = 0;  // how far project_newton moved it (random, trajectory)
  double min_first_derivative = 0; // min phi'(r_ij) over its pre-activations
  double min_third_derivative = 0; // min phi'''(r_ij)
  double max_abs_preactivation = 0;
  bool negative = false;           // lambda_min below -negative_tolerance * max |lambda|
  long hessian_products = 0;       // Lanczos products spent on its extremes (0: dense spectrum)
  // Lanczos: the residual certificate of lambda_min (NaN: dense spectrum). lambda_min is an upper
  // bound of the smallest eigenvalue (a Ritz value), within this residual of an eigenvalue.
  double lambda_min_residual = std::numeric_limits<double>::quiet_NaN();
};

// A sample that could not be produced (projection diverged, singular point, geodesic failed).
struct SamplingFailure {
  std::string scheme;
  int index = 0;
  std::string reason;
};

struct SamplingResult {
  std::vector<SampledPoint> points;
  std::vector<SamplingFailure> failures;
};

// Evaluates one point already on M (within 1e-8 * max(1, |y|); otherwise InputError).
SampledPoint evaluate_point(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                            const std::string& scheme, int index, double parameter,
                            double negative_tolerance = 1e-10);
SampledPoint evaluate_point(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                            const std::string& scheme, int index, double parameter,
                            double negative_tolerance = 1e-10);

// Draws the points of every scheme. `anchor` (on M, e.g. the minimizer of T) enables the geodesic
// scheme; `reference` (may be empty) supplies the components orthogonal to span{x_i} of the random
// points (T does not depend on them). Failures are returned, never dropped silently.
SamplingResult sample_points(const ConvexityGeometry& geometry, const std::optional<Eigen::MatrixXd>& anchor,
                             const Eigen::Ref<const Eigen::MatrixXd>& reference, const SamplingOptions& options,
                             const std::function<void(const std::string&)>& progress = {});
SamplingResult sample_points(const TwoLayerModel& model, const std::optional<Eigen::MatrixXd>& anchor,
                             const Eigen::Ref<const Eigen::MatrixXd>& reference, const SamplingOptions& options,
                             const std::function<void(const std::string&)>& progress = {});

struct ConvexityThreshold {
  bool negative_found = false;
  // Smallest ||grad_M T|| among negative-curvature points (+infinity when none was found).
  double threshold = std::numeric_limits<double>::infinity();
  int points_below = 0;            // points with ||grad_M T|| < threshold (all of them convex)
  double largest_grad_below = 0;   // the largest gradient norm among those: how far the evidence reaches
  double smallest_lambda_below = 0;  // min lambda_min among them
  double largest_grad_sampled = 0;
  std::vector<std::size_t> counterexamples;  // indices of negative points, ascending gradient norm
};

ConvexityThreshold convexity_threshold(const std::vector<SampledPoint>& points);

// ---------------------------------------------------------------------------------------------
// 3. Adversarial search.

// The dimension of the search's subspace charts where the spectrum runs by Lanczos (SearchOptions::
// chart_dimension = 0): the eigenvector of lambda_min, the gradient direction and 14 random tangent
// directions; one chart gradient costs 2 x 16 Rayleigh quotients.
inline constexpr int kSearchSubspaceDimension = 16;

struct SearchOptions {
  std::vector<double> eps;        // ladder of gradient bounds; empty: automatic (see search_ladder)
  int rungs = 8;                  // size of the automatic ladder
  int starts = 3;                 // sampled feasible starts per rung (plus previous best and anchor), and
                                  // (starts + 1) / 2 counterexamples from above eps
  int barrier_stages = 4;         // mu = mu0, mu0/10, ...
  int iterations_per_stage = 40;  // L-BFGS iterations per stage
  long max_evaluations_per_rung = 20000;  // point evaluations per rung, shared equally among its starts
  double difference_step = 1e-6;  // central-difference step in chart coordinates (times max(1, ||beta||))
  // The gradient of lambda_min in the chart (diagnostics/search_chart.hpp): from the eigenvector of a
  // simple lambda_min (differences of its Rayleigh quotient, no eigendecomposition per coordinate), or
  // from differences of the dense lambda_min, which is also the fallback where the gap lambda_2 -
  // lambda_1 is at most simple_eigenvalue_gap * max_k |lambda_k|.
  CurvatureGradient curvature_gradient = CurvatureGradient::Eigenvector;
  double simple_eigenvalue_gap = 1e-10;
  double negative_tolerance = 1e-10;
  // The charts' dimension: 0 = a basis of the whole non-trivial tangent space where the geometry's
  // spectrum is dense, kSearchSubspaceDimension above (the basis would be N x (N - n)); k > 0 =
  // subspace charts of dimension k everywhere (diagnostics/search_chart.hpp, subspace_chart_basis).
  int chart_dimension = 0;
  std::uint64_t seed = 0;  // the random directions of subspace charts (rung r draws from seed + r)
  ProjectionOptions projection{};
  // When it becomes true, the search aborts its L-BFGS stage at the next iteration and throws
  // InterruptedError.
  const std::atomic<bool>* interrupt = nullptr;
};

struct SearchRung {
  double eps = 0;
  bool feasible_start = false;     // false: no point with ||grad_M T|| < eps to start from
  double lambda_min = std::numeric_limits<double>::quiet_NaN();  // most negative found, grad <= eps
  double grad_norm = std::numeric_limits<double>::quiet_NaN();
  double sharpness = std::numeric_limits<double>::quiet_NaN();
  bool negative = false;
  Eigen::MatrixXd theta;           // the point (caller's coordinates), empty if none
  std::string found_from;          // the start that led to it ("previous", "anchor", "random#12",
                                   // "geodesic#3(outside)" for a counterexample pulled inside, ...)
  int starts_used = 0;
  long evaluations = 0;
  long gradients = 0;        // chart gradients computed (each also counts its 2 k points in evaluations)
  long dense_gradients = 0;  // of them by differences of the dense lambda_min (lambda_min not simple
                             // there, or curvature_gradient = EigenvalueDifferences)
};

// The automatic ladder of gradient bounds, ascending. Without a sampled counterexample: `rungs`
// log-spaced values from the 5th percentile of the sampled gradient norms (at least 1e-6 times the
// largest) to the largest. With one (sampled threshold g*): rungs/2 values log-spaced on [g*/100, g*)
// (can the search lower the threshold?), the rest on (g*, min(100 g*, largest)] (the strongest
// counterexamples), plus g* itself (times 1 + 1e-9, so that the sampled counterexample is a feasible start).
std::vector<double> search_ladder(const std::vector<SampledPoint>& points, int rungs);

std::vector<SearchRung> search_negative_curvature(const ConvexityGeometry& geometry,
                                                  const std::optional<Eigen::MatrixXd>& anchor,
                                                  const std::vector<SampledPoint>& starts,
                                                  const std::vector<double>& eps, const SearchOptions& options,
                                                  const std::function<void(const std::string&)>& progress = {});
std::vector<SearchRung> search_negative_curvature(const TwoLayerModel& model,
                                                  const std::optional<Eigen::MatrixXd>& anchor,
                                                  const std::vector<SampledPoint>& starts,
                                                  const std::vector<double>& eps, const SearchOptions& options,
                                                  const std::function<void(const std::string&)>& progress = {});

// ---------------------------------------------------------------------------------------------
// Everything together: what `zeroloss convexity` and the verification report call.

struct ConvexityOptions {
  PointConvexityOptions point{};
  SamplingOptions sampling{};
  SearchOptions search{};
  bool run_search = true;
  // Without an anchor: use the minimizer of T (sharpness_minimum: the closed form of THEORY 5, or
  // Riemannian L-BFGS when there is none) as the anchor. If it cannot be found (no inverse of phi for
  // these labels, L-BFGS not converged) the result says why and the geodesic scheme is skipped.
  bool default_anchor = true;
  // Along trajectories (optional): the flow and/or label-noise SGD from `trajectory_start` (m x d, may
  // be off M; empty: the analyzed point, else the anchor). Their states on M join the sampled points
  // as schemes "trajectory:flow" / "trajectory:sgd" (parameter = flow time tau).
  std::optional<FlowConvexityOptions> along_flow;
  std::optional<SgdConvexityOptions> along_sgd;
  Eigen::MatrixXd trajectory_start;
  // write_convexity_outputs (presentation/convexity_outputs.hpp) draws the SVG figures.
  bool figures = true;
  // When it becomes true, analyze_convexity stops at its next check (between points, geodesic
  // directions, logged trajectory states, search iterations) and throws InterruptedError: it is
  // passed on to every part (the `interrupt` of the point, sampling, search and trajectory options).
  const std::atomic<bool>* interrupt = nullptr;
  // Seconds-scale settings (a few dozen points, a short ladder) and the thorough ones (a minute or two
  // on the paper's sizes).
  static ConvexityOptions quick();
  static ConvexityOptions full();
  // The presets above the dense dimension (ConvexityGeometry::spectrum_method() == Lanczos), where
  // every point costs a Lanczos run of hundreds to thousands of Hessian-vector products (seconds at
  // n = 100, d = m = 1000) instead of a k x k eigendecomposition of a small k: fewer points, geodesic
  // points out to length 1 (near the anchor, where the spectrum is narrow and Lanczos fast), a short
  // search in subspace charts. quick: 2 random + 16 geodesic points, 2 rungs of 1 start, 150
  // evaluations per rung; full: 20 + 100 points, 6 rungs of 4 starts, 3000 evaluations per rung
  // (measured cost: docs/performance.md section 20).
  static ConvexityOptions matrix_free(bool quick);
};

struct ConvexityResult {
  AnchorInfo anchor;
  std::optional<PointConvexity> point;     // at the given point (when one was given)
  std::vector<TrajectoryConvexity> trajectories;  // flow, then SGD (when requested)
  SamplingResult sampling;
  ConvexityThreshold threshold;
  std::vector<SearchRung> search;
  // The ladder is monotone (a rung's start set contains the previous rung's best point), so it splits
  // in two: up to `search_convex_up_to` (largest eps with no negative curvature found; 0 if none) and
  // from `search_negative_from` (smallest eps with negative curvature found; +infinity if none).
  double search_convex_up_to = 0;
  double search_negative_from = std::numeric_limits<double>::infinity();
  AssumptionReport assumptions;            // over every pre-activation of the points and search results
  bool assumptions_apply = true;           // false for a model without an activation (nothing checked)
  std::string activation;                  // two-layer: the activation's name; else the model's name
  double seconds = 0;
};

// The options with `interrupt` (when set) copied into the interrupt of the point, sampling, search
// and trajectory options: what analyze_convexity runs with (a TrajectoryRunner gets its trajectory
// options from such a copy to be interruptible).
ConvexityOptions interrupt_every_part(ConvexityOptions options);

// The trajectories of ConvexityOptions::along_flow / along_sgd from a start (caller's coordinates).
using TrajectoryRunner = std::function<std::vector<TrajectoryConvexity>(
    const Eigen::MatrixXd& start, const std::function<void(const std::string&)>& progress)>;
// `theta` (may be empty: 0 x 0) is the point analyzed in part 1 and added as scheme "given";
// `anchor` (optional, on M) enables the geodesic scheme and seeds the search; without it the minimizer
// of T is used when options.default_anchor (components orthogonal to span{x_i} from theta, else from
// the trajectory start, else zero).
// `trajectories` runs the flow and SGD (InputError when they are asked for
// and there is none: the TwoLayerModel overload passes flow_convexity and sgd_convexity).
// InterruptedError once options.interrupt is set (nothing is returned then).
ConvexityResult analyze_convexity(const ConvexityGeometry& geometry, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                  const std::optional<Eigen::MatrixXd>& anchor, const ConvexityOptions& options,
                                  const std::function<void(const std::string&)>& progress = {},
                                  const TrajectoryRunner& trajectories = {});
ConvexityResult analyze_convexity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                  const std::optional<Eigen::MatrixXd>& anchor, const ConvexityOptions& options,
                                  const std::function<void(const std::string&)>& progress = {});

}  // namespace zeroloss
