// Claim 4 (the paper's Figure 1): label-noise SGD on n = 3, d = 3, m = 10, data uniform on [0, 1],
// eta = 0.05 drives the feature matrix Phi = phi(X Theta^T) to rank one, for every data draw.
// Evidence, per draw of the population: the data and start (`zeroloss data`), the closed-form
// minimiser (`zeroloss optimum`) and lambda_min of Hess_M T there (`zeroloss inspect --json`), which
// sets the draw's budget (rank_one_sgd_rule.hpp), and `zeroloss sgd` for that budget; the SGD runs of
// all draws run in parallel child processes. Decided by decide_rank_one_sgd.
// The paper's "noise variance sigma = 0.03" has two readings, s = sigma (a standard deviation) and
// s = sqrt(sigma) (a variance); `noise_reading` chooses the one that runs, and the evidence gives the
// steps both need (the flow time per step s^2 eta^2 / (4B) differs by the factor 1/sigma = 33).
// Power: the same draws with 1/100 of the predicted time (`mutant_budget_fraction`): the rule must
// reject it; if it does not, the verdict is inconclusive.

#include <algorithm>
#include <climits>
#include <cmath>
#include <optional>
#include <sstream>
#include <thread>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/rank_one_sgd_rule.hpp"
#include "zeroloss/verification/shell_command.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

struct Draw {
  int seed = 0;
  std::string dir;
  size_t commands_begin = 0, commands_end = 0;  // its data, optimum and inspect in ctx.commands()
  RankOneSgdMember member;  // the claim's run
  RankOneSgdMember mutant;  // the too-short budget
  json record;
};

// The flow time per SGD step, s^2 eta^2 / (4B) with B = 1.
double flow_time_per_step(double s, double eta) { return s * s * eta * eta / 4.0; }

// Reads the end of one `zeroloss sgd` run into the member (exit code rc).
void read_run(const std::string& sgd_dir, int rc, double tau_per_step, RankOneSgdMember& m) {
  m.completed = rc == 0;
  if (!m.completed) return;
  const json s = read_json_file(sgd_dir + "/summary.json");
  const auto& sv = s["final"]["feature_singular_values"];
  for (size_t k = 1; k < sv.size(); ++k) m.final_ratios.push_back(sv[k].get<double>() / sv[0].get<double>());
  m.rank_one_flow_time = s["rank_one"]["feature_step"].is_number()
                             ? s["rank_one"]["feature_step"].get<double>() * tau_per_step
                             : std::nan("");
}

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

}  // namespace

