#pragma once
// The claims of the verification report (`zeroloss run`, docs/report.md). Each check gathers its
// evidence by running zeroloss commands through the context (so the command printed next to a
// verdict is exactly what produced it), reads their documented outputs into the claim's evidence
// struct, decides with the claim's pure rule (<claim>_rule.hpp: decide_<claim>) and writes the
// verdict's text, key numbers and figure. An error while gathering throws (the report turns it into
// status Error); a verdict never rests on a made-up number.

#include <vector>

#include "zeroloss/presentation/report_document.hpp"
#include "zeroloss/verification/verification_context.hpp"

namespace zeroloss {

Verdict check_global_minimum(VerificationContext& ctx);
Verdict check_flow_rate(VerificationContext& ctx);
Verdict check_sgd_tracks_flow(VerificationContext& ctx);
Verdict check_rank_one_sgd(VerificationContext& ctx);
Verdict check_local_convexity(VerificationContext& ctx);
Verdict check_outside_assumptions(VerificationContext& ctx);
Verdict check_diagonal_sparse_interpolator(VerificationContext& ctx);
Verdict check_claims_at_scale(VerificationContext& ctx);

struct ReportClaim {
  const char* key;    // the claim's key in the configuration ("claims", its section) and summary.json
  const char* title;  // one line, for progress messages
  Verdict (*check)(VerificationContext&);
};

// The claims in report order.
const std::vector<ReportClaim>& report_claims();

}  // namespace zeroloss
