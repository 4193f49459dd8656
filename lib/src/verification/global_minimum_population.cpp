#include "global_minimum_population.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <thread>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/model/two_layer_random_start.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/verification/shell_command.hpp"
#include "population_members.hpp"
#include "zeroloss/verification/stationary_point_census.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

// One member and second layer, as the table and the figure show it.
struct MemberResult {
  PopulationProblem member;
  std::string layer;
  double T_star = 0;
  int converged = 0, saddles = 0, not_global = 0;
  bool tested = false;  // enough of its own searches converged
  double worst_gap = 0;  // largest |T - T*| / T* over the converged points
  std::string data_command;
};

}  // namespace

GlobalMinimumPopulation search_global_minimum_population(VerificationContext& ctx, const GlobalMinimumThresholds& t) {
  const json& cfg = ctx.config()["global_minimum"]["population"];
  const json& problem = ctx.config()["problem"];
  const std::string act = problem["activation"].get<std::string>();
  const std::string dir = ctx.dir("global_minimum/population");
  const std::vector<PopulationProblem> members = population_problems(cfg);
  StationaryPointCensusOptions o;
  o.starts = cfg["starts"].get<int>();
  o.init_scale = problem["init_scale"].get<double>();
  o.search.gradient_tolerance = ctx.config()["global_minimum"]["search_gradient_tolerance"].get<double>();
  o.search.max_iterations = ctx.config()["global_minimum"]["search_max_iterations"].get<int>();
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  GlobalMinimumPopulation out;
  std::vector<MemberResult> results;
  json skipped = json::array();
  std::ostringstream table;
  const std::string header = "family,n,d,m,data_seed,layer,T_star,starts,converged,tested,saddles,not_global,worst_relative_gap\n";
  for (size_t q = 0; q < members.size(); ++q) {
    const PopulationProblem& mb = members[q];
    ctx.progress("global minimum: population member " + std::to_string(q + 1) + "/" + std::to_string(members.size()) +
                 " (" + mb.name() + "), stationary-point search");
    const std::string data = dir + "/" + mb.name() + ".csv";
    std::vector<std::string> args = population_data_args(mb, problem);
    args.insert(args.end(), {"--out", data});
    ctx.run("global_minimum_population_" + mb.name(), args);
    const std::string data_command = ctx.commands().back();
    const Dataset ds = read_dataset_csv(data);
    for (bool mixed : {false, true}) {
      MemberResult r{mb, mixed ? "mixed" : "ones", 0, 0, 0, 0, false, 0, data_command};
      const Eigen::VectorXd a = mixed ? random_two_layer_start(ds.X, mb.m, 1.0, true, static_cast<std::uint64_t>(mb.seed)).a
                                      : Eigen::VectorXd::Ones(mb.m);
      const TwoLayerModel model(ds.X, ds.y, a, Activation::from_name(act));
      const SharpnessMinimum star = sharpness_minimum(model, Eigen::MatrixXd::Zero(mb.m, mb.d));
      if (!star.closed_form || star.kind != OptimumKind::GlobalMinimum) {
        skipped.push_back({{"member", mb.name()}, {"layer", r.layer}, {"why", star.verdict}});
        continue;
      }
      r.T_star = star.sharpness;
      o.seed = static_cast<std::uint64_t>(mb.seed) * 2 + (mixed ? 1 : 0);
      const auto entries = stationary_point_census(model, o, threads);
      for (const auto& e : entries) {
        const StationarySearchPoint p{e.summary.converged(), e.summary.sharpness, r.T_star, e.inertia.negative,
                                      e.inertia.zero};
        out.points.push_back(p);
        if (!p.converged) continue;
        ++r.converged;
        if (p.negative_eigenvalues > 0) ++r.saddles;
        if (!stationary_point_is_global_minimum(p, t)) ++r.not_global;
        r.worst_gap = std::max(r.worst_gap, std::abs(p.sharpness - r.T_star) / std::abs(r.T_star));
      }
      out.starts += o.starts;
      out.members.push_back({mb.family_label(), o.starts, r.converged});
      r.tested = stationary_search_member_tested(out.members.back(), t);
      table << mb.family << "," << mb.n << "," << mb.d << "," << mb.m << "," << mb.seed << "," << r.layer << ","
            << format_double(r.T_star) << "," << o.starts << "," << r.converged << "," << (r.tested ? "yes" : "no")
            << "," << r.saddles << "," << r.not_global << "," << format_double(r.worst_gap) << "\n";
      results.push_back(r);
    }
  }
  write_population_table(dir, header, table.str());

  // The worst member: most non-global stationary points, then fewest converged, then the largest gap.
  json numbers = {{"members", members.size()}, {"starts_per_member_and_layer", o.starts}, {"skipped", skipped}};
  int total_converged = 0, total_not_global = 0, tested = 0;
  double worst_gap = 0;
  const MemberResult* worst = nullptr;
  json untested = json::array();
  std::string untested_text;
  for (const auto& r : results) {
    tested += r.tested ? 1 : 0;
    if (!r.tested) {
      untested.push_back({{"member", r.member.name()}, {"layer", r.layer}, {"converged", r.converged}});
      untested_text += (untested_text.empty() ? "" : ", ") + r.member.name() + " (a = " + r.layer + ", " +
                       std::to_string(r.converged) + " of " + std::to_string(o.starts) + ")";
    }
    total_converged += r.converged;
    total_not_global += r.not_global;
    worst_gap = std::max(worst_gap, r.worst_gap);
    auto key = [](const MemberResult& x) { return std::make_tuple(x.not_global, -x.converged, x.worst_gap); };
    if (!worst || key(r) > key(*worst)) worst = &r;
  }
  numbers["converged"] = total_converged;
  numbers["not_global"] = total_not_global;
  numbers["worst_relative_gap"] = worst_gap;
  numbers["member_layers"] = results.size();
  numbers["tested"] = tested;
  numbers["untested"] = untested;
  numbers["min_tested_fraction"] = t.population_min_tested_fraction;
  std::ostringstream ev;
  ev << population_description(cfg) << ", each for a = 1 and a mixed-sign a, " << o.starts << " search starts each: " << total_converged << " of "
     << out.starts << " searches converged, " << total_not_global << " to a point that is not the member's global "
     << "minimum (largest relative gap of a converged point " << short_number(worst_gap, 3) << ")";
  if (!skipped.empty()) ev << "; " << skipped.size() << " member layers skipped (no closed-form global minimum)";
  ev << "; " << tested << " of " << results.size() << " member layers tested (at least "
     << short_number(t.search_min_converged_fraction, 3) << " of their own starts converged)";
  if (!untested_text.empty()) ev << ", untested (converged starts): " << untested_text;
  if (worst) {
    const json rerun_config = population_rerun_config("global_minimum", worst->member);
    numbers["worst_member"] = {{"member", worst->member.name()},
                               {"layer", worst->layer},
                               {"converged", worst->converged},
                               {"tested", worst->tested},
                               {"not_global", worst->not_global},
                               {"worst_relative_gap", worst->worst_gap},
                               {"data_command", worst->data_command},
                               {"rerun_config", rerun_config}};
    ev << ". Worst member " << worst->member.name() << " (a = " << worst->layer << "): " << worst->converged
       << " converged, " << worst->not_global << " not global, gap " << short_number(worst->worst_gap, 3)
       << population_rerun_sentence(rerun_config);
  }
  ev << ".";
  out.numbers = numbers;
  out.evidence = ev.str();

  // The distribution: each member's largest relative gap at a converged point (floored at 1e-17 for
  // the log scale), with the tolerance.
  PlotSpec fig = population_plot("Stationary-point search on the population: largest |T - T*|/T* at a converged point",
                                 "largest relative gap");
  fig.log_y = true;
  const char* colors[] = {"#1f77b4", "#d62728", "#ff7f0e", "#2ca02c"};
  int series = 0;
  for (const char* family : {"figure1", "gaussian"})
    for (const char* layer : {"ones", "mixed"}) {
      PlotSeries s{std::string(family) + ", a = " + layer, {}, {}, PlotStyle::Points, colors[series++ % 4], false};
      for (size_t k = 0; k < results.size(); ++k)
        if (results[k].member.family == family && results[k].layer == layer) {
          s.x.push_back(static_cast<double>(k));
          s.y.push_back(std::max(results[k].worst_gap, 1e-17));
        }
      if (!s.x.empty()) fig.series.push_back(std::move(s));
    }
  if (!fig.series.empty()) {
    fig.series.push_back({"relative_tolerance " + short_number(t.relative_tolerance, 3),
                          {0.0, static_cast<double>(results.size())},
                          {t.relative_tolerance, t.relative_tolerance}, PlotStyle::Lines, "black", true});
    if (write_svg_plot(fig, dir + "/population.svg").written)
      out.figures.push_back({"global_minimum/population/population.svg",
                             "Per member and second layer, the largest relative gap |T - T*|/T* among the stationary "
                             "points the search converged to (T* the member's closed form); dashed: the tolerance. A "
                             "saddle or a spurious minimum would sit far above it.",
                             "global_minimum/population/members.csv"});
  }
  return out;
}

}  // namespace zeroloss
