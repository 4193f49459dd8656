#pragma once
// What one `zeroloss convexity` run measured, read back from its points.csv and search.csv
// (internal to the claims that run convexity: local_convexity_check.cpp, claims_at_scale_check.cpp).

#include <string>
#include <utility>
#include <vector>

#include "zeroloss/verification/local_convexity_rule.hpp"

namespace zeroloss {

// Its curvature observations (every sampled point, the anchor and a given point marked as anchor;
// then the best point of every feasible search rung, with its eps), the eps of its search rungs
// (with whether each found negative curvature) and its geodesic points (length from the anchor,
// gradient norm).
struct ConvexityRead {
  std::vector<CurvatureObservation> observations;
  std::vector<std::pair<double, bool>> rungs;       // (eps, negative) of the feasible rungs
  std::vector<std::pair<double, double>> geodesic;  // (rho, ||grad_M T||) of the geodesic points
  int sampled = 0, searched = 0;
};

// Reads dir/points.csv and dir/search.csv; throws InputError naming the file when one cannot be read
// or lacks a column.
ConvexityRead read_convexity_run(const std::string& dir);

}  // namespace zeroloss
