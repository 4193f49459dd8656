#include "zeroloss/verification/rank_one_sgd_rule.hpp"

namespace zeroloss {

Decision decide_rank_one_sgd(const RankOneSgdEvidence& e, const RankOneSgdThresholds& t) {
  return decide_by_rules({{kRuleFeatureRankOne, !e.final_ratios.empty() && e.final_ratios[0] < t.rank_one_threshold}});
}

}  // namespace zeroloss
