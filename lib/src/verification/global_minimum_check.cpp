// Claim 1 (THEORY 5): every stationary point of T on M is the global minimum, and it is rank one.
// Evidence: from many random starts (a = 1 and, optionally, mixed-sign a), the Riemannian flow
// (run until ||grad_M T|| < G) and Riemannian L-BFGS both end at the closed-form optimum; decided
// run by run and as a whole by global_minimum_rule.hpp.

#include <cmath>
#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/presentation/significant_digits.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/global_minimum_rule.hpp"
#include "zeroloss/verification/report_inputs.hpp"
#include "zeroloss/verification/shell_command.hpp"

namespace zeroloss {

using nlohmann::json;

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
  const double tol = cfg["relative_tolerance"].get<double>();
  const double rank_tol = cfg["rank_tolerance"].get<double>();
  const double G = cfg["until_gradient"].get<double>();
  GlobalMinimumThresholds thresholds;
  thresholds.relative_tolerance = tol;
  thresholds.rank_tolerance = rank_tol;
  thresholds.until_gradient = G;
  GlobalMinimumEvidence evidence;
  const size_t first_command = ctx.begin_block();
  const std::string dir = ctx.dir("global_minimum");
  const std::string data = write_problem_data(ctx);
  size_t first_start_end = 0;  // the reproduce block shows the commands of the first start

