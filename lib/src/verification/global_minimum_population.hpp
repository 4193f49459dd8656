#pragma once
// Claim 1 on a population of problems (internal to global_minimum_check.cpp): the stationary-point
// search of every index on Figure 1 draws (uniform data, n = d = 3, m = 10) and on Gaussian draws at
// each configured (n, d, m), each for a = 1 and for a mixed-sign a; every converged point of every
// member must be its member's closed-form global minimum.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "zeroloss/presentation/report_document.hpp"
#include "zeroloss/verification/global_minimum_rule.hpp"
#include "zeroloss/verification/verification_context.hpp"

namespace zeroloss {

struct GlobalMinimumPopulation {
  int starts = 0;  // searches run in all (each member and second layer: population.starts)
  std::vector<StationarySearchPoint> points;
  std::vector<StationarySearchMember> members;  // every member and second layer that was searched
  nlohmann::json numbers = nlohmann::json::object();  // members, worst member, how to rerun it
  std::string evidence;                                // one sentence
  std::vector<Figure> figures;
};

// Runs `zeroloss data` for every member (recorded) and the search in-process; writes
// global_minimum/population/members.csv and population.svg. Members outside THEORY 5's assumptions
// (no closed-form global minimum) are listed and skipped; a member on which too few searches
// converged is listed as untested (stationary_search_member_tested).
GlobalMinimumPopulation search_global_minimum_population(VerificationContext& ctx, const GlobalMinimumThresholds& t);

}  // namespace zeroloss
