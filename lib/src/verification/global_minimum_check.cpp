// Claim 1 (THEORY 5): every stationary point of T on M is the global minimum, and it is rank one.
// Evidence: from many random starts (a = 1 and, optionally, mixed-sign a), the Riemannian flow
// (run until ||grad_M T|| < G) and Riemannian L-BFGS both end at the closed-form optimum; decided
// run by run and as a whole by global_minimum_rule.hpp, with rank tolerances that follow the
// problem's conditioning (lambda_min of Hess_M T at the closed-form minimiser, from `zeroloss inspect`).
// Power: the same end points against a wrong T* (T* (1 + k relative_tolerance), and the other second
// layer's T*), and with the first a = 1 flow's end point moved by a small random step and projected
// back onto M (`zeroloss project`, measured by `zeroloss inspect`): the rule must reject each.

#include <Eigen/Dense>

#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/random/portable_distributions.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/global_minimum_rule.hpp"
#include "zeroloss/verification/report_inputs.hpp"
#include "zeroloss/verification/shell_command.hpp"
#include "zeroloss/verification/stationary_point_census.hpp"
#include "zeroloss/io/weights.hpp"
#include "global_minimum_population.hpp"

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
  double lambda_min = 0;  // of Hess_M T at the closed-form minimiser of this layer
  double data_norm = 0;   // sigma_max(X)
};

// What the runs from every start collect: the evidence, and what the verdict shows of it.
struct Collected {
  GlobalMinimumEvidence evidence;
  json details = json::array();  // one record per start: {layer, start, flow, lbfgs}
  std::ostringstream table;      // runs.csv
  PlotSpec figure;               // T - T* along every flow
  int missed = 0;
  double worst_gap = 0, worst_dist = 0, worst_rank = 0;
  double worst_rank_margin = 0;  // largest rank ratio (or distance to R*) over its tolerance
};

// A run from start `s` before its numbers are read: the layer, the method and the conditioning.
GlobalMinimumRun run_of(const Start& s, MinimumSearch method) {
  GlobalMinimumRun run;
  run.mixed_second_layer = s.mixed;
  run.method = method;
  run.sharpness_star = s.T_star;
  run.lambda_min = s.lambda_min;
  run.data_norm = s.data_norm;
  return run;
}

// The perturbed-endpoint mutant: the end point `weights` moved by a random step of Frobenius norm
// `size` ||Theta||_F (seeded by the configuration's seed), projected back onto M by Newton's method
// and measured there by `zeroloss inspect`; returns the run as the rule sees it and its record.
GlobalMinimumRun perturbed_endpoint(VerificationContext& ctx, const std::string& data, const Start& s,
                                    const std::string& weights, double size, json& record) {
  const std::string act = ctx.config()["problem"]["activation"].get<std::string>();
  const Weights w = read_weights_csv(weights);
  std::mt19937_64 rng(static_cast<std::uint64_t>(ctx.config()["seed"].get<int>()) * 1000003ULL + 104729ULL);
  StandardNormal normal;
  Eigen::MatrixXd step(w.theta.rows(), w.theta.cols());
  for (Eigen::Index i = 0; i < step.size(); ++i) step(i) = normal(rng);
  const Eigen::MatrixXd moved = w.theta + size * w.theta.norm() / step.norm() * step;
  const std::string base = ctx.out() + "/global_minimum/mutant_perturbed_" + s.layer + "_" + std::to_string(s.index);
  write_weights_csv(base + ".csv", moved, w.a);
  ctx.record_file(base + ".csv");
  const int rc = ctx.try_run("global_minimum_mutant_perturbed_project",
                             {"project", "--data", data, "--weights", base + ".csv", "--activation", act, "--method",
                              "newton", "--out", base + "_on_M.csv", "--json"});
  GlobalMinimumRun run = run_of(s, MinimumSearch::Flow);
  run.completed = rc == 0;
  if (rc != 0) return run;
  const json at = ctx.run_json("global_minimum_mutant_perturbed_inspect",
                               {"inspect", "--data", data, "--weights", base + "_on_M.csv", "--activation", act,
                                "--json", "--no-hessian"});
  const auto& sv = at["preactivation_singular_values"];
  run.sharpness = at["sharpness"].get<double>();
  run.grad_norm = at["riemannian_grad_norm"].is_number() ? at["riemannian_grad_norm"].get<double>() : NAN;
  run.rank_one_ratio = sv.size() > 1 ? sv[1].get<double>() / sv[0].get<double>() : 0.0;
  run.preactivation_norm = sv[0].get<double>();
  run.dist_R_opt = NAN;  // not measured by inspect; the mutant perturbs an a = 1 run, where it is not used
  record = {{"relative_gap", std::abs(run.sharpness - s.T_star) / std::abs(s.T_star)},
            {"grad_norm", run.grad_norm},
            {"rank_one_ratio", run.rank_one_ratio},
            {"step", size}};
  return run;
}


