// Claim 7 (THEORY 9): label-noise SGD on the diagonal linear network reaches the weighted-l1
// interpolator. Evidence, for each data draw of the population (Gaussian X, n < d, random start
// u_k, v_k ~ U[s/2, 3s/2]): the certified interpolator (`zeroloss optimum --model diagonal-linear`),
// label-noise SGD from the start (`zeroloss sgd --model diagonal-linear`) and its end point moved
// onto M (`zeroloss project --model diagonal-linear --method newton`); decided by
// decide_diagonal_sparse_interpolator (diagonal_sparse_interpolator_rule.hpp).
// Reported, not asserted: a k-sparse ground truth (k < n, labels y = X w_true), where the
// interpolator is a singular point of M (J J^T has rank at most k there): how close SGD's end point
// comes to w_true and to the certified interpolator (Newton's projection does not apply there).
// Power: the same pipeline with label noise s = 0. Plain SGD on an interpolating problem stops on M
// at the interpolator its start determines (generically not the weighted-l1 one) and does not move
// along M, so the rule must reject it; if it does not, the verdict is inconclusive.

#include <algorithm>
#include <climits>
#include <cmath>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/random/rng.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/diagonal_sparse_interpolator_rule.hpp"
#include "zeroloss/verification/shell_command.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

// One pipeline: label-noise SGD with noise `label_noise` (the claim's, or 0 for the mutant).
struct Pipeline {
  std::string name;  // folder and log prefix: "sgd" or "mutant_no_noise"
  double label_noise = 0;
  DiagonalInterpolatorEvidence evidence;
  json members = json::array();
  PlotSpec figure;
};

struct Draw {
  int seed = 0;
  std::string dir, data, start;
  std::vector<double> w_star;
  std::vector<int> support;
  double T_star = 0;
  double decay_rate = 0;  // off_support_decay_rate of w*
  long long steps = 0;    // the SGD budget of this draw
};

// The certified interpolator of one draw: data, start and `zeroloss optimum`.
Draw certified_draw(VerificationContext& ctx, int seed) {
  const json& cfg = ctx.config()["diagonal_sparse_interpolator"];
  Draw d;
  d.seed = seed;
  d.dir = ctx.dir("diagonal_sparse_interpolator/draw_" + std::to_string(seed));
  d.data = d.dir + "/data.csv";
  d.start = d.dir + "/start.csv";
  const std::string tag = "diagonal_sparse_interpolator_" + std::to_string(seed);
  ctx.run(tag + "_data", {"data", "--model", "diagonal-linear", "--generator", "gaussian", "--n",
                          std::to_string(cfg["n"].get<int>()), "--d", std::to_string(cfg["d"].get<int>()), "--seed",
                          std::to_string(seed), "--init-scale", format_double(cfg["init_scale"].get<double>()), "--out",
                          d.data, "--weights-out", d.start});
  const json opt = ctx.run_json(tag + "_optimum", {"optimum", "--model", "diagonal-linear", "--data", d.data,
                                                   "--weights", d.start, "--out", d.dir + "/optimum.csv", "--json"});
  d.w_star = opt["w"].get<std::vector<double>>();
  for (const auto& k : opt["support"]) d.support.push_back(k.get<int>() - 1);  // printed 1-based
  d.T_star = opt["sharpness"].get<double>();
  // The budget: long enough for the slowest off-support coordinate to decay by exp(-decay_exponent)
  // at the predicted rate, within [steps, max_steps].
  d.decay_rate = off_support_decay_rate(read_dataset_csv(d.data).X, opt["dual"].get<std::vector<double>>(), d.support);
  const double s = cfg["label_noise"].get<double>(), eta = cfg["lr"].get<double>();
  const double tau_per_step = s * s * eta * eta / (4.0 * cfg["batch"].get<int>());
  const double wanted = std::ceil(cfg["decay_exponent"].get<double>() / (d.decay_rate * tau_per_step));
  const long long lo = cfg["steps"].get<long long>(), hi = cfg["max_steps"].get<long long>();
  d.steps = !(d.decay_rate > 0) || !(wanted < static_cast<double>(hi)) ? hi
                                                                        : std::max(lo, static_cast<long long>(wanted));
  return d;
}

