#include "zeroloss/verification/outside_assumptions_rule.hpp"

#include <algorithm>
#include <cmath>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

bool reached_stationary_point(const OutsideAssumptionsCase& c, const OutsideAssumptionsThresholds& t) {
  return c.grad_norm < t.until_gradient;
}

bool described_as_rank_one(const OutsideAssumptionsCase& c, const OutsideAssumptionsThresholds& t) {
  return c.rank_one_ratio < t.rank_one_ratio;
}

std::string to_string(FlowEnding ending) {
  switch (ending) {
    case FlowEnding::Stationary:
      return "stationary point";
    case FlowEnding::Escaping:
      return "escaping to infinity";
    case FlowEnding::NotConverged:
      return "not converged";
  }
  return "not converged";
}

FlowEnding classify_flow_ending(double final_grad_norm, const std::vector<double>& tau,
                                const std::vector<double>& norm, const OutsideAssumptionsThresholds& t) {
  if (tau.size() != norm.size())
    throw InputError("flow ending: " + std::to_string(tau.size()) + " flow times but " + std::to_string(norm.size()) +
                     " pre-activation norms");
  if (final_grad_norm < t.until_gradient) return FlowEnding::Stationary;
  if (tau.empty()) return FlowEnding::NotConverged;
  const double half = tau.back() / 2;
  std::vector<double> late;
  for (size_t k = 0; k < tau.size(); ++k)
    if (tau[k] >= half) late.push_back(norm[k]);
  if (late.size() < 3) return FlowEnding::NotConverged;
  for (size_t k = 1; k < late.size(); ++k)
    if (!(late[k] >= late[k - 1])) return FlowEnding::NotConverged;
  return late.back() > (1 + t.escape_growth) * late.front() ? FlowEnding::Escaping : FlowEnding::NotConverged;
}

HessianInertia hessian_inertia(const std::vector<double>& eigenvalues, const OutsideAssumptionsThresholds& t) {
  double largest = 0;
  for (double x : eigenvalues) largest = std::max(largest, std::abs(x));
  HessianInertia in;
  for (double x : eigenvalues) {
    if (std::abs(x) <= t.zero_eigenvalue * largest)
      ++in.zero;
    else if (x < 0)
      ++in.negative;
    else
      ++in.positive;
  }
  return in;
}

std::vector<DistinctStationaryPoint> distinct_stationary_points(const std::vector<StationaryEnd>& ends,
                                                                const OutsideAssumptionsThresholds& t) {
  std::vector<DistinctStationaryPoint> out;
  for (const auto& e : ends) {
    auto same = std::find_if(out.begin(), out.end(), [&](const DistinctStationaryPoint& d) {
      return d.point.inertia == e.inertia &&
             std::abs(d.point.sharpness - e.sharpness) <= t.same_sharpness * std::max(std::abs(e.sharpness), 1e-300);
    });
    if (same == out.end())
      out.push_back({e, 1});
    else
      ++same->starts;
  }
  return out;
}

}  // namespace zeroloss
