// Claim 1 (THEORY 5): every stationary point of T on M is the global minimum, and it is rank one.
// Evidence: from many random starts (a = 1 and, optionally, mixed-sign a), the Riemannian flow
// (run until ||grad_M T|| < G) and Riemannian L-BFGS both end at the closed-form optimum; decided
// run by run and as a whole by global_minimum_rule.hpp.

#include <cmath>
#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/number_text.hpp"
#include "zeroloss/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/global_minimum_rule.hpp"
#include "zeroloss/verification/report_inputs.hpp"
#include "zeroloss/verification/shell_command.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

// One random start: its second layer, index, weights file and the closed-form T* for that layer.
struct Start {
  bool mixed = false;
  std::string layer;  // "ones" or "mixed"
  int index = 0;
  std::string weights;
  double T_star = 0;
};

// What the runs from every start collect: the evidence, and what the verdict shows of it.
struct Collected {
  GlobalMinimumEvidence evidence;
  json details = json::array();  // one record per start: {layer, start, flow, lbfgs}
  std::ostringstream table;      // runs.csv
  PlotSpec figure;               // T - T* along every flow
  int missed = 0;
  double worst_gap = 0, worst_dist = 0, worst_rank = 0;
};

// (a) The Riemannian gradient flow from the start until ||grad_M T|| < G; its result in record["flow"].
void flow_from(VerificationContext& ctx, const std::string& data, const Start& s, const GlobalMinimumThresholds& t,
               Collected& c, json& record) {
  const json& cfg = ctx.config()["global_minimum"];
  const std::string act = ctx.config()["problem"]["activation"].get<std::string>();
  const std::string k = std::to_string(s.index);
  const std::string flow_dir = ctx.out() + "/global_minimum/flow_" + s.layer + "_" + k;
  const int rc =
      ctx.try_run("global_minimum_flow_" + s.layer + "_" + k,
                  {"flow", "--data", data, "--weights", s.weights, "--activation", act, "--coefficient", "1", "--time",
                   format_double(cfg["flow_time"].get<double>()), "--until-grad", format_double(t.until_gradient),
                   "--log-points", "100", "--no-figures", "--out", flow_dir});
  GlobalMinimumRun run;
  run.mixed_second_layer = s.mixed;
  run.method = MinimumSearch::Flow;
  run.completed = rc == 0;
  if (rc != 0) {
    ++c.missed;
    record["flow"] = {{"status", "error"}, {"exit_code", rc}};
    c.evidence.runs.push_back(run);
    return;
  }
  json summary = read_json_file(flow_dir + "/summary.json");
  json fin = summary["final"];
  const double T = fin["sharpness"].get<double>();
  const auto& sv = fin["preactivation_singular_values"];
  run.relative_gap = std::abs(T - s.T_star) / std::abs(s.T_star);
  run.dist_R_opt = fin["dist_R_opt"].is_number() ? fin["dist_R_opt"].get<double>() : NAN;
  run.rank_one_ratio = sv.size() > 1 ? sv[1].get<double>() / sv[0].get<double>() : 0.0;
  run.grad_norm = fin["grad_norm"].get<double>();
  c.evidence.runs.push_back(run);
  const bool ok = reached_global_minimum(run, t);
  if (!ok) ++c.missed;
  c.worst_gap = std::max(c.worst_gap, run.relative_gap);
  if (std::isfinite(run.dist_R_opt)) c.worst_dist = std::max(c.worst_dist, run.dist_R_opt);
  if (!s.mixed) c.worst_rank = std::max(c.worst_rank, run.rank_one_ratio);
  record["flow"] = {{"status", ok ? "reached" : "missed"},
                    {"sharpness", T},
                    {"relative_gap", run.relative_gap},
                    {"dist_R_opt", fin["dist_R_opt"]},
                    {"rank_one_ratio", run.rank_one_ratio},
                    {"grad_norm", run.grad_norm},
                    {"tau", fin["tau"]}};
  c.table << s.layer << "," << k << ",flow," << format_double(T) << "," << format_double(s.T_star) << ","
          << format_double(run.relative_gap) << "," << format_double(run.rank_one_ratio) << ","
          << format_double(run.grad_norm) << "," << (ok ? "reached" : "missed") << "\n";
  // The curve T - T* of this start, for the figure.
  const std::vector<double> tau = read_csv_column(flow_dir + "/trajectory.csv", "tau");
  const std::vector<double> Ts = read_csv_column(flow_dir + "/trajectory.csv", "sharpness");
  PlotSeries series{s.layer + " " + k, tau, {}, PlotStyle::Lines, s.mixed ? "#d62728" : "#1f77b4", s.mixed};
  for (double x : Ts) series.y.push_back(x - s.T_star);
  c.figure.series.push_back(std::move(series));
}

