#include "zeroloss/verification/population_coverage.hpp"

#include <map>

namespace zeroloss {

bool population_covered(const std::vector<PopulationMemberTest>& members, double min_tested_fraction) {
  std::map<std::string, bool> family_tested;
  int tested = 0;
  for (const auto& m : members) {
    tested += m.tested ? 1 : 0;
    family_tested[m.family] = family_tested[m.family] || m.tested;
  }
  for (const auto& [family, any] : family_tested)
    if (!any) return false;
  return tested > 0 && static_cast<double>(tested) >= min_tested_fraction * static_cast<double>(members.size());
}

}  // namespace zeroloss
