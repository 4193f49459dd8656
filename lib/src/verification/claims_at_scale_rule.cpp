#include "zeroloss/verification/claims_at_scale_rule.hpp"

#include <algorithm>
#include <cmath>

#include "zeroloss/verification/rank_one_sgd_rule.hpp"

namespace zeroloss {

namespace {

// |T - T*| / T* within the tolerance (a NaN fails).
bool reaches(double sharpness, double sharpness_star, double tolerance) {
  return std::abs(sharpness - sharpness_star) <= tolerance * std::abs(sharpness_star);
}

}  // namespace

CurvatureNearMinimiser curvature_near_minimiser(const std::vector<CurvatureObservation>& observations,
                                                const ClaimsAtScaleThresholds& t) {
  CurvatureNearMinimiser c;
  double largest = 0;
  for (const auto& o : observations) {
    if (o.anchor) continue;
    if (o.negative) ++c.negative;
    // A NaN gradient norm is never counted.
    if (o.negative || !(o.grad_norm >= t.stationary_gradient)) continue;
    ++c.counted;
    largest = std::max(largest, o.grad_norm);
  }
  c.convex_up_to = c.negative == 0 ? largest : 0;
  return c;
}

Decision decide_claims_at_scale(const ClaimsAtScaleEvidence& e, const ClaimsAtScaleThresholds& t) {
  const bool all = e.optimum_completed && e.flow.completed && e.trust_region.completed && e.convexity_completed;
  // The rank-one claim's own measure (claim 4): a member tested and completed whose final
  // sigma_2/sigma_1 of Phi lies below the threshold.
  RankOneSgdMember end;
  end.tested = true;
  end.completed = e.flow.completed;
  end.final_ratios = e.flow.feature_ratios;
  RankOneSgdThresholds rank;
  rank.rank_one_threshold = t.rank_one_threshold;
  const CurvatureNearMinimiser near = curvature_near_minimiser(e.curvature, t);
  const CertifiedLambdaMin& l = e.lambda_min;
  const bool optimum = e.optimum_completed;
  return decide_by_rules(
      {{kRuleScaleCommandsCompleted, all},
       {kRuleFlowReachesOptimum, !optimum || !e.flow.completed ||
                                     reaches(e.flow.sharpness, e.sharpness_star, t.relative_tolerance)},
       {kRuleTrustRegionStationary, !e.trust_region.completed ||
                                        (e.trust_region.converged && e.trust_region.grad_norm <= t.trust_region_gradient)},
       {kRuleTrustRegionReachesOptimum,
        !optimum || !e.trust_region.completed ||
            reaches(e.trust_region.sharpness, e.sharpness_star, t.relative_tolerance)},
       {kRuleMinimiserRankOne, !e.flow.completed || reached_rank_one(end, rank)},
       {kRuleLambdaMinCertified, !optimum || (l.converged && l.lambda_min - l.residual > l.threshold)},
       {kRuleConvexNearMinimiser,
        !e.convexity_completed || (near.negative == 0 && near.counted >= t.min_convex_points)}});
}

}  // namespace zeroloss
