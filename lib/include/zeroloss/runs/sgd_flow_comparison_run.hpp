#pragma once
// The run of `zeroloss compare` (docs/commands/compare.md): label-noise SGD ensembles for several
// step sizes against the limiting flow (runs/sgd_flow_comparison.hpp for the mathematics), with its
// files in an output folder the run owns (formats/output_directory.hpp):
//   flow_trajectory.csv   the flow's logged rows (diagnostics/trajectory_metrics.hpp), written after the flow
//   compare.csv, compare_summary.csv   the tables (presentation/sgd_flow_comparison_outputs.hpp)
//   bias_fluctuation.csv   bias and fluctuation per step size and comparison time
//   flow_tracking.json     the orders of error, bias and fluctuation and the fitted flow coefficient
//   projected_iterates.csv every projected SGD iterate (written when the SGD ran, not when reused):
//                          columns theta_j_k (two-layer, full coordinates) or u_k, v_k (diagonal)
//   summary.json, figures (error_vs_eta.svg, distance_vs_t.svg, sharpness_vs_tau.svg, ...)
// The flow runs once from W0, or from its projection onto M when W0 is off M (max residual >
// 1e-10 max(1, max |y|)); the SGD runs, one per (step size, seed), share worker threads. With
// sgd_iterates the SGD ensembles are read from an earlier run's projected_iterates.csv instead
// (only the reference flow changes: how the report evaluates its falsified variants).

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/dynamics/flow_options.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/random/rng.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/runs/run_control.hpp"
#include "zeroloss/runs/sgd_flow_comparison.hpp"

namespace zeroloss {

struct SgdFlowComparisonRunOptions {
  // The two-layer network (data, weights CSV or manifest, activation; reduced coordinates and its SGD
  // kernel) or the diagonal linear network (data, u,v weights CSV; the generic flow and SGD).
  ProblemFiles problem;
  ModelKind model = ModelKind::TwoLayer;
  double label_noise = 0;  // s > 0
  NoiseKind noise = NoiseKind::Gaussian;
  std::string batch = "1";             // B as given: an integer in [1, n] or "full" (needs n: checked at the start)
  std::vector<double> learning_rates;  // each > 0
  double time = 0;                     // T_END > 0 (SGD time)
  std::vector<std::uint64_t> seeds;    // per step size, at least one
  int points = 10;                     // Q >= 1 comparison times
  int threads = 0;                     // for the SGD runs; 0: all cores
  double rtol = 1e-10, atol = 1e-13;   // of the flow integrator
  FlowStepper integrator = FlowStepper::Fehlberg78;
  // How W0 (when off M) and the SGD iterates are mapped onto M (default kDefaultStartProjection).
  ProjectionMethod projection = ProjectionMethod::GradientFlow;
  // The reference flow: coefficient F s^2/(4B) and its time scale (runs/sgd_flow_comparison.hpp).
  double flow_coefficient_scale = 1;
  SgdFlowTimeScale time_scale = SgdFlowTimeScale::EtaSquaredSteps;
  // When not empty: the projected_iterates.csv of an earlier run with the same data, weights, step
  // sizes, time, points, seeds, label noise, noise and batch size; it must hold a row for every
  // (step size, seed, comparison step) of this plan (InputError naming the first one missing).
  std::string sgd_iterates;
  bool figures = true;
  std::string out;
  bool overwrite = false;
};

enum class SgdFlowComparisonRunStatus { Completed, Interrupted };

struct SgdFlowComparisonRunSummary {
  SgdFlowComparisonRunStatus status = SgdFlowComparisonRunStatus::Completed;
  // The paths written (after an interrupt: nothing, or only flow_trajectory.csv when the flow had
  // finished).
  std::vector<std::string> files;
  ComparisonPlan plan;
  SgdFlowComparisonOptions comparison;  // the resolved parameters (batch size B, seeds, ...)
  std::string activation;               // the network's activation, by name ("diagonal-linear": that model)
  bool start_on_manifold = true;        // else the flow starts at the projection of W0
  FlowSummary flow;
  double flow_seconds = 0;
  SgdFlowComparisonSummary result;  // empty after an interrupt
  FlowCoefficientFit coefficient_fit;
  int threads = 1;
  double sgd_steps = 0;  // over all step sizes and seeds
  double sgd_seconds = 0;
  // As in summary.json: the figures drawn, and the notes (diverged seeds, figures not drawn).
  std::vector<std::string> figures, notes;
};

// Loads the problem (load_dynamics: InputError, SingularPointError), resolves B, validates and plans
// (plan_sgd_flow_comparison), puts W0 on M when needed, opens the output folder, integrates the flow,
// runs the SGD ensembles and writes the outputs. control.progress counts SGD steps over all step
// sizes and seeds, towards the total given to control.start before the first SGD step. An interrupt
// (control.interrupt) during the flow ends the run with no outputs, during the SGD runs with only
// flow_trajectory.csv; either way with status Interrupted. An SGD run's exception is rethrown.
SgdFlowComparisonRunSummary run_sgd_flow_comparison(const SgdFlowComparisonRunOptions& options,
                                                    const RunControl& control = {});

}  // namespace zeroloss
