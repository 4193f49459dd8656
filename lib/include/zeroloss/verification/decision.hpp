#pragma once
// The outcome of a claim's decision rules (the pure functions decide_<claim>, one header per claim
// in this folder): the verdict status and, for each rule the claim asserts, whether it held. A rule
// is a named comparison of measured evidence with a threshold; a claim passes only if every rule
// holds, so a test can show each rule able to fail on its own.

#include <string>
#include <vector>

namespace zeroloss {

// Pass/Fail: the claim held/did not hold on the evidence. NotApplicable: the claim's premise does
// not hold for the configuration. Reported: outside the theory, numbers without a verdict. Error: the
// check could not be completed (a command failed); says nothing about the claim. Inconclusive: the
// evidence did not contradict the claim but cannot support it either: a coverage rule failed (too
// few population members or searches could decide the claim, below), or the rules held but they
// also held on a falsified variant of the pipeline (a mutant, below): the rule has no power there,
// so the pass says nothing.
enum class VerdictStatus { Pass, Fail, NotApplicable, Reported, Error, Inconclusive };
// "pass", "fail", "not-applicable", "reported", "error", "inconclusive" (the words of summary.json).
std::string to_string(VerdictStatus status);
// The inverse of to_string; throws InputError for any other word.
VerdictStatus verdict_status_from_string(const std::string& word);

// Evidence: the rule compares measured evidence with the claim; failing it contradicts the claim.
// Coverage: the rule says whether enough of the evidence could decide the claim at all (members of a
// population tested, searches converged); failing it leaves the claim untested, not refuted.
enum class RuleKind { Evidence, Coverage };

struct RuleOutcome {
  std::string rule;  // the rule's identifier, as documented in docs/report.md
  bool held = false;
  RuleKind kind = RuleKind::Evidence;
};

struct Decision {
  VerdictStatus status = VerdictStatus::Fail;
  std::vector<RuleOutcome> rules;  // in the order the claim states them

  // Whether the rule `rule` held; throws std::out_of_range if the decision has no such rule.
  bool held(const std::string& rule) const;
};

// Fail when an evidence rule failed; otherwise Inconclusive when a coverage rule failed; otherwise
// Pass.
Decision decide_by_rules(std::vector<RuleOutcome> rules);

// A falsified variant of a claim's pipeline (issue 12's "mutant"): the same runs with one
// deliberate change that makes the claim false, decided by the same rule. `rejected` is true when
// the rule refuted the mutant's evidence (rejects(), below).
struct MutantOutcome {
  std::string mutant;   // identifier, e.g. "no_label_noise"
  std::string changes;  // what the mutant changes, in words
  bool rejected = false;
};

// Whether a mutant's decision rejects it: an evidence rule failed (status Fail). A mutant whose
// evidence only failed to cover the claim (Inconclusive) is not rejected: an untested falsified
// variant shows no power.
bool rejects(const Decision& mutant_decision);

// The status of a claim decided on its own evidence, given its mutants: the decision's status,
// except that a Pass with any mutant not rejected becomes Inconclusive.
VerdictStatus status_with_power(const Decision& decision, const std::vector<MutantOutcome>& power);

}  // namespace zeroloss
