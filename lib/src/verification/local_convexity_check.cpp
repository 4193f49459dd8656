// Claim 5 (THEORY 6): T is geodesically convex near its stationary points (PSD Riemannian Hessian
// where ||grad_M T|| is small), but not globally. Evidence: the spectrum at the minimizer, the
// sampled threshold and adversarial search of `zeroloss convexity` anchored at the minimizer, and
// THEORY 6's explicit counterexample checked with `zeroloss inspect`; decided by
// decide_local_convexity (local_convexity_rule.hpp).

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "zeroloss/activation.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/dataset.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/number_text.hpp"
#include "zeroloss/svg_plot.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/local_convexity_rule.hpp"
#include "zeroloss/verification/report_inputs.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

double num(const json& j, double fallback = std::numeric_limits<double>::quiet_NaN()) {
  return j.is_number() ? j.get<double>() : fallback;
}

// THEORY 6's point, where T is not geodesically convex: n = 1, x = e_1, m = 3, cubic, a = 1,
// pre-activations (5, 0.58, 0). Writes its data and weights (recorded in the reproduce block) and
// returns what `zeroloss inspect --json` prints there.
json inspect_theory6_point(VerificationContext& ctx, const std::string& dir) {
  const Activation cubic = Activation::cubic();
  Dataset t6;
  t6.X = Eigen::MatrixXd::Ones(1, 1);
  t6.y = Eigen::VectorXd::Constant(1, cubic.value(5.0) + cubic.value(0.58) + cubic.value(0.0));
  t6.feature_names = {"x1"};
  write_dataset_csv(dir + "/theory6_data.csv", t6);
  Eigen::MatrixXd w(3, 1);
  w << 5.0, 0.58, 0.0;
  write_weights_csv(dir + "/theory6_weights.csv", w, Eigen::VectorXd::Ones(3));
  ctx.record_file(dir + "/theory6_data.csv");
  ctx.record_file(dir + "/theory6_weights.csv");
  return ctx.run_json("local_convexity_theory6", {"inspect", "--data", dir + "/theory6_data.csv", "--weights",
                                                  dir + "/theory6_weights.csv", "--activation", "cubic", "--json"});
}

// The figure: (||grad_M T||, lambda_min) over the sampled points, convex and not, with the sampled
// threshold g_star (when finite); added to v.figures when drawn.
void add_scatter_figure(const std::string& dir, double g_star, Verdict& v) {
  const std::vector<double> g = read_csv_column(dir + "/convexity/points.csv", "grad_norm");
  const std::vector<double> l = read_csv_column(dir + "/convexity/points.csv", "lambda_min");
  PlotSpec fig;
  fig.title = "Smallest Riemannian Hessian eigenvalue against the Riemannian gradient norm";
  fig.x_label = "||grad_M T||";
  fig.y_label = "lambda_min(Hess_M T)";
  fig.log_x = true;
  fig.key = "bottom left";
  // The anchor is stationary up to rounding (||grad_M T|| about 1e-15), which would stretch the log
  // axis over many empty decades: points below kFloor times the largest gradient norm are drawn at
  // that floor, in their own colour, and the caption says so.
  constexpr double kFloor = 1e-6;
  double g_max = 0;
  for (double x : g)
    if (std::isfinite(x)) g_max = std::max(g_max, x);
  const double floor = kFloor * g_max;
  PlotSeries pos{"lambda_min >= 0", {}, {}, PlotStyle::Points, "#1f77b4", false};
  PlotSeries neg{"lambda_min < 0", {}, {}, PlotStyle::Points, "#d62728", false};
  PlotSeries low{"", {}, {}, PlotStyle::Points, "#2ca02c", false};
  double low_max = 0;
  for (size_t k = 0; k < g.size(); ++k) {
    PlotSeries& target = g[k] < floor ? low : l[k] < 0 ? neg : pos;
    if (g[k] < floor) low_max = std::max(low_max, g[k]);
    target.x.push_back(g[k] < floor ? floor : g[k]);
    target.y.push_back(l[k]);
  }
  fig.series.push_back(pos);
  if (!neg.x.empty()) fig.series.push_back(neg);
  if (!low.x.empty()) {
    low.label =
        "||grad_M T|| <= " + short_number(low_max, 2) + " (stationary), drawn at " + short_number(floor, 2);
    fig.series.push_back(low);
  }
  if (std::isfinite(g_star)) {
    PlotSeries lim{"sampled threshold", {g_star, g_star}, {0, 0}, PlotStyle::Lines, "black", true};
    double lo = 0, hi = 0;
    for (double x : l) lo = std::min(lo, x), hi = std::max(hi, x);
    lim.y = {lo, hi};
    fig.series.push_back(lim);
  }
  std::string caption =
      "(||grad_M T||, lambda_min) at every sampled point; red: negative curvature; dashed: the sampled threshold.";
  if (!low.x.empty())
    caption += " Green: " + std::to_string(low.x.size()) + " point" + (low.x.size() > 1 ? "s" : "") +
               " with ||grad_M T|| at most " + short_number(low_max, 2) +
               " (the stationary anchor, zero up to rounding), " + "drawn at " + short_number(floor, 2) +
               " = 1e-6 times the largest gradient norm so the log axis spans the " +
               "sampled points; their true values are in the data file.";
  if (!g.empty() && write_svg_plot(fig, dir + "/scatter.svg").written)
    v.figures.push_back({"local_convexity/scatter.svg", caption, "local_convexity/convexity/points.csv"});
}

}  // namespace

