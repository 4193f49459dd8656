#pragma once
// The tables of `zeroloss compare` (runs/sgd_flow_comparison.hpp): compare.csv (one row per step
// size and comparison time), compare_summary.csv (one row per step size) and the text table it prints.

#include <string>

#include "zeroloss/runs/sgd_flow_comparison.hpp"

namespace zeroloss {

// eta,step,t,tau,seeds,dist_mean,dist_std,dist_min,dist_max,T_gap_mean,T_gap_std,T_sgd_mean,T_flow
std::string comparison_rows_csv(const SgdFlowComparisonSummary& summary);
// eta,steps,seeds,diverged,final_dist_mean,final_dist_std,max_dist_mean,max_dist_std,final_T_gap_mean,
// final_T_gap_std (the statistics empty when every seed diverged).
std::string comparison_per_eta_csv(const SgdFlowComparisonSummary& summary);
// The per-step-size table: eta, steps, seeds, distance at t_end (mean +- std), the largest distance
// (mean over seeds), the T gap at t_end.
std::string comparison_table_text(const SgdFlowComparisonSummary& summary);

}  // namespace zeroloss
