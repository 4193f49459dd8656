#include "zeroloss/verification/decision.hpp"

#include <stdexcept>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

std::string to_string(VerdictStatus status) {
  switch (status) {
    case VerdictStatus::Pass:
      return "pass";
    case VerdictStatus::Fail:
      return "fail";
    case VerdictStatus::NotApplicable:
      return "not-applicable";
    case VerdictStatus::Reported:
      return "reported";
    case VerdictStatus::Error:
      return "error";
    case VerdictStatus::Inconclusive:
      return "inconclusive";
  }
  return "reported";
}

VerdictStatus verdict_status_from_string(const std::string& word) {
  for (VerdictStatus s : {VerdictStatus::Pass, VerdictStatus::Fail, VerdictStatus::NotApplicable,
                          VerdictStatus::Reported, VerdictStatus::Error, VerdictStatus::Inconclusive})
    if (to_string(s) == word) return s;
  throw InputError("unknown verdict status '" + word +
                   "' (expected pass, fail, not-applicable, reported, error or inconclusive)");
}

bool Decision::held(const std::string& rule) const {
  for (const auto& r : rules)
    if (r.rule == rule) return r.held;
  throw std::out_of_range("the decision has no rule '" + rule + "'");
}

Decision decide_by_rules(std::vector<RuleOutcome> rules) {
  Decision d;
  d.rules = std::move(rules);
  bool refuted = false, covered = true;
  for (const auto& r : d.rules) {
    if (r.held) continue;
    if (r.kind == RuleKind::Coverage)
      covered = false;
    else
      refuted = true;
  }
  d.status = refuted ? VerdictStatus::Fail : covered ? VerdictStatus::Pass : VerdictStatus::Inconclusive;
  return d;
}

bool rejects(const Decision& mutant_decision) { return mutant_decision.status == VerdictStatus::Fail; }

VerdictStatus status_with_power(const Decision& decision, const std::vector<MutantOutcome>& power) {
  if (decision.status != VerdictStatus::Pass) return decision.status;
  for (const auto& m : power)
    if (!m.rejected) return VerdictStatus::Inconclusive;
  return VerdictStatus::Pass;
}

}  // namespace zeroloss
