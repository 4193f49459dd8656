#pragma once
// Label-noise SGD ensembles against the limiting flow (THEORY 7): what `zeroloss compare` computes.
//
// For step sizes eta_1 > eta_2 > ... and a horizon T_END in SGD time t = eta^2 k, the comparison
// times are t_q = q T_END / Q (q = 1..Q), met by k_q = round(t_q / eta^2) steps and compared at the
// exact t = eta^2 k_q (plan_sgd_flow_comparison). Each SGD run (one per eta and seed) is projected
// onto M at its comparison steps (run_projected_sgd); the projected iterates do not depend on the
// flow. The reference flow dTheta/dt = -F C grad_M T, C = s^2 / (4B) (F = 1 is the claim; other F
// are the falsified variants of the report), is integrated once and sampled at the reference time
// of each comparison step: eta^2 k (the claim) or, as a diagnostic, eta k. Against it
// (measure_against_flow): the distance ||Phi(Theta_SGD) - Theta_flow|| and the sharpness gap
// T(Phi(Theta_SGD)) - T(Theta_flow). Per eta and time (summarize_sgd_flow_comparison): mean,
// standard deviation, min and max over the seeds that did not diverge, and the split of the error
// into the bias ||mean_s Phi(Theta_SGD,s) - Theta_flow|| (the mean projected iterate against the flow)
// and the fluctuation sqrt(sum_s ||Phi(Theta_SGD,s) - mean||^2 / (S - 1)) (one path about the mean);
// per eta: the same at the last time; over the etas: the fitted orders of error, bias and
// fluctuation ~ C eta^p. fit_flow_coefficient estimates from the mean projected paths the
// coefficient c for which the flow -c grad_M T matches them best, with a delta-method interval over
// the seeds. Written once against LabelNoiseDynamics (dynamics/label_noise_dynamics.hpp), so it runs
// on any model; the two-layer overloads run in reduced coordinates (THEORY 4; the distances are
// isometric) with the SGD kernel.

#include <Eigen/Dense>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/dynamics/flow_options.hpp"
#include "zeroloss/dynamics/label_noise_dynamics.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
#include "zeroloss/random/rng.hpp"

