#pragma once
// Convexity along trajectories (issue 4, section 2): lambda_min(Hess_M T) and ||grad_M T|| over
// flow time for the limiting flow and for label-noise SGD, and when convexity sets in.
//
// Flow: d Theta / d tau = -grad_M T (THEORY 7 with C = 1, so its time is the flow time tau),
//   integrated by integrate_sharpness_flow (error-controlled, re-projected onto M) from the
//   projection of the start onto M; the observer records every logged state.
// SGD: LabelNoiseSgd (THEORY 7) from the start itself; the iterate at each logged step k is
//   projected onto M (project(...) with the chosen method: "gradient-flow" is Li-Wang-Arora's
//   Phi_GF, the map under which SGD follows the flow; "newton" is faster) and measured there; its
//   flow time is tau = s^2 eta^2 k / (4 B).
// At each logged state, on M: T, ||grad_M T||, the extreme eigenvalues of the Riemannian Hessian of
// T on the non-trivial tangent part (the numbers of `zeroloss inspect`), and whether the curvature
// is negative by the criterion of diagnostics/convexity.hpp (lambda_min < -tol * max_k |lambda_k|).
//
// Convexity onset: the first logged flow time from which every later logged state is convex. The
// true onset lies between the last logged state with negative curvature and that time (both are
// reported); with no negative state it is the first logged time (convex throughout); with a
// negative last state there is none (not convex at the end of the run). For the flow the bracket is
// then narrowed by integrating again across it on finer grids (refined_low, refined_high).
//
// Failures do not vanish: a flow that stops (singular point, step-size underflow) or an SGD run that
// diverges keeps the states logged so far and says why in `termination` (completed = false); an
// SGD iterate whose projection fails is listed in `failures` and skipped. Bad options throw InputError.
// Written once against a ConvexityGeometry (diagnostics/convexity_geometry.hpp: the measurements,
// reduce and lift) and a LabelNoiseDynamics (dynamics/label_noise_dynamics.hpp: the flow, SGD and
// the projections) that works in the geometry's working coordinates. Everything runs there (the two-layer network's reduced weights, THEORY 4); the
// points returned are in the caller's coordinates (two-layer: the start's components orthogonal to
// span{x_i}, which never move; other models: the parameter column).

#include <Eigen/Dense>

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/diagnostics/convexity_geometry.hpp"
#include "zeroloss/dynamics/label_noise_dynamics.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/dynamics/sharpness_flow.hpp"

