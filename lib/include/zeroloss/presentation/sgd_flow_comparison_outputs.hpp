#pragma once
// The outputs of `zeroloss compare` (runs/sgd_flow_comparison.hpp, runs/sgd_flow_comparison_run.hpp):
// compare.csv (one row per step size and comparison time), compare_summary.csv (one row per step
// size), summary.json, the figures, the notes and the report it prints.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "zeroloss/runs/sgd_flow_comparison.hpp"
#include "zeroloss/runs/sgd_flow_comparison_run.hpp"
#include "zeroloss/presentation/svg_plot.hpp"

namespace zeroloss {

// eta,step,t,tau,seeds,dist_mean,dist_std,dist_min,dist_max,T_gap_mean,T_gap_std,T_sgd_mean,T_flow
std::string comparison_rows_csv(const SgdFlowComparisonSummary& summary);
// eta,steps,seeds,diverged,final_dist_mean,final_dist_std,max_dist_mean,max_dist_std,final_T_gap_mean,
// final_T_gap_std (the statistics empty when every seed diverged).
std::string comparison_per_eta_csv(const SgdFlowComparisonSummary& summary);
// eta,step,t,flow_t,seeds,bias,fluctuation (one row per step size and comparison time).
std::string bias_fluctuation_csv(const SgdFlowComparisonSummary& summary);
// The per-step-size table: eta, steps, seeds, distance at t_end (mean +- std), the largest distance
// (mean over seeds), the T gap at t_end.
std::string comparison_table_text(const SgdFlowComparisonSummary& summary);

// The figures, as (file name, plot): error_vs_eta.svg (the measured errors and the fitted power law,
// when there is a fit), bias_fluctuation_vs_eta.svg (final bias and fluctuation with their fits,
// when both are fitted), distance_vs_t.svg, sharpness_vs_tau.svg (the flow's T at flow_tau and the SGD
// means) and, given T*, sharpness_gap_vs_tau.svg. Step size k is drawn in color_of(k).
std::vector<std::pair<std::string, PlotSpec>> comparison_figures(const ComparisonPlan& plan,
                                                                 const SgdFlowComparisonSummary& summary,
                                                                 const std::vector<double>& flow_tau,
                                                                 const std::vector<double>& flow_sharpness,
                                                                 const std::optional<double>& optimum_sharpness,
                                                                 const std::function<std::string(int)>& color_of);

// "K of N seeds diverged at eta = ... (reason); they are left out of the statistics" (N = seeds).
std::string comparison_divergence_note(const ComparisonPerEta& per_eta, std::size_t seeds);

// "W0 is on M", or "W0 projected onto M (<method>)".
std::string comparison_start_note(const SgdFlowComparisonRunOptions& options,
                                  const SgdFlowComparisonRunSummary& summary);

// summary.json of a completed run: command, data, weights, parameters, start, flow (its account and
// seconds), sgd (threads, seconds, steps), per_eta, order_fit (null without a fit), figures, notes.
nlohmann::json comparison_summary_json(const SgdFlowComparisonRunOptions& options,
                                       const SgdFlowComparisonRunSummary& summary);

// flow_tracking.json: the reference flow (flow_coefficient_scale F, time_scale, limiting_coefficient
// s^2/(4B), reference_coefficient F s^2/(4B)), sgd_iterates; per_eta (eta, seeds, final and path
// bias and fluctuation, final mean distance, and the fitted flow coefficient with its standard
// error and interval); error_order_fit, bias_order_fit, fluctuation_order_fit (of the path values;
// null without a fit); coefficient_fit (the extrapolation to eta = 0, null without one).
nlohmann::json flow_tracking_json(const SgdFlowComparisonRunOptions& options,
                                  const SgdFlowComparisonRunSummary& summary);

// The report `zeroloss compare` prints after a completed run: the setting, the per-step-size table,
// the fitted order (with its Student-t interval when there are three or more step sizes), the orders
// of bias and fluctuation, the fitted flow coefficient against the reference's, the flow's
// and the SGD runs' account, figures, notes and the files.
std::string comparison_report_text(const SgdFlowComparisonRunOptions& options,
                                   const SgdFlowComparisonRunSummary& summary);

}  // namespace zeroloss