// The largest singular value of the data matrix X.
double data_norm_of(const std::string& data_csv) {
  const Dataset d = read_dataset_csv(data_csv);
  return Eigen::JacobiSVD<Eigen::MatrixXd>(d.X).singularValues()(0);
}

// max |phi'''| over the entries of R = X Theta^T of the weights in `weights_csv`.
double third_derivative_bound(const std::string& data_csv, const std::string& weights_csv, const std::string& act) {
  const Dataset d = read_dataset_csv(data_csv);
  const Weights w = read_weights_csv(weights_csv, static_cast<int>(d.X.cols()));
  Eigen::MatrixXd d3;
  Activation::from_name(act).derivatives_of(d.X * w.theta.transpose(), nullptr, nullptr, nullptr, &d3);
  return d3.cwiseAbs().maxCoeff();
}

// (a) The Riemannian gradient flow from the start until ||grad_M T|| < G.
VerificationContext::Command flow_command(VerificationContext& ctx, const std::string& data, const Start& s,
                                          const GlobalMinimumThresholds& t) {
  const json& cfg = ctx.config()["global_minimum"];
  const std::string act = ctx.config()["problem"]["activation"].get<std::string>();
  const std::string k = std::to_string(s.index);
  return {"global_minimum_flow_" + s.layer + "_" + k,
          {"flow", "--data", data, "--weights", s.weights, "--activation", act, "--coefficient", "1", "--time",
           format_double(cfg["flow_time"].get<double>()), "--until-grad", format_double(t.until_gradient),
           "--log-points", "100", "--no-figures", "--out", ctx.out() + "/global_minimum/flow_" + s.layer + "_" + k}};
}

// Reads the flow from start `s` (exit code rc); its result in record["flow"].
void read_flow(VerificationContext& ctx, const Start& s, int rc, const GlobalMinimumThresholds& t, Collected& c,
               json& record) {
  const std::string k = std::to_string(s.index);
  const std::string flow_dir = ctx.out() + "/global_minimum/flow_" + s.layer + "_" + k;
  GlobalMinimumRun run = run_of(s, MinimumSearch::Flow);
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
  run.sharpness = T;
  run.dist_R_opt = fin["dist_R_opt"].is_number() ? fin["dist_R_opt"].get<double>() : NAN;
  run.rank_one_ratio = sv.size() > 1 ? sv[1].get<double>() / sv[0].get<double>() : 0.0;
  run.preactivation_norm = sv[0].get<double>();
  run.grad_norm = fin["grad_norm"].get<double>();
  c.evidence.runs.push_back(run);
  const bool ok = reached_global_minimum(run, t);
  if (!ok) ++c.missed;
  const double gap = std::abs(T - s.T_star) / std::abs(s.T_star);
  c.worst_gap = std::max(c.worst_gap, gap);
  if (std::isfinite(run.dist_R_opt)) c.worst_dist = std::max(c.worst_dist, run.dist_R_opt);
  if (!s.mixed) {
    c.worst_rank = std::max(c.worst_rank, run.rank_one_ratio);
    c.worst_rank_margin = std::max(c.worst_rank_margin, run.rank_one_ratio / rank_one_tolerance(run, t));
  } else {
    c.worst_rank_margin = std::max(c.worst_rank_margin, run.dist_R_opt / optimal_point_tolerance(run, t));
  }
  const double tol = s.mixed ? optimal_point_tolerance(run, t) : rank_one_tolerance(run, t);
  record["flow"] = {{"status", ok ? "reached" : "missed"},
                    {"sharpness", T},
                    {"relative_gap", gap},
                    {"dist_R_opt", fin["dist_R_opt"]},
                    {"rank_one_ratio", run.rank_one_ratio},
                    {s.mixed ? "optimal_point_tolerance" : "rank_one_tolerance", tol},
                    {"grad_norm", run.grad_norm},
                    {"tau", fin["tau"]}};
  c.table << s.layer << "," << k << ",flow," << format_double(T) << "," << format_double(s.T_star) << ","
          << format_double(gap) << "," << format_double(s.mixed ? run.dist_R_opt : run.rank_one_ratio) << ","
          << format_double(tol) << "," << format_double(run.grad_norm) << "," << (ok ? "reached" : "missed") << "\n";
  // The curve T - T* of this start, for the figure.
  const std::vector<double> tau = read_csv_column(flow_dir + "/trajectory.csv", "tau");
  const std::vector<double> Ts = read_csv_column(flow_dir + "/trajectory.csv", "sharpness");
  PlotSeries series{s.layer + " " + k, tau, {}, PlotStyle::Lines, s.mixed ? "#d62728" : "#1f77b4", s.mixed};
  for (double x : Ts) series.y.push_back(x - s.T_star);
  c.figure.series.push_back(std::move(series));
}

