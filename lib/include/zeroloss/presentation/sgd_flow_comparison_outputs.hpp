#pragma once
// The tables of `zeroloss compare` (runs/sgd_flow_comparison.hpp): compare.csv (one row per step
// size and comparison time), compare_summary.csv (one row per step size) and the text table it prints.

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "zeroloss/runs/sgd_flow_comparison.hpp"
#include "zeroloss/svg_plot.hpp"

namespace zeroloss {

// eta,step,t,tau,seeds,dist_mean,dist_std,dist_min,dist_max,T_gap_mean,T_gap_std,T_sgd_mean,T_flow
std::string comparison_rows_csv(const SgdFlowComparisonSummary& summary);
// eta,steps,seeds,diverged,final_dist_mean,final_dist_std,max_dist_mean,max_dist_std,final_T_gap_mean,
// final_T_gap_std (the statistics empty when every seed diverged).
std::string comparison_per_eta_csv(const SgdFlowComparisonSummary& summary);
// The per-step-size table: eta, steps, seeds, distance at t_end (mean +- std), the largest distance
// (mean over seeds), the T gap at t_end.
std::string comparison_table_text(const SgdFlowComparisonSummary& summary);

// The figures, as (file name, plot): error_vs_eta.svg (the measured errors and the fitted power law,
// when there is a fit), distance_vs_t.svg, sharpness_vs_tau.svg (the flow's T at flow_tau and the SGD
// means) and, given T*, sharpness_gap_vs_tau.svg. Step size k is drawn in color_of(k).
std::vector<std::pair<std::string, PlotSpec>> comparison_figures(const ComparisonPlan& plan,
                                                                 const SgdFlowComparisonSummary& summary,
                                                                 const std::vector<double>& flow_tau,
                                                                 const std::vector<double>& flow_sharpness,
                                                                 const std::optional<double>& optimum_sharpness,
                                                                 const std::function<std::string(int)>& color_of);

}  // namespace zeroloss
