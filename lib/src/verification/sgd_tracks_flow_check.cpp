// Claim 3 (THEORY 7, Li-Wang-Arora): label-noise SGD with step eta, observed on the time scale
// t = eta^2 k, follows the Riemannian flow dTheta/dt = -(s^2/(4B)) grad_M T. Evidence: `zeroloss
// compare` (SGD ensembles per eta against the flow with coefficient F s^2/(4B), F from the
// configuration, 1 being the claim): the order of the bias (mean projected path to the flow) and the
// flow coefficient fitted to the mean paths, from its flow_tracking.json; decided by
// decide_sgd_tracks_flow (sgd_tracks_flow_rule.hpp).
// Power: the same SGD ensembles (`compare --sgd-iterates`, SGD is not rerun) against falsified
// reference flows: the coefficient times 0.5, 1.1 and 2, and the time scale eta k instead of eta^2 k.
// Each makes the claim false, so the rule must reject it; if it does not, the verdict is inconclusive.
// Population (sgd_tracks_flow_population.hpp): the same rules on every member, a refutation counted
// at the family-wise level; enough members must decide (decide_sgd_tracks_flow_population). The claim's
// rules are the anchor problem's and the population's together; the mutants run on the anchor.

#include <cmath>
#include <sstream>

#include "sgd_tracks_flow_population.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/report_inputs.hpp"
#include "zeroloss/verification/sgd_tracks_flow_rule.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

// One reference flow the SGD ensembles are compared with: the claim's, or a mutant's.
struct ReferenceFlow {
  std::string name;     // folder and mutant identifier ("compare" for the claim's)
  std::string changes;  // what the mutant changes, in words (empty for the claim's)
  double scale = 1;     // the coefficient scale F given to compare
  bool eta_k = false;   // the time scale eta k instead of eta^2 k
};

std::optional<double> number_or_none(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? std::optional<double>(j[key].get<double>())
                                                                : std::nullopt;
}

std::string interval_text(const std::optional<double>& value, const std::optional<double>& lo,
                          const std::optional<double>& hi, int digits) {
  if (!value) return "not fitted";
  std::string s = short_number(*value, digits);
  if (lo && hi) s += " [" + short_number(*lo, digits) + ", " + short_number(*hi, digits) + "]";
  return s;
}

}  // namespace

