// Claim 2: the Riemannian flow of T reaches the minimum at the predicted rate, T - T* ~ exp(-2
// lambda_min tau) (THEORY 5, 6, 10), on a population of problems: Gaussian draws at each of
// gaussian_sizes (the problem's generator and label scale) and Figure 1 draws (uniform data, n = 3,
// d = 3, m = 10). Per member: `zeroloss data` (data
// and start), `zeroloss optimum --json` (T*, hessian_lambda_min), the flow for budget_decades ln 10 /
// (2 lambda_min) (capped at max_flow_time; the implicit rosenbrock4, since ill-conditioned draws are
// stiff near the minimum) and the same flow for short_flow_fraction of that time; decided by
// decide_flow_rate (flow_rate_rule.hpp) on the final gap and on the rate fitted over the window
// fit_window_low <= (T - T*)/T* <= fit_window_high.
// Power, by the same rule: the short flow on its own (a budget that ends on the plateau), the rate
// fitted on the short flow's tail (the window of the earlier rule, on the plateau) and the
// prediction replaced by lambda_min and by 4 lambda_min.

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <sstream>
#include <thread>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/flow_rate_rule.hpp"
#include "zeroloss/verification/shell_command.hpp"

#include "population_members.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

// One problem of the population (population_members.hpp: its family, sizes and data seed; name()
// its folder and command tag, e.g. gaussian_n3_d5_m4_seed1) and what its runs gave.
struct Member : PopulationProblem {
  std::string dir, data, start;
  std::vector<std::string> commands;  // to rerun this member alone
  bool applicable = true;             // optimum found a closed-form global minimum
  double T_star = 0, lambda = 0, flow_time = 0, short_time = 0;
  bool capped = false;  // the budget hit max_flow_time
  int exit_code = 0, short_exit_code = 0;
  std::vector<double> tau, gap;              // long flow: tau, (T - T*)/T*
  std::vector<double> short_tau, short_gap;  // short flow
  FlowRateMember evidence;                   // the claim's
  FlowRateMember short_flow, plateau_window; // two mutants'
  double min_profile = NAN, max_profile = NAN;  // local rate / (2 lambda_min) over the curve

  // For people: "gaussian (3, 5, 4) seed 3", "figure1 seed 2".
  std::string label() const { return family_label() + " seed " + std::to_string(seed); }
};

Member member_of(const std::string& family, const json& size, int seed) {
  Member m;
  m.family = family;
  m.n = size[0].get<int>();
  m.d = size[1].get<int>();
  m.m = size[2].get<int>();
  m.seed = seed;
  return m;
}

// Reads tau and (T - T*)/T* of a flow folder (written also when the flow stopped at its step limit
// or at a singular point: then T - T* at its end says how far it got).
bool read_gap(const std::string& flow_dir, double T_star, std::vector<double>& tau, std::vector<double>& gap) {
  tau = read_csv_column(flow_dir + "/trajectory.csv", "tau");
  const std::vector<double> T = read_csv_column(flow_dir + "/trajectory.csv", "sharpness");
  gap.clear();
  for (double x : T) gap.push_back((x - T_star) / T_star);
  return !tau.empty();
}

// The member's evidence from one flow: the final gap and the rate fitted over the window.
FlowRateMember evidence_of(const Member& m, const std::vector<double>& tau, const std::vector<double>& gap, bool ran,
                           double low, double high) {
  FlowRateMember e;
  e.name = m.label();
  e.sharpness_star = m.T_star;
  e.lambda_min = m.lambda;
  e.predicted_rate = 2 * m.lambda;
  if (!ran) return e;
  e.completed = true;
  e.initial_gap = gap.front();
  e.final_gap = std::abs(gap.back());
  const ExponentialTailFit fit = fit_exponential_window(tau, gap, low, high);
  e.fitted = fit.fitted;
  e.fitted_rate = fit.rate;
  return e;
}

