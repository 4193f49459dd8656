#pragma once
// The population of problems that claims 1 and 3 run on (internal to verification/): Figure 1 draws
// (uniform data, figure1.{n, d, m}, seeds from figure1.first_data_seed) and, for each of
// gaussian_sizes, gaussian_draws Gaussian draws (seeds from gaussian_first_data_seed). One place
// lists the members, writes their data command, the member table and the sentence that describes
// the population, and the configuration that reruns one member alone.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "zeroloss/presentation/svg_plot.hpp"

namespace zeroloss {

struct PopulationProblem {
  std::string family;  // "figure1" or "gaussian"
  int n = 0, d = 0, m = 0, seed = 0;
  bool gaussian() const { return family == "gaussian"; }
  // e.g. "gaussian_n3_d5_m4_seed2".
  std::string name() const;
  // The member's family for population_covered: "figure1" or "gaussian (n, d, m)".
  std::string family_label() const;
};

// The members of a claim's "population" section, Figure 1 draws first, then each size's draws.
std::vector<PopulationProblem> population_problems(const nlohmann::json& population);

// `zeroloss data` for the member up to its seed: the generator (the problem's for Gaussian
// members, with its label scale; uniform01 for Figure 1), n, d and --seed; the caller adds --out.
std::vector<std::string> population_data_args(const PopulationProblem& member, const nlohmann::json& problem);

// "Population: D Figure 1 draws (uniform data, n = 3, d = 3, m = 10) and G Gaussian draws at each
// of (3, 5, 4) (5, 20, 10)".
std::string population_description(const nlohmann::json& population);

// The configuration that runs claim `claim` on `member` alone.
nlohmann::json population_rerun_config(const std::string& claim, const PopulationProblem& member);

// "; rerun it alone<scope> with `zeroloss run CONFIG` where CONFIG is {...}".
std::string population_rerun_sentence(const nlohmann::json& rerun_config, const std::string& scope = "");

// The population's distribution figure: one point (or more) per member along x, in the order of
// members.csv, with the key top left.
PlotSpec population_plot(const std::string& title, const std::string& y_label);

// Writes the member table (header line, then one line per member) to dir/members.csv atomically.
void write_population_table(const std::string& dir, const std::string& header, const std::string& rows);

}  // namespace zeroloss
