#pragma once
// The stationary-point search (sharpness/stationary_point_search.hpp) of claim 1 and of claim 6 run on
// one two-layer problem from many starts, in reduced coordinates (THEORY 4: the tangent space is then
// the non-trivial part, so a zero eigenvalue is a genuine degeneracy).
//
// Start k (k = 0, 1, ...): theta ~ random_two_layer_start on Z = X U with scale init_scale times 1,
// 1/2, 2 (k mod 3), seeded by seed * 1000 + k. Odd k make neurons coincide: with q = 1 + (k/2 mod
// (m - 1)) groups, neuron j is set to neuron j mod q. Such a start lies in the subspace where those
// neurons agree, which Newton's projection and the search keep for neurons with equal a_j (T and the
// constraints are invariant under permuting neurons with equal a_j; the gradient and the Newton step
// of an invariant function at a fixed point of the permutation are fixed by it): the search then finds
// stationary points of the symmetric subspace, which are stationary points of M, the configurations
// where saddles of networks typically sit. For neurons with different a_j it is just another start.

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/model/network.hpp"
#include "zeroloss/sharpness/stationary_point_search.hpp"
#include "zeroloss/verification/outside_assumptions_rule.hpp"

namespace zeroloss {

struct StationaryPointCensusOptions {
  int starts = 16;
  double init_scale = 1;
  std::uint64_t seed = 0;
  double zero_eigenvalue = 1e-8;  // inertia: |lambda| <= this max |lambda| counts as zero
  StationaryPointSearchOptions search;
};

struct StationaryPointCensusEntry {
  int start = 0;
  int groups = 0;  // distinct neurons at the start (m: a random start)
  double scale = 0;
  StationaryPointSearchSummary summary;
  HessianInertia inertia;  // of Hess_M T at the end (meaningful when summary.converged())
};

// One search per start, in parallel over `threads` (results in start order, independent of threads).
std::vector<StationaryPointCensusEntry> stationary_point_census(const TwoLayerModel& model,
                                                                const StationaryPointCensusOptions& options,
                                                                int threads);

// The entries as CSV: start,groups,scale,termination,iterations,sharpness,relative_gap,grad_norm,
// euclidean_grad_norm,lambda_min,negative,zero,positive (relative_gap |T - T*| / |T*|; empty when
// sharpness_star is NaN).
std::string stationary_point_census_csv(const std::vector<StationaryPointCensusEntry>& entries, double sharpness_star);

// The converged entries as StationaryEnd (T, inertia, sigma_2/sigma_1 of R).
std::vector<StationaryEnd> converged_stationary_points(const TwoLayerModel& model,
                                                       const std::vector<StationaryPointCensusEntry>& entries);

}  // namespace zeroloss