Verdict check_local_convexity(VerificationContext& ctx) {
  Verdict v;
  v.key = "local_convexity";
  v.claim = "T is geodesically convex where its Riemannian gradient is small (locally, not globally)";
  const json& problem = ctx.config()["problem"];
  const std::string act = problem["activation"].get<std::string>();
  const bool quick = ctx.config()["local_convexity"]["preset"].get<std::string>() == "quick";
  const size_t first = ctx.begin_block();
  const std::string dir = ctx.dir("local_convexity");
  const std::string data = write_problem_data(ctx);
  const std::string start =
      write_random_start(ctx, data, problem["m"].get<int>(), 0, false, "local_convexity/start.csv");
  ctx.progress("local convexity: minimizer of T");
  json opt =
      ctx.run_json("local_convexity_optimum", {"optimum", "--data", data, "--weights", start, "--activation", act,
                                               "--accept-stationary", "--out", dir + "/optimum.csv", "--json"});
  ctx.progress(std::string("local convexity: sampling M and searching for negative curvature (") +
               (quick ? "quick" : "full") + " preset)");
  const std::string optimum = dir + "/optimum.csv", seed = std::to_string(ctx.config()["seed"].get<int>());
  std::vector<std::string> args = {"convexity", "--data", data, "--weights", optimum, "--anchor", optimum,
                                   "--activation", act, "--seed", seed, "--out", dir + "/convexity"};
  if (quick) args.push_back("--quick");
  ctx.run("local_convexity_convexity", args);

  json t6 = inspect_theory6_point(ctx, dir);
  v.command = ctx.commands_since(first);
  json s = read_json_file(dir + "/convexity/summary.json");
  json point = s["point"];
  json th = s["threshold"];
  json search = s["search"];
  const double lambda_opt = num(point["lambda_min"]);
  const bool negative_found = th["negative_found"].get<bool>();
  const double g_star = num(th["grad_norm_threshold"], std::numeric_limits<double>::infinity());
  const int below = th["points_below"].get<int>();
  const double convex_up_to = num(search["convex_up_to"], 0.0);
  const double negative_from = num(search["negative_from"], std::numeric_limits<double>::infinity());
  const double t6_lambda = t6["hessian_eigenvalues"].empty() ? NAN : t6["hessian_eigenvalues"][0].get<double>();
  const double t6_grad = num(t6["riemannian_grad_norm"]);

  LocalConvexityEvidence evidence;
  evidence.lambda_min_at_minimizer = lambda_opt;
  evidence.points_below_threshold = below;
  evidence.search_run = !search["rungs"].empty();
  evidence.search_convex_up_to = convex_up_to;
  evidence.sampled_negative_curvature = negative_found;
  evidence.theory6_lambda_min = t6_lambda;
  const Decision decision = decide_local_convexity(evidence, LocalConvexityThresholds());
  const bool pd_at_min = decision.held(kRulePositiveDefiniteAtMinimizer);
  v.status = decision.status;
  v.numbers = {{"lambda_min_at_minimizer", lambda_opt},
               {"optimum_verdict", opt["verdict"]},
               {"sampled_threshold_grad_norm", th["grad_norm_threshold"]},
               {"points_below_threshold", below},
               {"largest_grad_below", th["largest_grad_below"]},
               {"smallest_lambda_below", th["smallest_lambda_below"]},
               {"counterexamples", th["counterexamples_total"]},
               {"most_negative_counterexample", th["most_negative_counterexample"]},
               {"search_convex_up_to", convex_up_to},
               {"search_negative_from", search["negative_from"]},
               {"search_rungs", search["rungs"]},
               {"theory6_lambda_min", t6_lambda},
               {"theory6_grad_norm", t6_grad},
               {"assumptions", s["assumptions"]},
               {"sampling", s["sampling"]}};
  std::ostringstream ev;
  ev << "At the closed-form stationary point (" << opt["verdict"].get<std::string>()
     << ") lambda_min(Hess_M T) = " << short_number(lambda_opt, 4) << (pd_at_min ? " > 0" : " (not positive)")
     << ". Sampled " << s["sampling"]["points"].get<int>() << " points on M: ";
  if (negative_found)
    ev << "no negative curvature below ||grad_M T|| = " << short_number(g_star, 4) << " (" << below
       << " points there, the largest gradient norm among them " << short_number(num(th["largest_grad_below"]), 4)
       << "), " << th["counterexamples_total"].get<int>() << " counterexamples above it";
  else
    ev << "no negative curvature anywhere (largest gradient norm sampled "
       << short_number(num(th["largest_grad_sampled"]), 4) << ")";
  ev << ". Adversarial search (minimize lambda_min subject to ||grad_M T|| <= eps): ";
  if (search["rungs"].empty())
    ev << "not run";
  else
    ev << "none found for eps <= " << short_number(convex_up_to, 4)
       << (std::isfinite(negative_from) ? ", negative curvature from eps = " + short_number(negative_from, 4)
                                        : std::string(""));
  ev << ". THEORY 6's point: lambda_min = " << short_number(t6_lambda, 4)
     << " at ||grad_M T|| = " << short_number(t6_grad, 4) << " (convexity is only local).";
  if (!s["assumptions"]["hold"].get<bool>())
    ev << " Assumptions: " << s["assumptions"]["description"].get<std::string>();
  v.evidence = ev.str();

  add_scatter_figure(dir, g_star, v);
  return v;
}

}  // namespace zeroloss