// "(3, 5, 4), (5, 20, 10)".
std::string sizes_description(const json& sizes) {
  std::string out;
  for (const json& s : sizes)
    out += (out.empty() ? "(" : ", (") + std::to_string(s[0].get<int>()) + ", " + std::to_string(s[1].get<int>()) +
           ", " + std::to_string(s[2].get<int>()) + ")";
  return out;
}

json member_record(const Member& m) {
  json r = {{"family", m.family},
            {"n", m.n},
            {"d", m.d},
            {"m", m.m},
            {"data_seed", m.seed},
            {"T_star", m.T_star},
            {"lambda_min", m.lambda},
            {"predicted_rate", 2 * m.lambda},
            {"flow_time", m.flow_time},
            {"budget_capped", m.capped},
            {"completed", m.evidence.completed}};
  if (!m.evidence.completed) {
    r["exit_code"] = m.exit_code;
    return r;
  }
  r["initial_relative_gap"] = m.evidence.initial_gap;
  r["final_relative_gap"] = m.evidence.final_gap;
  r["decades"] = std::log10(std::abs(m.evidence.initial_gap) / std::max(m.evidence.final_gap, DBL_EPSILON));
  r["fitted"] = m.evidence.fitted;
  if (m.evidence.fitted) {
    r["fitted_rate"] = m.evidence.fitted_rate;
    r["relative_rate_error"] = relative_rate_error(m.evidence);
  }
  if (std::isfinite(m.min_profile)) {
    r["local_rate_over_predicted_min"] = m.min_profile;
    r["local_rate_over_predicted_max"] = m.max_profile;
  }
  r["short_flow_final_relative_gap"] = m.short_flow.final_gap;
  if (m.plateau_window.fitted) r["plateau_window_rate"] = m.plateau_window.fitted_rate;
  return r;
}

}  // namespace