// (b) Riemannian L-BFGS on M (Ceres) from the same start.
VerificationContext::Command lbfgs_command(VerificationContext& ctx, const std::string& data, const Start& s) {
  const std::string act = ctx.config()["problem"]["activation"].get<std::string>();
  const std::string k = std::to_string(s.index);
  return {"global_minimum_lbfgs_" + s.layer + "_" + k,
          {"optimum", "--method", "lbfgs", "--data", data, "--weights", s.weights, "--activation", act, "--out",
           ctx.out() + "/global_minimum/lbfgs_" + s.layer + "_" + k + ".csv", "--json"}};
}

// Reads the L-BFGS run from start `s` (exit code rc, its stdout in logs/); its result in record["lbfgs"].
void read_lbfgs(VerificationContext& ctx, const std::string& data, const Start& s, int rc,
                const GlobalMinimumThresholds& t, Collected& c, json& record) {
  const std::string act = ctx.config()["problem"]["activation"].get<std::string>();
  const std::string k = std::to_string(s.index);
  const std::string lbfgs_out = ctx.out() + "/global_minimum/lbfgs_" + s.layer + "_" + k + ".csv";
  std::string printed;
  if (rc == 0) {
    std::ifstream in(ctx.out() + "/logs/global_minimum_lbfgs_" + s.layer + "_" + k + ".out");
    std::stringstream text;
    text << in.rdbuf();
    printed = text.str();
  }
  GlobalMinimumRun run = run_of(s, MinimumSearch::Lbfgs);
  run.completed = rc == 0;
  if (rc != 0) {
    ++c.missed;
    record["lbfgs"] = {{"status", "error"}, {"exit_code", rc}};
    c.evidence.runs.push_back(run);
    return;
  }
  json summary = json::parse(printed);
  const double T = summary["sharpness"].get<double>();
  run.sharpness = T;
  run.rank_one_ratio = summary["preactivation_rank_one_ratio"].get<double>();
  run.preactivation_norm = summary["preactivation_singular_values"][0].get<double>();
  run.phi2_rank_one_ratio = summary["second_derivative_rank_one_ratio"].get<double>();
  run.second_derivative_norm = summary["second_derivative_singular_values"][0].get<double>();
  if (s.mixed) run.third_derivative_bound = third_derivative_bound(data, lbfgs_out, act);
  run.grad_norm = summary["riemannian_grad_norm"].is_number() ? summary["riemannian_grad_norm"].get<double>() : NAN;
  c.evidence.runs.push_back(run);
  const bool ok = reached_global_minimum(run, t);
  if (!ok) ++c.missed;
  const double gap = std::abs(T - s.T_star) / std::abs(s.T_star);
  c.worst_gap = std::max(c.worst_gap, gap);
  const double tol = s.mixed ? phi2_rank_one_tolerance(run, t) : rank_one_tolerance(run, t);
  c.worst_rank_margin =
      std::max(c.worst_rank_margin, (s.mixed ? run.phi2_rank_one_ratio : run.rank_one_ratio) / tol);
  record["lbfgs"] = {{"status", ok ? "reached" : "missed"},
                     {"sharpness", T},
                     {"relative_gap", gap},
                     {"rank_one_ratio", run.rank_one_ratio},
                     {"phi2_rank_one_ratio", run.phi2_rank_one_ratio},
                     {"rank_one_tolerance", tol},
                     {"grad_norm", summary["riemannian_grad_norm"]}};
  c.table << s.layer << "," << k << ",lbfgs," << format_double(T) << "," << format_double(s.T_star) << ","
          << format_double(gap) << "," << format_double(s.mixed ? run.phi2_rank_one_ratio : run.rank_one_ratio) << ","
          << format_double(tol) << "," << format_double(run.grad_norm) << "," << (ok ? "reached" : "missed") << "\n";
}

