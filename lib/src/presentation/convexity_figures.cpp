// The figures of the convexity diagnostics (write_convexity_figures in presentation/convexity_outputs.hpp).

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>

#include "zeroloss/presentation/convexity_outputs.hpp"

namespace zeroloss {
namespace {

constexpr const char* kConvex = "#1f77b4";    // blue
constexpr const char* kNegative = "#d62728";  // red
constexpr const char* kSearch = "black";
constexpr const char* kFlow = "#1f77b4";
constexpr const char* kSgd = "#ff7f0e";       // orange

std::string short_number(double x) {
  std::ostringstream s;
  s.precision(4);
  s << x;
  return s.str();
}

std::string path_in(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

// A horizontal or vertical reference line as a two-point dashed series.
PlotSeries line(const std::string& label, double x0, double y0, double x1, double y1, const std::string& color) {
  return PlotSeries{label, {x0, x1}, {y0, y1}, PlotStyle::Lines, color, true};
}

}  // namespace

std::vector<PlotOutcome> write_convexity_figures(const std::string& dir, const ConvexityResult& res) {
  std::vector<PlotOutcome> out;
  const ConvexityThreshold& t = res.threshold;

  // 1. The scatter of the sampled points.
  if (!res.sampling.points.empty()) {
    PlotSpec s;
    s.title = "lambda_min(Hess_M T) against ||grad_M T||: " + std::to_string(res.sampling.points.size()) +
              " points of M (" + res.activation + ")";
    s.x_label = "||grad_M T||";
    s.y_label = "lambda_min(Hess_M T)";
    s.log_x = true;
    s.key = "below";
    s.height = 600;
    PlotSeries convex{"convex (lambda_min >= 0)", {}, {}, PlotStyle::Points, kConvex, false};
    PlotSeries negative{"negative curvature", {}, {}, PlotStyle::Points, kNegative, false};
    double gmin = std::numeric_limits<double>::infinity(), gmax = 0;
    double lmin = std::numeric_limits<double>::infinity(), lmax = -std::numeric_limits<double>::infinity();
    double largest = 0;
    for (const auto& p : res.sampling.points) largest = std::max(largest, p.grad_norm);
    // Stationary points (the anchor: ||grad_M T|| at rounding level) would stretch the log axis over
    // ten decades; they are left out and counted in the title.
    const double floor = 1e-8 * largest;
    int stationary = 0;
    for (const auto& p : res.sampling.points) {
      if (p.grad_norm < floor) {
        ++stationary;
        continue;
      }
      PlotSeries& ser = p.negative ? negative : convex;
      ser.x.push_back(p.grad_norm);
      ser.y.push_back(p.lambda_min);
      if (p.grad_norm > 0) {
        gmin = std::min(gmin, p.grad_norm);
        gmax = std::max(gmax, p.grad_norm);
      }
      lmin = std::min(lmin, p.lambda_min);
      lmax = std::max(lmax, p.lambda_min);
    }
    PlotSeries search{"search: most negative lambda_min per eps", {}, {}, PlotStyle::Points, kSearch, false};
    for (const auto& r : res.search) {
      if (!r.feasible_start || r.grad_norm < floor) continue;
      search.x.push_back(r.grad_norm);
      search.y.push_back(r.lambda_min);
      if (r.grad_norm > 0) {
        gmin = std::min(gmin, r.grad_norm);
        gmax = std::max(gmax, r.grad_norm);
      }
      lmin = std::min(lmin, r.lambda_min);
      lmax = std::max(lmax, r.lambda_min);
    }
    if (stationary > 0) {
      s.title += ", " + std::to_string(stationary) + " stationary off the log axis";
    }
    if (!convex.x.empty()) s.series.push_back(convex);
    if (!negative.x.empty()) s.series.push_back(negative);
    if (!search.x.empty()) s.series.push_back(search);
    if (gmax > 0 && std::isfinite(gmin)) s.series.push_back(line("lambda_min = 0", gmin, 0, gmax, 0, "gray"));
    if (t.negative_found && std::isfinite(lmin) && std::isfinite(lmax)) {
      s.series.push_back(line("threshold g* = " + short_number(t.threshold), t.threshold, std::min(lmin, 0.0),
                              t.threshold, std::max(lmax, 0.0), "black"));
    }
    out.push_back(write_svg_plot(s, path_in(dir, "scatter.svg")));
  }

  // 2. Along trajectories: lambda_min and ||grad_M T|| over flow time.
  bool any_trajectory = false;
  for (const auto& tr : res.trajectories) any_trajectory = any_trajectory || tr.points.size() >= 2;
  if (any_trajectory) {
    PlotSpec l;
    l.title = "lambda_min(Hess_M T) along the trajectories (on M; SGD iterates projected)";
    l.x_label = "flow time tau";
    l.y_label = "lambda_min(Hess_M T)";
    l.key = "below";
    l.height = 600;
    PlotSpec g;
    g.title = "||grad_M T|| along the trajectories";
    g.x_label = "flow time tau";
    g.y_label = "||grad_M T||";
    g.log_y = true;
    double tau_max = 0, lmin = 0, lmax = 0;
    for (const auto& tr : res.trajectories) {
      if (tr.points.size() < 2) continue;
      const std::string color = tr.source == TrajectorySource::Sgd ? kSgd : kFlow;
      PlotSeries ls{to_string(tr.source), {}, {}, PlotStyle::LinesPoints, color, false};
      PlotSeries gs{to_string(tr.source), {}, {}, PlotStyle::Lines, color, false};
      for (const auto& p : tr.points) {
        ls.x.push_back(p.tau);
        ls.y.push_back(p.lambda_min);
        gs.x.push_back(p.tau);
        gs.y.push_back(p.grad_norm);
        tau_max = std::max(tau_max, p.tau);
        lmin = std::min(lmin, p.lambda_min);
        lmax = std::max(lmax, p.lambda_min);
      }
      l.series.push_back(ls);
      g.series.push_back(gs);
    }
    l.series.push_back(line("lambda_min = 0", 0, 0, tau_max, 0, "gray"));
    for (const auto& tr : res.trajectories) {
      if (tr.points.size() < 2 || !tr.onset.tau || tr.onset.convex_throughout) continue;
      const double at = tr.refined_high ? *tr.refined_high : *tr.onset.tau;
      l.series.push_back(line(std::string(to_string(tr.source)) + ": convex from tau = " + short_number(at), at, lmin, at, lmax,
                              tr.source == TrajectorySource::Sgd ? kSgd : kFlow));
    }
    if (t.negative_found) {
      g.series.push_back(line("sampled threshold g* = " + short_number(t.threshold), 0, t.threshold, tau_max,
                              t.threshold, "black"));
    }
    out.push_back(write_svg_plot(l, path_in(dir, "trajectory_lambda_min.svg")));
    out.push_back(write_svg_plot(g, path_in(dir, "trajectory_grad_norm.svg")));
  }

  // 3. The search: most negative lambda_min found at each eps.
  PlotSeries rungs{"most negative lambda_min with ||grad_M T|| <= eps", {}, {}, PlotStyle::LinesPoints, kSearch, false};
  PlotSeries negative_rungs{"negative curvature found", {}, {}, PlotStyle::Points, kNegative, false};
  double lmin = 0, lmax = 0;
  for (const auto& r : res.search) {
    if (!r.feasible_start) continue;
    rungs.x.push_back(r.eps);
    rungs.y.push_back(r.lambda_min);
    if (r.negative) {
      negative_rungs.x.push_back(r.eps);
      negative_rungs.y.push_back(r.lambda_min);
    }
    lmin = std::min(lmin, r.lambda_min);
    lmax = std::max(lmax, r.lambda_min);
  }
  if (!rungs.x.empty()) {
    PlotSpec s;
    s.title = "adversarial search: min lambda_min(Hess_M T) subject to ||grad_M T|| <= eps";
    s.x_label = "eps";
    s.y_label = "lambda_min found";
    s.log_x = true;
    s.key = "below";
    s.height = 600;
    s.series.push_back(rungs);
    if (!negative_rungs.x.empty()) s.series.push_back(negative_rungs);
    const auto [lo, hi] = std::minmax_element(rungs.x.begin(), rungs.x.end());
    s.series.push_back(line("lambda_min = 0", *lo, 0, *hi, 0, "gray"));
    if (t.negative_found) {
      s.series.push_back(line("sampled threshold g* = " + short_number(t.threshold), t.threshold, lmin, t.threshold,
                              lmax, kNegative));
    }
    out.push_back(write_svg_plot(s, path_in(dir, "search.svg")));
  }
  return out;
}

}  // namespace zeroloss
