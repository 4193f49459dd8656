#pragma once
// Claim 7 (THEORY 9, issue 13 section 2): label-noise SGD on the diagonal linear network
// f(x) = <u*u - v*v, x> reaches the weighted-l1 interpolator w* = argmin { sum_k c_k |w_k| : Xw = y }
// (c_k = sum_i x_ik^2), on which T is minimal on M: T* = (4/n) sum_k c_k |w*_k|.
// The evidence is a population of data draws (generic Gaussian X with n < d, so w* has n nonzeros):
// for each, the certified w* and T* (`zeroloss optimum --model diagonal-linear`) and the end point of
// label-noise SGD moved onto M by Newton's projection (w = u*u - v*v there, and T at that point).

#include <Eigen/Dense>

#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

// One data draw of the population.
struct DiagonalInterpolatorMember {
  int data_seed = 0;
  // SGD exited 0 and its end point was projected onto M (the projection fails where J J^T is
  // singular, e.g. when SGD lost a coordinate of the support); the numbers below are then set.
  bool completed = false;
  std::vector<double> w;               // u*u - v*v at the projected end point
  double sharpness = 0;                // T there
  std::vector<double> w_star;          // the certified interpolator
  std::vector<int> certified_support;  // k with w*_k != 0 (0-based, increasing)
  double sharpness_star = 0;           // T* = (4/n) sum_k c_k |w*_k|
};

struct DiagonalInterpolatorEvidence {
  std::vector<DiagonalInterpolatorMember> members;
};

// From the configuration's "diagonal_sparse_interpolator" section.
struct DiagonalInterpolatorThresholds {
  double relative_distance_tolerance = 1e-3;  // ||w - w*|| / ||w*|| allowed
  double sharpness_gap_tolerance = 1e-4;      // |T - T*| / T* allowed
  double support_threshold = 1e-3;            // |w_k| > support_threshold * max_j |w_j| counts as nonzero
};

// The rules, each over every member (a member that did not complete fails the first rule only):
inline constexpr const char* kRuleMembersCompleted = "members_completed";  // population not empty, all completed
inline constexpr const char* kRuleNearInterpolator = "near_interpolator";  // ||w - w*|| / ||w*|| <= tolerance
inline constexpr const char* kRuleSharpnessGap = "sharpness_gap";          // |T - T*| / T* <= tolerance
inline constexpr const char* kRuleSupportRecovered = "support_recovered";  // recovered_support(w) == support of w*

// ||w - w*|| / ||w*|| (Euclidean norms); throws InputError on vectors of different lengths or w* = 0.
double relative_distance(const std::vector<double>& w, const std::vector<double>& w_star);
// {k : |w_k| > threshold * max_j |w_j|}, increasing (empty for w = 0).
std::vector<int> recovered_support(const std::vector<double>& w, double threshold);

// The rate at which the flow dtheta/dtau = -grad_M T approaches w* off its support S, from the dual
// certificate mu of `zeroloss optimum` (|X^T mu|_k <= c_k, with equality on S): near w*, for k not
// in S, du_k/dtau = -(8/n)(c_k - (X^T mu)_k) u_k and dv_k/dtau = -(8/n)(c_k + (X^T mu)_k) v_k (the
// Lagrange multiplier is (4/n) mu), so |w_k| = |u_k^2 - v_k^2| decays at least like
// exp(-rate tau) with rate = min_{k not in S} (16/n)(c_k - |X^T mu|_k). The report sizes each draw's
// SGD budget by it. Infinity when S is every coordinate; throws InputError on mismatched sizes.
double off_support_decay_rate(const Eigen::Ref<const Eigen::MatrixXd>& X, const std::vector<double>& dual,
                              const std::vector<int>& support);

// The rules on one member; the member reached the interpolator when all held.
std::vector<RuleOutcome> diagonal_interpolator_member_rules(const DiagonalInterpolatorMember& member,
                                                            const DiagonalInterpolatorThresholds& thresholds);

// Pass when every member reached the interpolator (no members: Fail, nothing was tested).
Decision decide_diagonal_sparse_interpolator(const DiagonalInterpolatorEvidence& evidence,
                                             const DiagonalInterpolatorThresholds& thresholds);

}  // namespace zeroloss
