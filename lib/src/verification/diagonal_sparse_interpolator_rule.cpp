#include "zeroloss/verification/diagonal_sparse_interpolator_rule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

double relative_distance(const std::vector<double>& w, const std::vector<double>& w_star) {
  if (w.size() != w_star.size())
    throw InputError("relative distance: w has " + std::to_string(w.size()) + " coordinates, w* " +
                     std::to_string(w_star.size()));
  double diff = 0, norm = 0;
  for (size_t k = 0; k < w.size(); ++k) {
    diff += (w[k] - w_star[k]) * (w[k] - w_star[k]);
    norm += w_star[k] * w_star[k];
  }
  if (norm == 0) throw InputError("relative distance: w* = 0");
  return std::sqrt(diff / norm);
}

std::vector<int> recovered_support(const std::vector<double>& w, double threshold) {
  double largest = 0;
  for (double x : w) largest = std::max(largest, std::abs(x));
  std::vector<int> support;
  if (largest == 0) return support;
  for (size_t k = 0; k < w.size(); ++k)
    if (std::abs(w[k]) > threshold * largest) support.push_back(static_cast<int>(k));
  return support;
}

double off_support_decay_rate(const Eigen::Ref<const Eigen::MatrixXd>& X, const std::vector<double>& dual,
                              const std::vector<int>& support) {
  if (static_cast<Eigen::Index>(dual.size()) != X.rows())
    throw InputError("off-support decay rate: " + std::to_string(dual.size()) + " dual values for " +
                     std::to_string(X.rows()) + " samples");
  const Eigen::VectorXd mu = Eigen::Map<const Eigen::VectorXd>(dual.data(), static_cast<Eigen::Index>(dual.size()));
  const Eigen::VectorXd correlation = X.transpose() * mu;
  const double n = static_cast<double>(X.rows());
  double rate = std::numeric_limits<double>::infinity();
  for (Eigen::Index k = 0; k < X.cols(); ++k) {
    if (std::find(support.begin(), support.end(), static_cast<int>(k)) != support.end()) continue;
    const double c = X.col(k).squaredNorm();
    rate = std::min(rate, 16.0 / n * (c - std::abs(correlation[k])));
  }
  return rate;
}

std::vector<RuleOutcome> diagonal_interpolator_member_rules(const DiagonalInterpolatorMember& m,
                                                            const DiagonalInterpolatorThresholds& t) {
  if (!m.completed)
    return {{kRuleMembersCompleted, false},
            {kRuleNearInterpolator, true},
            {kRuleSharpnessGap, true},
            {kRuleSupportRecovered, true}};
  // A NaN fails the comparison it enters (x <= tol is false for NaN).
  const bool near = relative_distance(m.w, m.w_star) <= t.relative_distance_tolerance;
  const bool gap = std::abs(m.sharpness - m.sharpness_star) <= t.sharpness_gap_tolerance * std::abs(m.sharpness_star);
  return {{kRuleMembersCompleted, true},
          {kRuleNearInterpolator, near},
          {kRuleSharpnessGap, gap},
          {kRuleSupportRecovered, recovered_support(m.w, t.support_threshold) == m.certified_support}};
}

Decision decide_diagonal_sparse_interpolator(const DiagonalInterpolatorEvidence& e,
                                             const DiagonalInterpolatorThresholds& t) {
  std::vector<RuleOutcome> rules = {{kRuleMembersCompleted, !e.members.empty()},
                                    {kRuleNearInterpolator, true},
                                    {kRuleSharpnessGap, true},
                                    {kRuleSupportRecovered, true}};
  for (const auto& member : e.members) {
    const std::vector<RuleOutcome> on_member = diagonal_interpolator_member_rules(member, t);
    for (size_t k = 0; k < rules.size(); ++k) rules[k].held = rules[k].held && on_member[k].held;
  }
  return decide_by_rules(std::move(rules));
}

}  // namespace zeroloss
