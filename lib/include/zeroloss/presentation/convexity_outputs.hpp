#pragma once
// The presentation of the convexity diagnostics (diagnostics/convexity.hpp): summary.json, the CSV tables, the
// figures and the text report `zeroloss convexity` prints. Nothing here computes a number that the
// ConvexityResult does not already hold.

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/presentation/svg_plot.hpp"

namespace zeroloss {

// summary.json content: options, threshold, counterexamples (the first few), search ladder,
// spectrum at the point, assumption report, timings.
nlohmann::json convexity_summary_json(const ConvexityResult& result, const ConvexityOptions& options);

// The figures (write_svg_plot, each with its gnuplot script beside it):
//   scatter.svg               (||grad_M T||, lambda_min) of the sampled points, log x; convex and negative
//                             points in different colours, the search results, the threshold g* marked;
//   trajectory_lambda_min.svg lambda_min over flow time for the flow and SGD (when run), onset marked;
//   trajectory_grad_norm.svg  ||grad_M T|| over flow time (log y), the threshold g* marked;
//   search.svg                the most negative lambda_min found at each eps of the search (log x).
// Returns the outcomes (written or not, notes when gnuplot is missing or failed).
std::vector<PlotOutcome> write_convexity_figures(const std::string& dir, const ConvexityResult& result);

// Writes DIR/points.csv, DIR/search.csv, DIR/profiles.csv, DIR/spectrum.csv, DIR/failures.csv,
// DIR/trajectory_convexity.csv (when trajectories were run), the figures (options.figures),
// DIR/summary.json (with "figures": the SVG file names written, "figure_notes") and
// DIR/search_points/eps_<k>.csv (weights of each rung's point), atomically. Returns the paths written
// and, as in summary.json, the figures and the figure notes.
// Search points go through `write_point`: it gets the path without extension (DIR/search_points/eps_<k>)
// and theta in the caller's coordinates, writes the point's file(s) and returns their paths (a
// reduced-weights manifest is several files). The overload with the two-layer network's second layer
// `a` writes weights CSV files (write_weights_csv, path + ".csv").
struct ConvexityOutputFiles {
  std::vector<std::string> files;                  // paths
  std::vector<std::string> figures, figure_notes;  // SVG file names; notes (e.g. gnuplot missing)
};
using ConvexityPointWriter =
    std::function<std::vector<std::string>(const std::string& path_stem, const Eigen::MatrixXd& theta)>;
ConvexityOutputFiles write_convexity_outputs_with(const std::string& dir, const ConvexityResult& result,
                                                  const ConvexityOptions& options,
                                                  const ConvexityPointWriter& write_point);
ConvexityOutputFiles write_convexity_outputs(const std::string& dir, const ConvexityResult& result,
                                             const ConvexityOptions& options,
                                             const Eigen::Ref<const Eigen::VectorXd>& a);

// The report `zeroloss convexity` prints: the anchor, the spectrum and profiles at the point, the
// sampled points by scheme, the trajectories, the threshold, the search ladder, the assumptions,
// and what was written in `dir` (`files`, `figures` and `figure_notes` as write_convexity_outputs
// returns them). `problem` describes the model, e.g. "cubic, n = 3, d = 5, m = 4 (p = rank X = 3; non-trivial tangent part of dimension 9)".
std::string convexity_report_text(const ConvexityResult& result, const ConvexityOptions& options,
                                  const std::string& problem, const std::string& dir,
                                  const std::vector<std::string>& files, const std::vector<std::string>& figures,
                                  const std::vector<std::string>& figure_notes);

}  // namespace zeroloss
