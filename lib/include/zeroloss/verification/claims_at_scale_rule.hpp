#pragma once
// Claim 8 (issue 14, section 4): the theory's claims on a large problem (n = 100, d = 1000, m = 1000,
// Gaussian data, cubic phi, a = 1), every quantity from the matrix-free path. On one data set:
//   - the Riemannian flow and trust-region Newton both reach the closed-form T* (THEORY 5);
//   - the flow's end point, the minimiser, has a rank-one feature matrix Phi (THEORY 5: all neurons
//     agree on the data), measured as the rank-one claim measures it (rank_one_sgd_rule.hpp);
//   - lambda_min(Hess_M T) > 0 at the closed-form minimiser, certified by the residual of its
//     Lanczos pair (THEORY 5: w_ij > 0, positive definite on the non-trivial tangent part);
//   - the convexity threshold near it (THEORY 6): no negative curvature at any point sampled on
//     geodesics out of the minimiser, so Hess_M T is positive definite wherever ||grad_M T|| is below
//     the largest gradient norm sampled there. The minimiser itself (the anchor) is never counted as
//     evidence for this (THEORY 11): it is the subject of the previous rule.

#include <vector>

#include "zeroloss/verification/decision.hpp"
#include "zeroloss/verification/local_convexity_rule.hpp"

namespace zeroloss {

// A run that ends at a point of M (`zeroloss flow`, `zeroloss optimum --method trust-region`).
struct ScaleRunEnd {
  bool completed = false;  // the command exited 0 (the numbers below are then set)
  bool converged = false;  // trust region: its own stopping test held (flow: unused)
  double sharpness = 0;    // T at the end point
  double grad_norm = 0;    // ||grad_M T|| there
  // flow: sigma_k(Phi)/sigma_1(Phi), k = 2, 3, ..., at the end point (empty for the trust region)
  std::vector<double> feature_ratios;
};

// The smallest eigenvalue of Hess_M T on the non-trivial tangent part at the minimiser, as
// `zeroloss optimum --json` reports it (hessian_spectrum).
struct CertifiedLambdaMin {
  bool converged = false;  // the eigensolver converged for lambda_min (else nothing is certified)
  double lambda_min = 0;
  double residual = 0;     // ||Hess_M T v - lambda v|| of the unit pair: an eigenvalue lies within it
  double threshold = 0;    // tau = 1e-10 max(|lambda_min|, |lambda_max|): "zero" below it
};

struct ClaimsAtScaleEvidence {
  bool optimum_completed = false;  // `zeroloss optimum` (closed form) exited 0
  double sharpness_star = 0;       // its T*
  CertifiedLambdaMin lambda_min;   // at its point
  ScaleRunEnd flow;
  ScaleRunEnd trust_region;
  bool convexity_completed = false;  // `zeroloss convexity` around the minimiser exited 0
  // Every point that run measured (points.csv), the anchor marked.
  std::vector<CurvatureObservation> curvature;
};

// From the configuration's "claims_at_scale" section.
struct ClaimsAtScaleThresholds {
  // relative_tolerance: |T - T*| / T* allowed. T is a sum of n m positive terms, so its rounding
  // error is at most about n m eps (1.1e-11 at n = 100, m = 1000); at ||grad_M T|| = G the
  // first-order distance to T* is G^2 / (2 lambda_min), negligible at the G used. 1e-10 lies above
  // both and far below a flow stopped early.
  double relative_tolerance = 1e-10;
  // trust_region_gradient: the trust region must end with ||grad_M T|| <= this (issue 14: 1e-12).
  double trust_region_gradient = 1e-12;
  // rank_one_threshold: sigma_2/sigma_1 of Phi at the flow's end must be below it. At a point with
  // ||grad_M T|| = G the displacement to the minimiser is about G / lambda_min and sigma_2 of R is at
  // most sigma_max(X) G / lambda_min (global_minimum_rule.hpp, displacement_bound); with G = 1e-10,
  // lambda_min = 0.0186, sigma_max(X) = 1.3 and sigma_1(R) = 0.33 (the default problem) that is 2e-8.
  double rank_one_threshold = 1e-6;
  double stationary_gradient = 1e-9;  // ||grad_M T|| below this: stationary, not evidence near it
  int min_convex_points = 20;         // curvature observations needed near the minimiser
};

// The rules, in this order:
inline constexpr const char* kRuleScaleCommandsCompleted = "commands_completed";  // every command exited 0
// |T_flow - T*| / T* <= relative_tolerance.
inline constexpr const char* kRuleFlowReachesOptimum = "flow_reaches_T_star";
// The trust region converged with ||grad_M T|| <= trust_region_gradient.
inline constexpr const char* kRuleTrustRegionStationary = "trust_region_stationary";
// |T_tr - T*| / T* <= relative_tolerance.
inline constexpr const char* kRuleTrustRegionReachesOptimum = "trust_region_reaches_T_star";
// sigma_2/sigma_1 of Phi at the flow's end < rank_one_threshold (reached_rank_one of claim 4).
inline constexpr const char* kRuleMinimiserRankOne = "minimiser_rank_one";
// lambda_min converged and lambda_min - residual > threshold: an eigenvalue interval clear of 0.
inline constexpr const char* kRuleLambdaMinCertified = "lambda_min_certified_positive";
// At least min_convex_points observations that are not the anchor and have ||grad_M T|| >=
// stationary_gradient, and none of the non-anchor observations has negative curvature.
inline constexpr const char* kRuleConvexNearMinimiser = "convex_near_minimiser";

// What the observations near the minimiser show: the points that count (not the anchor, not
// stationary), how many of the non-anchor points are negative, and the sampled threshold: the
// largest ||grad_M T|| among the counted points when none is negative (0 otherwise).
struct CurvatureNearMinimiser {
  int counted = 0;
  int negative = 0;
  double convex_up_to = 0;
};
CurvatureNearMinimiser curvature_near_minimiser(const std::vector<CurvatureObservation>& observations,
                                                const ClaimsAtScaleThresholds& thresholds);

// Pass when every rule holds; a command that did not complete fails the first rule and the rules
// that need its numbers.
Decision decide_claims_at_scale(const ClaimsAtScaleEvidence& evidence, const ClaimsAtScaleThresholds& thresholds);

}  // namespace zeroloss
