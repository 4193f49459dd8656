#pragma once
// Claim 4 (the paper's Figure 1): label-noise SGD drives the feature matrix Phi = phi(X Theta^T) to
// rank one. The evidence is the singular values of Phi at the end of one `zeroloss sgd` run.

#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

struct RankOneSgdEvidence {
  std::vector<double> final_ratios;  // sigma_k(Phi)/sigma_1(Phi) for k = 2, 3, ... at the last step
};

struct RankOneSgdThresholds {
  double rank_one_threshold = 0.01;  // rank_one_sgd.rank_one_threshold
};

// sigma_2/sigma_1 exists and is below rank_one_threshold.
inline constexpr const char* kRuleFeatureRankOne = "feature_rank_one";

Decision decide_rank_one_sgd(const RankOneSgdEvidence& evidence, const RankOneSgdThresholds& thresholds);

}  // namespace zeroloss
