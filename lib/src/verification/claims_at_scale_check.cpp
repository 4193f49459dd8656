// Claim 8 (issue 14, section 4): the claims at scale. On one Gaussian data set of the configured
// size (full mode: n = 100, d = 1000, m = 1000; cubic, a = 1): `zeroloss optimum` (closed-form T*
// and lambda_min of Hess_M T with its residual certificate), `zeroloss optimum --method
// trust-region`, `zeroloss flow` for flow_decades ln 10 / (2 lambda_min) (the final rate of T - T* is
// 2 lambda_min, THEORY 10) or until ||grad_M T|| < until_gradient, and `zeroloss convexity` anchored
// at the minimiser with only the geodesic scheme (geodesic_points points out to max_distance, no
// random starts, no search). Decided by decide_claims_at_scale (claims_at_scale_rule.hpp).
// Power, decided by the same rule: the flow for short_flow_fraction of its time; the trust region
// stopped at loose_trust_region_gradient; the closed-form stationary point and its neighbourhood for
// tanh (phi''' < 0 near 0: THEORY 5's assumption fails, the point is not a minimum); the feature
// matrix at the flow's start instead of its end; T* off by mutant_value_tolerances tolerances.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/claims_at_scale_rule.hpp"
#include "zeroloss/verification/shell_command.hpp"
#include "convexity_run_reading.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

constexpr int kNotConverged = 5;  // the exit code of optimum and flow that did not converge

double number_or_nan(const json& j) { return j.is_number() ? j.get<double>() : std::nan(""); }

// sigma_k/sigma_1, k = 2, 3, ..., of the singular values `sv` (a JSON list).
std::vector<double> ratios_to_first(const json& sv) {
  std::vector<double> r;
  for (size_t k = 1; k < sv.size(); ++k) r.push_back(sv[k].get<double>() / sv[0].get<double>());
  return r;
}

CertifiedLambdaMin lambda_min_of(const json& optimum) {
  const json& s = optimum["hessian_spectrum"];
  CertifiedLambdaMin l;
  l.converged = s.is_object() && s["converged"].is_boolean() && s["converged"].get<bool>() &&
                optimum["hessian_lambda_min"].is_number();
  l.lambda_min = number_or_nan(optimum["hessian_lambda_min"]);
  l.residual = s.is_object() ? number_or_nan(s["lambda_min_residual"]) : std::nan("");
  l.threshold = s.is_object() ? number_or_nan(s["threshold"]) : std::nan("");
  return l;
}

// The end of `zeroloss flow` in `dir` (exit code rc): 0, or 5 at its step limit (the point reached
// is written and judged); any other code is not evidence and throws.
ScaleRunEnd read_flow(const std::string& dir, int rc, bool start_instead) {
  if (rc != 0 && rc != kNotConverged)
    throw CommandFailedError("`zeroloss flow` exited with code " + std::to_string(rc) + " (output " + dir + ")");
  const json s = read_json_file(dir + "/summary.json");
  const json& row = s[start_instead ? "initial" : "final"];
  ScaleRunEnd e;
  e.completed = true;
  e.converged = rc == 0;
  e.sharpness = row["sharpness"].get<double>();
  e.grad_norm = number_or_nan(row["grad_norm"]);
  e.feature_ratios = ratios_to_first(row["feature_singular_values"]);
  return e;
}

// The end of `zeroloss optimum --method trust-region --json` (its stdout in the file `printed`, exit
// code rc): 0, or 5 when it did not reach its tolerance (nothing written: the rules that need its
// point fail).
ScaleRunEnd read_trust_region(const std::string& printed, int rc) {
  ScaleRunEnd e;
  e.completed = true;
  if (rc == kNotConverged) {
    e.sharpness = e.grad_norm = std::nan("");
    return e;
  }
  if (rc != 0) throw CommandFailedError("`zeroloss optimum --method trust-region` exited with code " + std::to_string(rc));
  const json j = read_json_file(printed);
  e.converged = j["trust_region"]["converged"].get<bool>();
  e.sharpness = j["sharpness"].get<double>();
  e.grad_norm = j["riemannian_grad_norm"].get<double>();
  return e;
}

