#pragma once
// A run of the limiting flow of label-noise SGD, d theta/dt = -C grad_M T (THEORY 7-8), with its
// files (docs/commands/flow.md): trajectory.csv, final_weights.csv, summary.json, figures, in an
// output folder the run owns (formats/output_directory.hpp).
//
// Two-layer network: in reduced coordinates (THEORY 4), from W0 if it lies on M (max residual
// <= 1e-10 max(1, max |y|)) else from its projection; trajectory rows are diagnostics/trajectory_metrics.hpp's.
// From reduced weights (problem.weights a *.json manifest) no m x d matrix is formed and the end
// point is written as reduced weights (final_reduced.json + .csv + _basis.csv) instead of
// final_weights.csv.
// Diagonal linear network (THEORY 9): from the projection of (u, v) (options.projection, default
// Newton); rows hold t, tau, the
// step counts, T, ||grad_M T||, the weighted-l1 bound (4/n) sum_k c_k |w_k| and the residual.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/dynamics/flow_options.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/runs/run_control.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"

namespace zeroloss {

inline constexpr int kDefaultFlowLogPoints = 200;

struct SharpnessFlowRunOptions {
  ProblemFiles problem;  // the diagonal network reads a u,v weights CSV (activation unused)
  ModelKind model = ModelKind::TwoLayer;
  double time = 0;  // t_end > 0
  // C given directly, or from the label noise s and the batch B of the SGD the flow describes,
  // C = s^2 / (4B) (batch as given: an integer in [1, n] or "full"; default 1).
  std::optional<double> coefficient;
  std::optional<double> label_noise;
  std::optional<std::string> batch;
  double rtol = 1e-9, atol = 1e-12;
  FlowStepper integrator = FlowStepper::Fehlberg78;
  double until_grad = 0;  // stop once ||grad_M T|| < until_grad (0: run to `time`)
  // Rows at t = 0 and at log_points evenly spaced times in (0, time], on which the integrator's steps
  // land (a shortened step for each time it would pass). 0, the default: the rows are at the first
  // accepted step at or after each of kDefaultFlowLogPoints evenly spaced times and no step is
  // shortened (FlowOptions::land_on_samples false), so logging never adds a step: a row costs about
  // a twentieth of an rkf78 step (docs/commands/flow.md), and there is at most one per step.
  int log_points = 0;
  // How a start off M is put on M; unset = kDefaultStartProjection (two-layer network) or Newton
  // (diagonal network).
  std::optional<ProjectionMethod> projection;
  std::uint64_t max_steps = 50'000'000;
  double rank_one_threshold = 1e-2;
  bool figures = true;
  std::string out;
  bool overwrite = false;

  // Empty when the options can run, else the reason naming the command-line option (in the manner
  // of ceres::Solver::Options::IsValid): exactly one of coefficient and label_noise, C or s finite
  // and > 0, batch only with label_noise, time, rtol, atol finite and > 0, until_grad >= 0,
  // log_points >= 0, max_steps >= 1, rank_one_threshold in (0, 1], a projection method the model
  // has, an output folder. The batch needs n and is checked when the run starts.
  bool is_valid(std::string* error) const;
  void validate() const;  // InputError with is_valid's message
};

enum class FlowRunStatus { Completed, Interrupted, SingularPoint, StepLimit };
// "completed", "interrupted", "singular point", "step limit".
const char* to_string(FlowRunStatus status);

struct SharpnessFlowRunSummary {
  FlowRunStatus status = FlowRunStatus::Completed;
  FlowSummary flow;          // the integrator's account (steps, drift, termination, ...)
  double coefficient = 0;    // C
  std::string model_description;
  double wall_seconds = 0;
  // Two-layer network: how the start was obtained, the logged rows, T* when the closed form exists,
  // the exponential-tail fit of T - T* (when T* exists and there are two rows), THEORY's
  // assumptions at the start and the end, figures and notes (as in summary.json).
  bool start_on_manifold = true;
  ProjectionMethod projection = ProjectionMethod::Newton;  // the method used (or that would have been used)
  std::vector<TrajectoryRow> rows;
  std::optional<double> optimum_sharpness;
  std::optional<ExponentialTailFit> rate;
  bool assumptions_hold_at_start = true, assumptions_hold_at_end = true;
  std::string assumptions_at_start, assumptions_at_end;  // descriptions
  std::vector<std::string> figures, notes;
  // Diagonal network: (4/n) sum_k c_k |w_k| at the end.
  double final_weighted_l1_bound = 0;
  // Status StepLimit: the message of the failure (the outputs are written).
  std::string failure;
};

// Loads the problem (InputError, SingularPointError as load_problem), validates the options after it
// (so that a problem with the files is reported first), resolves C, puts the start on M, opens the
// output folder, integrates and writes the outputs. Interruption (control.interrupt) ends the run at
// the next logged time with status interrupted and the outputs of the state reached.
SharpnessFlowRunSummary run_sharpness_flow(const SharpnessFlowRunOptions& options, const RunControl& control = {});

}  // namespace zeroloss
