#pragma once
// The run of `zeroloss convexity` (docs/commands/convexity.md): the files read and checked, the
// geometry built (the two-layer network, or the diagonal linear network of THEORY 9), the analysis
// (analyze_convexity, diagnostics/convexity.hpp) and its outputs written into a folder the run owns
// (presentation/convexity_outputs.hpp, formats/output_directory.hpp).

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/runs/convexity_settings.hpp"
#include "zeroloss/runs/loaded_problem.hpp"

namespace zeroloss {

struct ConvexityRunOptions {
  // data, weights (the point to analyze; may be empty), activation (two-layer). The diagonal
  // network reads u,v weights CSV files (io/diagonal_weights_csv.hpp) for every point and start.
  ProblemFiles problem;
  ModelKind model = ModelKind::TwoLayer;
  std::string anchor;                           // weights of a point on M, or empty
  std::vector<std::string> trajectory_weights;  // added as sampled points 'trajectory:<file stem>'
  std::string trajectory_start;                 // where the flow and SGD start, or empty
  // The settings; with settings.sgd, its batch size is replaced by sgd_batch resolved against n.
  ConvexitySettings settings;
  std::string sgd_batch = "1";  // an integer in [1, n] or "full"
  std::string out;
  bool overwrite = false;
  // When it becomes true the analysis stops at its next check (ConvexityOptions::interrupt): the folder
  // is marked interrupted, holds no result, and run_convexity throws InterruptedError. May be null.
  const std::atomic<bool>* interrupt = nullptr;
};

struct ConvexityRunSummary {
  ConvexityResult result;
  ConvexityOptions options;  // as analyzed
  // The model, e.g. "cubic, n = 3, d = 5, m = 4 (p = rank X = 3; non-trivial tangent part of dimension 9)".
  std::string problem;
  std::vector<std::string> files;                  // the paths written
  std::vector<std::string> figures, figure_notes;  // as in summary.json
};

// Reads and checks every file (InputError naming it: another network's second layer, weights not
// evaluable in floating point, data that do not give a manifold; SingularPointError), validates the
// settings, opens the output folder, analyzes and writes the outputs. `progress` receives one line
// per stage (may be empty).
ConvexityRunSummary run_convexity(const ConvexityRunOptions& options,
                                  const std::function<void(const std::string&)>& progress = {});

}  // namespace zeroloss