// What a `zeroloss convexity` run measured near its anchor, or why it did not run (exit code rc; its
// stderr in the file `errors`). A refused analysis (above the dense limit before the matrix-free
// path) is not evidence: the claim is then not decided.
struct CurvatureRun {
  bool ran = false;
  std::vector<CurvatureObservation> observations;
  std::string failure;  // when not run: the exit code and the last line of stderr
};
CurvatureRun read_curvature(const std::string& dir, int rc, const std::string& errors) {
  CurvatureRun r;
  if (rc == 0) {
    r.ran = true;
    r.observations = read_convexity_run(dir).observations;
    return r;
  }
  std::ifstream in(errors);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  r.failure = "`zeroloss convexity` exited with code " + std::to_string(rc) + (last.empty() ? "" : ": " + last);
  return r;
}

// (T - T*)/T* along a flow's logged rows (trajectory.csv in `dir`), as a series against tau.
PlotSeries relative_gap_series(const std::string& dir, double star, const std::string& label, const std::string& color,
                               bool dashed) {
  PlotSeries s{label, read_csv_column(dir + "/trajectory.csv", "tau"), {}, PlotStyle::Lines, color, dashed};
  for (double T : read_csv_column(dir + "/trajectory.csv", "sharpness")) s.y.push_back((T - star) / star);
  return s;
}

// The figure: (T - T*)/T* along the flow and the short-flow mutant (log y; rows at or below zero,
// i.e. at rounding, are left off the axis), with the final rate 2 lambda_min drawn through the
// flow's first row below 1e-4.
void gap_figure(Verdict& v, const std::string& dir, double star, double lambda_min) {
  PlotSpec p;
  p.title = "(T - T*)/T* along the flow from the random start (closed-form T*)";
  p.x_label = "flow time tau";
  p.y_label = "(T - T*) / T*";
  p.log_y = true;
  p.series.push_back(relative_gap_series(dir + "/flow", star, "flow", "#1f77b4", false));
  p.series.push_back(relative_gap_series(dir + "/mutant_short_flow", star, "mutant: short flow", "#d62728", false));
  const PlotSeries& f = p.series[0];
  for (size_t k = 0; k < f.x.size(); ++k) {
    if (!(f.y[k] < 1e-4)) continue;
    PlotSeries rate{"rate 2 lambda_min", {f.x[k], f.x.back()}, {}, PlotStyle::Lines, "black", true};
    for (double x : rate.x) rate.y.push_back(f.y[k] * std::exp(-2 * lambda_min * (x - f.x[k])));
    p.series.push_back(rate);
    break;
  }
  if (write_svg_plot(p, dir + "/flow_gap.svg").written)
    v.figures.push_back({"claims_at_scale/flow_gap.svg",
                         "(T - T*)/T* along the Riemannian flow (blue) and along the short-flow mutant (red), "
                         "log scale; dashed: the decay exp(-2 lambda_min tau) at the final rate predicted from "
                         "lambda_min at the minimiser. Rows at rounding level (T - T* <= 0) are off the log axis.",
                         "claims_at_scale/flow/trajectory.csv"});
}

// The rules a decision failed, as a JSON list.
json failed_rules(const Decision& d) {
  json failed = json::array();
  for (const auto& r : d.rules)
    if (!r.held) failed.push_back(r.rule);
  return failed;
}

json relative_gap(double sharpness, double star) {
  const double g = std::abs(sharpness - star) / std::abs(star);
  return std::isfinite(g) ? json(g) : json(nullptr);
}
std::string relative_gap_text(double sharpness, double star) {
  return short_number(std::abs(sharpness - star) / std::abs(star), 3);
}

}  // namespace

