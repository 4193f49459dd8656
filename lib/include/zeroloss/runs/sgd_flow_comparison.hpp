#pragma once
// Label-noise SGD ensembles against the limiting flow (THEORY 7): what `zeroloss compare` computes.
//
// For step sizes eta_1 > eta_2 > ... and a horizon T_END in SGD time t = eta^2 k, the comparison
// times are t_q = q T_END / Q (q = 1..Q), met by k_q = round(t_q / eta^2) steps and compared at the
// exact t = eta^2 k_q (plan_sgd_flow_comparison). The flow dTheta/dt = -C grad_M T with
// C = s^2 / (4B) is integrated once, sampled at every such t; each SGD run (one per eta and seed)
// is projected onto M at its comparison steps and measured against the flow there: the distance
// ||Phi(Theta_SGD) - Theta_flow|| and the sharpness gap T(Phi(Theta_SGD)) - T(Theta_flow)
// (run_sgd_against_flow). Per eta and time: mean, standard deviation, min and max over the seeds
// that did not diverge; per eta: the same at the last time; over the etas: the fitted order p of
// error ~ C eta^p, error = the mean final distance (summarize_sgd_flow_comparison).
// Everything runs in reduced coordinates (THEORY 4); the distances are isometric.

#include <Eigen/Dense>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/network.hpp"
#include "zeroloss/rate_fit.hpp"
#include "zeroloss/rng.hpp"

namespace zeroloss {

struct SgdFlowComparisonOptions {
  double label_noise = 0;              // s > 0
  NoiseKind noise = NoiseKind::Gaussian;
  int batch_size = 1;                  // B
  std::vector<double> learning_rates;  // each > 0
  double time = 0;                     // T_END > 0 (SGD time)
  std::vector<std::uint64_t> seeds;    // at least one
  int points = 10;                     // Q >= 1
  // Throws InputError: label_noise or time not a finite number > 0, points < 1, no seeds, a step
  // size that is not a finite number > 0.
  void validate() const;
};

// One step size's comparison grid.
struct ComparisonGrid {
  double eta = 0;
  std::uint64_t steps = 0;       // the last k
  std::vector<std::uint64_t> k;  // comparison steps (distinct, ascending; k_q = 0 is dropped)
  std::vector<double> t;         // eta^2 k
};

struct ComparisonPlan {
  std::vector<ComparisonGrid> grids;  // by decreasing eta
  double coefficient = 0;             // C = s^2 / (4B)
  double t_end = 0;                   // the largest comparison time
  // Every comparison time, then t_end q / 100 for q = 1..100 (the flow's sample times).
  std::vector<double> sample_times;
};

// Validates, sorts the step sizes (decreasing) and builds the grids. Throws InputError when a step
// size needs more than 2^63 steps, or fewer than one (T_END / eta^2 < 0.5).
ComparisonPlan plan_sgd_flow_comparison(const SgdFlowComparisonOptions& options);

// The flow's states at the sample times (reduced coordinates) and T there.
struct ComparisonFlow {
  std::map<double, Eigen::MatrixXd> states;
  std::map<double, double> sharpness;
};

// One SGD run measured at its grid's comparison steps.
struct ComparisonRun {
  bool diverged = false;
  std::string reason;                 // why it diverged
  std::vector<double> distance;       // ||Phi(beta_SGD) - beta_flow||, one per comparison step reached
  std::vector<double> gap;            // T(Phi(beta_SGD)) - T(beta_flow)
  std::vector<double> sgd_sharpness;  // T(Phi(beta_SGD))
};

// Maps an SGD iterate onto M; `what` names it in error messages.
using ComparisonProjection = std::function<Eigen::MatrixXd(const Eigen::MatrixXd& beta, const std::string& what)>;

// Label-noise SGD (LabelNoiseSgd on `reduced` from beta0 with step grid.eta and this seed), projected
// and measured at each comparison step. `steps_done` counts the steps taken (for a progress
// display); when `interrupted` returns true the run stops early and returns what it has.
ComparisonRun run_sgd_against_flow(const TwoLayerModel& reduced, const Eigen::MatrixXd& beta0,
                                   const ComparisonGrid& grid, const SgdFlowComparisonOptions& options,
                                   std::uint64_t seed, const ComparisonFlow& flow, const ComparisonProjection& project,
                                   std::atomic<std::uint64_t>& steps_done, const std::function<bool()>& interrupted);

// Sample statistics (standard deviation with n - 1; 0 for one value).
struct SampleStatistics {
  int count = 0;
  double mean = 0, std = 0, min = 0, max = 0;
};
SampleStatistics sample_statistics(const std::vector<double>& values);

// One row of compare.csv: one step size at one comparison time, over the seeds that did not diverge.
struct ComparisonRow {
  double eta = 0;
  std::uint64_t step = 0;
  double t = 0, tau = 0;  // tau = C t
  SampleStatistics distance, gap, sgd_sharpness;
  double flow_sharpness = 0;
};

// One step size at the last comparison time.
struct ComparisonPerEta {
  double eta = 0;
  std::uint64_t steps = 0;
  int completed = 0, diverged = 0;
  std::string divergence_reason;  // of the first diverged seed
  // Over the completed seeds (count 0 when none): the final distance, the largest distance along the
  // run, the final sharpness gap.
  SampleStatistics final_distance, max_distance, final_gap;
};

struct SgdFlowComparisonSummary {
  std::vector<ComparisonRow> rows;
  std::vector<ComparisonPerEta> per_eta;
  // The order fit over the step sizes with a positive mean final distance (needs two).
  std::vector<double> fit_eta, fit_error;
  std::optional<PowerLawFit> fit;
};

// `runs[g][s]` is grid g's run with seed s.
SgdFlowComparisonSummary summarize_sgd_flow_comparison(const ComparisonPlan& plan,
                                                       const std::vector<std::vector<ComparisonRun>>& runs,
                                                       const ComparisonFlow& flow);

}  // namespace zeroloss