namespace zeroloss {

// The time of the reference flow at SGD step k with step size eta. EtaSquaredSteps, t = eta^2 k,
// is the claim (THEORY 7); EtaSteps, t = eta k, is a diagnostic: a wrong time scale that the report
// uses as a falsified variant.
enum class SgdFlowTimeScale { EtaSquaredSteps, EtaSteps };
// "eta-squared-k" / "eta-k"; parse throws InputError naming both on anything else.
const char* sgd_flow_time_scale_name(SgdFlowTimeScale scale);
SgdFlowTimeScale parse_sgd_flow_time_scale(const std::string& name);
// eta^2 k or eta k.
double reference_flow_time(SgdFlowTimeScale scale, double eta, std::uint64_t k);

struct SgdFlowComparisonOptions {
  double label_noise = 0;              // s > 0
  NoiseKind noise = NoiseKind::Gaussian;
  int batch_size = 1;                  // B
  std::vector<double> learning_rates;  // each > 0
  double time = 0;                     // T_END > 0 (SGD time)
  std::vector<std::uint64_t> seeds;    // at least one
  int points = 10;                     // Q >= 1
  // The reference flow: coefficient F s^2/(4B) (F > 0; 1 is the claim) on the time scale below.
  double flow_coefficient_scale = 1;
  SgdFlowTimeScale time_scale = SgdFlowTimeScale::EtaSquaredSteps;
  // Throws InputError: label_noise, time or flow_coefficient_scale not a finite number > 0,
  // points < 1, no seeds, a step size that is not a finite number > 0.
  void validate() const;
};

// One step size's comparison grid.
struct ComparisonGrid {
  double eta = 0;
  std::uint64_t steps = 0;       // the last k
  std::vector<std::uint64_t> k;  // comparison steps (distinct, ascending; k_q = 0 is dropped)
  std::vector<double> t;         // eta^2 k
  std::vector<double> flow_t;    // the reference flow's time there: reference_flow_time(scale, eta, k)
};

struct ComparisonPlan {
  std::vector<ComparisonGrid> grids;  // by decreasing eta
  double coefficient = 0;             // of the reference flow: F s^2 / (4B)
  double limiting_coefficient = 0;    // s^2 / (4B), THEORY 7's
  double t_end = 0;                   // the largest comparison time (SGD time eta^2 k)
  double flow_t_end = 0;              // the largest reference flow time (t_end on the eta^2 k scale)
  // Every reference flow time, then flow_t_end q / 100 for q = 1..100 (the flow's sample times).
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

// One SGD run: its projected iterates at its grid's comparison steps, then (measure_against_flow)
// their distances to the reference flow.
struct ComparisonRun {
  bool diverged = false;
  std::string reason;                     // why it diverged
  std::vector<Eigen::MatrixXd> projected;  // Phi(beta_SGD), one per comparison step reached
  std::vector<double> distance;           // ||Phi(beta_SGD) - beta_flow||
  std::vector<double> gap;                // T(Phi(beta_SGD)) - T(beta_flow)
  std::vector<double> sgd_sharpness;      // T(Phi(beta_SGD))
};

// Maps an SGD iterate onto M; `what` names it in error messages.
using ComparisonProjection = std::function<Eigen::MatrixXd(const Eigen::MatrixXd& beta, const std::string& what)>;

// Label-noise SGD (dynamics.label_noise_sgd from x0 with step grid.eta and this seed), projected
// at each comparison step. `steps_done` counts the steps taken (for a progress display); when
// `interrupted` returns true the run stops early and returns what it has.
ComparisonRun run_projected_sgd(const LabelNoiseDynamics& dynamics, const Eigen::MatrixXd& x0, const ComparisonGrid& grid,
                                const SgdFlowComparisonOptions& options, std::uint64_t seed,
                                const ComparisonProjection& project, std::atomic<std::uint64_t>& steps_done,
                                const std::function<bool()>& interrupted);
// The two-layer network: TwoLayerLabelNoiseDynamics(reduced) (the SGD kernel).
ComparisonRun run_projected_sgd(const TwoLayerModel& reduced, const Eigen::MatrixXd& beta0, const ComparisonGrid& grid,
                                const SgdFlowComparisonOptions& options, std::uint64_t seed,
                                const ComparisonProjection& project, std::atomic<std::uint64_t>& steps_done,
                                const std::function<bool()>& interrupted);

// Fills run.distance, gap and sgd_sharpness from run.projected against the flow at grid.flow_t.
void measure_against_flow(const LabelNoiseDynamics& dynamics, const ComparisonGrid& grid, const ComparisonFlow& flow,
                          ComparisonRun& run);
void measure_against_flow(const TwoLayerModel& reduced, const ComparisonGrid& grid, const ComparisonFlow& flow,
                          ComparisonRun& run);

// Sample statistics (standard deviation with n - 1; 0 for one value).
struct SampleStatistics {
  int count = 0;
  double mean = 0, std = 0, min = 0, max = 0;
};
SampleStatistics sample_statistics(const std::vector<double>& values);

// The mean of the projected iterates M = (1/S) sum_s Phi_s at one comparison step, and the
// fluctuation sqrt(sum_s ||Phi_s - M||^2 / (S - 1)) (0 for one path). Throws InputError on no paths.
struct PathEnsemble {
  Eigen::MatrixXd mean;
  double fluctuation = 0;
};
PathEnsemble path_ensemble(const std::vector<const Eigen::MatrixXd*>& paths);

// One row of compare.csv: one step size at one comparison time, over the seeds that did not diverge.
struct ComparisonRow {
  double eta = 0;
  std::uint64_t step = 0;
  double t = 0, tau = 0;  // tau = F C flow_t, the reference flow's own time
  double flow_t = 0;
  SampleStatistics distance, gap, sgd_sharpness;
  double flow_sharpness = 0;
  double bias = 0;         // ||M - beta_flow||, M the mean projected iterate
  double fluctuation = 0;  // of one path about M (path_ensemble)
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
  double final_bias = 0, final_fluctuation = 0;  // at the last comparison time (0 when none completed)
  // Root mean square over the comparison times, sqrt((1/Q) sum_q bias_q^2) and the same for the
  // fluctuation: the whole path's bias (less noisy than one time's; 0 when none completed).
  double path_bias = 0, path_fluctuation = 0;
};

struct SgdFlowComparisonSummary {
  std::vector<ComparisonRow> rows;
  std::vector<ComparisonPerEta> per_eta;
  // The order fit over the step sizes with a positive mean final distance (needs two).
  std::vector<double> fit_eta, fit_error;
  std::optional<PowerLawFit> fit;
  // The same for the path bias and the path fluctuation (each over the step sizes where it is > 0).
  std::vector<double> bias_eta, bias;
  std::optional<PowerLawFit> bias_fit;
  std::vector<double> fluctuation_eta, fluctuation;
  std::optional<PowerLawFit> fluctuation_fit;
};

// `runs[g][s]` is grid g's run with seed s, measured (measure_against_flow) unless diverged.
SgdFlowComparisonSummary summarize_sgd_flow_comparison(const ComparisonPlan& plan,
                                                       const std::vector<std::vector<ComparisonRun>>& runs,
                                                       const ComparisonFlow& flow);

// The flow coefficient c that best explains one step size's mean projected path: the least-squares
// minimiser of sum_q ||M_q - Theta_c(flow_t_q)||^2, Theta_c the flow dTheta/dt = -c grad_M T from the
// flow's start (so Theta_c(t) = Theta_1(c t)), found by Gauss-Newton with
// dTheta_c(t)/dc = -t grad_M T(Theta_c(t)) and step halving. Its standard error is the delta method
// over the seeds: at the minimiser, c moves by sum_q <dM_q, J_q> / sum_q ||J_q||^2 when the mean
// moves by dM, so with z_s = sum_q <Phi_s,q - M_q, J_q> / sum_q ||J_q||^2 (one number per seed),
// standard error sqrt(var(z) / S) (var with S - 1). The interval is c +- t_{S-1} times it.
struct CoefficientEstimate {
  double eta = 0;
  int seeds = 0;
  double estimate = 0, standard_error = 0, ci_low = 0, ci_high = 0;
  double confidence = 0.95;
  double allowance = 0;  // added to both ends of the interval (the extrapolation's, below)
  int iterations = 0;
  bool converged = false;  // the Gauss-Newton step fell below 1e-7 c (or no step lowered the residual) within 50 iterations
};

// The per-step-size estimate carries a bias of order eta (the mean path deviates from the flow by
// O(eta)); the limit eta -> 0 is estimated by linear (Richardson) extrapolation from the two smallest
// step sizes eta_1 < eta_2: c_0 = (eta_2 c(eta_1) - eta_1 c(eta_2)) / (eta_2 - eta_1). The seeds are
// the independent units (a seed's runs at the two step sizes are correlated), so its standard error
// is the delta method on y_s = (eta_2 z_s(eta_1) - eta_1 z_s(eta_2)) / (eta_2 - eta_1) over the seeds
// completed at both. The terms of order eta^2 the extrapolation neglects are unknown; the interval
// allows for them with the size of the extrapolation itself, |c(eta_1) - c_0|:
// c_0 +- (t_{S-1} standard error + |c(eta_1) - c_0|).
struct FlowCoefficientFit {
  std::vector<CoefficientEstimate> per_eta;  // as the grids, for the step sizes with two or more completed seeds
  // The extrapolation to eta -> 0 (its `eta` is 0); none with fewer than two step sizes fitted or
  // fewer than two seeds completed at both.
  std::optional<CoefficientEstimate> extrapolated;
};

// `start` on M (the flow's start), `flow` the integrator settings (coefficient, t_end and sample
// times are set here). Runs with fewer than Q projected iterates (diverged) are left out.
FlowCoefficientFit fit_flow_coefficient(const LabelNoiseDynamics& dynamics, const Eigen::MatrixXd& start,
                                        const ComparisonPlan& plan,
                                        const std::vector<std::vector<ComparisonRun>>& runs, const FlowOptions& flow,
                                        double confidence = 0.95);
FlowCoefficientFit fit_flow_coefficient(const TwoLayerModel& reduced, const Eigen::MatrixXd& start,
                                        const ComparisonPlan& plan,
                                        const std::vector<std::vector<ComparisonRun>>& runs, const FlowOptions& flow,
                                        double confidence = 0.95);

}  // namespace zeroloss