// (b) Riemannian L-BFGS on M (Ceres) from the same start; its result in record["lbfgs"].
void lbfgs_from(VerificationContext& ctx, const std::string& data, const Start& s, const GlobalMinimumThresholds& t,
                Collected& c, json& record) {
  const std::string act = ctx.config()["problem"]["activation"].get<std::string>();
  const std::string k = std::to_string(s.index);
  const std::string lbfgs_out = ctx.out() + "/global_minimum/lbfgs_" + s.layer + "_" + k + ".csv";
  std::string printed;
  const int rc = ctx.try_run("global_minimum_lbfgs_" + s.layer + "_" + k,
                             {"optimum", "--method", "lbfgs", "--data", data, "--weights", s.weights, "--activation",
                              act, "--out", lbfgs_out, "--json"},
                             &printed);
  GlobalMinimumRun run;
  run.mixed_second_layer = s.mixed;
  run.method = MinimumSearch::Lbfgs;
  run.completed = rc == 0;
  if (rc != 0) {
    ++c.missed;
    record["lbfgs"] = {{"status", "error"}, {"exit_code", rc}};
    c.evidence.runs.push_back(run);
    return;
  }
  json summary = json::parse(printed);
  const double T = summary["sharpness"].get<double>();
  run.relative_gap = std::abs(T - s.T_star) / std::abs(s.T_star);
  run.rank_one_ratio = summary["preactivation_rank_one_ratio"].get<double>();
  run.phi2_rank_one_ratio = summary["second_derivative_rank_one_ratio"].get<double>();
  c.evidence.runs.push_back(run);
  const bool ok = reached_global_minimum(run, t);
  if (!ok) ++c.missed;
  c.worst_gap = std::max(c.worst_gap, run.relative_gap);
  record["lbfgs"] = {{"status", ok ? "reached" : "missed"},
                     {"sharpness", T},
                     {"relative_gap", run.relative_gap},
                     {"rank_one_ratio", run.rank_one_ratio},
                     {"phi2_rank_one_ratio", run.phi2_rank_one_ratio},
                     {"grad_norm", summary["riemannian_grad_norm"]}};
  c.table << s.layer << "," << k << ",lbfgs," << format_double(T) << "," << format_double(s.T_star) << ","
          << format_double(run.relative_gap) << ","
          << format_double(s.mixed ? run.phi2_rank_one_ratio : run.rank_one_ratio) << ","
          << format_double(summary["riemannian_grad_norm"].get<double>()) << "," << (ok ? "reached" : "missed") << "\n";
}

}  // namespace

