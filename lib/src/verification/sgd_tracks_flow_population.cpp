#include "sgd_tracks_flow_population.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <thread>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/verification/shell_command.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

std::optional<double> number_or_none(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? std::optional<double>(j[key].get<double>())
                                                                : std::nullopt;
}

std::string number_or_empty(const std::optional<double>& x) { return x ? format_double(*x) : ""; }

// One problem of the population and one second layer.
struct Member {
  std::string family;  // "figure1" or "gaussian"
  int n = 0, d = 0, m = 0, seed = 0;
  bool mixed = false;  // a mixed-sign second layer (else a = 1)
  std::string name() const {
    return family + "_n" + std::to_string(n) + "_d" + std::to_string(d) + "_m" + std::to_string(m) + "_seed" +
           std::to_string(seed) + (mixed ? "_mixed" : "_ones");
  }
};

}  // namespace

SgdTracksFlowEvidence sgd_tracks_flow_evidence_from(const json& tracking) {
  SgdTracksFlowEvidence e;
  const json& order = tracking["bias_order_fit"];
  e.bias_order = number_or_none(order, "exponent_p");
  e.bias_order_ci_low = number_or_none(order, "slope_ci_low");
  e.bias_order_ci_high = number_or_none(order, "slope_ci_high");
  const json& c = tracking["coefficient_fit"];
  e.coefficient = number_or_none(c, "estimate");
  e.coefficient_ci_low = number_or_none(c, "ci_low");
  e.coefficient_ci_high = number_or_none(c, "ci_high");
  e.reference_coefficient = tracking["reference_flow"]["reference_coefficient"].get<double>();
  return e;
}