  std::vector<bool> layers = {false};
  if (cfg["mixed_second_layer"].get<bool>()) layers.push_back(true);
  json runs = json::array();
  int failures = 0, total = 0;
  double worst_gap = 0, worst_dist = 0, worst_rank = 0;
  PlotSpec fig;
  fig.title = "T - T* along the Riemannian flow from each random start";
  fig.x_label = "flow time tau";
  fig.y_label = "T - T*";
  fig.log_y = true;
  fig.key = "off";
  std::ostringstream table;
  table << "layer,start,method,sharpness,T_star,relative_gap,rank_one_ratio,grad_norm,status\n";
  for (bool mixed : layers) {
    const std::string layer = mixed ? "mixed" : "ones";
    // The closed-form optimum for this second layer (the perpendicular parts come from start 0).
    const std::string start0 =
        write_random_start(ctx, data, m, 0 + (mixed ? 100 : 0), mixed, "global_minimum/start_" + layer + "_0.csv");
    const std::string opt_out = dir + "/optimum_" + layer + ".csv";
    ctx.progress("global minimum: closed-form optimum (a = " + layer + ")");
    json opt = ctx.run_json("global_minimum_optimum_" + layer, {"optimum", "--data", data, "--weights", start0,
                                                                "--activation", act, "--out", opt_out, "--json"});
    const double T_star = opt["sharpness"].get<double>();
    for (int k = 0; k < starts; ++k) {
      const std::string start =
          k == 0 ? start0
                 : write_random_start(ctx, data, m, k + (mixed ? 100 : 0), mixed,
                                      "global_minimum/start_" + layer + "_" + std::to_string(k) + ".csv");
      ctx.progress("global minimum: flow and L-BFGS from start " + std::to_string(k + 1) + "/" +
                   std::to_string(starts) + " (a = " + layer + ")");
      // (a) the Riemannian gradient flow until ||grad_M T|| < G.
      const std::string flow_dir = dir + "/flow_" + layer + "_" + std::to_string(k);
      json run = {{"layer", layer}, {"start", k}};
      ++total;
      const int rc = ctx.try_run("global_minimum_flow_" + layer + "_" + std::to_string(k),
                                 {"flow", "--data", data, "--weights", start, "--activation", act, "--coefficient", "1",
                                  "--time", format_double(cfg["flow_time"].get<double>()), "--until-grad",
                                  format_double(G), "--log-points", "100", "--no-figures", "--out", flow_dir});
      GlobalMinimumRun flow_run;
      flow_run.mixed_second_layer = mixed;
      flow_run.method = MinimumSearch::Flow;
      flow_run.completed = rc == 0;
      if (rc != 0) {
        ++failures;
        run["flow"] = {{"status", "error"}, {"exit_code", rc}};
      } else {
        json s = read_json_file(flow_dir + "/summary.json");
        json fin = s["final"];
        const double T = fin["sharpness"].get<double>();
        const double gap = std::abs(T - T_star) / std::abs(T_star);
        const double dist = fin["dist_R_opt"].is_number() ? fin["dist_R_opt"].get<double>() : NAN;
        const auto& sv = fin["preactivation_singular_values"];
        const double ratio = sv.size() > 1 ? sv[1].get<double>() / sv[0].get<double>() : 0.0;
        const double g = fin["grad_norm"].get<double>();
        flow_run.relative_gap = gap;
        flow_run.grad_norm = g;
        flow_run.dist_R_opt = dist;
        flow_run.rank_one_ratio = ratio;
        const bool ok = reached_global_minimum(flow_run, thresholds);
        if (!ok) ++failures;
        worst_gap = std::max(worst_gap, gap);
        if (std::isfinite(dist)) worst_dist = std::max(worst_dist, dist);
        if (!mixed) worst_rank = std::max(worst_rank, ratio);
        run["flow"] = {{"status", ok ? "reached" : "missed"},
                       {"sharpness", T},
                       {"relative_gap", gap},
                       {"dist_R_opt", fin["dist_R_opt"]},
                       {"rank_one_ratio", ratio},
                       {"grad_norm", g},
                       {"tau", fin["tau"]}};
        table << layer << "," << k << ",flow," << format_double(T) << "," << format_double(T_star) << ","
              << format_double(gap) << "," << format_double(ratio) << "," << format_double(g) << ","
              << (ok ? "reached" : "missed") << "\n";
        // The curve T - T* of this start, for the figure.
        const std::vector<double> tau = read_csv_column(flow_dir + "/trajectory.csv", "tau");
        const std::vector<double> Ts = read_csv_column(flow_dir + "/trajectory.csv", "sharpness");
        PlotSeries series{layer + " " + std::to_string(k), tau,  {}, PlotStyle::Lines,
                          mixed ? "#d62728" : "#1f77b4",   mixed};
        for (double t : Ts) series.y.push_back(t - T_star);
        fig.series.push_back(std::move(series));
      }
      evidence.runs.push_back(flow_run);
      // (b) Riemannian L-BFGS on M (Ceres) from the same start.
      ++total;
      const std::string lbfgs_out = dir + "/lbfgs_" + layer + "_" + std::to_string(k) + ".csv";
      const std::string log = "global_minimum_lbfgs_" + layer + "_" + std::to_string(k);
      std::string printed;
      const int rc2 = ctx.try_run(log,
                                  {"optimum", "--method", "lbfgs", "--data", data, "--weights", start, "--activation",
                                   act, "--out", lbfgs_out, "--json"},
                                  &printed);
      GlobalMinimumRun lbfgs_run;
      lbfgs_run.mixed_second_layer = mixed;
      lbfgs_run.method = MinimumSearch::Lbfgs;
      lbfgs_run.completed = rc2 == 0;
      if (rc2 != 0) {
        ++failures;
        run["lbfgs"] = {{"status", "error"}, {"exit_code", rc2}};
      } else {
        json s = json::parse(printed);
        const double T = s["sharpness"].get<double>();
        const double gap = std::abs(T - T_star) / std::abs(T_star);
        const double ratio = s["preactivation_rank_one_ratio"].get<double>();
        const double ratio2 = s["second_derivative_rank_one_ratio"].get<double>();
        lbfgs_run.relative_gap = gap;
        lbfgs_run.rank_one_ratio = ratio;
        lbfgs_run.phi2_rank_one_ratio = ratio2;
        const bool ok = reached_global_minimum(lbfgs_run, thresholds);
        if (!ok) ++failures;
        worst_gap = std::max(worst_gap, gap);
        run["lbfgs"] = {{"status", ok ? "reached" : "missed"},
                        {"sharpness", T},
                        {"relative_gap", gap},
                        {"rank_one_ratio", ratio},
                        {"phi2_rank_one_ratio", ratio2},
                        {"grad_norm", s["riemannian_grad_norm"]}};
        table << layer << "," << k << ",lbfgs," << format_double(T) << "," << format_double(T_star) << ","
              << format_double(gap) << "," << format_double(mixed ? ratio2 : ratio) << ","
              << format_double(s["riemannian_grad_norm"].get<double>()) << "," << (ok ? "reached" : "missed") << "\n";
      }
      evidence.runs.push_back(lbfgs_run);
      runs.push_back(run);
      if (first_start_end == 0) first_start_end = ctx.commands().size();
    }
  }
  write_file_atomic(dir + "/runs.csv", table.str());
  std::vector<std::string> cmds(ctx.commands().begin() + first_command, ctx.commands().begin() + first_start_end);
  v.command = join_commands(cmds) + "\n# and the same for every start" +
              (layers.size() > 1 ? std::string(" and for the mixed-sign a") : std::string("")) +
              " (all commands in logs/)";
  v.numbers = {{"runs", total},
               {"missed", failures},
               {"worst_relative_gap", worst_gap},
               {"worst_rank_one_ratio_a1", worst_rank},
               {"worst_dist_R_opt", worst_dist},
               {"relative_tolerance", tol},
               {"rank_tolerance", rank_tol},
               {"until_gradient", G},
               {"details", runs}};
  v.status = decide_global_minimum(evidence, thresholds).status;
  std::ostringstream ev;
  ev << total << " runs (Riemannian flow until ||grad_M T|| < " << significant_digits(G)
     << ", and Riemannian L-BFGS) from " << starts << " random starts"
     << (layers.size() > 1 ? " for a = 1 and for a mixed-sign a" : "") << ": " << total - failures
     << " reached the closed-form optimum T* (largest relative gap " << significant_digits(worst_gap, 3)
     << ", tolerance " << significant_digits(tol)
     << "); largest sigma_2/sigma_1 of R at the end (a = 1): " << significant_digits(worst_rank, 3) << " (tolerance "
     << significant_digits(rank_tol) << ")"
     << (failures ? "; " + std::to_string(failures) + " runs missed it (see runs.csv)" : "") << ".";
  v.evidence = ev.str();
  if (!fig.series.empty()) {
    const PlotOutcome po = write_svg_plot(fig, dir + "/flow_gaps.svg");
    if (po.written)
      v.figures.push_back({"global_minimum/flow_gaps.svg",
                           "T - T* along the flow from every start (blue: a = 1, red dashed: mixed-sign a).",
                           "global_minimum/flow_*/trajectory.csv"});
  }
  return v;
}

}  // namespace zeroloss
