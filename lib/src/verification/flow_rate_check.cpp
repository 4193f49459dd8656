// Claim 2: the Riemannian flow of T converges exponentially, T - T* ~ A exp(-mu tau) (local strong
// convexity at the minimum, THEORY 5-6). Evidence: the flow from start 0 of the problem, the fitted
// rate of its tail and the fit quality; decided by decide_flow_rate (flow_rate_rule.hpp).

#include <cmath>
#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/number_text.hpp"
#include "zeroloss/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/flow_rate_rule.hpp"
#include "zeroloss/verification/report_inputs.hpp"

namespace zeroloss {

using nlohmann::json;

Verdict check_flow_rate(VerificationContext& ctx) {
  Verdict v;
  v.key = "flow_rate";
  v.claim = "The Riemannian gradient flow of T converges to the minimum exponentially fast";
  const json& cfg = ctx.config()["flow_rate"];
  const json& problem = ctx.config()["problem"];
  const std::string act = problem["activation"].get<std::string>();
  const size_t first = ctx.begin_block();
  const std::string dir = ctx.dir("flow_rate");
  const std::string data = write_problem_data(ctx);
  const std::string start = write_random_start(ctx, data, problem["m"].get<int>(), 0, false, "flow_rate/start.csv");
  ctx.progress("flow rate: integrating the flow to tau = " + short_number(cfg["flow_time"].get<double>(), 4));
  ctx.run("flow_rate_flow", {"flow", "--data", data, "--weights", start, "--activation", act, "--coefficient", "1",
                             "--time", format_double(cfg["flow_time"].get<double>()), "--log-points",
                             std::to_string(cfg["log_points"].get<int>()), "--no-figures", "--out", dir + "/flow"});
  v.command = ctx.commands_since(first);
  json s = read_json_file(dir + "/flow/summary.json");
  FlowRateEvidence evidence;
  evidence.optimum_known = s.contains("rate_fit");
  if (!evidence.optimum_known) {
    v.status = decide_flow_rate(evidence, FlowRateThresholds()).status;
    v.evidence = "no closed-form T* for this problem, so the gap T - T* cannot be fitted: " + s["optimum"].dump();
    return v;
  }
  json fit = s["rate_fit"];
  v.numbers = {{"rate_fit", fit},
               {"T_star", s["optimum"]["sharpness"]},
               {"final", s["final"]},
               {"accepted_steps", s["accepted_steps"]},
               {"rejected_steps", s["rejected_steps"]},
               {"max_constraint_drift", s["max_constraint_drift"]}};
  evidence.fitted = fit["fitted"].get<bool>();
  if (evidence.fitted) {
    evidence.rate = fit["rate_mu"].get<double>();
    evidence.first_half_rate = fit["first_half_rate"].get<double>();
    evidence.second_half_rate = fit["second_half_rate"].get<double>();
    evidence.r_squared = fit["r_squared"].get<double>();
  }
  v.status = decide_flow_rate(evidence, FlowRateThresholds()).status;
  std::ostringstream ev;
  if (fit["fitted"].get<bool>()) {
    ev << "T - T* ~ A exp(-mu tau) on the tail tau in [" << short_number(fit["tau_start"].get<double>(), 4) << ", "
       << short_number(fit["tau_end"].get<double>(), 4)
       << "]: mu = " << short_number(fit["rate_mu"].get<double>(), 4);
    if (fit["rate_ci_low"].is_number())
      ev << " (95% interval [" << short_number(fit["rate_ci_low"].get<double>(), 4) << ", "
         << short_number(fit["rate_ci_high"].get<double>(), 4) << "])";
    ev << ", R^2 = " << short_number(fit["r_squared"].get<double>(), 6)
       << ", rate in the first and second half of the tail " << short_number(fit["first_half_rate"].get<double>(), 4)
       << " and " << short_number(fit["second_half_rate"].get<double>(), 4) << ". ";
  }
  ev << fit["verdict"].get<std::string>();
  v.evidence = ev.str();

  // Figure: T - T* against tau on a log scale, with the fitted line.
  const double T_star = s["optimum"]["sharpness"].get<double>();
  const std::vector<double> tau = read_csv_column(dir + "/flow/trajectory.csv", "tau");
  const std::vector<double> T = read_csv_column(dir + "/flow/trajectory.csv", "sharpness");
  PlotSpec fig;
  fig.title = "Flow of T: T - T* against flow time";
  fig.x_label = "flow time tau";
  fig.y_label = "T - T*";
  fig.log_y = true;
  PlotSeries gap{"flow", tau, {}, PlotStyle::Lines, "#1f77b4", false};
  std::ostringstream csv;
  csv << "tau,gap\n";
  for (size_t k = 0; k < T.size(); ++k) {
    gap.y.push_back(T[k] - T_star);
    csv << format_double(tau[k]) << "," << format_double(T[k] - T_star) << "\n";
  }
  fig.series.push_back(gap);
  if (fit["fitted"].get<bool>()) {
    PlotSeries line{"fit A exp(-mu tau)", {}, {}, PlotStyle::Lines, "black", true};
    const double A = fit["amplitude"].get<double>(), mu = fit["rate_mu"].get<double>();
    for (double t : tau)
      if (t >= fit["tau_start"].get<double>() && t <= fit["tau_end"].get<double>()) {
        line.x.push_back(t);
        line.y.push_back(A * std::exp(-mu * t));
      }
    if (!line.x.empty()) fig.series.push_back(line);
  }
  write_file_atomic(dir + "/gap.csv", csv.str());
  if (write_svg_plot(fig, dir + "/gap.svg").written)
    v.figures.push_back({"flow_rate/gap.svg", "T - T* along the flow (log scale) with the fitted exponential tail.",
                         "flow_rate/gap.csv"});
  return v;
}

}  // namespace zeroloss