Verdict check_flow_rate(VerificationContext& ctx) {
  Verdict v;
  v.key = "flow_rate";
  v.claim = "The Riemannian gradient flow of T reaches the minimum T*, finally at the predicted rate 2 lambda_min";
  const json& cfg = ctx.config()["flow_rate"];
  const json& problem = ctx.config()["problem"];
  const json& fig1 = cfg["figure1"];
  const std::string act = problem["activation"].get<std::string>();
  FlowRateThresholds t;
  t.reach_tolerance = cfg["reach_tolerance"].get<double>();
  t.rate_tolerance = cfg["rate_tolerance"].get<double>();
  const double low = cfg["fit_window_low"].get<double>(), high = cfg["fit_window_high"].get<double>();
  const double decades = cfg["budget_decades"].get<double>(), cap = cfg["max_flow_time"].get<double>();
  const double short_fraction = cfg["short_flow_fraction"].get<double>();
  const std::string log_points = std::to_string(cfg["log_points"].get<int>());
  const size_t first_command = ctx.begin_block();
  const std::string dir = ctx.dir("flow_rate");

  // The population, data and optimum first (quick, one after the other).
  std::vector<Member> members;
  for (const json& size : cfg["gaussian_sizes"])
    for (int k = 0; k < cfg["gaussian_draws"].get<int>(); ++k)
      members.push_back(member_of("gaussian", size, problem["data_seed"].get<int>() + k));
  const json fig1_size = json::array({fig1["n"], fig1["d"], fig1["m"]});
  for (int k = 0; k < fig1["draws"].get<int>(); ++k)
    members.push_back(member_of("figure1", fig1_size, fig1["first_data_seed"].get<int>() + k));
  bool applicable = true;
  for (size_t k = 0; k < members.size(); ++k) {
    Member& m = members[k];
    ctx.progress("flow rate: member " + std::to_string(k + 1) + "/" + std::to_string(members.size()) + " (" +
                 m.label() + "): data and the closed-form optimum");
    const size_t before = ctx.commands().size();
    m.dir = ctx.dir("flow_rate/" + m.name());
    m.data = m.dir + "/data.csv";
    m.start = m.dir + "/start.csv";
    std::vector<std::string> data_args = population_data_args(m, problem);
    data_args.insert(data_args.end(), {"--out", m.data, "--weights-out", m.start, "--m", std::to_string(m.m),
                                       "--init-scale",
                                       format_double((m.gaussian() ? problem : fig1)["init_scale"].get<double>())});
    const std::string tag = "flow_rate_" + m.name();
    ctx.run(tag + "_data", data_args);
    std::string printed;
    const std::vector<std::string> optimum_args = {"optimum", "--data", m.data, "--weights", m.start, "--activation", act,
                                                   "--out", m.dir + "/optimum.csv", "--json"};
    const int rc = ctx.try_run(tag + "_optimum", optimum_args, &printed);
    m.commands.assign(ctx.commands().begin() + static_cast<std::ptrdiff_t>(before), ctx.commands().end());
    if (rc == 4) {  // the closed form is not a minimum here (outside THEORY 5's assumptions)
      m.applicable = applicable = false;
      continue;
    }
    if (rc != 0)
      throw CommandFailedError("`" + zeroloss_command_line(optimum_args) + "` exited with code " + std::to_string(rc) +
                               " (output in " + ctx.out() + "/logs/" + tag + "_optimum.err)");
    const json opt = json::parse(printed);
    if (opt["kind"] != "global-minimum" || !opt["hessian_lambda_min"].is_number()) {
      m.applicable = applicable = false;
      continue;
    }
    m.T_star = opt["sharpness"].get<double>();
    m.lambda = opt["hessian_lambda_min"].get<double>();
    // The predicted decay exp(-2 lambda_min tau) covers `decades` decades in this time.
    const double wanted = decades * std::log(10.0) / (2 * m.lambda);
    m.capped = !(wanted <= cap);
    m.flow_time = m.capped ? cap : wanted;
    m.short_time = short_fraction * m.flow_time;
  }

  if (!applicable) {
    v.command = ctx.commands_since(first_command);
    v.status = VerdictStatus::NotApplicable;
    v.evidence = "the closed-form stationary point of T on M is not a global minimum for activation " + act +
                 " on at least one member (THEORY 5's assumptions fail), so there is no T* to converge to; see "
                 "logs/flow_rate_*_optimum.*";
    return v;
  }

  // The flows, in parallel: for each member the claim's flow and the short one.
  std::vector<VerificationContext::Command> batch;
  for (const Member& m : members) {
    const std::string tag = "flow_rate_" + m.name();
    for (const bool is_short : {false, true})
      batch.push_back({tag + (is_short ? "_short_flow" : "_flow"),
                       {"flow", "--data", m.data, "--weights", m.start, "--activation", act, "--coefficient", "1",
                        "--time", format_double(is_short ? m.short_time : m.flow_time), "--log-points", log_points,
                        "--integrator", "rosenbrock4", "--no-figures", "--out",
                        m.dir + (is_short ? "/short_flow" : "/flow")}});
  }
  ctx.progress("flow rate: " + std::to_string(batch.size()) + " flows (" + std::to_string(members.size()) +
               " members, each with its short mutant) in parallel");
  const size_t batch_first = ctx.commands().size();
  std::vector<double> cost;  // the longest flows first: flow time is a proxy for their steps
  for (const Member& m : members) cost.insert(cost.end(), {m.flow_time, m.short_time});
  const std::vector<int> codes =
      ctx.try_run_parallel(batch, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), cost);
  // Exit 5 is the flow's step limit: its outputs hold the point reached, and a budget that falls short
  // fails reaches_optimum. Any other failure means the check could not be completed.
  for (size_t k = 0; k < batch.size(); ++k)
    if (codes[k] != 0 && codes[k] != 5)
      throw CommandFailedError("`" + ctx.commands()[batch_first + k] + "` exited with code " +
                               std::to_string(codes[k]) + ": " + tail_of_file(ctx.out() + "/logs/" + batch[k].log_name + ".err", 3) +
                               "(full output in " + ctx.out() + "/logs/" + batch[k].log_name + ".out/.err)");
  for (size_t k = 0; k < members.size(); ++k) {
    Member& m = members[k];
    m.commands.push_back(ctx.commands()[batch_first + 2 * k]);
    m.exit_code = codes[2 * k];
    m.short_exit_code = codes[2 * k + 1];
    const bool ran = read_gap(m.dir + "/flow", m.T_star, m.tau, m.gap);
    const bool short_ran = read_gap(m.dir + "/short_flow", m.T_star, m.short_tau, m.short_gap);
    m.evidence = evidence_of(m, m.tau, m.gap, ran, low, high);
    m.short_flow = evidence_of(m, m.short_tau, m.short_gap, short_ran, low, high);
    // The earlier rule's window: the tail (second half of the points above the floor) of the short flow.
    m.plateau_window = m.evidence;
    m.plateau_window.fitted = false;
    if (short_ran) {
      const ExponentialTailFit tail = fit_exponential_tail(m.short_tau, m.short_gap);
      m.plateau_window.fitted = tail.fitted;
      m.plateau_window.fitted_rate = tail.rate;
    }
    // The rate profile: the short flow's points, then the long flow's beyond its end.
    if (ran && short_ran) {
      std::vector<double> x = m.short_tau, y = m.short_gap;
      for (size_t q = 0; q < m.tau.size(); ++q)
        if (m.tau[q] > m.short_tau.back()) {
          x.push_back(m.tau[q]);
          y.push_back(m.gap[q]);
        }
      for (const LocalRate& r : local_decay_rates(x, y, low)) {
        const double ratio = r.rate / (2 * m.lambda);
        m.min_profile = std::isfinite(m.min_profile) ? std::min(m.min_profile, ratio) : ratio;
        m.max_profile = std::isfinite(m.max_profile) ? std::max(m.max_profile, ratio) : ratio;
      }
    }
  }
  v.command = join_commands(members.front().commands) + " && " + ctx.commands()[batch_first + 1] +
              "\n# and the same for every member of the population (all commands in logs/)";

  // The claim and its mutants, by the same rule.
  FlowRateEvidence claim, short_flow, plateau, half, twice;
  for (const Member& m : members) {
    claim.members.push_back(m.evidence);
    short_flow.members.push_back(m.short_flow);
    plateau.members.push_back(m.plateau_window);
    FlowRateMember h = m.evidence, w = m.evidence;
    h.predicted_rate = m.lambda;
    w.predicted_rate = 4 * m.lambda;
    half.members.push_back(h);
    twice.members.push_back(w);
  }
  const Decision decision = decide_flow_rate(claim, t);
  struct Mutant {
    const char* name;
    std::string changes;
    const FlowRateEvidence* evidence;
  };
  const std::vector<Mutant> mutants = {
      {"short_flow",
       "each flow runs " + short_number(short_fraction, 3) +
           " of its budget (a flow time too short to leave the plateau of ill-conditioned draws), decided on its own "
           "trajectory",
       &short_flow},
      {"plateau_window",
       "the rate is fitted on the tail of that short flow (the earlier rule's window: the second half of the points, "
       "on the plateau) instead of the window of (T - T*)/T*",
       &plateau},
      {"rate_lambda_min", "the predicted final rate 2 lambda_min replaced by lambda_min", &half},
      {"rate_4_lambda_min", "the predicted final rate 2 lambda_min replaced by 4 lambda_min", &twice}};
  json mutant_numbers = json::object();
  for (const Mutant& mu : mutants) {
    const Decision d = decide_flow_rate(*mu.evidence, t);
    v.power.push_back({mu.name, mu.changes, rejects(d)});
    json rules = json::object();
    int passed = 0;
    for (const auto& r : d.rules) rules[r.rule] = r.held;
    for (const auto& e : mu.evidence->members) {
      bool all = true;
      for (const auto& r : flow_rate_member_rules(e, t)) all = all && r.held;
      passed += all ? 1 : 0;
    }
    mutant_numbers[mu.name] = {{"rules", rules}, {"members_passing", passed}};
  }
  v.status = status_with_power(decision, v.power);

  // The worst member: a failing one first, else the largest rate error.
  size_t worst = 0;
  double worst_score = -1;
  int reached = 0, matched = 0;
  double worst_final = 0, lambda_lo = INFINITY, lambda_hi = 0, time_lo = INFINITY, time_hi = 0, profile_lo = INFINITY;
  for (size_t k = 0; k < members.size(); ++k) {
    const Member& m = members[k];
    bool all = true;
    for (const auto& r : flow_rate_member_rules(m.evidence, t)) all = all && r.held;
    const double err = m.evidence.fitted ? relative_rate_error(m.evidence) : INFINITY;
    const double score = (all ? 0.0 : 1e300) + (std::isfinite(err) ? err : 1e299);
    if (score > worst_score) {
      worst_score = score;
      worst = k;
    }
    if (m.evidence.completed && m.evidence.final_gap <= t.reach_tolerance) ++reached;
    if (m.evidence.fitted && err <= t.rate_tolerance) ++matched;
    if (m.evidence.completed) worst_final = std::max(worst_final, m.evidence.final_gap);
    lambda_lo = std::min(lambda_lo, m.lambda);
    lambda_hi = std::max(lambda_hi, m.lambda);
    time_lo = std::min(time_lo, m.flow_time);
    time_hi = std::max(time_hi, m.flow_time);
    if (std::isfinite(m.min_profile)) profile_lo = std::min(profile_lo, m.min_profile);
  }
  const Member& w = members[worst];

  json records = json::array();
  for (const Member& m : members) records.push_back(member_record(m));
  json rules = json::object();
  for (const auto& r : decision.rules) rules[r.rule] = r.held;
  v.numbers = {{"members", records},
               {"rules", rules},
               {"reached", reached},
               {"rate_matched", matched},
               {"worst_member", {{"name", w.label()}, {"record", member_record(w)}, {"command", join_commands(w.commands)}}},
               {"largest_final_relative_gap", worst_final},
               {"lambda_min_range", {lambda_lo, lambda_hi}},
               {"flow_time_range", {time_lo, time_hi}},
               {"budget_decades", decades},
               {"max_flow_time", cap},
               {"fit_window", {low, high}},
               {"reach_tolerance", t.reach_tolerance},
               {"rate_tolerance", t.rate_tolerance},
               {"mutants", mutant_numbers}};

  const int n = static_cast<int>(members.size());
  std::ostringstream ev;
  ev << n << " problems: " << cfg["gaussian_draws"].get<int>() << " " << problem["generator"].get<std::string>()
     << " data draws at each (n, d, m) of " << sizes_description(cfg["gaussian_sizes"]) << " (data seeds from "
     << problem["data_seed"].get<int>() << ") and " << fig1["draws"].get<int>()
     << " Figure 1 draws (uniform data n = " << fig1["n"].get<int>() << ", d = " << fig1["d"].get<int>()
     << ", m = " << fig1["m"].get<int>() << ", seeds from " << fig1["first_data_seed"].get<int>()
     << "); lambda_min(Hess_M T at T*) from " << short_number(lambda_lo, 3) << " to " << short_number(lambda_hi, 3)
     << ". Each flow ran for " << short_number(decades, 3) << " ln 10 / (2 lambda_min) (flow time "
     << short_number(time_lo, 3) << " to " << short_number(time_hi, 3) << ", at most " << short_number(cap, 3)
     << ")";
  int capped = 0;
  for (const Member& m : members) capped += m.capped ? 1 : 0;
  if (capped > 0)
    ev << " (" << capped << " of " << n << " capped there: their predicted time was longer, a shortfall counts against "
       << "reaches_optimum)";
  ev << ": " << reached << " of " << n << " reached |T - T*|/T* <= " << short_number(t.reach_tolerance, 3)
     << " (largest final value " << short_number(worst_final, 3) << "), and on " << matched << " of " << n
     << " the rate fitted where " << short_number(low, 3) << " <= (T - T*)/T* <= " << short_number(high, 3)
     << " matches 2 lambda_min within " << short_number(t.rate_tolerance, 3) << ". Worst member: " << w.label();
  if (w.evidence.fitted)
    ev << " (fitted " << short_number(w.evidence.fitted_rate, 6) << " against predicted "
       << short_number(2 * w.lambda, 6) << ", relative error " << short_number(relative_rate_error(w.evidence), 3)
       << ")";
  else
    ev << " (no rate: " << (w.evidence.completed ? "too few points in the window" : "the flow did not complete") << ")";
  ev << "; rerun it alone with numbers.worst_member.command.";
  if (std::isfinite(profile_lo))
    ev << " Rate profile (reported): the local rate -d log(T - T*)/dtau never fell below "
       << short_number(profile_lo, 3) << " times 2 lambda_min along any curve above the window's floor.";
  ev << " Mutants:";
  for (const Mutant& mu : mutants)
    ev << " " << mu.name << " " << (rejects(decide_flow_rate(*mu.evidence, t)) ? "rejected" : "NOT rejected")
       << " (" << mutant_numbers[mu.name]["members_passing"].get<int>() << " of " << n << " members pass);";
  v.evidence = ev.str();
  v.evidence.back() = '.';

  // The members table and the figures.
  std::ostringstream table;
  table << "family,n,d,m,data_seed,lambda_min,predicted_rate,fitted_rate,relative_rate_error,initial_relative_gap,"
           "final_relative_gap,decades,flow_time,status\n";
  for (const Member& m : members) {
    const json r = member_record(m);
    bool all = true;
    for (const auto& x : flow_rate_member_rules(m.evidence, t)) all = all && x.held;
    table << m.family << "," << m.n << "," << m.d << "," << m.m << "," << m.seed << "," << format_double(m.lambda) << "," << format_double(2 * m.lambda) << ","
          << (m.evidence.fitted ? format_double(m.evidence.fitted_rate) : "") << ","
          << (m.evidence.fitted ? format_double(relative_rate_error(m.evidence)) : "") << ","
          << (m.evidence.completed ? format_double(m.evidence.initial_gap) : "") << ","
          << (m.evidence.completed ? format_double(m.evidence.final_gap) : "") << ","
          << (r.contains("decades") ? format_double(r["decades"].get<double>()) : "") << ","
          << format_double(m.flow_time) << "," << (all ? "pass" : "fail") << "\n";
  }
  write_file_atomic(dir + "/members.csv", table.str());

  PlotSpec gap_fig;
  gap_fig.title = "(T - T*)/T* along the flow against the predicted exponent 2 lambda_min tau";
  gap_fig.x_label = "2 lambda_min tau";
  gap_fig.y_label = "(T - T*) / T*";
  gap_fig.log_y = true;
  gap_fig.key = "off";
  PlotSpec rate_fig;
  rate_fig.title = "Rate profile: local rate -d log(T - T*)/dtau over 2 lambda_min";
  rate_fig.x_label = "flow time tau";
  rate_fig.y_label = "local rate / (2 lambda_min)";
  rate_fig.log_x = rate_fig.log_y = true;
  rate_fig.key = "off";
  std::ostringstream profile_csv;
  profile_csv << "family,n,d,m,data_seed,tau,local_rate,local_rate_over_predicted\n";
  for (const Member& m : members) {
    if (!m.evidence.completed) continue;
    const std::string colour = m.family == "gaussian" ? "#1f77b4" : "#ff7f0e";
    PlotSeries g{m.label(), {}, {}, PlotStyle::Lines, colour, false};
    for (size_t q = 0; q < m.tau.size(); ++q) {
      g.x.push_back(2 * m.lambda * m.tau[q]);
      g.y.push_back(m.gap[q]);
    }
    gap_fig.series.push_back(std::move(g));
    std::vector<double> x = m.short_tau, y = m.short_gap;
    for (size_t q = 0; q < m.tau.size(); ++q)
      if (m.short_tau.empty() || m.tau[q] > m.short_tau.back()) {
        x.push_back(m.tau[q]);
        y.push_back(m.gap[q]);
      }
    PlotSeries r{m.label(), {}, {}, PlotStyle::Lines, colour, false};
    for (const LocalRate& lr : local_decay_rates(x, y, low)) {
      r.x.push_back(lr.x);
      r.y.push_back(lr.rate / (2 * m.lambda));
      profile_csv << m.family << "," << m.n << "," << m.d << "," << m.m << "," << m.seed << "," << format_double(lr.x)
                  << "," << format_double(lr.rate) << "," << format_double(lr.rate / (2 * m.lambda)) << "\n";
    }
    if (!r.x.empty()) rate_fig.series.push_back(std::move(r));
  }
  write_file_atomic(dir + "/rate_profile.csv", profile_csv.str());

  // The population's distribution: the relative rate error of each member against its lambda_min,
  // with the tolerance (the wrong predictions lambda_min and 4 lambda_min sit at 1 and 0.5).
  PlotSpec err_fig;
  err_fig.title = "Fitted final rate against 2 lambda_min, every member";
  err_fig.x_label = "lambda_min (Hess_M T at T*)";
  err_fig.y_label = "|fitted / (2 lambda_min) - 1|";
  err_fig.log_x = err_fig.log_y = true;
  err_fig.key = "top left";
  // One series per family: the Gaussian draws of each size, and the Figure 1 draws.
  std::vector<std::string> families;
  for (const Member& m : members)
    if (std::find(families.begin(), families.end(), m.family_label() + " draws") == families.end())
      families.push_back(m.family_label() + " draws");
  const char* const palette[] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf"};
  size_t gaussian_series = 0;
  for (const std::string& family : families) {
    const bool fig1_family = family == "figure1 draws";
    PlotSeries pts{family, {}, {}, PlotStyle::Points, fig1_family ? "#ff7f0e" : palette[gaussian_series++ % 5], false};
    for (const Member& m : members)
      if (m.family_label() + " draws" == family && m.evidence.fitted) {
        pts.x.push_back(m.lambda);
        pts.y.push_back(relative_rate_error(m.evidence));
      }
    if (!pts.x.empty()) err_fig.series.push_back(std::move(pts));
  }
  if (!err_fig.series.empty()) {
    err_fig.series.push_back({"rate_tolerance " + short_number(t.rate_tolerance, 3), {lambda_lo, lambda_hi},
                              {t.rate_tolerance, t.rate_tolerance}, PlotStyle::Lines, "black", true});
    if (write_svg_plot(err_fig, dir + "/rate_error.svg").written)
      v.figures.push_back({"flow_rate/rate_error.svg",
                           "Relative error of the fitted final rate against the prediction 2 lambda_min, per member, "
                           "against its lambda_min; dashed: the tolerance. The mutants' wrong predictions (lambda_min, "
                           "4 lambda_min) would put every member at 1 and 0.5.",
                           "flow_rate/members.csv"});
  }
  if (!gap_fig.series.empty() && write_svg_plot(gap_fig, dir + "/gap.svg").written)
    v.figures.push_back({"flow_rate/gap.svg",
                         "(T - T*)/T* along the flow of every member (blue: Gaussian draws, orange: Figure 1 draws) "
                         "against 2 lambda_min tau: where the prediction holds, every curve ends with slope -1 in "
                         "ln units (one decade per 2.3 units) before it meets the rounding floor near 1e-15.",
                         "flow_rate/*/flow/trajectory.csv, flow_rate/members.csv"});
  if (!rate_fig.series.empty() && write_svg_plot(rate_fig, dir + "/rate_profile.svg").written)
    v.figures.push_back({"flow_rate/rate_profile.svg",
                         "Local rate -d log(T - T*)/dtau between logged points over the predicted final rate 2 "
                         "lambda_min, for every member while (T - T*)/T* > " + short_number(low, 3) +
                             " (the short flow's points up to its end, then the long flow's): 1 is the prediction; "
                             "the profile shows how fast each curve decays before its final regime.",
                         "flow_rate/rate_profile.csv"});
  return v;
}

}  // namespace zeroloss
