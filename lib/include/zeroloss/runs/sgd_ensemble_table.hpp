#pragma once
// The table of an SGD ensemble (ensemble_trajectory.csv): at each logged step, the mean and the
// sample standard deviation over the seeds that reached it of every trajectory quantity.

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/diagnostics/trajectory_metrics.hpp"

namespace zeroloss {

struct SgdEnsembleTable {
  std::vector<TrajectoryRow> mean;  // one row per step of the schedule some seed reached
  std::vector<int> seeds;           // how many seeds each row of `mean` averages
  std::string csv;                  // header step,t,tau,seeds,<q>_mean,<q>_std...,sv_phi_k_*,sv_R_k_*
};

// `runs` holds each seed's logged rows; a quantity missing in some rows is averaged over the rows
// that have it (empty cells when none has it); the standard deviation divides by count - 1 (0 for
// one value); t and tau are those of the first seed's row. `singular_values` is the number K of
// spectrum columns.
SgdEnsembleTable sgd_ensemble_table(const std::vector<std::vector<TrajectoryRow>>& runs,
                                    const std::vector<std::uint64_t>& schedule, int singular_values);

}  // namespace zeroloss