namespace zeroloss {

// Which dynamics a trajectory of the convexity analysis follows.
enum class TrajectorySource { Flow, Sgd };
// "flow", "sgd".
const char* to_string(TrajectorySource source);

struct TrajectoryConvexityPoint {
  TrajectorySource source = TrajectorySource::Flow;
  std::uint64_t step = 0;        // SGD step k; flow: accepted integrator steps so far
  double tau = 0;                // flow time
  double grad_norm = 0;          // ||grad_M T|| at the point on M
  double lambda_min = 0, lambda_max = 0;  // of Hess_M T on the non-trivial tangent part
  double sharpness = 0;          // T
  bool negative = false;         // lambda_min < -negative_tolerance * max_k |lambda_k|
  double projection_distance = 0;  // SGD: ||projection - iterate||_F; flow: 0 (it stays on M)
  double iterate_loss = 0;         // SGD: loss L of the iterate before projection; flow: 0
  Eigen::MatrixXd theta;           // the point on M, caller's coordinates (two-layer: m x d; else P x 1)
  // Everything measured at the point (the fields above come from it); analyze_convexity reports it
  // as the state's sampled point without measuring again.
  ConvexityMeasurement measurement;
};

struct ConvexityOnset {
  int negative_points = 0;
  bool convex_throughout = false;      // no logged state had negative curvature
  bool convex_at_end = false;          // the last logged state is convex
  std::optional<double> tau;           // first logged tau from which all later states are convex
  std::optional<double> last_negative_tau;  // the last logged tau with negative curvature
  std::optional<double> grad_norm_at_last_negative;  // ||grad_M T|| at the state `last_negative_tau`
  std::optional<double> grad_norm_at_onset; // ||grad_M T|| at the state `tau`, the first convex one after it
};

// The onset over logged states in order of tau (see the file comment); empty input: nothing set.
ConvexityOnset convexity_onset(const std::vector<TrajectoryConvexityPoint>& points);

struct TrajectoryFailure {
  std::uint64_t step = 0;
  double tau = 0;
  std::string reason;
};

struct TrajectoryConvexity {
  TrajectorySource source = TrajectorySource::Flow;
  std::vector<TrajectoryConvexityPoint> points;  // in order of tau
  std::vector<TrajectoryFailure> failures;   // SGD iterates whose projection failed
  ConvexityOnset onset;
  bool completed = false;                    // the run reached its end (flow time / step count)
  std::string termination;                   // how it ended
  std::string start_note;                    // how the start was put on M (flow) / where SGD started
  double start_projection_distance = 0;      // flow: how far the start's projection moved it
  double tau_end = 0;                        // flow time reached
  // Flow only: the onset bracket (last_negative_tau, tau] of the logged states narrowed by
  // re-integrating the flow across it on a finer grid (FlowConvexityOptions::refine_*): the onset lies
  // in (refined_low, refined_high]. Empty when there is no bracket (convex throughout, or negative at
  // the end) or the refinement failed (refine_note says why).
  std::optional<double> refined_low, refined_high;
  std::string refine_note;
  double seconds = 0;
};

// `options` with estimate_limit_error = false.
inline ProjectionOptions without_limit_error_estimate(ProjectionOptions options) {
  options.estimate_limit_error = false;
  return options;
}

// The projection of logged SGD iterates: residual tolerance 1e-11 (see SgdConvexityOptions), no
// limit-error estimate, the other fields at their defaults.
inline ProjectionOptions sgd_iterate_projection_options() {
  ProjectionOptions options = without_limit_error_estimate(ProjectionOptions{});
  options.residual_tolerance = 1e-11;
  return options;
}

struct FlowConvexityOptions {
  double flow_time = 1.0;            // tau_end > 0
  int points = 100;                  // logged states at tau_end * q / points, q = 1..points (plus tau = 0)
  double negative_tolerance = 1e-10;
  // Integrator settings; coefficient, t_end and sample_times are set from the fields above.
  FlowOptions flow{};
  // Onset refinement: `refine_passes` re-integrations across the bracket, each on `refine_samples`
  // equally spaced times (the bracket shrinks by that factor per pass). 0 passes: no refinement.
  int refine_passes = 2;
  int refine_samples = 32;
  ProjectionMethod start_projection = ProjectionMethod::GradientFlow;  // a start off M goes through project(..., this)
  // The defaults, without the second integration that estimates the gradient-flow limit's error.
  ProjectionOptions projection = without_limit_error_estimate(ProjectionOptions{});
  // When it becomes true, the flow stops at its next logged state and flow_convexity throws
  // InterruptedError.
  const std::atomic<bool>* interrupt = nullptr;
};

struct SgdConvexityOptions {
  SgdParameters sgd{};               // eta, s (> 0), noise kind, B, seed
  std::uint64_t steps = 1000;        // K > 0
  int points = 100;                  // logged steps round(q K / points), q = 0..points
  double negative_tolerance = 1e-10;
  ProjectionMethod projection = ProjectionMethod::GradientFlow;  // map onto M of each logged iterate (project(...))
  // Looser than project_newton's default residual (SGD iterates can sit at large pre-activations,
  // where the rounding floor of f is ~1e-12); every point is still within 1e-11 max(1, |y|) of M.
  ProjectionOptions projection_options = sgd_iterate_projection_options();
  // When it becomes true, sgd_convexity throws InterruptedError before its next logged step.
  const std::atomic<bool>* interrupt = nullptr;
};

using TrajectoryProgress = std::function<void(const std::string&)>;

// The flow from theta0 (caller's coordinates; projected onto M first when max_i |f_i - y_i| >
// kProjectedStartTolerance max(1, |y|)).
// `dynamics` works in the working coordinates of `geometry`.
TrajectoryConvexity flow_convexity(const ConvexityGeometry& geometry, const LabelNoiseDynamics& dynamics,
                                   const Eigen::Ref<const Eigen::MatrixXd>& theta0, const FlowConvexityOptions& options,
                                   const TrajectoryProgress& progress = {});
// The two-layer network (TwoLayerConvexityGeometry, TwoLayerLabelNoiseDynamics on the reduced
// network), theta0 m x d.
TrajectoryConvexity flow_convexity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                   const FlowConvexityOptions& options, const TrajectoryProgress& progress = {});

// Label-noise SGD from theta0 (caller's coordinates, may be off M).
TrajectoryConvexity sgd_convexity(const ConvexityGeometry& geometry, const LabelNoiseDynamics& dynamics,
                                  const Eigen::Ref<const Eigen::MatrixXd>& theta0, const SgdConvexityOptions& options,
                                  const TrajectoryProgress& progress = {});
// The two-layer network, theta0 m x d.
TrajectoryConvexity sgd_convexity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                  const SgdConvexityOptions& options, const TrajectoryProgress& progress = {});

// The trajectories that are asked for (flow, then SGD) from one start (caller's coordinates).
std::vector<TrajectoryConvexity> convexity_along_trajectories(const ConvexityGeometry& geometry,
                                                              const LabelNoiseDynamics& dynamics,
                                                              const Eigen::Ref<const Eigen::MatrixXd>& start,
                                                              const std::optional<FlowConvexityOptions>& flow,
                                                              const std::optional<SgdConvexityOptions>& sgd,
                                                              const TrajectoryProgress& progress = {});

// trajectory_convexity.csv: header
//   source,step,tau,grad_norm,lambda_min,lambda_max,T,negative,projection_distance,iterate_loss
// one row per logged state of each trajectory, numbers in %.17g.
std::string trajectory_convexity_csv(const std::vector<TrajectoryConvexity>& trajectories);

}  // namespace zeroloss