// Runs the pipeline `p` on draw `d` and adds the member to its evidence.
void run_pipeline(VerificationContext& ctx, const Draw& d, const DiagonalInterpolatorThresholds& t, Pipeline& p) {
  const json& cfg = ctx.config()["diagonal_sparse_interpolator"];
  const std::string tag = "diagonal_sparse_interpolator_" + std::to_string(d.seed) + "_" + p.name;
  const std::string sgd_dir = d.dir + "/" + p.name;
  const std::string on_M = d.dir + "/" + p.name + "_on_M.csv";
  DiagonalInterpolatorMember m;
  m.data_seed = d.seed;
  m.w_star = d.w_star;
  m.certified_support = d.support;
  m.sharpness_star = d.T_star;
  json record = {{"data_seed", d.seed},
                 {"T_star", d.T_star},
                 {"certified_support_size", d.support.size()},
                 {"predicted_decay_rate", d.decay_rate},
                 {"steps", d.steps}};
  int rc = ctx.try_run(tag, {"sgd", "--model", "diagonal-linear", "--data", d.data, "--weights", d.start, "--lr",
                             format_double(cfg["lr"].get<double>()), "--label-noise", format_double(p.label_noise),
                             "--batch", std::to_string(cfg["batch"].get<int>()), "--steps",
                             std::to_string(d.steps), "--seed",
                             std::to_string(ctx.config()["seed"].get<int>()), "--log-points",
                             std::to_string(cfg["log_points"].get<int>()), "--out", sgd_dir});
  std::string printed;
  if (rc == 0)
    rc = ctx.try_run(tag + "_project", {"project", "--model", "diagonal-linear", "--method", "newton", "--data", d.data,
                                        "--weights", sgd_dir + "/final_weights.csv", "--out", on_M, "--json"},
                     &printed);
  if (rc != 0) {
    record["status"] = "not completed";
    record["exit_code"] = rc;
    p.evidence.members.push_back(m);
    p.members.push_back(record);
    return;
  }
  m.completed = true;
  m.sharpness = json::parse(printed)["sharpness_after"].get<double>();
  const DiagonalWeights uv = read_diagonal_weights_csv(on_M, static_cast<int>(d.w_star.size()));
  for (Eigen::Index k = 0; k < uv.u.size(); ++k) m.w.push_back(uv.u[k] * uv.u[k] - uv.v[k] * uv.v[k]);
  p.evidence.members.push_back(m);
  bool reached = true;
  for (const auto& r : diagonal_interpolator_member_rules(m, t)) reached = reached && r.held;
  std::vector<int> recovered = recovered_support(m.w, t.support_threshold);
  for (int& k : recovered) ++k;
  record["status"] = reached ? "reached" : "missed";
  record["T"] = m.sharpness;
  record["relative_gap"] = (m.sharpness - d.T_star) / d.T_star;
  record["relative_distance"] = relative_distance(m.w, m.w_star);
  record["recovered_support"] = recovered;  // 1-based, as `zeroloss optimum` prints it
  p.members.push_back(record);
  // T - T* along SGD (T off M, as the run logs it), for the figure.
  const std::vector<double> tau = read_csv_column(sgd_dir + "/trajectory.csv", "tau");
  const std::vector<double> step = read_csv_column(sgd_dir + "/trajectory.csv", "step");
  const std::vector<double> T = read_csv_column(sgd_dir + "/trajectory.csv", "sharpness");
  PlotSeries s{p.name + " " + std::to_string(d.seed), step, {}, PlotStyle::Lines,
               p.label_noise > 0 ? "#1f77b4" : "#d62728", p.label_noise == 0};
  for (double x : T) s.y.push_back((x - d.T_star) / d.T_star);
  p.figure.series.push_back(std::move(s));
}

// The worst member of a pipeline: largest relative distance (completed members), and how many reached.
struct Worst {
  double distance = 0, gap = 0;
  int reached = 0, completed = 0;
  long long fewest_steps = LLONG_MAX, most_steps = 0;
};

Worst worst_of(const Pipeline& p) {
  Worst w;
  for (const auto& r : p.members) {
    w.fewest_steps = std::min(w.fewest_steps, r["steps"].get<long long>());
    w.most_steps = std::max(w.most_steps, r["steps"].get<long long>());
    if (r["status"] == "not completed") continue;
    ++w.completed;
    if (r["status"] == "reached") ++w.reached;
    w.distance = std::max(w.distance, r["relative_distance"].get<double>());
    w.gap = std::max(w.gap, std::abs(r["relative_gap"].get<double>()));
  }
  return w;
}