Verdict check_sgd_tracks_flow(VerificationContext& ctx) {
  Verdict v;
  v.key = "sgd_tracks_flow";
  v.claim = "Label-noise SGD follows the Riemannian flow -(s^2/(4B)) grad_M T on the time scale eta^2 k: the mean "
            "path's bias is of order eta and the coefficient fitted to it is s^2/(4B)";
  const json& cfg = ctx.config()["sgd_tracks_flow"];
  const json& problem = ctx.config()["problem"];
  SgdTracksFlowThresholds t;
  t.min_bias_order = cfg["min_bias_order"].get<double>();
  t.max_bias_order = cfg["max_bias_order"].get<double>();
  t.coefficient_tolerance = cfg["coefficient_tolerance"].get<double>();
  t.min_tested_fraction = cfg["population"]["min_tested_fraction"].get<double>();
  t.population_order_dof = static_cast<int>(cfg["population"]["lr_list"].size()) - 2;
  const double F = cfg["flow_coefficient_scale"].get<double>();
  const std::string act = problem["activation"].get<std::string>();
  const size_t first = ctx.begin_block();
  const std::string dir = ctx.dir("sgd_tracks_flow");
  const std::string data = write_problem_data(ctx);
  const std::string start =
      write_random_start(ctx, data, problem["m"].get<int>(), 0, false, "sgd_tracks_flow/start.csv");
  std::string lr_list;
  for (const auto& x : cfg["lr_list"]) lr_list += (lr_list.empty() ? "" : ",") + format_double(x.get<double>());
  const std::vector<std::string> common = {"--data",        data,
                                           "--weights",     start,
                                           "--activation",  act,
                                           "--label-noise", format_double(cfg["label_noise"].get<double>()),
                                           "--batch",       std::to_string(cfg["batch"].get<int>()),
                                           "--lr-list",     lr_list,
                                           "--time",        format_double(cfg["time"].get<double>()),
                                           "--seeds",       std::to_string(cfg["seeds"].get<int>()),
                                           "--points",      std::to_string(cfg["points"].get<int>()),
                                           "--no-figures"};
  const std::vector<ReferenceFlow> flows = {
      {"compare", "", F, false},
      {"coefficient_x0.5", "the reference flow's coefficient times 0.5 (same SGD ensembles)", 0.5 * F, false},
      {"coefficient_x1.1", "the reference flow's coefficient times 1.1 (same SGD ensembles)", 1.1 * F, false},
      {"coefficient_x2", "the reference flow's coefficient times 2 (same SGD ensembles)", 2 * F, false},
      {"time_scale_eta_k", "the reference flow at time eta k instead of eta^2 k (same SGD ensembles)", F, true}};
  const std::string iterates = dir + "/compare/projected_iterates.csv";
  std::vector<json> tracking;
  for (const ReferenceFlow& f : flows) {
    std::vector<std::string> args = {"compare"};
    args.insert(args.end(), common.begin(), common.end());
    if (f.scale != 1) args.insert(args.end(), {"--flow-coefficient-scale", format_double(f.scale)});
    if (f.eta_k) args.insert(args.end(), {"--time-scale", "eta-k"});
    if (f.name != "compare") args.insert(args.end(), {"--sgd-iterates", iterates});
    args.insert(args.end(), {"--out", dir + "/" + f.name});
    ctx.progress(f.name == "compare" ? "SGD vs flow: " + std::to_string(cfg["lr_list"].size()) + " step sizes x " +
                                           std::to_string(cfg["seeds"].get<int>()) + " seeds"
                                     : "SGD vs flow: mutant " + f.name);
    ctx.run("sgd_tracks_flow_" + f.name, args);
    tracking.push_back(read_json_file(dir + "/" + f.name + "/flow_tracking.json"));
  }
  const std::string anchor_commands = ctx.commands_since(first);
  const SgdTracksFlowPopulation population = run_sgd_tracks_flow_population(ctx, t);
  v.command = anchor_commands +
              "\n# and the same comparison for every member of the population (sgd_tracks_flow/population/, all "
              "commands in logs/)";

  const SgdTracksFlowEvidence evidence = sgd_tracks_flow_evidence_from(tracking[0]);
  Decision decision = decide_sgd_tracks_flow(evidence, t);
  const Decision population_decision = decide_sgd_tracks_flow_population(population.members, t);
  {
    std::vector<RuleOutcome> all = decision.rules;
    all.insert(all.end(), population_decision.rules.begin(), population_decision.rules.end());
    decision = decide_by_rules(all);
  }
  json mutants = json::object();
  for (size_t k = 1; k < flows.size(); ++k) {
    const SgdTracksFlowEvidence me = sgd_tracks_flow_evidence_from(tracking[k]);
    const Decision md = decide_sgd_tracks_flow(me, t);
    v.power.push_back({flows[k].name, flows[k].changes, rejects(md)});
    json rules = json::object();
    for (const auto& r : md.rules) rules[r.rule] = r.held;
    mutants[flows[k].name] = {{"reference_coefficient", me.reference_coefficient},
                              {"bias_order_fit", tracking[k]["bias_order_fit"]},
                              {"rules", rules}};
  }
  v.status = status_with_power(decision, v.power);

  json rules = json::object();
  for (const auto& r : decision.rules) rules[r.rule] = r.held;
  const json summary = read_json_file(dir + "/compare/summary.json");
  v.numbers = {{"reference_flow", tracking[0]["reference_flow"]},
               {"bias_order_fit", tracking[0]["bias_order_fit"]},
               {"fluctuation_order_fit", tracking[0]["fluctuation_order_fit"]},
               {"error_order_fit", tracking[0]["error_order_fit"]},
               {"coefficient_fit", tracking[0]["coefficient_fit"]},
               {"per_eta", tracking[0]["per_eta"]},
               {"parameters", summary["parameters"]},
               {"rules", rules},
               {"min_bias_order", t.min_bias_order},
               {"max_bias_order", t.max_bias_order},
               {"coefficient_tolerance", t.coefficient_tolerance},
               {"mutants", mutants},
               {"population", population.numbers}};

  const double limiting = tracking[0]["reference_flow"]["limiting_coefficient"].get<double>();
  std::ostringstream ev;
  ev << cfg["seeds"].get<int>() << " SGD runs per eta in {" << lr_list << "}, projected onto M at "
     << cfg["points"].get<int>() << " times up to t = eta^2 k = " << short_number(cfg["time"].get<double>(), 4)
     << ", against the flow with coefficient " << short_number(evidence.reference_coefficient, 4);
  if (F != 1) ev << " (flow_coefficient_scale " << short_number(F, 4) << " times s^2/(4B))";
  ev << ". Bias (mean projected path to the flow, RMS over the times) of order "
     << interval_text(evidence.bias_order, evidence.bias_order_ci_low, evidence.bias_order_ci_high, 3)
     << " in eta (band [" << short_number(t.min_bias_order, 3) << ", " << short_number(t.max_bias_order, 3)
     << "]: an interval within it holds, one wholly outside fails); each path's own fluctuation about the mean: order "
     << interval_text(number_or_none(tracking[0]["fluctuation_order_fit"], "exponent_p"),
                      number_or_none(tracking[0]["fluctuation_order_fit"], "slope_ci_low"),
                      number_or_none(tracking[0]["fluctuation_order_fit"], "slope_ci_high"), 3)
     << " (reported). Flow coefficient fitted to the mean paths and extrapolated to eta -> 0: c = "
     << interval_text(evidence.coefficient, evidence.coefficient_ci_low, evidence.coefficient_ci_high, 5)
     << " against s^2/(4B) = " << short_number(limiting, 5) << " (an interval narrower than " << short_number(100 * t.coefficient_tolerance, 3)
     << "% of it must contain it; a wider one decides nothing). Rules: ";
  for (size_t k = 0; k < decision.rules.size(); ++k)
    ev << (k ? ", " : "") << decision.rules[k].rule << (decision.rules[k].held ? " held" : " FAILED");
  int rejected = 0;
  for (const auto& m : v.power) rejected += m.rejected ? 1 : 0;
  ev << ". Mutants rejected: " << rejected << " of " << v.power.size() << " (on this problem). "
     << population.evidence;
  v.evidence = ev.str();
  v.figures.insert(v.figures.end(), population.figures.begin(), population.figures.end());

  // Figure 1: bias and fluctuation against eta (log-log), with the fitted power laws.
  PlotSpec bf;
  bf.title = "SGD vs flow: bias of the mean path and fluctuation of one path (RMS over t)";
  bf.x_label = "eta";
  bf.y_label = "distance";
  bf.log_x = bf.log_y = true;
  bf.key = "top left";
  PlotSeries bias{"bias ||mean Phi(Theta_SGD) - Theta_flow||", {}, {}, PlotStyle::Points, "#d62728", false};
  PlotSeries fluct{"fluctuation of one path about the mean", {}, {}, PlotStyle::Points, "#1f77b4", false};
  PlotSeries bias_line{"fit, order " + interval_text(evidence.bias_order, {}, {}, 3), {}, {}, PlotStyle::Lines,
                       "#d62728", true};
  // Figure 2: the fitted coefficient per eta and its extrapolation to 0, against s^2/(4B).
  PlotSpec cf;
  cf.title = "flow coefficient fitted to the mean SGD path, against s^2/(4B)";
  cf.x_label = "eta (0: extrapolated)";
  cf.y_label = "c";
  PlotSeries per_eta{"c(eta), 95% interval", {}, {}, PlotStyle::LinesPoints, "#1f77b4", false};
  PlotSeries lows{"interval ends", {}, {}, PlotStyle::Points, "#7f7f7f", false}, highs = lows;
  highs.label = "";
  std::ostringstream csv;
  csv << "eta,path_bias,path_fluctuation,c,c_ci_low,c_ci_high\n";
  double eta_max = 0;
  for (const json& e : tracking[0]["per_eta"]) {
    const double eta = e["eta"].get<double>();
    eta_max = std::max(eta_max, eta);
    const std::optional<double> b = number_or_none(e, "path_bias"), fl = number_or_none(e, "path_fluctuation");
    if (b) {
      bias.x.push_back(eta);
      bias.y.push_back(*b);
      if (evidence.bias_order) {
        const json& fit = tracking[0]["bias_order_fit"];
        bias_line.x.push_back(eta);
        bias_line.y.push_back(fit["prefactor"].get<double>() * std::pow(eta, *evidence.bias_order));
      }
    }
    if (fl) {
      fluct.x.push_back(eta);
      fluct.y.push_back(*fl);
    }
    const json& c = e["coefficient"];
    csv << format_double(eta) << "," << (b ? format_double(*b) : "") << "," << (fl ? format_double(*fl) : "");
    if (c.is_object()) {
      per_eta.x.push_back(eta);
      per_eta.y.push_back(c["estimate"].get<double>());
      lows.x.push_back(eta);
      lows.y.push_back(c["ci_low"].get<double>());
      highs.x.push_back(eta);
      highs.y.push_back(c["ci_high"].get<double>());
      csv << "," << format_double(c["estimate"].get<double>()) << "," << format_double(c["ci_low"].get<double>())
          << "," << format_double(c["ci_high"].get<double>());
    } else {
      csv << ",,,";
    }
    csv << "\n";
  }
  if (evidence.coefficient) {
    csv << "0,,," << format_double(*evidence.coefficient) << "," << format_double(*evidence.coefficient_ci_low)
        << "," << format_double(*evidence.coefficient_ci_high) << "\n";
  }
  write_file_atomic(dir + "/bias_and_coefficient.csv", csv.str());
  bf.series = {bias, bias_line, fluct};
  if (write_svg_plot(bf, dir + "/bias_fluctuation_vs_eta.svg").written)
    v.figures.push_back({"sgd_tracks_flow/bias_fluctuation_vs_eta.svg",
                         "Bias (distance of the mean projected SGD path from the flow) and fluctuation (one path about "
                         "the mean), RMS over the comparison times, against eta (log-log), with the fitted bias order.",
                         "sgd_tracks_flow/bias_and_coefficient.csv"});
  cf.series = {per_eta, lows, highs};
  if (evidence.coefficient && evidence.coefficient_ci_low && evidence.coefficient_ci_high)
    cf.series.push_back({"extrapolated to eta = 0, with its interval",
                         {0, 0, 0},
                         {*evidence.coefficient_ci_low, *evidence.coefficient, *evidence.coefficient_ci_high},
                         PlotStyle::LinesPoints,
                         "#d62728",
                         false});
  for (const auto& [label, factor, color] :
       {std::tuple<const char*, double, const char*>{"s^2/(4B)", 1.0, "black"},
        {"0.9 and 1.1 times s^2/(4B)", 0.9, "#7f7f7f"},
        {"", 1.1, "#7f7f7f"}})
    cf.series.push_back({label, {0, eta_max}, {factor * limiting, factor * limiting}, PlotStyle::Lines, color, true});
  if (write_svg_plot(cf, dir + "/coefficient_vs_eta.svg").written)
    v.figures.push_back({"sgd_tracks_flow/coefficient_vs_eta.svg",
                         "The flow coefficient c fitted to the mean projected SGD path at each eta (with its 95% "
                         "interval) and its extrapolation to eta = 0 (at x = 0), against s^2/(4B) and 0.9 and 1.1 "
                         "times it.",
                         "sgd_tracks_flow/bias_and_coefficient.csv"});
  return v;
}

}  // namespace zeroloss
