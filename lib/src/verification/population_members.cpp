#include "population_members.hpp"

#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {

using nlohmann::json;

std::string PopulationProblem::name() const {
  return family + "_n" + std::to_string(n) + "_d" + std::to_string(d) + "_m" + std::to_string(m) + "_seed" +
         std::to_string(seed);
}

std::string PopulationProblem::family_label() const {
  if (!gaussian()) return family;
  return "gaussian (" + std::to_string(n) + ", " + std::to_string(d) + ", " + std::to_string(m) + ")";
}

std::vector<PopulationProblem> population_problems(const json& cfg) {
  std::vector<PopulationProblem> members;
  const json& f1 = cfg["figure1"];
  for (int k = 0; k < f1["draws"].get<int>(); ++k)
    members.push_back({"figure1", f1["n"].get<int>(), f1["d"].get<int>(), f1["m"].get<int>(),
                       f1["first_data_seed"].get<int>() + k});
  for (const json& size : cfg["gaussian_sizes"])
    for (int k = 0; k < cfg["gaussian_draws"].get<int>(); ++k)
      members.push_back({"gaussian", size[0].get<int>(), size[1].get<int>(), size[2].get<int>(),
                         cfg["gaussian_first_data_seed"].get<int>() + k});
  return members;
}

std::vector<std::string> population_data_args(const PopulationProblem& mb, const json& problem) {
  std::vector<std::string> args = {"data", "--generator", mb.gaussian() ? problem["generator"].get<std::string>() : "uniform01",
                                   "--n", std::to_string(mb.n), "--d", std::to_string(mb.d)};
  if (mb.gaussian()) args.insert(args.end(), {"--label-scale", format_double(problem["label_scale"].get<double>())});
  args.insert(args.end(), {"--seed", std::to_string(mb.seed)});
  return args;
}

std::string population_description(const json& cfg) {
  const json& f1 = cfg["figure1"];
  std::ostringstream ev;
  ev << "Population: " << f1["draws"].get<int>() << " Figure 1 draws (uniform data, n = " << f1["n"].get<int>()
     << ", d = " << f1["d"].get<int>() << ", m = " << f1["m"].get<int>() << ") and " << cfg["gaussian_draws"].get<int>()
     << " Gaussian draws at each of";
  for (const json& size : cfg["gaussian_sizes"])
    ev << " (" << size[0].get<int>() << ", " << size[1].get<int>() << ", " << size[2].get<int>() << ")";
  return ev.str();
}

json population_rerun_config(const std::string& claim, const PopulationProblem& w) {
  return {{"claims", {claim}},
          {claim,
           {{"population",
             {{"figure1", {{"draws", w.gaussian() ? 0 : 1}, {"first_data_seed", w.seed}}},
              {"gaussian_sizes", json::array({json::array({w.n, w.d, w.m})})},
              {"gaussian_draws", w.gaussian() ? 1 : 0},
              {"gaussian_first_data_seed", w.seed}}}}}};
}

std::string population_rerun_sentence(const json& rerun_config, const std::string& scope) {
  return "; rerun it alone" + scope + " with `zeroloss run CONFIG` where CONFIG is " + rerun_config.dump();
}

PlotSpec population_plot(const std::string& title, const std::string& y_label) {
  PlotSpec fig;
  fig.title = title;
  fig.x_label = "member (in the order of members.csv)";
  fig.y_label = y_label;
  fig.key = "top left";
  return fig;
}

void write_population_table(const std::string& dir, const std::string& header, const std::string& rows) {
  write_file_atomic(dir + "/members.csv", header + rows);
}

}  // namespace zeroloss