// The reported k-sparse case of one draw (see the file comment): numbers, no verdict.
json sparse_truth_case(VerificationContext& ctx, int seed) {
  const json& cfg = ctx.config()["diagonal_sparse_interpolator"];
  const int k_true = cfg["sparse_truth_k"].get<int>();
  const std::string dir = ctx.dir("diagonal_sparse_interpolator/sparse_truth_" + std::to_string(seed));
  const std::string tag = "diagonal_sparse_interpolator_sparse_" + std::to_string(seed);
  // X and the start from the generator, then labels y = X w_true with k coordinates of w_true nonzero,
  // drawn by xoshiro256++ (portable bits): coordinates without repeats, values +-(1 + U[0, 1)).
  ctx.run(tag + "_data", {"data", "--model", "diagonal-linear", "--generator", "gaussian", "--n",
                          std::to_string(cfg["n"].get<int>()), "--d", std::to_string(cfg["d"].get<int>()), "--seed",
                          std::to_string(seed), "--init-scale", format_double(cfg["init_scale"].get<double>()), "--out",
                          dir + "/generated.csv", "--weights-out", dir + "/start.csv"});
  Dataset data = read_dataset_csv(dir + "/generated.csv");
  const int d = static_cast<int>(data.X.cols());
  Xoshiro256pp rng(static_cast<std::uint64_t>(seed), 11);
  std::vector<int> coordinates(static_cast<std::size_t>(d));
  for (int k = 0; k < d; ++k) coordinates[static_cast<std::size_t>(k)] = k;
  Eigen::VectorXd w_true = Eigen::VectorXd::Zero(d);
  std::vector<int> support;
  for (int j = 0; j < k_true; ++j) {
    const int pick = j + static_cast<int>(rng.below(static_cast<std::uint64_t>(d - j)));
    std::swap(coordinates[static_cast<std::size_t>(j)], coordinates[static_cast<std::size_t>(pick)]);
    const int k = coordinates[static_cast<std::size_t>(j)];
    w_true(k) = ((rng() & 1) ? -1.0 : 1.0) * (1.0 + rng.uniform());
    support.push_back(k + 1);  // 1-based, as `zeroloss optimum` prints supports
  }
  std::sort(support.begin(), support.end());
  data.y = data.X * w_true;
  write_dataset_csv(dir + "/data.csv", data);
  ctx.record_file(dir + "/data.csv");
  const json opt = ctx.run_json(tag + "_optimum", {"optimum", "--model", "diagonal-linear", "--data", dir + "/data.csv",
                                                   "--weights", dir + "/start.csv", "--out", dir + "/optimum.csv", "--json"});
  const std::vector<double> w_star = opt["w"].get<std::vector<double>>();
  const std::vector<double> truth(w_true.data(), w_true.data() + d);
  json record = {{"data_seed", seed},
                 {"k", k_true},
                 {"true_support", support},
                 {"T_star", opt["sharpness"]},
                 {"certified_support", opt["support"]},
                 {"interpolator_is_truth_distance", relative_distance(w_star, truth)},
                 {"steps", cfg["steps"]}};
  const int rc = ctx.try_run(tag + "_sgd", {"sgd", "--model", "diagonal-linear", "--data", dir + "/data.csv", "--weights",
                                            dir + "/start.csv", "--lr", format_double(cfg["lr"].get<double>()),
                                            "--label-noise", format_double(cfg["label_noise"].get<double>()), "--batch",
                                            std::to_string(cfg["batch"].get<int>()), "--steps",
                                            std::to_string(cfg["steps"].get<long long>()), "--seed",
                                            std::to_string(ctx.config()["seed"].get<int>()), "--log-points",
                                            std::to_string(cfg["log_points"].get<int>()), "--out", dir + "/sgd"});
  if (rc != 0) {
    record["status"] = "not completed";
    record["exit_code"] = rc;
    return record;
  }
  const DiagonalWeights uv = read_diagonal_weights_csv(dir + "/sgd/final_weights.csv", d);
  std::vector<double> w;
  for (Eigen::Index k = 0; k < uv.u.size(); ++k) w.push_back(uv.u[k] * uv.u[k] - uv.v[k] * uv.v[k]);
  const json summary = read_json_file(dir + "/sgd/summary.json");
  std::vector<int> recovered = recovered_support(w, cfg["support_threshold"].get<double>());
  for (int& k : recovered) ++k;
  record["status"] = "completed";
  record["sgd_distance_to_truth"] = relative_distance(w, truth);
  record["sgd_distance_to_interpolator"] = relative_distance(w, w_star);
  record["sgd_loss"] = summary["final"]["loss"];
  record["sgd_T"] = summary["final"]["sharpness"];
  record["sgd_recovered_support"] = recovered;
  return record;
}

}  // namespace