SgdTracksFlowPopulation run_sgd_tracks_flow_population(VerificationContext& ctx, const SgdTracksFlowThresholds& t) {
  const json& claim = ctx.config()["sgd_tracks_flow"];
  const json& cfg = claim["population"];
  const json& problem = ctx.config()["problem"];
  const std::string act = problem["activation"].get<std::string>();
  std::vector<Member> members;
  const json& f1 = cfg["figure1"];
  for (int k = 0; k < f1["draws"].get<int>(); ++k)
    for (bool mixed : {false, true})
      members.push_back({"figure1", f1["n"].get<int>(), f1["d"].get<int>(), f1["m"].get<int>(),
                         f1["first_data_seed"].get<int>() + k, mixed});
  for (const json& size : cfg["gaussian_sizes"])
    for (int k = 0; k < cfg["gaussian_draws"].get<int>(); ++k)
      for (bool mixed : {false, true})
        members.push_back({"gaussian", size[0].get<int>(), size[1].get<int>(), size[2].get<int>(),
                           cfg["gaussian_first_data_seed"].get<int>() + k, mixed});
  std::string lr_list;
  for (const auto& x : cfg["lr_list"]) lr_list += (lr_list.empty() ? "" : ",") + format_double(x.get<double>());

  // Data and start of every member (quick, one after the other), then the comparisons in parallel.
  std::vector<VerificationContext::Command> batch;
  std::vector<double> cost;
  std::vector<std::string> dirs, data_commands;
  const std::string population_dir = ctx.dir("sgd_tracks_flow/population");
  for (size_t q = 0; q < members.size(); ++q) {
    const Member& mb = members[q];
    ctx.progress("SGD vs flow: population member " + std::to_string(q + 1) + "/" + std::to_string(members.size()) +
                 " (" + mb.name() + "), data");
    const std::string dir = ctx.dir("sgd_tracks_flow/population/" + mb.name());
    const bool g = mb.family == "gaussian";
    std::vector<std::string> args = {"data", "--generator", g ? problem["generator"].get<std::string>() : "uniform01",
                                     "--n", std::to_string(mb.n), "--d", std::to_string(mb.d)};
    if (g) args.insert(args.end(), {"--label-scale", format_double(problem["label_scale"].get<double>())});
    args.insert(args.end(), {"--seed", std::to_string(mb.seed), "--out", dir + "/data.csv", "--weights-out",
                             dir + "/start.csv", "--m", std::to_string(mb.m), "--init-scale",
                             format_double(cfg["init_scale"].get<double>())});
    if (mb.mixed) args.push_back("--a-mixed");
    ctx.run("sgd_tracks_flow_population_" + mb.name() + "_data", args);
    data_commands.push_back(ctx.commands().back());
    batch.push_back({"sgd_tracks_flow_population_" + mb.name(),
                     {"compare", "--data", dir + "/data.csv", "--weights", dir + "/start.csv", "--activation", act,
                      "--label-noise", format_double(claim["label_noise"].get<double>()), "--batch",
                      std::to_string(claim["batch"].get<int>()), "--lr-list", lr_list, "--time",
                      format_double(claim["time"].get<double>()), "--seeds", std::to_string(cfg["seeds"].get<int>()),
                      "--points", std::to_string(claim["points"].get<int>()), "--threads", "1", "--no-figures",
                      "--out", dir + "/compare"}});
    const double F = claim["flow_coefficient_scale"].get<double>();  // the claim's flow, as on the anchor problem
    if (F != 1) batch.back().args.insert(batch.back().args.end(), {"--flow-coefficient-scale", format_double(F)});
    // Figure 1 members cost about ten times a Gaussian one of the largest size (measured): first.
    cost.push_back(g ? static_cast<double>(mb.n) * mb.d * mb.m : 1e9);
    dirs.push_back(dir);
  }
  ctx.progress("SGD vs flow: " + std::to_string(batch.size()) + " population members in parallel");
  const size_t batch_first = ctx.commands().size();
  const std::vector<int> codes =
      ctx.try_run_parallel(batch, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), cost);
  for (size_t k = 0; k < batch.size(); ++k)
    if (codes[k] != 0)
      throw CommandFailedError("`" + ctx.commands()[batch_first + k] + "` exited with code " +
                               std::to_string(codes[k]) + ": " +
                               tail_of_file(ctx.out() + "/logs/" + batch[k].log_name + ".err", 3) + "(full output in " +
                               ctx.out() + "/logs/" + batch[k].log_name + ".out/.err)");

  SgdTracksFlowPopulation out;
  std::ostringstream table;
  table << "family,n,d,m,data_seed,layer,reference_coefficient,c,c_ci_low,c_ci_high,c_relative_width,bias_order,"
           "bias_order_ci_low,bias_order_ci_high,tested,held\n";
  int tested = 0, held = 0;
  std::optional<size_t> worst;  // the worst member: a tested one that fails, else the largest |c/ref - 1|
  auto badness = [&](size_t k) {
    const SgdTracksFlowEvidence& e = out.members[k];
    const bool dec = sgd_tracks_flow_decidable(e, t);
    const bool ok = dec && decide_sgd_tracks_flow(e, t).status == VerdictStatus::Pass;
    const double off = e.coefficient ? std::abs(*e.coefficient / e.reference_coefficient - 1) : HUGE_VAL;
    return std::make_tuple(dec && !ok, dec, off);
  };
  json listed = json::array();
  for (size_t k = 0; k < members.size(); ++k) {
    const Member& mb = members[k];
    const SgdTracksFlowEvidence e = sgd_tracks_flow_evidence_from(read_json_file(dirs[k] + "/compare/flow_tracking.json"));
    out.members.push_back(e);
    const bool dec = sgd_tracks_flow_decidable(e, t);
    const bool ok = dec && decide_sgd_tracks_flow(e, t).status == VerdictStatus::Pass;
    tested += dec ? 1 : 0;
    held += ok ? 1 : 0;
    const std::optional<double> width =
        e.coefficient_ci_low && e.coefficient_ci_high
            ? std::optional<double>((*e.coefficient_ci_high - *e.coefficient_ci_low) / e.reference_coefficient)
            : std::nullopt;
    table << mb.family << "," << mb.n << "," << mb.d << "," << mb.m << "," << mb.seed << ","
          << (mb.mixed ? "mixed" : "ones") << "," << format_double(e.reference_coefficient) << ","
          << number_or_empty(e.coefficient) << "," << number_or_empty(e.coefficient_ci_low) << ","
          << number_or_empty(e.coefficient_ci_high) << "," << number_or_empty(width) << ","
          << number_or_empty(e.bias_order) << "," << number_or_empty(e.bias_order_ci_low) << ","
          << number_or_empty(e.bias_order_ci_high) << "," << (dec ? "yes" : "no") << "," << (dec ? (ok ? "yes" : "no") : "")
          << "\n";
    listed.push_back({{"member", mb.name()}, {"tested", dec}, {"held", dec ? json(ok) : json(nullptr)}});
    if (!worst || badness(k) > badness(*worst)) worst = k;
  }
  write_file_atomic(population_dir + "/members.csv", table.str());

  json numbers = {{"members", members.size()},
                  {"tested", tested},
                  {"held", held},
                  {"min_tested_fraction", t.min_tested_fraction},
                  {"lr_list", cfg["lr_list"]},
                  {"seeds", cfg["seeds"]},
                  {"per_member", listed}};
  std::ostringstream ev;
  ev << "Population: " << f1["draws"].get<int>() << " Figure 1 draws (uniform data, n = " << f1["n"].get<int>()
     << ", d = " << f1["d"].get<int>() << ", m = " << f1["m"].get<int>() << ") and " << cfg["gaussian_draws"].get<int>()
     << " Gaussian draws at each of";
  for (const json& size : cfg["gaussian_sizes"])
    ev << " (" << size[0].get<int>() << ", " << size[1].get<int>() << ", " << size[2].get<int>() << ")";
  ev << ", each for a = 1 and a mixed-sign a (" << members.size() << " members, " << cfg["seeds"].get<int>()
     << " SGD runs per eta in {" << lr_list << "}): " << tested << " tested (both intervals narrow enough to decide), "
     << held << " of them held the claim, " << members.size() - tested << " untested (not counted)";
  if (worst) {
    const Member& w = members[*worst];
    const SgdTracksFlowEvidence& e = out.members[*worst];
    json rerun_config = {
        {"claims", {"sgd_tracks_flow"}},
        {"sgd_tracks_flow",
         {{"population",
           {{"figure1", {{"draws", w.family == "figure1" ? 1 : 0}, {"first_data_seed", w.seed}}},
            {"gaussian_sizes", json::array({json::array({w.n, w.d, w.m})})},
            {"gaussian_draws", w.family == "gaussian" ? 1 : 0},
            {"gaussian_first_data_seed", w.seed}}}}}};
    numbers["worst_member"] = {{"member", w.name()},
                               {"tested", sgd_tracks_flow_decidable(e, t)},
                               {"coefficient", number_or_empty(e.coefficient)},
                               {"coefficient_ci", {number_or_empty(e.coefficient_ci_low), number_or_empty(e.coefficient_ci_high)}},
                               {"bias_order", number_or_empty(e.bias_order)},
                               {"data_command", data_commands[*worst]},
                               {"compare_command", ctx.commands()[batch_first + *worst]},
                               {"rerun_config", rerun_config}};
    ev << ". Worst member " << w.name() << ": c = "
       << (e.coefficient ? short_number(*e.coefficient, 4) : std::string("not fitted"));
    if (e.coefficient_ci_low && e.coefficient_ci_high)
      ev << " [" << short_number(*e.coefficient_ci_low, 4) << ", " << short_number(*e.coefficient_ci_high, 4) << "]";
    ev << " against " << short_number(e.reference_coefficient, 4) << ", bias order "
       << (e.bias_order ? short_number(*e.bias_order, 3) : std::string("not fitted"))
       << (sgd_tracks_flow_decidable(e, t) ? "" : " (untested)") << "; rerun it alone (both layers) with `zeroloss run "
       << "CONFIG` where CONFIG is " << rerun_config.dump();
  }
  ev << ".";
  out.numbers = numbers;
  out.evidence = ev.str();

  // The distribution: c/ref with its interval per member, tested and untested apart, and the band.
  PlotSpec fig;
  fig.title = "SGD vs flow on the population: fitted flow coefficient / s^2/(4B), with 95% intervals";
  fig.x_label = "member (in the order of members.csv)";
  fig.y_label = "c / (s^2/(4B))";
  fig.key = "top left";
  PlotSeries tc{"tested member", {}, {}, PlotStyle::Points, "#1f77b4", false};
  PlotSeries uc{"untested member (interval too wide)", {}, {}, PlotStyle::Points, "#ff7f0e", false};
  PlotSeries ends{"interval ends", {}, {}, PlotStyle::Points, "#7f7f7f", false};
  for (size_t k = 0; k < out.members.size(); ++k) {
    const SgdTracksFlowEvidence& e = out.members[k];
    if (!e.coefficient) continue;
    PlotSeries& s = sgd_tracks_flow_decidable(e, t) ? tc : uc;
    s.x.push_back(static_cast<double>(k));
    s.y.push_back(*e.coefficient / e.reference_coefficient);
    for (const auto& end : {e.coefficient_ci_low, e.coefficient_ci_high})
      if (end) {
        ends.x.push_back(static_cast<double>(k));
        ends.y.push_back(*end / e.reference_coefficient);
      }
  }
  fig.series = {tc, uc, ends};
  const double x_end = static_cast<double>(std::max<size_t>(out.members.size(), 1));
  for (const auto& [label, level, color] :
       {std::tuple<const char*, double, const char*>{"the claim, 1", 1.0, "black"},
        {"1 -/+ coefficient_tolerance", 1 - t.coefficient_tolerance, "#7f7f7f"},
        {"", 1 + t.coefficient_tolerance, "#7f7f7f"}})
    fig.series.push_back({label, {0.0, x_end}, {level, level}, PlotStyle::Lines, color, true});
  if (write_svg_plot(fig, population_dir + "/population.svg").written)
    out.figures.push_back({"sgd_tracks_flow/population/population.svg",
                           "Per member of the population (problem and second layer), the flow coefficient fitted to the "
                           "mean projected SGD path and extrapolated to eta = 0, over s^2/(4B), with its 95% interval "
                           "ends; blue: tested members, orange: untested (an interval too wide to decide); dashed: the "
                           "claim's value and the 10% band.",
                           "sgd_tracks_flow/population/members.csv"});
  return out;
}

}  // namespace zeroloss