Verdict check_rank_one_sgd(VerificationContext& ctx) {
  Verdict v;
  v.key = "rank_one_sgd";
  v.claim = "Label-noise SGD reaches a rank-one feature matrix on every data draw of the paper's Figure 1 setting";
  const json& cfg = ctx.config()["rank_one_sgd"];
  const std::string act = ctx.config()["problem"]["activation"].get<std::string>();
  const size_t first_command = ctx.begin_block();
  const std::string dir = ctx.dir("rank_one_sgd");
  RankOneSgdThresholds t;
  t.rank_one_threshold = cfg["rank_one_threshold"].get<double>();
  t.min_tested_fraction = cfg["min_tested_fraction"].get<double>();
  const double eta = cfg["lr"].get<double>(), sigma = cfg["paper_sigma"].get<double>();
  const bool variance_reading = cfg["noise_reading"].get<std::string>() == "variance";
  const double s_std = sigma, s_var = std::sqrt(sigma);
  const double s = variance_reading ? s_var : s_std;
  const double tau_step = flow_time_per_step(s, eta);
  const double prefactor = cfg["time_prefactor"].get<double>(), exponent = cfg["time_exponent"].get<double>();
  const double factor = cfg["budget_factor"].get<double>(), fraction = cfg["mutant_budget_fraction"].get<double>();
  const long long min_steps = cfg["min_steps"].get<long long>(), max_steps = cfg["max_steps"].get<long long>();
  const int draws = cfg["draws"].get<int>(), first_seed = cfg["first_data_seed"].get<int>();

  // 1. Each draw: data, closed-form minimiser, lambda_min there, and the budget it implies.
  std::vector<Draw> pop;
  for (int k = 0; k < draws; ++k) {
    Draw d;
    d.seed = first_seed + k;
    d.commands_begin = ctx.commands().size();
    const std::string tag = "rank_one_" + std::to_string(d.seed);
    d.dir = ctx.dir("rank_one_sgd/draw_" + std::to_string(d.seed));
    ctx.progress("rank one: draw " + std::to_string(k + 1) + "/" + std::to_string(draws) +
                 ": data, closed-form minimiser and lambda_min of Hess_M T there");
    ctx.run(tag + "_data", {"data", "--generator", "uniform01", "--n", std::to_string(cfg["n"].get<int>()), "--d",
                            std::to_string(cfg["d"].get<int>()), "--seed", std::to_string(d.seed), "--out",
                            d.dir + "/data.csv", "--weights-out", d.dir + "/w0.csv", "--m",
                            std::to_string(cfg["m"].get<int>()), "--init-scale", "0.5"});
    ctx.run_json(tag + "_optimum", {"optimum", "--data", d.dir + "/data.csv", "--weights", d.dir + "/w0.csv",
                                    "--activation", act, "--out", d.dir + "/optimum.csv", "--json"});
    const json at_opt = ctx.run_json(tag + "_inspect", {"inspect", "--data", d.dir + "/data.csv", "--weights",
                                                        d.dir + "/optimum.csv", "--activation", act, "--json"});
    RankOneSgdMember& m = d.member;
    m.data_seed = d.seed;
    if (!at_opt["hessian_eigenvalues"].is_array() || at_opt["hessian_eigenvalues"].empty())
      throw CommandFailedError("`zeroloss inspect` printed no Hessian spectrum at the minimiser of draw " +
                               std::to_string(d.seed));
    m.lambda_min = at_opt["hessian_eigenvalues"][0].get<double>();
    m.predicted_flow_time = rank_one_predicted_flow_time(m.lambda_min, prefactor, exponent);
    m.budget_steps = std::max(min_steps, steps_for_flow_time(factor * m.predicted_flow_time, tau_step));
    m.tested = m.budget_steps <= max_steps;
    d.mutant = m;
    d.mutant.budget_steps = steps_for_flow_time(fraction * m.predicted_flow_time, tau_step);
    d.commands_end = ctx.commands().size();
    pop.push_back(std::move(d));
  }

  // 2. The SGD runs of every tested draw, claim and mutant, in parallel.
  std::vector<VerificationContext::Command> cmds;
  std::vector<double> cost;
  const auto sgd = [&](const Draw& d, const RankOneSgdMember& m, const std::string& name) {
    return VerificationContext::Command{
        "rank_one_" + std::to_string(d.seed) + "_" + name,
        {"sgd", "--data", d.dir + "/data.csv", "--weights", d.dir + "/w0.csv", "--activation", act, "--lr",
         format_double(eta), "--label-noise", format_double(s), "--batch", "1", "--steps",
         std::to_string(m.budget_steps), "--seed", std::to_string(ctx.config()["seed"].get<int>()), "--log-points",
         std::to_string(cfg["log_points"].get<int>()), "--rank-one-threshold", format_double(t.rank_one_threshold),
         "--no-figures", "--out", d.dir + "/" + name}};
  };
  long long claim_steps = 0, mutant_steps = 0;
  int tested = 0;
  for (const Draw& d : pop) {
    if (!d.member.tested) continue;
    ++tested;
    cmds.push_back(sgd(d, d.member, "sgd"));
    cost.push_back(static_cast<double>(d.member.budget_steps));
    cmds.push_back(sgd(d, d.mutant, "mutant_short_budget"));
    cost.push_back(static_cast<double>(d.mutant.budget_steps));
    claim_steps += d.member.budget_steps;
    mutant_steps += d.mutant.budget_steps;
  }
  ctx.progress("rank one: label-noise SGD on " + std::to_string(tested) + " draws (" + std::to_string(claim_steps) +
               " steps) and the short-budget mutant (" + std::to_string(mutant_steps) + " steps), in parallel");
  const int threads = std::max(1u, std::thread::hardware_concurrency());
  const size_t sgd_first = ctx.commands().size();
  const std::vector<int> codes = ctx.try_run_parallel(cmds, threads, cost);
  // The reproduce block: the commands of the first tested draw (of the first draw when none is).
  const Draw* shown_draw = &pop.front();
  for (const Draw& d : pop)
    if (d.member.tested) {
      shown_draw = &d;
      break;
    }
  std::vector<std::string> shown = {ctx.commands()[first_command]};  // mkdir -p of the claim's folder
  shown.insert(shown.end(), ctx.commands().begin() + static_cast<std::ptrdiff_t>(shown_draw->commands_begin),
               ctx.commands().begin() + static_cast<std::ptrdiff_t>(shown_draw->commands_end));
  if (!cmds.empty()) {
    shown.push_back(ctx.commands()[sgd_first]);
    shown.push_back(ctx.commands()[sgd_first + 1]);
  }
  v.command = join_commands(shown) + "\n# and the same for every data seed from " + std::to_string(first_seed) +
              " to " + std::to_string(first_seed + draws - 1) +
              " (the SGD runs of the draws whose budget fits max_steps, in parallel; all commands in logs/)";

  // 3. Read the runs.
  RankOneSgdEvidence evidence, on_mutant;
  size_t q = 0;
  std::vector<double> steps_per_second;
  for (Draw& d : pop) {
    if (d.member.tested) {
      read_run(d.dir + "/sgd", codes[q], tau_step, d.member);
      read_run(d.dir + "/mutant_short_budget", codes[q + 1], tau_step, d.mutant);
      if (codes[q] == 0) {
        const json sm = read_json_file(d.dir + "/sgd/summary.json");
        if (sm["performance"]["steps_per_second"].is_number())
          steps_per_second.push_back(sm["performance"]["steps_per_second"].get<double>());
      }
      q += 2;
    }
    evidence.members.push_back(d.member);
    on_mutant.members.push_back(d.mutant);
  }
  const Decision decision = decide_rank_one_sgd(evidence, t);
  const Decision mutant_decision = decide_rank_one_sgd(on_mutant, t);
  v.power.push_back({"short_budget",
                     "each draw gets " + short_number(fraction, 3) +
                         " of its predicted flow time to rank one instead of " + short_number(factor, 3) +
                         " times it (same data, start, noise and seed)",
                     rejects(mutant_decision)});
  v.status = status_with_power(decision, v.power);

  // 4. Numbers, the fit of the time to rank one against lambda_min, the table and the figures.
  json members = json::array();
  std::vector<double> fit_lambda, fit_time;
  int reached = 0, mutant_reached = 0;
  double worst_ratio = 0, worst_time_ratio = 0;
  int worst_seed = -1;
  std::ostringstream table;
  table << "data_seed,lambda_min,predicted_flow_time,budget_steps,status,final_sigma2_over_sigma1,"
           "rank_one_flow_time,time_over_prediction,budget_steps_standard_deviation_reading,budget_steps_variance_reading,"
           "mutant_steps,mutant_final_sigma2_over_sigma1\n";
  for (const Draw& d : pop) {
    const RankOneSgdMember& m = d.member;
    const bool ok = reached_rank_one(m, t);
    const bool mutant_ok = reached_rank_one(d.mutant, t);
    reached += ok;
    mutant_reached += mutant_ok;
    const std::string status = !m.tested      ? "untested: budget beyond max_steps"
                               : !m.completed ? "not completed"
                               : ok           ? "rank one"
                                              : "not rank one";
    const double ratio = m.final_ratios.empty() ? std::nan("") : m.final_ratios[0];
    const double mutant_ratio = d.mutant.final_ratios.empty() ? std::nan("") : d.mutant.final_ratios[0];
    const long long steps_std = steps_for_flow_time(factor * m.predicted_flow_time, flow_time_per_step(s_std, eta));
    const long long steps_var = steps_for_flow_time(factor * m.predicted_flow_time, flow_time_per_step(s_var, eta));
    // The worst tested member: the largest final sigma_2/sigma_1 (a NaN is the worst there is).
    if (m.tested && m.completed && !std::isnan(worst_ratio) &&
        (worst_seed < 0 || std::isnan(ratio) || ratio > worst_ratio)) {
      worst_ratio = ratio;
      worst_seed = m.data_seed;
    }
    const double time_ratio =
        m.tested && m.completed ? m.rank_one_flow_time / m.predicted_flow_time : std::nan("");
    if (std::isfinite(time_ratio)) {
      worst_time_ratio = std::max(worst_time_ratio, time_ratio);
      fit_lambda.push_back(m.lambda_min);
      fit_time.push_back(m.rank_one_flow_time);
    }
    members.push_back({{"data_seed", m.data_seed},
                       {"lambda_min", m.lambda_min},
                       {"predicted_flow_time", m.predicted_flow_time},
                       {"budget_steps", m.budget_steps},
                       {"status", status},
                       {"final_sigma2_over_sigma1", number_or_null(ratio)},
                       {"rank_one_flow_time", number_or_null(m.tested && m.completed ? m.rank_one_flow_time : NAN)},
                       {"time_over_prediction", number_or_null(time_ratio)},
                       {"budget_steps_standard_deviation_reading", steps_std},
                       {"budget_steps_variance_reading", steps_var},
                       {"mutant_steps", d.mutant.budget_steps},
                       {"mutant_final_sigma2_over_sigma1", number_or_null(mutant_ratio)}});
    table << m.data_seed << "," << format_double(m.lambda_min) << "," << format_double(m.predicted_flow_time) << ","
          << m.budget_steps << "," << status << "," << (std::isfinite(ratio) ? format_double(ratio) : "") << ","
          << (std::isfinite(time_ratio) ? format_double(m.rank_one_flow_time) : "") << ","
          << (std::isfinite(time_ratio) ? format_double(time_ratio) : "") << "," << steps_std << "," << steps_var
          << "," << d.mutant.budget_steps << "," << (std::isfinite(mutant_ratio) ? format_double(mutant_ratio) : "")
          << "\n";
  }
  write_file_atomic(dir + "/members.csv", table.str());
  json fit = nullptr;
  std::optional<PowerLawFit> law;
  if (fit_lambda.size() >= 3) {
    law = fit_power_law(fit_lambda, fit_time);
    fit = {{"points", law->line.points},
           {"prefactor", law->prefactor},
           {"exponent", law->exponent},
           {"r_squared", law->line.r_squared}};
  }
  json rules = json::object();
  for (const auto& r : decision.rules) rules[r.rule] = r.held;
  // The steps both readings of the paper's sigma need, over the whole population.
  const auto reading = [&](double s_reading) {
    std::vector<double> steps;
    for (const Draw& d : pop)
      steps.push_back(static_cast<double>(
          steps_for_flow_time(d.member.predicted_flow_time, flow_time_per_step(s_reading, eta))));
    std::sort(steps.begin(), steps.end());
    return json{{"label_noise", s_reading},
                {"flow_time_per_step", flow_time_per_step(s_reading, eta)},
                {"predicted_steps_median", steps[steps.size() / 2]},
                {"predicted_steps_fewest", steps.front()},
                {"predicted_steps_most", steps.back()}};
  };
  double median_speed = 0;
  if (!steps_per_second.empty()) {
    std::sort(steps_per_second.begin(), steps_per_second.end());
    median_speed = steps_per_second[steps_per_second.size() / 2];
  }
  v.numbers = {{"draws", draws},
               {"tested", tested},
               {"reached", reached},
               {"label_noise", s},
               {"noise_reading", cfg["noise_reading"]},
               {"flow_time_per_step", tau_step},
               {"budget_factor", factor},
               {"time_prefactor", prefactor},
               {"time_exponent", exponent},
               {"max_steps", max_steps},
               {"steps_total", claim_steps},
               {"threshold", t.rank_one_threshold},
               {"worst_final_sigma2_over_sigma1", number_or_null(worst_ratio)},
               {"worst_data_seed", worst_seed},
               {"largest_time_over_prediction", worst_time_ratio},
               {"time_fit", fit},
               {"readings", {{"standard_deviation", reading(s_std)}, {"variance", reading(s_var)}}},
               {"steps_per_second", median_speed},
               {"rules", rules},
               {"members", members},
               {"mutant_short_budget", {{"reached", mutant_reached}, {"steps_total", mutant_steps}}}};

  const json rd = v.numbers["readings"];
  std::ostringstream ev;
  ev << draws << " data draws (uniform on [0, 1], n = " << cfg["n"].get<int>() << ", d = " << cfg["d"].get<int>()
     << ", m = " << cfg["m"].get<int>() << ", seeds " << first_seed << " to " << first_seed + draws - 1
     << "), label-noise SGD with eta = " << short_number(eta, 4) << ", s = " << short_number(s, 4) << " (the "
     << (variance_reading ? "variance" : "standard-deviation") << " reading of the paper's sigma = "
     << short_number(sigma, 4) << "), each draw for " << short_number(factor, 3)
     << " times its predicted flow time to rank one, " << short_number(prefactor, 3) << " lambda_min^-"
     << short_number(exponent, 3) << " (lambda_min of Hess_M T at the minimiser): " << tested << " of " << draws
     << " draws fit the cap of " << max_steps << " steps";
  if (tested < draws) {
    std::string untested;
    for (const Draw& d : pop)
      if (!d.member.tested)
        untested += (untested.empty() ? "" : "; ") + std::string("seed ") + std::to_string(d.seed) + ", lambda_min " +
                    short_number(d.member.lambda_min, 3) + ", " + std::to_string(d.member.budget_steps) + " steps";
    ev << " (untested, their budgets are larger: " << untested << ")";
  }
  ev << "; " << reached << " of " << tested << " reached sigma_2/sigma_1 < " << short_number(t.rank_one_threshold, 4)
     << " within their budget";
  if (worst_seed >= 0) ev << " (largest final sigma_2/sigma_1 " << short_number(worst_ratio, 3) << ", seed " << worst_seed << ")";
  if (worst_time_ratio > 0)
    ev << "; the measured flow time to rank one was at most " << short_number(worst_time_ratio, 4)
       << " times the prediction";
  if (law)
    ev << "; fit over the draws: flow time to rank one = " << short_number(law->prefactor, 3) << " lambda_min^"
       << short_number(law->exponent, 3) << " (R^2 = " << short_number(law->line.r_squared, 4) << ")";
  ev << ". Both readings of the paper's noise: s = " << short_number(s_std, 4) << " moves flow time "
     << short_number(rd["standard_deviation"]["flow_time_per_step"].get<double>(), 3)
     << " per step, so the median draw needs " << short_number(rd["standard_deviation"]["predicted_steps_median"].get<double>(), 3)
     << " steps to rank one; s = " << short_number(s_var, 4) << " moves "
     << short_number(rd["variance"]["flow_time_per_step"].get<double>(), 3) << " per step, "
     << short_number(rd["variance"]["predicted_steps_median"].get<double>(), 3) << " steps. Mutant (budget "
     << short_number(fraction, 3) << " of the predicted time): " << mutant_reached << " of " << tested
     << " draws reached rank one, " << (v.power.back().rejected ? "rejected" : "NOT rejected") << ".";
  if (median_speed > 0) ev << " Speed " << short_number(median_speed, 3) << " steps/s.";
  v.evidence = ev.str();

  // Figure: sigma_2/sigma_1 along SGD against the flow time, every tested draw, with the threshold.
  PlotSpec curves;
  curves.title = "sigma_2/sigma_1 of the feature matrix along label-noise SGD, every draw (Figure 1 setting)";
  curves.x_label = "flow time tau = s^2 eta^2 k / 4";
  curves.y_label = "sigma_2(Phi) / sigma_1(Phi)";
  curves.log_x = true;
  curves.log_y = true;
  curves.key = "off";
  double tau_lo = INFINITY, tau_hi = 0;
  std::ostringstream csv;
  csv << "data_seed,step,tau,sigma2_over_sigma1,sigma3_over_sigma1\n";
  for (const Draw& d : pop) {
    if (!d.member.tested || !d.member.completed) continue;
    const std::string traj = d.dir + "/sgd/trajectory.csv";
    const std::vector<double> step = read_csv_column(traj, "step"), tau = read_csv_column(traj, "tau");
    const std::vector<double> s1 = read_csv_column(traj, "sv_phi_1"), s2 = read_csv_column(traj, "sv_phi_2");
    const std::vector<double> s3 = read_csv_column(traj, "sv_phi_3");
    PlotSeries ser{"seed " + std::to_string(d.seed), {}, {}, PlotStyle::Lines, "#1f77b4", false};
    for (size_t k = 0; k < step.size(); ++k) {
      csv << d.seed << "," << format_double(step[k]) << "," << format_double(tau[k]) << ","
          << format_double(s2[k] / s1[k]) << "," << format_double(s3[k] / s1[k]) << "\n";
      if (!(tau[k] > 0)) continue;  // the log axis starts after step 0
      ser.x.push_back(tau[k]);
      ser.y.push_back(s2[k] / s1[k]);
      tau_lo = std::min(tau_lo, tau[k]);
      tau_hi = std::max(tau_hi, tau[k]);
    }
    curves.series.push_back(std::move(ser));
  }
  write_file_atomic(dir + "/singular_values.csv", csv.str());
  if (!curves.series.empty() && tau_hi > tau_lo) {
    curves.series.push_back({"rank-one threshold sigma_2/sigma_1 = " + short_number(t.rank_one_threshold, 4),
                             {tau_lo, tau_hi},
                             {t.rank_one_threshold, t.rank_one_threshold},
                             PlotStyle::Lines,
                             "black",
                             true});
    if (write_svg_plot(curves, dir + "/singular_values.svg").written)
      v.figures.push_back({"rank_one_sgd/singular_values.svg",
                           "sigma_2/sigma_1 of Phi along label-noise SGD against the flow time, one curve per tested "
                           "draw (log scales); dashed: the rank-one threshold sigma_2/sigma_1 = " +
                               short_number(t.rank_one_threshold, 4) + " that the verdict uses.",
                           "rank_one_sgd/singular_values.csv"});
  }
  // Figure: the flow time to rank one against lambda_min (log-log), the prediction and the fit.
  if (!fit_lambda.empty()) {
    PlotSpec tf;
    tf.title = "Flow time to rank one against lambda_min of Hess_M T at the minimiser";
    tf.x_label = "lambda_min";
    tf.y_label = "flow time to sigma_2/sigma_1 <= threshold";
    tf.log_x = true;
    tf.log_y = true;
    tf.key = "top right";
    tf.series.push_back({"label-noise SGD, one point per draw", fit_lambda, fit_time, PlotStyle::Points, "#1f77b4", false});
    const double lo = *std::min_element(fit_lambda.begin(), fit_lambda.end());
    const double hi = *std::max_element(fit_lambda.begin(), fit_lambda.end());
    std::vector<double> xs = {lo, hi};
    PlotSeries pred{"prediction " + short_number(prefactor, 3) + " lambda^-" + short_number(exponent, 3), xs, {},
                    PlotStyle::Lines, "black", true};
    PlotSeries budget{"budget: " + short_number(factor, 3) + " x prediction", xs, {}, PlotStyle::Lines, "#2ca02c", true};
    for (double x : xs) {
      pred.y.push_back(rank_one_predicted_flow_time(x, prefactor, exponent));
      budget.y.push_back(factor * rank_one_predicted_flow_time(x, prefactor, exponent));
    }
    tf.series.push_back(pred);
    tf.series.push_back(budget);
    if (law) {
      PlotSeries f{"fit " + short_number(law->prefactor, 3) + " lambda^" + short_number(law->exponent, 3), xs, {},
                   PlotStyle::Lines, "#d62728", false};
      for (double x : xs) f.y.push_back(law->prefactor * std::pow(x, law->exponent));
      tf.series.push_back(f);
    }
    if (write_svg_plot(tf, dir + "/time_to_rank_one.svg").written)
      v.figures.push_back({"rank_one_sgd/time_to_rank_one.svg",
                           "Flow time from which sigma_2/sigma_1 of Phi stayed below the threshold along label-noise "
                           "SGD, against lambda_min of Hess_M T at the closed-form minimiser, one point per draw that "
                           "reached it (log-log); black dashed: the prediction that sets the budget, green dashed: "
                           "the budget, red: the least-squares fit over these draws.",
                           "rank_one_sgd/members.csv"});
  }
  return v;
}

}  // namespace zeroloss
