#pragma once
// SVG figures of a trajectory (presentation/svg_plot.hpp; drawn only when gnuplot is available).

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"

namespace zeroloss {

// A fixed colour cycle (k-th colour), so related series share a colour across figures.
std::string plot_color(int k);

// Draws a figure and records the outcome (its path in `figures`, or a note in `notes`).
void draw_figure(const PlotSpec& spec, const std::string& path, nlohmann::json& figures, std::vector<std::string>& notes);

// The figures of an SGD or flow trajectory in `dir`: the first `singular_values` singular values of
// Phi and R against x (the step k if x_is_step, else tau) in singular_values.svg; T (and T at the
// projection onto M where it differs, and T* when given) against tau in sharpness.svg; with T*,
// T - T* against tau in sharpness_gap.svg. Nothing for fewer than two rows.
void trajectory_figures(const std::vector<TrajectoryRow>& rows, int singular_values,
                        const std::optional<double>& optimum_sharpness, const std::string& dir,
                        const std::string& x_name, bool x_is_step, const std::string& title_prefix,
                        nlohmann::json& figures, std::vector<std::string>& notes);

}  // namespace zeroloss
