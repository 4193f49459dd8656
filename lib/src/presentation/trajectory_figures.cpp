#include "zeroloss/presentation/trajectory_figures.hpp"

#include <algorithm>
#include <cmath>

namespace zeroloss {

std::string plot_color(int k) {
  static const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return palette[k % 10];
}

void draw_figure(const PlotSpec& spec, const std::string& path, nlohmann::json& figures, std::vector<std::string>& notes) {
  const PlotOutcome o = write_svg_plot(spec, path);
  if (o.written) figures.push_back(path);
  if (!o.note.empty()) notes.push_back(o.note);
}

void trajectory_figures(const std::vector<TrajectoryRow>& rows, int singular_values,
                        const std::optional<double>& optimum_sharpness, const std::string& dir,
                        const std::string& x_name, bool x_is_step, const std::string& title_prefix,
                        nlohmann::json& figures, std::vector<std::string>& notes) {
  if (rows.size() < 2) return;
  auto xval = [&](const TrajectoryRow& r) { return x_is_step ? static_cast<double>(r.step) : r.tau; };
  // Singular values of the feature matrix and of the pre-activations.
  PlotSpec sv;
  sv.title = title_prefix + ": singular values of the feature matrix Phi (solid) and of R (dashed)";
  sv.x_label = x_name;
  sv.y_label = "singular value";
  sv.log_y = true;
  for (int k = 0; k < singular_values; ++k) {
    const std::string color = plot_color(k);
    PlotSeries phi{"sigma_" + std::to_string(k + 1) + "(Phi)", {}, {}, PlotStyle::Lines, color, false};
    PlotSeries pre{"sigma_" + std::to_string(k + 1) + "(R)", {}, {}, PlotStyle::Lines, color, true};
    for (const auto& r : rows) {
      if (k < r.metrics.feature_singular_values.size()) {
        phi.x.push_back(xval(r));
        phi.y.push_back(r.metrics.feature_singular_values(k));
      }
      if (k < r.metrics.preactivation_singular_values.size()) {
        pre.x.push_back(xval(r));
        pre.y.push_back(r.metrics.preactivation_singular_values(k));
      }
    }
    sv.series.push_back(phi);
    sv.series.push_back(pre);
  }
  draw_figure(sv, dir + "/singular_values.svg", figures, notes);
  // T against flow time, with T* when known.
  PlotSpec t;
  t.title = title_prefix + ": sharpness T = tr Hess L against flow time";
  t.x_label = "flow time tau";
  t.y_label = "T";
  PlotSeries ts{"T", {}, {}, PlotStyle::Lines, "", false};
  for (const auto& r : rows) {
    ts.x.push_back(r.tau);
    ts.y.push_back(r.metrics.sharpness);
  }
  t.series.push_back(ts);
  {
    PlotSeries tm{"T at the projection onto M", {}, {}, PlotStyle::Lines, "", true};
    bool differs = false;
    for (const auto& r : rows)
      if (r.metrics.sharpness_on_manifold) {
        tm.x.push_back(r.tau);
        tm.y.push_back(*r.metrics.sharpness_on_manifold);
        differs = differs || std::abs(*r.metrics.sharpness_on_manifold - r.metrics.sharpness) >
                                 1e-9 * std::max(1.0, std::abs(r.metrics.sharpness));
      }
    if (differs) t.series.push_back(tm);
  }
  if (optimum_sharpness) {
    t.series.push_back(PlotSeries{"T* (closed form)", {rows.front().tau, rows.back().tau},
                                  {*optimum_sharpness, *optimum_sharpness}, PlotStyle::Lines, "black", true});
  }
  draw_figure(t, dir + "/sharpness.svg", figures, notes);
  if (optimum_sharpness) {
    PlotSpec g;
    g.title = title_prefix + ": T - T* against flow time (T at the projection onto M)";
    g.x_label = "flow time tau";
    g.y_label = "T - T*";
    g.log_y = true;
    PlotSeries gs{"T - T*", {}, {}, PlotStyle::Lines, "", false};
    for (const auto& r : rows) {
      const auto gap = r.metrics.sharpness_gap_on_manifold ? r.metrics.sharpness_gap_on_manifold : r.metrics.sharpness_gap;
      if (gap) {
        gs.x.push_back(r.tau);
        gs.y.push_back(*gap);
      }
    }
    g.series.push_back(gs);
    draw_figure(g, dir + "/sharpness_gap.svg", figures, notes);
  }
}

}  // namespace zeroloss
