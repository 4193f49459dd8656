// Claim 4 (the paper's Figure 1): label-noise SGD on n = 3, d = 3, m = 10, data uniform on [0, 1],
// eta = 0.05, label noise 0.03 drives the feature matrix Phi = phi(X Theta^T) to rank one.
// Evidence: `zeroloss sgd` on that setting; sigma_2/sigma_1 and sigma_3/sigma_1 of Phi over the run;
// decided by decide_rank_one_sgd (rank_one_sgd_rule.hpp).

#include <cmath>
#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/number_text.hpp"
#include "zeroloss/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/rank_one_sgd_rule.hpp"

namespace zeroloss {

using nlohmann::json;

Verdict check_rank_one_sgd(VerificationContext& ctx) {
  Verdict v;
  v.key = "rank_one_sgd";
  v.claim = "Label-noise SGD reaches a rank-one feature matrix (the paper's Figure 1 setting)";
  const json& cfg = ctx.config()["rank_one_sgd"];
  const std::string act = ctx.config()["problem"]["activation"].get<std::string>();
  const size_t first = ctx.begin_block();
  const std::string dir = ctx.dir("rank_one_sgd");
  const double threshold = cfg["rank_one_threshold"].get<double>();
  const long long steps = cfg["steps"].get<long long>();
  ctx.run("rank_one_data", {"data", "--generator", "uniform01", "--n", std::to_string(cfg["n"].get<int>()), "--d",
                            std::to_string(cfg["d"].get<int>()), "--seed", std::to_string(cfg["data_seed"].get<int>()),
                            "--out", dir + "/data.csv", "--weights-out", dir + "/w0.csv", "--m",
                            std::to_string(cfg["m"].get<int>()), "--init-scale", "0.5"});
  ctx.progress("rank one: " + std::to_string(steps) +
               " label-noise SGD steps (eta = " + short_number(cfg["lr"].get<double>(), 4) + ", noise " +
               short_number(cfg["label_noise"].get<double>(), 4) + ")");
  ctx.run("rank_one_sgd", {"sgd",
                           "--data",
                           dir + "/data.csv",
                           "--weights",
                           dir + "/w0.csv",
                           "--activation",
                           act,
                           "--lr",
                           format_double(cfg["lr"].get<double>()),
                           "--label-noise",
                           format_double(cfg["label_noise"].get<double>()),
                           "--batch",
                           "1",
                           "--steps",
                           std::to_string(steps),
                           "--seed",
                           std::to_string(ctx.config()["seed"].get<int>()),
                           "--log-points",
                           std::to_string(cfg["log_points"].get<int>()),
                           "--rank-one-threshold",
                           format_double(threshold),
                           "--no-figures",
                           "--out",
                           dir + "/sgd"});
  v.command = ctx.commands_since(first);
  json s = read_json_file(dir + "/sgd/summary.json");
  json fin = s["final"];
  const auto& sv = fin["feature_singular_values"];
  RankOneSgdEvidence evidence;
  for (size_t k = 1; k < sv.size(); ++k) evidence.final_ratios.push_back(sv[k].get<double>() / sv[0].get<double>());
  const std::vector<double>& ratios = evidence.final_ratios;
  const std::vector<double> step = read_csv_column(dir + "/sgd/trajectory.csv", "step");
  const std::vector<double> s1 = read_csv_column(dir + "/sgd/trajectory.csv", "sv_phi_1");
  std::vector<std::vector<double>> rest;
  for (size_t k = 2; k <= sv.size(); ++k)
    rest.push_back(read_csv_column(dir + "/sgd/trajectory.csv", "sv_phi_" + std::to_string(k)));
  const double initial_ratio = rest.empty() ? 0.0 : rest[0].front() / s1.front();
  RankOneSgdThresholds thresholds;
  thresholds.rank_one_threshold = threshold;
  v.status = decide_rank_one_sgd(evidence, thresholds).status;
  json perf = s["performance"];
  v.numbers = {{"steps", s["steps_done"]},
               {"flow_time", fin["tau"]},
               {"final_feature_singular_values", sv},
               {"final_ratios", ratios},
               {"initial_sigma2_over_sigma1", initial_ratio},
               {"threshold", threshold},
               {"rank_one", s["rank_one"]},
               {"steps_per_second", perf["steps_per_second"]},
               {"final_loss", fin["loss"]}};
  std::ostringstream ev;
  ev << steps << " SGD steps (flow time " << short_number(fin["tau"].get<double>(), 4)
     << "): sigma_2/sigma_1 of the feature matrix went from " << short_number(initial_ratio, 3) << " to "
     << (ratios.empty() ? std::string("-") : short_number(ratios[0], 3));
  if (ratios.size() > 1) ev << " (sigma_3/sigma_1: " << short_number(ratios[1], 3) << ")";
  ev << "; threshold " << short_number(threshold, 4) << ".";
  if (s["rank_one"].contains("feature_step") && s["rank_one"]["feature_step"].is_number())
    ev << " First below the threshold at step " << s["rank_one"]["feature_step"].get<long long>() << ".";
  if (perf["steps_per_second"].is_number())
    ev << " Speed " << short_number(perf["steps_per_second"].get<double>(), 3) << " steps/s.";
  v.evidence = ev.str();

  PlotSpec fig;
  fig.title = "Singular values of the feature matrix along label-noise SGD (Figure 1 setting)";
  fig.x_label = "SGD step k";
  fig.y_label = "sigma_k(Phi) / sigma_1(Phi)";
  fig.log_y = true;
  std::ostringstream csv;
  csv << "step";
  for (size_t k = 0; k < rest.size(); ++k) csv << ",sigma" << k + 2 << "_over_sigma1";
  csv << "\n";
  for (size_t q = 0; q < step.size(); ++q) {
    csv << format_double(step[q]);
    for (const auto& r : rest) csv << "," << format_double(r[q] / s1[q]);
    csv << "\n";
  }
  for (size_t k = 0; k < rest.size(); ++k) {
    PlotSeries ser{"sigma_" + std::to_string(k + 2) + " / sigma_1", step, {}, PlotStyle::Lines, "", false};
    for (size_t q = 0; q < step.size(); ++q) ser.y.push_back(rest[k][q] / s1[q]);
    fig.series.push_back(ser);
  }
  if (!fig.series.empty() && !step.empty())
    fig.series.push_back({"rank-one threshold sigma_2/sigma_1 = " + short_number(threshold, 4),
                          {step.front(), step.back()},
                          {threshold, threshold},
                          PlotStyle::Lines,
                          "black",
                          true});
  write_file_atomic(dir + "/singular_values.csv", csv.str());
  if (!fig.series.empty() && write_svg_plot(fig, dir + "/singular_values.svg").written)
    v.figures.push_back({"rank_one_sgd/singular_values.svg",
                         "sigma_2/sigma_1 and sigma_3/sigma_1 of Phi along SGD (log scale); dashed: the rank-one "
                         "threshold sigma_2/sigma_1 = " +
                             short_number(threshold, 4) + " that the verdict uses.",
                         "rank_one_sgd/singular_values.csv"});
  return v;
}

}  // namespace zeroloss
