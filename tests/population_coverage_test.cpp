// When a population has tested a claim enough (verification/population_coverage.hpp), and claim 1's
// per-member rule (claim 3's is in verification_rules_test.cpp, SgdTracksFlowPopulationRule).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "zeroloss/verification/global_minimum_rule.hpp"
#include "zeroloss/verification/population_coverage.hpp"

namespace zeroloss {
namespace {

std::vector<std::string> failed(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& r : d.rules)
    if (!r.held) out.push_back(r.rule);
  return out;
}

TEST(PopulationCoverage, NeedsTheFractionOverallAndATestedMemberInEveryFamily) {
  // 3 of 4 tested, both families represented.
  EXPECT_TRUE(population_covered({{"figure1", true}, {"figure1", false}, {"gaussian (3, 5, 4)", true},
                                  {"gaussian (3, 5, 4)", true}},
                                 0.5));
  // 3 of 4 tested but the Figure 1 family has none: not covered, whatever the fraction.
  EXPECT_FALSE(population_covered({{"figure1", false}, {"gaussian (3, 5, 4)", true}, {"gaussian (3, 5, 4)", true},
                                   {"gaussian (5, 20, 10)", true}},
                                  0.5));
  EXPECT_FALSE(population_covered({{"figure1", false}, {"gaussian (3, 5, 4)", true}}, 0.01));
  // Every family has a tested member, but only 2 of 5 members are tested: below one half.
  const std::vector<PopulationMemberTest> thin = {{"figure1", true}, {"figure1", false}, {"gaussian (3, 5, 4)", true},
                                                  {"gaussian (3, 5, 4)", false}, {"gaussian (3, 5, 4)", false}};
  EXPECT_FALSE(population_covered(thin, 0.5));
  EXPECT_TRUE(population_covered(thin, 0.4));  // exactly 2 of 5
  // Nothing tested, or no members: never covered.
  EXPECT_FALSE(population_covered({{"figure1", false}}, 0.5));
  EXPECT_FALSE(population_covered({}, 0.5));
}

// Claim 1: the measured full-run pattern, Figure 1 seed 1 (lambda_min ~ 1e-7) with 1 of 8 searches
// converged on one layer and 0 of 8 on the other, next to members on which every search converged.
GlobalMinimumEvidence search_population(int seed1_converged_ones, int seed1_converged_mixed, int good_members) {
  GlobalMinimumEvidence e;
  e.search_starts = 0;
  auto add = [&](const std::string& family, int converged) {
    e.population.push_back({family, 8, converged});
    e.search_starts += 8;
    for (int k = 0; k < 8; ++k) e.search.push_back({k < converged, 3.5, 3.5, 0, 0});
  };
  add("figure1", seed1_converged_ones);
  add("figure1", seed1_converged_mixed);
  for (int k = 0; k < good_members; ++k) add(k % 2 ? "figure1" : "gaussian (3, 5, 4)", 8);
  // The configured problem's runs are not the subject here: one run that reached the minimum.
  GlobalMinimumRun run;
  run.completed = true;
  run.sharpness = run.sharpness_star = 3.5;
  run.grad_norm = 1e-12;
  run.lambda_min = 0.1;
  run.data_norm = 1;
  run.preactivation_norm = 1;
  e.runs.push_back(run);
  return e;
}

TEST(GlobalMinimumPopulationRule, AMemberWhoseSearchesMostlyFailIsUntestedNotEvidence) {
  GlobalMinimumThresholds t;  // search_min_converged_fraction 0.5, population_min_tested_fraction 0.5
  EXPECT_FALSE(stationary_search_member_tested({"figure1", 8, 1}, t));
  EXPECT_FALSE(stationary_search_member_tested({"figure1", 8, 0}, t));
  EXPECT_FALSE(stationary_search_member_tested({"figure1", 8, 3}, t));
  EXPECT_TRUE(stationary_search_member_tested({"figure1", 8, 4}, t));
  EXPECT_FALSE(stationary_search_member_tested({"figure1", 0, 0}, t));  // no search: nothing tested

  // Seed 1 untested (1 and 0 of 8) among 6 members that converged everywhere: 6 of 8 tested, the
  // overall fraction of converged searches is 49/64, and the claim passes on the tested members.
  const Decision d = decide_global_minimum(search_population(1, 0, 6), t);
  EXPECT_EQ(d.status, VerdictStatus::Pass) << ::testing::PrintToString(failed(d));
  EXPECT_TRUE(d.held(kRuleSearchPopulationTested));

  // The same population where the ill-conditioned members are most of it: 2 well-converged members
  // and 6 that never converge. Overall 17 of 64 converged searches fail search_converged already;
  // with a lower overall threshold the per-member rule still fails: 2 of 8 members tested.
  GlobalMinimumEvidence sparse = search_population(1, 0, 2);
  for (int k = 0; k < 4; ++k) {
    sparse.population.push_back({"gaussian (3, 5, 4)", 8, 0});
    sparse.search_starts += 8;
    for (int s = 0; s < 8; ++s) sparse.search.push_back({false, 0, 3.5, 0, 0});
  }
  GlobalMinimumThresholds low = t;
  low.search_min_converged_fraction = 0.2;  // overall 17/64 = 0.27 passes; per member 2 of 8 -> 2 tested
  const Decision ds = decide_global_minimum(sparse, low);
  EXPECT_TRUE(ds.held(kRuleSearchConverged));
  EXPECT_EQ(failed(ds), std::vector<std::string>{kRuleSearchPopulationTested});
  EXPECT_EQ(ds.status, VerdictStatus::Inconclusive);  // untested, not refuted

  // A family with no tested member fails too: the Figure 1 draws all ill-conditioned.
  GlobalMinimumEvidence no_figure1 = search_population(1, 0, 0);
  for (int k = 0; k < 6; ++k) {
    no_figure1.population.push_back({"gaussian (3, 5, 4)", 8, 8});
    no_figure1.search_starts += 8;
    for (int s = 0; s < 8; ++s) no_figure1.search.push_back({true, 3.5, 3.5, 0, 0});
  }
  EXPECT_EQ(failed(decide_global_minimum(no_figure1, t)), std::vector<std::string>{kRuleSearchPopulationTested});

  // An untested member's converged point that is not the global minimum still fails the claim.
  GlobalMinimumEvidence spurious = search_population(1, 0, 6);
  spurious.search[0].negative_eigenvalues = 1;  // seed 1's one converged search found a saddle
  EXPECT_EQ(failed(decide_global_minimum(spurious, t)), std::vector<std::string>{kRuleEveryStationaryPointGlobal});

  // No population: the rule holds vacuously (the configured problem's search alone).
  GlobalMinimumEvidence alone = search_population(8, 8, 0);
  alone.population.clear();
  EXPECT_TRUE(decide_global_minimum(alone, t).held(kRuleSearchPopulationTested));
}

}  // namespace
}  // namespace zeroloss