// What the stationary-point search found on one problem.
struct SearchOutcome {
  std::vector<StationarySearchPoint> points;
  int converged = 0, saddles = 0;
  double lowest = NAN;   // the lowest T among the converged points
  json distinct = json::array();  // the distinct stationary points: T, inertia, how many starts
};

// The stationary-point search (stationary_point_census.hpp) on the data in `data_csv` with second
// layer `a`, each point compared with `T_star` (NaN: with the lowest T found, for a problem without a
// closed form); the table goes to `csv_path`.
SearchOutcome stationary_search(VerificationContext& ctx, const std::string& data_csv, const Eigen::VectorXd& a,
                                double T_star, std::uint64_t seed, const std::string& csv_path) {
  const json& cfg = ctx.config()["global_minimum"];
  const Dataset d = read_dataset_csv(data_csv);
  const TwoLayerModel model(d.X, d.y, a, Activation::from_name(ctx.config()["problem"]["activation"].get<std::string>()));
  StationaryPointCensusOptions o;
  o.starts = cfg["search_starts"].get<int>();
  o.init_scale = ctx.config()["problem"]["init_scale"].get<double>();
  o.seed = seed;
  o.search.gradient_tolerance = cfg["search_gradient_tolerance"].get<double>();
  o.search.max_iterations = cfg["search_max_iterations"].get<int>();
  const auto entries =
      stationary_point_census(model, o, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  SearchOutcome out;
  for (const auto& e : entries)
    if (e.summary.converged() && !(e.summary.sharpness >= out.lowest)) out.lowest = e.summary.sharpness;
  const double star = std::isnan(T_star) ? out.lowest : T_star;
  for (const auto& e : entries) {
    out.points.push_back({e.summary.converged(), e.summary.sharpness, star, e.inertia.negative, e.inertia.zero});
    if (e.summary.converged()) ++out.converged;
    if (e.summary.converged() && e.inertia.negative > 0) ++out.saddles;
  }
  write_file_atomic(csv_path, stationary_point_census_csv(entries, star));
  for (const auto& p : distinct_stationary_points(converged_stationary_points(model, entries), {}))
    out.distinct.push_back({{"sharpness", p.point.sharpness},
                            {"negative", p.point.inertia.negative},
                            {"zero", p.point.inertia.zero},
                            {"positive", p.point.inertia.positive},
                            {"starts", p.starts}});
  return out;
}

// "T = 12.5 (index 1) x 3, ..." for the evidence text.
std::string distinct_text(const json& distinct) {
  std::string s;
  for (const auto& p : distinct)
    s += (s.empty() ? "" : ", ") + std::string("T = ") + short_number(p["sharpness"].get<double>(), 6) + " (" +
         std::to_string(p["negative"].get<int>()) + " negative, " + std::to_string(p["zero"].get<int>()) +
         " zero eigenvalues) from " + std::to_string(p["starts"].get<int>()) + " starts";
  return s.empty() ? "none" : s;
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
  thresholds.lbfgs_gradient = cfg["lbfgs_gradient"].get<double>();
  thresholds.safety_factor = cfg["safety_factor"].get<double>();
  thresholds.search_min_converged_fraction = cfg["search_min_converged_fraction"].get<double>();
  thresholds.population_min_tested_fraction = cfg["population"]["min_tested_fraction"].get<double>();
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
  c.table << "layer,start,method,sharpness,T_star,relative_gap,rank_one_ratio_or_dist_R_opt,tolerance,grad_norm,status\n";
  const double data_norm = data_norm_of(data);
  std::vector<Start> layer_starts;  // start 0 of each layer (its T* and conditioning)
  std::string first_flow_weights;   // the end point the perturbed-endpoint mutant moves
  size_t first_flow_run = 0;
  std::vector<std::string> first_runs;  // start 0's flow and L-BFGS commands (a = 1), for the reproduce block
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
    // The conditioning at the minimiser: lambda_min of Hess_M T there.
    const json at_opt = ctx.run_json("global_minimum_inspect_" + s.layer, {"inspect", "--data", data, "--weights",
                                                                           opt_out, "--activation", act, "--json"});
    if (!at_opt["hessian_eigenvalues"].is_array() || at_opt["hessian_eigenvalues"].empty())
      throw CommandFailedError("`zeroloss inspect` printed no Hessian spectrum at the closed-form minimiser (a = " +
                               s.layer + ")");
    s.lambda_min = at_opt["hessian_eigenvalues"][0].get<double>();
    s.data_norm = data_norm;
    layer_starts.push_back(s);
    if (first_start_end == 0) first_start_end = ctx.commands().size();
    // Every start of this layer, then their flows and L-BFGS runs in parallel child processes.
    std::vector<Start> from;
    std::vector<VerificationContext::Command> cmds;
    for (int k = 0; k < starts; ++k) {
      s.index = k;
      s.weights = k == 0 ? start0
                         : write_random_start(ctx, data, m, k + (mixed ? 100 : 0), mixed,
                                              "global_minimum/start_" + s.layer + "_" + std::to_string(k) + ".csv");
      from.push_back(s);
    }
    for (const Start& st : from) {
      cmds.push_back(flow_command(ctx, data, st, thresholds));
      cmds.push_back(lbfgs_command(ctx, data, st));
    }
    ctx.progress("global minimum: flow and L-BFGS from " + std::to_string(starts) + " starts (a = " + s.layer +
                 "), in parallel");
    const size_t runs_first = ctx.commands().size();
    const std::vector<int> codes =
        ctx.try_run_parallel(cmds, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    if (!mixed) first_runs = {ctx.commands()[runs_first], ctx.commands()[runs_first + 1]};
    for (size_t q = 0; q < from.size(); ++q) {
      json record = {{"layer", from[q].layer}, {"start", from[q].index}};
      if (!mixed && q == 0) {
        first_flow_run = c.evidence.runs.size();
        first_flow_weights = ctx.out() + "/global_minimum/flow_ones_0/final_weights.csv";
      }
      read_flow(ctx, from[q], codes[2 * q], thresholds, c, record);
      read_lbfgs(ctx, data, from[q], codes[2 * q + 1], thresholds, c, record);
      c.details.push_back(record);
    }
  }
  write_file_atomic(dir + "/runs.csv", c.table.str());
  // The stationary-point search of every index, on each second layer.
  json search = json::object();
  const std::uint64_t seed = static_cast<std::uint64_t>(ctx.config()["seed"].get<int>());
  for (const Start& s : layer_starts) {
    ctx.progress("global minimum: stationary-point search (a = " + s.layer + ")");
    const SearchOutcome o = stationary_search(ctx, data, read_weights_csv(dir + "/start_" + s.layer + "_0.csv").a, s.T_star,
                                              seed * 2 + (s.mixed ? 1 : 0), dir + "/stationary_points_" + s.layer + ".csv");
    c.evidence.search_starts += cfg["search_starts"].get<int>();
    c.evidence.search.insert(c.evidence.search.end(), o.points.begin(), o.points.end());
    search[s.layer] = {{"starts", cfg["search_starts"]}, {"converged", o.converged}, {"saddles", o.saddles},
                       {"distinct", o.distinct}};
  }
  // The same search on a population of problems.
  const size_t population_first = ctx.commands().size();
  GlobalMinimumPopulation population = search_global_minimum_population(ctx, thresholds);
  c.evidence.search_starts += population.starts;
  c.evidence.search.insert(c.evidence.search.end(), population.points.begin(), population.points.end());
  c.evidence.population = population.members;
  const size_t population_end = ctx.commands().size();
  // The reproduce block: up to the first layer's minimiser and start 0, then start 0's two runs.
  std::vector<std::string> cmds(ctx.commands().begin() + first_command, ctx.commands().begin() + first_start_end);
  cmds.insert(cmds.end(), first_runs.begin(), first_runs.end());
  v.command = join_commands(cmds) + "\n# and the same for every start" +
              (layers.size() > 1 ? std::string(" and for the mixed-sign a") : std::string("")) +
              " (all commands in logs/)";
  const int total = static_cast<int>(c.evidence.runs.size());
  const Decision decision = decide_global_minimum(c.evidence, thresholds);

  // Power. (a) T* off by a few tolerances; (b) the other second layer's T*; (c) a perturbed end point.
  json mutants = json::object();
  const double k_tol = cfg["mutant_value_tolerances"].get<double>();
  GlobalMinimumEvidence wrong = c.evidence;
  for (auto& r : wrong.runs) r.sharpness_star *= 1 + k_tol * thresholds.relative_tolerance;
  for (auto& p : wrong.search) p.sharpness_star *= 1 + k_tol * thresholds.relative_tolerance;
  const Decision on_wrong = decide_global_minimum(wrong, thresholds);
  v.power.push_back({"wrong_T_star",
                     "every end point and every stationary point found compared with T* (1 + " + short_number(k_tol, 3) + " relative_tolerance)",
                     rejects(on_wrong)});
  if (layer_starts.size() > 1) {
    GlobalMinimumEvidence other = c.evidence;
    for (auto& r : other.runs)
      r.sharpness_star = r.mixed_second_layer ? layer_starts[0].T_star : layer_starts[1].T_star;
    v.power.push_back({"other_layer_T_star",
                       "every end point compared with the closed-form T* of the other second layer (" +
                           short_number(layer_starts[0].T_star, 6) + " and " + short_number(layer_starts[1].T_star, 6) +
                           ")",
                       rejects(decide_global_minimum(other, thresholds))});
  }
  const double step = cfg["perturbation"].get<double>();
  if (!first_flow_weights.empty() && c.evidence.runs[first_flow_run].completed) {
    ctx.progress("global minimum: the perturbed-endpoint mutant");
    const size_t mutant_first = ctx.commands().size();
    json rec;
    Start s0 = layer_starts[0];
    s0.index = 0;
    GlobalMinimumEvidence moved = c.evidence;
    moved.runs[first_flow_run] = perturbed_endpoint(ctx, data, s0, first_flow_weights, step, rec);
    const Decision on_moved = decide_global_minimum(moved, thresholds);
    json failed = json::array();
    for (const auto& r : on_moved.rules)
      if (!r.held) failed.push_back(r.rule);
    rec["rules_failed"] = failed;
    v.command += "\n# the perturbed-endpoint mutant (start 0, a = 1):\n" +
                 join_commands({ctx.commands().begin() + static_cast<std::ptrdiff_t>(mutant_first), ctx.commands().end()});
    mutants["perturbed_endpoint"] = rec;
    v.power.push_back({"perturbed_endpoint",
                       "the end point of the first a = 1 flow moved by a random step of size " + short_number(step, 3) +
                           " ||Theta|| and projected back onto M (Newton)",
                       rejects(on_moved)});
  }
  {
    // (d) The assumption n <= d removed: the same search on an n > d problem, whose lowest T found
    // stands in for T* (there is no closed form); it has saddles and minima that are not global.
    ctx.progress("global minimum: the n > d mutant (stationary-point search)");
    const std::string mdata = dir + "/mutant_n_gt_d_data.csv";
    ctx.run("global_minimum_mutant_n_gt_d_data",
            {"data", "--generator", "gaussian", "--n", std::to_string(cfg["search_mutant_n"].get<int>()), "--d",
             std::to_string(cfg["search_mutant_d"].get<int>()), "--labels", "random", "--seed",
             std::to_string(problem["data_seed"].get<int>()), "--out", mdata});
    GlobalMinimumEvidence outside;
    const SearchOutcome o = stationary_search(ctx, mdata, Eigen::VectorXd::Ones(m), NAN, seed * 2,
                                              dir + "/mutant_n_gt_d_stationary_points.csv");
    outside.runs = c.evidence.runs;
    outside.search_starts = cfg["search_starts"].get<int>();
    outside.search = o.points;
    search["mutant_n_gt_d"] = {{"starts", cfg["search_starts"]}, {"converged", o.converged}, {"saddles", o.saddles},
                               {"distinct", o.distinct}};
    v.power.push_back({"n_greater_than_d",
                       "the stationary-point search on an n > d problem (n = " +
                           std::to_string(cfg["search_mutant_n"].get<int>()) + ", d = " +
                           std::to_string(cfg["search_mutant_d"].get<int>()) +
                           ", a = 1; no closed form: the lowest T found stands in for T*)",
                       rejects(decide_global_minimum(outside, thresholds))});
  }
  v.status = status_with_power(decision, v.power);
  json lambdas = json::object();
  for (const auto& s : layer_starts) lambdas[s.layer] = s.lambda_min;
  v.numbers = {{"runs", total},
               {"missed", c.missed},
               {"worst_relative_gap", c.worst_gap},
               {"worst_rank_one_ratio_a1", c.worst_rank},
               {"worst_dist_R_opt", c.worst_dist},
               {"worst_rank_over_tolerance", c.worst_rank_margin},
               {"lambda_min_at_minimiser", lambdas},
               {"data_norm", data_norm},
               {"relative_tolerance", thresholds.relative_tolerance},
               {"rank_tolerance", thresholds.rank_tolerance},
               {"until_gradient", thresholds.until_gradient},
               {"lbfgs_gradient", thresholds.lbfgs_gradient},
               {"safety_factor", thresholds.safety_factor},
               {"search_min_converged_fraction", thresholds.search_min_converged_fraction},
               {"stationary_search", search},
               {"population", population.numbers},
               {"mutants", mutants},
               {"details", c.details}};
  std::ostringstream ev;
  ev << total << " runs (Riemannian flow until ||grad_M T|| < " << short_number(thresholds.until_gradient, 4)
     << ", and Riemannian L-BFGS) from " << starts << " random starts"
     << (layers.size() > 1 ? " for a = 1 and for a mixed-sign a" : "") << ": " << total - c.missed
     << " reached the closed-form optimum T* (largest relative gap " << short_number(c.worst_gap, 3)
     << ", tolerance " << short_number(thresholds.relative_tolerance, 4)
     << "); largest sigma_2/sigma_1 of R at the end (a = 1): " << short_number(c.worst_rank, 3)
     << "; rank tolerances follow the conditioning, " << short_number(thresholds.rank_tolerance, 4) << " + "
     << short_number(thresholds.safety_factor, 3)
     << " sigma_max(X) ||grad_M T|| / (lambda_min sigma_1(R)) per run (lambda_min of Hess_M T at the minimiser:";
  for (size_t k = 0; k < layer_starts.size(); ++k)
    ev << (k ? ", " : " ") << short_number(layer_starts[k].lambda_min, 4)
       << (layer_starts[k].mixed ? " (mixed a)" : " (a = 1)");
  ev << "; sigma_max(X) = " << short_number(data_norm, 4) << "), the largest ratio to its tolerance "
     << short_number(c.worst_rank_margin, 3)
     << (c.missed ? "; " + std::to_string(c.missed) + " runs missed it (see runs.csv)" : "") << ". Mutants:";
  for (const auto& m : v.power) ev << " " << m.mutant << " " << (m.rejected ? "rejected" : "NOT rejected") << ";";
  if (mutants.contains("perturbed_endpoint")) {
    const json& p = mutants["perturbed_endpoint"];
    ev << " the perturbed end point had relative gap " << short_number(p["relative_gap"].get<double>(), 3)
       << ", ||grad_M T|| " << (p["grad_norm"].is_number() ? short_number(p["grad_norm"].get<double>(), 3) : "-")
       << " and sigma_2/sigma_1 " << short_number(p["rank_one_ratio"].get<double>(), 3) << " (failed: "
       << p["rules_failed"].dump() << ")";
  }
  ev << ". Stationary points of every index (Riemannian Levenberg-Marquardt on ||grad_M T||^2 from "
     << cfg["search_starts"].get<int>() << " starts per second layer, half of them with coinciding neurons):";
  for (const auto& [layer, r] : search.items())
    ev << " " << (layer == "mutant_n_gt_d" ? std::string("n > d mutant") : "a = " + layer) << ": "
       << r["converged"].get<int>() << " converged, " << distinct_text(r["distinct"]) << ";";
  ev << " " << population.evidence;
  v.evidence = ev.str();
  v.command += "\n# the population's data (the stationary-point search runs inside `zeroloss run`):\n" +
               join_commands({ctx.commands().begin() + static_cast<std::ptrdiff_t>(population_first),
                              ctx.commands().begin() + static_cast<std::ptrdiff_t>(population_end)});
  v.figures.insert(v.figures.end(), population.figures.begin(), population.figures.end());
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