Verdict check_diagonal_sparse_interpolator(VerificationContext& ctx) {
  Verdict v;
  v.key = "diagonal_sparse_interpolator";
  v.claim = "Label-noise SGD on the diagonal linear network reaches the weighted-l1 interpolator (the minimum of T on M)";
  const json& cfg = ctx.config()["diagonal_sparse_interpolator"];
  DiagonalInterpolatorThresholds t;
  t.relative_distance_tolerance = cfg["relative_distance_tolerance"].get<double>();
  t.sharpness_gap_tolerance = cfg["sharpness_gap_tolerance"].get<double>();
  t.support_threshold = cfg["support_threshold"].get<double>();
  const int draws = cfg["draws"].get<int>();
  const int first_seed = cfg["first_data_seed"].get<int>();
  const size_t first_command = ctx.begin_block();
  const std::string dir = ctx.dir("diagonal_sparse_interpolator");
  size_t first_draw_end = 0;

  Pipeline claim{"sgd", cfg["label_noise"].get<double>(), {}, json::array(), {}};
  Pipeline mutant{"mutant_no_noise", 0.0, {}, json::array(), {}};
  for (int k = 0; k < draws; ++k) {
    ctx.progress("diagonal network: draw " + std::to_string(k + 1) + "/" + std::to_string(draws) +
                 ": certified interpolator, label-noise SGD and the s = 0 mutant");
    const Draw d = certified_draw(ctx, first_seed + k);
    run_pipeline(ctx, d, t, claim);
    run_pipeline(ctx, d, t, mutant);
    if (first_draw_end == 0) first_draw_end = ctx.commands().size();
  }
  json sparse = json::array();
  const int sparse_draws = cfg["sparse_truth_draws"].get<int>();
  for (int k = 0; k < sparse_draws; ++k) {
    ctx.progress("diagonal network: k-sparse ground truth " + std::to_string(k + 1) + "/" + std::to_string(sparse_draws) +
                 " (reported, not asserted)");
    sparse.push_back(sparse_truth_case(ctx, first_seed + draws + k));
  }
  std::vector<std::string> cmds(ctx.commands().begin() + first_command, ctx.commands().begin() + first_draw_end);
  v.command = join_commands(cmds) + "\n# and the same for every data seed up to " +
              std::to_string(first_seed + draws - 1) + " (all commands in logs/)";

  const Decision decision = decide_diagonal_sparse_interpolator(claim.evidence, t);
  const Decision on_mutant = decide_diagonal_sparse_interpolator(mutant.evidence, t);
  v.power.push_back({"no_label_noise",
                     "label noise s = 0 (plain SGD, same steps and start): it stops at the interpolator its start "
                     "determines instead of moving along M",
                     rejects(on_mutant)});
  v.status = status_with_power(decision, v.power);

  const Worst wc = worst_of(claim), wm = worst_of(mutant);
  json rules = json::object();
  for (const auto& r : decision.rules) rules[r.rule] = r.held;
  const double tau_per_step = cfg["label_noise"].get<double>() * cfg["label_noise"].get<double>() *
                              cfg["lr"].get<double>() * cfg["lr"].get<double>() / (4.0 * cfg["batch"].get<int>());
  v.numbers = {{"draws", draws},
               {"reached", wc.reached},
               {"worst_relative_distance", wc.distance},
               {"worst_relative_gap", wc.gap},
               {"flow_time_per_step", tau_per_step},
               {"fewest_steps", wc.fewest_steps},
               {"most_steps", wc.most_steps},
               {"decay_exponent", cfg["decay_exponent"]},
               {"rules", rules},
               {"relative_distance_tolerance", t.relative_distance_tolerance},
               {"sharpness_gap_tolerance", t.sharpness_gap_tolerance},
               {"support_threshold", t.support_threshold},
               {"members", claim.members},
               {"mutant_no_label_noise",
                {{"reached", wm.reached},
                 {"smallest_relative_distance", nullptr},
                 {"members", mutant.members}}}};
  double mutant_best = INFINITY;
  for (const auto& r : mutant.members)
    if (r.contains("relative_distance")) mutant_best = std::min(mutant_best, r["relative_distance"].get<double>());
  if (std::isfinite(mutant_best)) v.numbers["mutant_no_label_noise"]["smallest_relative_distance"] = mutant_best;
  v.numbers["sparse_truth"] = sparse;

  std::ostringstream ev;
  ev << draws << " data draws (Gaussian, n = " << cfg["n"].get<int>() << ", d = " << cfg["d"].get<int>()
     << ", seeds " << first_seed << " to " << first_seed + draws - 1 << "), label-noise SGD with eta = "
     << short_number(cfg["lr"].get<double>(), 4) << ", s = " << short_number(cfg["label_noise"].get<double>(), 4)
     << ", B = " << cfg["batch"].get<int>() << ", for each draw at least " << cfg["steps"].get<long long>()
     << " steps and at most " << cfg["max_steps"].get<long long>()
     << ", long enough for the slowest off-support coordinate of w* to decay by exp(-"
     << short_number(cfg["decay_exponent"].get<double>(), 4) << ") at its predicted rate (here ";
  if (wc.fewest_steps == wc.most_steps)
    ev << wc.fewest_steps << " steps, flow time " << short_number(tau_per_step * static_cast<double>(wc.most_steps), 4);
  else
    ev << wc.fewest_steps << " to " << wc.most_steps << " steps, flow time "
       << short_number(tau_per_step * static_cast<double>(wc.fewest_steps), 4) << " to "
       << short_number(tau_per_step * static_cast<double>(wc.most_steps), 4);
  ev << "), end point projected onto M: " << wc.reached << " of " << draws
     << " reached the certified weighted-l1 interpolator w* with its support (largest ||w - w*||/||w*|| "
     << short_number(wc.distance, 3) << ", tolerance " << short_number(t.relative_distance_tolerance, 4)
     << "; largest |T - T*|/T* " << short_number(wc.gap, 3) << ", tolerance "
     << short_number(t.sharpness_gap_tolerance, 4) << ")";
  if (wc.completed < draws) ev << "; " << draws - wc.completed << " runs did not complete (see members)";
  ev << ". Mutant s = 0: " << wm.reached << " of " << draws << " passed, "
     << (v.power.back().rejected ? "rejected" : "NOT rejected");
  if (std::isfinite(mutant_best)) ev << " (smallest ||w - w*||/||w*|| " << short_number(mutant_best, 3) << ")";
  ev << ".";
  if (!sparse.empty()) {
    int recovered = 0, completed = 0;
    double worst = 0;
    for (const auto& r : sparse) {
      if (r["status"] != "completed") continue;
      ++completed;
      worst = std::max(worst, r["sgd_distance_to_truth"].get<double>());
      recovered += r["sgd_recovered_support"] == r["true_support"];
    }
    ev << " Reported, not asserted: with a " << cfg["sparse_truth_k"].get<int>() << "-sparse ground truth (labels y = X "
       << "w_true; the interpolator is then a singular point of M), on " << sparse.size() << " draws SGD recovered the "
       << "true support on " << recovered << " of " << completed << " completed runs, largest ||w - w_true||/||w_true|| "
       << short_number(worst, 3) << " (numbers.sparse_truth; the distance of the certified interpolator to w_true is "
       << "there too).";
  }
  v.evidence = ev.str();

  std::ostringstream table;
  table << "pipeline,data_seed,status,T,T_star,relative_gap,relative_distance\n";
  for (const Pipeline* p : {&claim, &mutant})
    for (const auto& r : p->members)
      table << p->name << "," << r["data_seed"].get<int>() << "," << r["status"].get<std::string>() << ","
            << (r.contains("T") ? format_double(r["T"].get<double>()) : "") << ","
            << format_double(r["T_star"].get<double>()) << ","
            << (r.contains("relative_gap") ? format_double(r["relative_gap"].get<double>()) : "") << ","
            << (r.contains("relative_distance") ? format_double(r["relative_distance"].get<double>()) : "") << "\n";
  write_file_atomic(dir + "/members.csv", table.str());

  PlotSpec fig;
  fig.title = "(T - T*)/T* along SGD on the diagonal network, every draw";
  fig.x_label = "SGD step k";
  fig.y_label = "(T - T*) / T*  (T off M, as logged)";
  fig.key = "off";
  fig.series = claim.figure.series;
  for (const auto& s : mutant.figure.series) fig.series.push_back(s);
  if (!fig.series.empty() && write_svg_plot(fig, dir + "/sharpness_gap.svg").written)
    v.figures.push_back({"diagonal_sparse_interpolator/sharpness_gap.svg",
                         "(T - T*)/T* along label-noise SGD (blue) and along the s = 0 mutant (red dashed) for every "
                         "data draw; T is the sharpness at the SGD iterate, which is off M (its value at the projection "
                         "onto M is in members.csv).",
                         "diagonal_sparse_interpolator/draw_*/{sgd,mutant_no_noise}/trajectory.csv"});
  return v;
}

}  // namespace zeroloss