Verdict check_claims_at_scale(VerificationContext& ctx) {
  Verdict v;
  v.key = "claims_at_scale";
  v.claim =
      "At scale (Gaussian data, cubic phi, a = 1): the flow and trust-region Newton reach the closed-form T*, the "
      "minimiser is rank one, lambda_min(Hess_M T) > 0 there, and T is convex near it";
  const json& cfg = ctx.config()["claims_at_scale"];
  ClaimsAtScaleThresholds t;
  t.relative_tolerance = cfg["relative_tolerance"].get<double>();
  t.trust_region_gradient = cfg["trust_region_gradient"].get<double>();
  t.rank_one_threshold = cfg["rank_one_threshold"].get<double>();
  t.stationary_gradient = cfg["stationary_gradient"].get<double>();
  t.min_convex_points = cfg["min_convex_points"].get<int>();
  const std::string n = std::to_string(cfg["n"].get<int>()), d = std::to_string(cfg["d"].get<int>()),
                    m = std::to_string(cfg["m"].get<int>());
  const std::string seed = std::to_string(ctx.config()["seed"].get<int>());
  const size_t first_command = ctx.begin_block();
  const std::string dir = ctx.dir("claims_at_scale");
  const std::string data = dir + "/data.csv", w0 = dir + "/w0.csv";

  // 1. The data and the start; the closed-form minimiser with lambda_min (cubic, and tanh for the mutant).
  ctx.progress("claims at scale: data (n = " + n + ", d = " + d + ", m = " + m + ") and the closed-form optimum");
  ctx.run("claims_at_scale_data", {"data", "--generator", "gaussian", "--n", n, "--d", d, "--seed",
                                   std::to_string(cfg["data_seed"].get<int>()), "--out", data, "--weights-out", w0,
                                   "--m", m});
  const auto optimum_args = [&](const std::string& activation, const std::string& out) {
    return std::vector<std::string>{"optimum", "--data", data, "--weights", w0, "--activation", activation,
                                    "--accept-stationary", "--out", out, "--json"};
  };
  ClaimsAtScaleEvidence e;
  const json opt = ctx.run_json("claims_at_scale_optimum", optimum_args("cubic", dir + "/optimum.csv"));
  e.optimum_completed = true;
  e.sharpness_star = opt["sharpness"].get<double>();
  e.lambda_min = lambda_min_of(opt);
  if (!(e.lambda_min.lambda_min > 0))
    throw CommandFailedError("`zeroloss optimum` gave no positive lambda_min to set the flow's time (got " +
                             opt["hessian_lambda_min"].dump() + ")");
  const size_t claim_commands_end = ctx.commands().size();
  const json opt_tanh = ctx.run_json("claims_at_scale_mutant_tanh_optimum", optimum_args("tanh", dir + "/tanh_optimum.csv"));

  // 2. Trust region, flow, convexity around the minimiser, and the mutants' runs, in parallel.
  const double tau = cfg["flow_decades"].get<double>() * std::log(10.0) / (2 * e.lambda_min.lambda_min);
  const double short_tau = tau * cfg["short_flow_fraction"].get<double>();
  const auto flow = [&](const std::string& name, double time, bool until) {
    std::vector<std::string> args = {"flow", "--data", data, "--weights", w0, "--coefficient", "1", "--time",
                                     format_double(time)};
    if (until) args.insert(args.end(), {"--until-grad", format_double(cfg["until_gradient"].get<double>())});
    args.insert(args.end(), {"--no-figures", "--out", dir + "/" + name});
    return VerificationContext::Command{"claims_at_scale_" + name, args};
  };
  const auto trust_region = [&](const std::string& name, double tolerance) {
    return VerificationContext::Command{
        "claims_at_scale_" + name,
        {"optimum", "--data", data, "--weights", w0, "--method", "trust-region", "--tr-gradient-tolerance",
         format_double(tolerance), "--out", dir + "/" + name + ".csv", "--json"}};
  };
  const auto convexity = [&](const std::string& name, const std::string& anchor, const std::string& activation) {
    return VerificationContext::Command{
        "claims_at_scale_" + name,
        {"convexity", "--data", data, "--anchor", anchor, "--activation", activation, "--random", "0", "--geodesic",
         std::to_string(cfg["geodesic_points"].get<int>()), "--max-distance",
         format_double(cfg["max_distance"].get<double>()), "--no-search", "--seed", seed, "--no-figures", "--out",
         dir + "/" + name}};
  };
  const std::vector<VerificationContext::Command> cmds = {
      trust_region("trust_region", t.trust_region_gradient),
      flow("flow", tau, true),
      convexity("convexity", dir + "/optimum.csv", "cubic"),
      trust_region("mutant_loose_trust_region", cfg["loose_trust_region_gradient"].get<double>()),
      flow("mutant_short_flow", short_tau, false),
      convexity("mutant_tanh_convexity", dir + "/tanh_optimum.csv", "tanh")};
  ctx.progress("claims at scale: trust region, flow (tau = " + short_number(tau, 4) +
               "), convexity near the minimiser, and the mutants' runs, in parallel");
  const size_t parallel_first = ctx.commands().size();
  const std::vector<int> rc =
      ctx.try_run_parallel(cmds, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), {2, 10, 5, 1, 1, 5});
  const auto stdout_of = [&](size_t k) { return ctx.out() + "/logs/" + cmds[k].log_name + ".out"; };
  const auto stderr_of = [&](size_t k) { return ctx.out() + "/logs/" + cmds[k].log_name + ".err"; };
  e.trust_region = read_trust_region(stdout_of(0), rc[0]);
  e.flow = read_flow(dir + "/flow", rc[1], false);
  const CurvatureRun near_run = read_curvature(dir + "/convexity", rc[2], stderr_of(2));
  e.convexity_completed = near_run.ran;
  e.curvature = near_run.observations;
  const Decision decision = decide_claims_at_scale(e, t);

  // 3. The mutants: each replaces one part of the evidence by its falsified variant.
  json mutants = json::object();
  const auto mutant = [&](const std::string& name, const std::string& changes, const ClaimsAtScaleEvidence& on) {
    const Decision md = decide_claims_at_scale(on, t);
    mutants[name] = {{"status", to_string(md.status)}, {"rules_failed", failed_rules(md)}};
    // Rejected when a rule about the measurements failed: a run that did not complete (the mutant's,
    // or the claim's convexity analysis that all mutants share) shows no power by itself.
    bool caught = false;
    for (const auto& r : md.rules) caught = caught || (!r.held && r.rule != kRuleScaleCommandsCompleted);
    v.power.push_back({name, changes, caught});
  };
  ClaimsAtScaleEvidence short_flow = e;
  short_flow.flow = read_flow(dir + "/mutant_short_flow", rc[4], false);
  mutant("short_flow", "the flow run for " + short_number(cfg["short_flow_fraction"].get<double>(), 3) +
                           " of its time (tau = " + short_number(short_tau, 4) + ")", short_flow);
  ClaimsAtScaleEvidence loose = e;
  loose.trust_region = read_trust_region(stdout_of(3), rc[3]);
  mutant("loose_trust_region", "the trust region stopped at ||grad_M T|| <= " +
                                   short_number(cfg["loose_trust_region_gradient"].get<double>(), 3), loose);
  ClaimsAtScaleEvidence tanh = e;
  tanh.lambda_min = lambda_min_of(opt_tanh);
  const CurvatureRun tanh_run = read_curvature(dir + "/mutant_tanh_convexity", rc[5], stderr_of(5));
  tanh.convexity_completed = tanh_run.ran;
  tanh.curvature = tanh_run.observations;
  mutant("phi3_negative", "lambda_min and the curvature near the closed-form stationary point of tanh (phi''' < 0 "
                          "near 0) instead of the cubic's minimiser", tanh);
  ClaimsAtScaleEvidence start = e;
  start.flow.feature_ratios = read_flow(dir + "/flow", rc[1], true).feature_ratios;
  mutant("start_features", "the feature matrix at the flow's start on M instead of at its end", start);
  ClaimsAtScaleEvidence wrong = e;
  const double k_tol = cfg["mutant_value_tolerances"].get<double>();
  wrong.sharpness_star *= 1 + k_tol * t.relative_tolerance;
  mutant("wrong_T_star", "T* (1 + " + short_number(k_tol, 3) + " relative_tolerance) instead of T*", wrong);
  // A convexity analysis that did not run decides nothing: the check is not completed.
  v.status = near_run.ran && tanh_run.ran ? status_with_power(decision, v.power) : VerdictStatus::Error;

  // 4. Numbers, evidence and the reproduce block (the claim's commands; the mutants' are in logs/).
  const CurvatureNearMinimiser near = curvature_near_minimiser(e.curvature, t);
  const CurvatureNearMinimiser near_tanh = curvature_near_minimiser(tanh.curvature, t);
  const json flow_summary = read_json_file(dir + "/flow/summary.json");
  json rules = json::object();
  for (const auto& r : decision.rules) rules[r.rule] = r.held;
  const double rank_ratio = e.flow.feature_ratios.empty() ? std::nan("") : e.flow.feature_ratios[0];
  v.numbers = {
      {"n", cfg["n"]}, {"d", cfg["d"]}, {"m", cfg["m"]},
      {"T_star", e.sharpness_star},
      {"lambda_min", e.lambda_min.lambda_min},
      {"lambda_min_residual", e.lambda_min.residual},
      {"lambda_min_threshold", e.lambda_min.threshold},
      {"spectrum_method", opt["hessian_spectrum"]["method"]},
      {"tangent_dimension", opt["hessian_spectrum"]["tangent_dimension"]},
      {"flow", {{"tau_budget", tau}, {"tau_reached", flow_summary["tau_reached"]},
                {"accepted_steps", flow_summary["accepted_steps"]},
                {"sharpness", e.flow.sharpness}, {"relative_gap", relative_gap(e.flow.sharpness, e.sharpness_star)},
                {"grad_norm", e.flow.grad_norm}, {"feature_sigma2_over_sigma1", rank_ratio}}},
      {"trust_region", {{"sharpness", e.trust_region.sharpness},
                        {"relative_gap", relative_gap(e.trust_region.sharpness, e.sharpness_star)},
                        {"grad_norm", e.trust_region.grad_norm}, {"converged", e.trust_region.converged}}},
      {"near_minimiser", {{"measured", near_run.ran}, {"failure", near_run.failure},
                          {"points_counted", near.counted}, {"negative", near.negative},
                          {"convex_up_to", near.convex_up_to}, {"max_distance", cfg["max_distance"]}}},
      {"relative_tolerance", t.relative_tolerance},
      {"trust_region_gradient", t.trust_region_gradient},
      {"rank_one_threshold", t.rank_one_threshold},
      {"rules", rules},
      {"mutants", mutants}};
  std::ostringstream ev;
  ev << "Gaussian data (seed " << cfg["data_seed"].get<int>() << ") n = " << n << ", d = " << d << ", m = " << m << " (cubic, a = 1; tangent dimension "
     << opt["hessian_spectrum"]["tangent_dimension"].dump() << "): closed-form T* = "
     << short_number(e.sharpness_star, 12) << "; lambda_min(Hess_M T) there = " << short_number(e.lambda_min.lambda_min, 6)
     << " (" << opt["hessian_spectrum"]["method"].get<std::string>() << ", residual certificate "
     << short_number(e.lambda_min.residual, 3) << ", zero below " << short_number(e.lambda_min.threshold, 3)
     << "). Flow to tau = " << short_number(flow_summary["tau_reached"].get<double>(), 5) << " (budget "
     << short_number(tau, 5) << " = " << short_number(cfg["flow_decades"].get<double>(), 3)
     << " decades at the final rate 2 lambda_min, stopped at ||grad_M T|| < "
     << short_number(cfg["until_gradient"].get<double>(), 3) << "): relative gap to T* "
     << relative_gap_text(e.flow.sharpness, e.sharpness_star) << ", ||grad_M T|| " << short_number(e.flow.grad_norm, 3)
     << ", sigma_2/sigma_1 of Phi " << short_number(rank_ratio, 3) << " (threshold "
     << short_number(t.rank_one_threshold, 3) << "). Trust-region Newton: ||grad_M T|| "
     << short_number(e.trust_region.grad_norm, 3) << " (tolerance " << short_number(t.trust_region_gradient, 3)
     << "), relative gap to T* " << relative_gap_text(e.trust_region.sharpness, e.sharpness_star)
     << " (tolerance " << short_number(t.relative_tolerance, 3) << "). Near the minimiser: ";
  if (near_run.ran)
    ev << near.counted << " geodesic points out to length " << short_number(cfg["max_distance"].get<double>(), 3)
       << ", " << near.negative << " with negative curvature; convex up to ||grad_M T|| = "
       << short_number(near.convex_up_to, 3) << " (the anchor not counted).";
  else
    ev << "not measured, so the claim is not decided: " << near_run.failure << ".";
  ev << " Mutants:";
  for (const auto& p : v.power)
    ev << " " << p.mutant << " " << (p.rejected ? "rejected" : "NOT rejected") << " ("
       << mutants[p.mutant]["rules_failed"].dump() << ");";
  ev << " tanh: lambda_min " << short_number(tanh.lambda_min.lambda_min, 4) << ", ";
  if (tanh_run.ran)
    ev << near_tanh.negative << " negative points near its stationary point.";
  else if (tanh_run.failure == near_run.failure)
    ev << "its convexity analysis not run either (the same error).";
  else
    ev << "its convexity analysis not run: " << tanh_run.failure << ".";
  v.evidence = ev.str();
  std::vector<std::string> shown(ctx.commands().begin() + static_cast<std::ptrdiff_t>(first_command),
                                 ctx.commands().begin() + static_cast<std::ptrdiff_t>(claim_commands_end));
  for (size_t k = 0; k < 3; ++k) shown.push_back(ctx.commands()[parallel_first + k]);
  v.command = join_commands(shown) + "\n# the mutants' commands are in logs/ (claims_at_scale_mutant_*)";
  gap_figure(v, dir, e.sharpness_star, e.lambda_min.lambda_min);
  return v;
}

}  // namespace zeroloss
