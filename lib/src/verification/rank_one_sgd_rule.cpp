#include "zeroloss/verification/rank_one_sgd_rule.hpp"

#include <climits>
#include <cmath>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {

double rank_one_predicted_flow_time(double lambda_min, double prefactor, double exponent) {
  if (!(lambda_min > 0) || !std::isfinite(lambda_min) || !(prefactor > 0) || !std::isfinite(prefactor) ||
      !std::isfinite(exponent))
    throw InputError("predicted flow time to rank one: needs lambda_min > 0 (got " + short_number(lambda_min, 6) +
                     "), a prefactor > 0 (got " + short_number(prefactor, 6) + ") and a finite exponent");
  return prefactor * std::pow(lambda_min, -exponent);
}

long long steps_for_flow_time(double flow_time, double flow_time_per_step) {
  if (!(flow_time > 0) || !std::isfinite(flow_time) || !(flow_time_per_step > 0) || !std::isfinite(flow_time_per_step))
    throw InputError("SGD steps for a flow time: needs a flow time > 0 (got " + short_number(flow_time, 6) +
                     ") and a flow time per step > 0 (got " + short_number(flow_time_per_step, 6) + ")");
  const double steps = std::ceil(flow_time / flow_time_per_step);
  if (!(steps < static_cast<double>(LLONG_MAX))) return LLONG_MAX;
  return steps < 1 ? 1 : static_cast<long long>(steps);
}

bool reached_rank_one(const RankOneSgdMember& m, const RankOneSgdThresholds& t) {
  // A NaN ratio fails the comparison.
  return m.tested && m.completed && !m.final_ratios.empty() && m.final_ratios[0] < t.rank_one_threshold;
}

Decision decide_rank_one_sgd(const RankOneSgdEvidence& e, const RankOneSgdThresholds& t) {
  int tested = 0;
  bool completed = true, rank_one = true;
  for (const auto& m : e.members) {
    if (!m.tested) continue;
    ++tested;
    if (!m.completed) {
      completed = false;
      continue;
    }
    rank_one = rank_one && reached_rank_one(m, t);
  }
  const bool enough = !e.members.empty() && tested > 0 &&
                      static_cast<double>(tested) >= t.min_tested_fraction * static_cast<double>(e.members.size());
  return decide_by_rules({{kRulePopulationTested, enough, RuleKind::Coverage},
                          {kRuleSgdRunsCompleted, completed},
                          {kRuleFeatureRankOne, rank_one}});
}

}  // namespace zeroloss
