#pragma once
// Claim 3 on a population of problems (internal to sgd_tracks_flow_check.cpp): `zeroloss compare`
// on Figure 1 draws (uniform data) and on Gaussian draws at each configured (n, d, m), each for
// a = 1 and for a mixed-sign a, every member with its own SGD ensembles, flow and coefficient fit.
// No member may refute the claim at the family-wise level (sgd_tracks_flow_member_standing).

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "zeroloss/presentation/report_document.hpp"
#include "zeroloss/verification/sgd_tracks_flow_rule.hpp"
#include "zeroloss/verification/verification_context.hpp"

namespace zeroloss {

// The rule's evidence from `compare`'s flow_tracking.json.
SgdTracksFlowEvidence sgd_tracks_flow_evidence_from(const nlohmann::json& tracking);

struct SgdTracksFlowPopulation {
  std::vector<SgdTracksFlowEvidence> members;         // in the order of members.csv
  nlohmann::json numbers = nlohmann::json::object();  // members, tested, worst member, how to rerun it
  std::string evidence;                                // one sentence
  std::vector<Figure> figures;
};

// Runs `zeroloss data` for every member and layer (one after the other), then every member's
// `compare` as parallel child processes (VerificationContext::try_run_parallel, one SGD thread
// each); writes sgd_tracks_flow/population/members.csv and population.svg. Throws
// CommandFailedError when a command fails.
SgdTracksFlowPopulation run_sgd_tracks_flow_population(VerificationContext& ctx, const SgdTracksFlowThresholds& t);

}  // namespace zeroloss
