#pragma once
// When a population of problems has tested a universal claim enough to decide it (THEORY 11). A
// member is tested when its own evidence can decide the claim (each claim says when: intervals
// narrow enough, enough converged searches, a budget that fits); an untested member is listed with
// its reason and never counts as evidence. The population is covered when
//   - at least min_tested_fraction of all members are tested (and at least one is), and
//   - every family of the population (the Figure 1 draws, the Gaussian draws of one size, ...) that
//     has a member has a tested member,
// so that neither the population as a whole nor one kind of problem in it can pass by testing
// nothing. The principle is docs/report.md's "Populations: when a member counts".

#include <string>
#include <vector>

namespace zeroloss {

struct PopulationMemberTest {
  std::string family;  // e.g. "figure1", "gaussian (3, 5, 4)"
  bool tested = false;
};

bool population_covered(const std::vector<PopulationMemberTest>& members, double min_tested_fraction);

}  // namespace zeroloss
