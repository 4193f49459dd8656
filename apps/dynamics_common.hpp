#pragma once
// Shared machinery of the dynamics commands (sgd, flow, compare): loading a problem into reduced
// coordinates, the closed-form optimum when it exists, the start on M, seed lists, log schedules,
// a terminal progress bar, interrupt handling and JSON output.

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "zeroloss/sharpness_minimum.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/rate_fit.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/svg_plot.hpp"
#include "zeroloss/trajectory_metrics.hpp"

namespace zeroloss::cli {

// A problem in reduced coordinates (THEORY 4).
struct DynamicsSetup {
  LoadedProblem problem;            // full-coordinate data, weights, model
  ReducedCoordinates coordinates;   // U (d x p)
  TwoLayerModel reduced;            // X replaced by Z = X U
  Eigen::MatrixXd beta0;            // W0 U (m x p)
  std::optional<RankOneOptimum> optimum;  // THEORY 5 closed form, when it exists
  std::string optimum_note;         // why it is missing, or how it was obtained
  int singular_values = 0;          // min(n, m): columns per spectrum in trajectory.csv
};

DynamicsSetup load_dynamics(const ProblemOptions& options, ManifoldPolicy policy = ManifoldPolicy::Require);

// Full-coordinate weights from reduced ones: in-span part from beta, perpendicular part from W0.
Eigen::MatrixXd lift_weights(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta);

// Puts a reduced point on M with the named projection method; `what` names the point in errors.
// The projection works on the reduced model; with estimate_error the gradient-flow method also
// estimates its distance to the exact limit (a second, looser integration).
ProjectionResult project_onto_manifold(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                       const std::string& method, const std::string& what = "W0",
                                       bool estimate_error = true);

// Projection methods accepted by --projection, and the default (Phi_GF when available).
std::string default_projection_method();
std::vector<std::string> projection_methods();

// "5" -> {5}; "0-63" -> {0..63}; "1,4,7-9" -> {1,4,7,8,9}. Throws InputError on malformed lists,
// empty ranges or duplicates (the message quotes the list, not the option: checks::seed_list() puts
// "--seeds: " before it).
std::vector<std::uint64_t> parse_seed_list(const std::string& text);
// "full" -> n; otherwise an integer in [1, n].
int parse_batch(const std::string& text, int n);
// Comma-separated positive numbers ("0.04,0.02").
std::vector<double> parse_positive_list(const std::string& text, const std::string& what);

// Refuses step sizes for which the time scales of label-noise SGD are not finite numbers: the SGD
// time t = eta^2 K must be finite and > 0 (eta = 1e300 gives inf, eta = 1e-200 gives eta^2 = 0) and
// the flow time tau = s^2 eta^2 K / (4B) finite (B >= 1 only lowers it). Throws InputError naming
// --lr, --steps and --label-noise.
void check_sgd_time_scales(double lr, std::uint64_t steps, double label_noise);

// The advice printed after a divergence at step size `lr` given that limit at the start.
std::string smaller_lr_advice(double lr, double limit_at_start);

// Logged steps: 0, every, 2 every, ..., steps (log_every > 0) or round(q steps / points), q = 0..points.
std::vector<std::uint64_t> log_schedule(std::uint64_t steps, std::uint64_t log_every, int log_points);

// A one-line progress bar on stderr, drawn only when stderr is a terminal, at most ~8 times a second.
class ProgressBar {
 public:
  ProgressBar(std::string label, double total, std::string unit);
  void update(double done);
  void finish();
  bool enabled() const { return enabled_; }

 private:
  std::string label_, unit_;
  double total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// SIGINT / SIGTERM set a flag instead of killing the process. interrupt_signal() is 0 until then.
// Runs `worker` on `threads` threads (each pulls its own tasks) while the bar shows `progress`
// every 100 ms; returns when every worker has returned (the bar is not finished here).
void run_workers_with_progress(int threads, const std::function<void()>& worker, ProgressBar& bar,
                               const std::atomic<std::uint64_t>& progress);

void install_interrupt_handlers();
int interrupt_signal();
// Restores the default action and re-raises the signal, so the parent sees the usual status.
[[noreturn]] void exit_by_signal(int signal);
const char* signal_name(int signal);

// FNV-1a 64-bit hash of a file's bytes (to detect inputs changed between a run and its resume).
std::uint64_t file_fingerprint(const std::string& path);

void write_json(const std::string& path, const nlohmann::json& j);
nlohmann::json read_json(const std::string& path);
nlohmann::json optional_json(const std::optional<double>& v);
nlohmann::json metrics_json(const TrajectoryMetrics& m);
nlohmann::json row_json(const TrajectoryRow& row);
TrajectoryRow row_from_json(const nlohmann::json& j);
nlohmann::json fit_json(const ExponentialTailFit& f);
nlohmann::json line_fit_json(const LinearFit& f);

// THEORY's assumptions (phi' > 0, phi''' > 0) checked at the pre-activations r_ij of beta: which
// fails and where (check_assumptions of activation.hpp).
nlohmann::json assumptions_json(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta);

// Numerical rank of a spectrum: values above tol * largest.
int numerical_rank(const Eigen::VectorXd& singular_values, double tol = 1e-6);

// First logged step from which sigma_2 / sigma_1 stays <= threshold to the end (feature spectrum if
// `features`, else pre-activations); empty if never.
std::optional<std::uint64_t> rank_one_step(const std::vector<TrajectoryRow>& rows, double threshold, bool features);

// A fixed colour cycle (k-th colour), so related series share a colour across figures.
std::string plot_color(int k);

// Draws a figure and records the outcome (path or note) in `figures` / `notes`.
void draw_figure(const PlotSpec& spec, const std::string& path, nlohmann::json& figures, std::vector<std::string>& notes);

// Figures common to sgd and flow: singular values against x, T (and T*) against tau, T - T*.
void trajectory_figures(const std::vector<TrajectoryRow>& rows, const DynamicsSetup& setup, const std::string& dir,
                        const std::string& x_name, bool x_is_step, const std::string& title_prefix,
                        nlohmann::json& figures, std::vector<std::string>& notes);

std::string format_seconds(double seconds);

}  // namespace zeroloss::cli