Verdict check_global_minimum(VerificationContext& ctx) {
  Verdict v;
  v.key = "global_minimum";
  v.claim =
      "Every stationary point of the sharpness T on the zero-loss manifold is the global minimum, and it is rank one";
  const json& cfg = ctx.config()["global_minimum"];
  const json& problem = ctx.config()["problem"];
  const int starts = cfg["starts"].get<int>();
  const int m = problem["m"].get<int>();
  const std::string act = problem["activation"].get<std::string>();
  GlobalMinimumThresholds thresholds;
  thresholds.relative_tolerance = cfg["relative_tolerance"].get<double>();
  thresholds.rank_tolerance = cfg["rank_tolerance"].get<double>();
  thresholds.until_gradient = cfg["until_gradient"].get<double>();
  const size_t first_command = ctx.begin_block();
  const std::string dir = ctx.dir("global_minimum");
  const std::string data = write_problem_data(ctx);
  size_t first_start_end = 0;  // the reproduce block shows the commands of the first start

  std::vector<bool> layers = {false};
  if (cfg["mixed_second_layer"].get<bool>()) layers.push_back(true);
  Collected c;
  c.figure.title = "T - T* along the Riemannian flow from each random start";
  c.figure.x_label = "flow time tau";
  c.figure.y_label = "T - T*";
  c.figure.log_y = true;
  c.figure.key = "off";
  c.table << "layer,start,method,sharpness,T_star,relative_gap,rank_one_ratio,grad_norm,status\n";
  for (bool mixed : layers) {
    Start s;
    s.mixed = mixed;
    s.layer = mixed ? "mixed" : "ones";
    // The closed-form optimum for this second layer (the perpendicular parts come from start 0).
    const std::string start0 =
        write_random_start(ctx, data, m, 0 + (mixed ? 100 : 0), mixed, "global_minimum/start_" + s.layer + "_0.csv");
    const std::string opt_out = dir + "/optimum_" + s.layer + ".csv";
    ctx.progress("global minimum: closed-form optimum (a = " + s.layer + ")");
    json opt = ctx.run_json("global_minimum_optimum_" + s.layer, {"optimum", "--data", data, "--weights", start0,
                                                                  "--activation", act, "--out", opt_out, "--json"});
    s.T_star = opt["sharpness"].get<double>();
    for (int k = 0; k < starts; ++k) {
      s.index = k;
      s.weights = k == 0 ? start0
                         : write_random_start(ctx, data, m, k + (mixed ? 100 : 0), mixed,
                                              "global_minimum/start_" + s.layer + "_" + std::to_string(k) + ".csv");
      ctx.progress("global minimum: flow and L-BFGS from start " + std::to_string(k + 1) + "/" +
                   std::to_string(starts) + " (a = " + s.layer + ")");
      json record = {{"layer", s.layer}, {"start", k}};
      flow_from(ctx, data, s, thresholds, c, record);
      lbfgs_from(ctx, data, s, thresholds, c, record);
      c.details.push_back(record);
      if (first_start_end == 0) first_start_end = ctx.commands().size();
    }
  }
  write_file_atomic(dir + "/runs.csv", c.table.str());
  std::vector<std::string> cmds(ctx.commands().begin() + first_command, ctx.commands().begin() + first_start_end);
  v.command = join_commands(cmds) + "\n# and the same for every start" +
              (layers.size() > 1 ? std::string(" and for the mixed-sign a") : std::string("")) +
              " (all commands in logs/)";
  const int total = static_cast<int>(c.evidence.runs.size());
  v.numbers = {{"runs", total},
               {"missed", c.missed},
               {"worst_relative_gap", c.worst_gap},
               {"worst_rank_one_ratio_a1", c.worst_rank},
               {"worst_dist_R_opt", c.worst_dist},
               {"relative_tolerance", thresholds.relative_tolerance},
               {"rank_tolerance", thresholds.rank_tolerance},
               {"until_gradient", thresholds.until_gradient},
               {"details", c.details}};
  v.status = decide_global_minimum(c.evidence, thresholds).status;
  std::ostringstream ev;
  ev << total << " runs (Riemannian flow until ||grad_M T|| < " << short_number(thresholds.until_gradient, 4)
     << ", and Riemannian L-BFGS) from " << starts << " random starts"
     << (layers.size() > 1 ? " for a = 1 and for a mixed-sign a" : "") << ": " << total - c.missed
     << " reached the closed-form optimum T* (largest relative gap " << short_number(c.worst_gap, 3)
     << ", tolerance " << short_number(thresholds.relative_tolerance, 4)
     << "); largest sigma_2/sigma_1 of R at the end (a = 1): " << short_number(c.worst_rank, 3) << " (tolerance "
     << short_number(thresholds.rank_tolerance, 4) << ")"
     << (c.missed ? "; " + std::to_string(c.missed) + " runs missed it (see runs.csv)" : "") << ".";
  v.evidence = ev.str();
  if (!c.figure.series.empty()) {
    const PlotOutcome po = write_svg_plot(c.figure, dir + "/flow_gaps.svg");
    if (po.written)
      v.figures.push_back({"global_minimum/flow_gaps.svg",
                           "T - T* along the flow from every start (blue: a = 1, red dashed: mixed-sign a).",
                           "global_minimum/flow_*/trajectory.csv"});
  }
  return v;
}

}  // namespace zeroloss
