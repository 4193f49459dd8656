#pragma once
// A small gnuplot driver: line and scatter plots of (x, y) series, written as SVG next to the CSVs
// they come from.
//
// write_svg_plot always writes a self-contained gnuplot script `<name>.gp` (data inlined as
// datablocks) beside the SVG path, so the figure can be redrawn or restyled with
// `cd DIR && gnuplot <name>.gp`. When gnuplot is found it runs the script and the SVG appears
// atomically (written to a temporary name, checked, then renamed). When it is not found, nothing
// fails: the outcome carries a note saying so and how to draw the figure later.
//
// gnuplot is looked up on PATH; the environment variable ZEROLOSS_GNUPLOT overrides the program (a
// path, or a name looked up on PATH; an empty value or "none" disables plotting, which the tests
// use). gnuplot runs as a child process (io/child_process.hpp, no shell) in the SVG's folder; a
// program that cannot be started, or fails, leaves the note instead of the figure.
//
// On log axes, points with a non-positive coordinate cannot be drawn; they are left out and counted
// (PlotOutcome::dropped_points), as are non-finite points.

#include <string>
#include <vector>

namespace zeroloss {

enum class PlotStyle { Lines, Points, LinesPoints };

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;
  PlotStyle style = PlotStyle::Lines;
  std::string color;  // optional gnuplot colour, e.g. "#1f77b4" or "black"; empty: gnuplot's cycle
  bool dashed = false;
};

struct PlotSpec {
  std::string title;
  std::string x_label, y_label;
  bool log_x = false, log_y = false;
  std::vector<PlotSeries> series;
  int width = 800, height = 520;  // SVG size in pixels
  std::string key = "top right";  // gnuplot key placement ("off" hides the legend)
};

struct PlotOutcome {
  bool written = false;       // the SVG exists and is complete
  std::string svg_path;
  std::string script_path;    // always written (unless the spec had nothing to draw)
  int dropped_points = 0;     // non-finite, or non-positive on a log axis
  std::string note;           // empty when all went well; otherwise one sentence for the user
};

// The gnuplot program to use, or "" if none (see ZEROLOSS_GNUPLOT above).
std::string gnuplot_program();

// Draws `spec` into `svg_path` (which should end in .svg; the script goes to the same path with
// .gp). Throws InputError only for an invalid spec (no series, x and y of different lengths) or an
// unwritable directory; a missing or failing gnuplot is reported in the outcome instead.
PlotOutcome write_svg_plot(const PlotSpec& spec, const std::string& svg_path);

}  // namespace zeroloss
