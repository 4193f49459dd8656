#pragma once
// Options and loading shared by the subcommands that work on (data, weights, activation).

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "zeroloss/dataset.hpp"
#include "zeroloss/network.hpp"
#include "zeroloss/output_directory.hpp"
#include "zeroloss/problem_checks.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss::cli {

struct ProblemOptions {
  std::string data;
  std::string weights;
  std::string activation = "cubic";
};

// Adds --data, --weights (both required unless weights_optional) and --activation.
void add_problem_options(CLI::App& app, ProblemOptions& options, bool weights_required = true);

struct LoadedProblem {
  Dataset data;
  Weights weights;
  TwoLayerModel model;  // X, y from the data; a from the weights file (column 'a', default 1)
  DataDiagnostics diagnostics;  // what the data imply for M (problem_checks.hpp)
};

// What a command does when the data make M empty or J J^T singular everywhere (diagnose_data):
// Require refuses (require_manifold: exit 2 or 3); Warn loads anyway (the command reports it).
enum class ManifoldPolicy { Require, Warn };

// Reads and validates everything, including that the model can be evaluated in floating point at
// the weights (require_evaluable) and the data diagnostics under `policy`; throws InputError naming
// the file on any problem.
LoadedProblem load_problem(const ProblemOptions& options, ManifoldPolicy policy = ManifoldPolicy::Require);

// The source names of a loaded data set and weights file, for the messages of problem_checks.hpp.
ProblemSource problem_source(const Dataset& data, const std::string& data_path, const std::string& weights_path);

// The data diagnostics as JSON (summary.json "data_diagnostics").
nlohmann::json diagnostics_json(const DataDiagnostics& diagnostics);

// Prints one "warning:" line per blocking finding on stderr, prefixed with the command name.
void warn_diagnostics(const DataDiagnostics& diagnostics, const std::string& command);

// Printing helpers of the commands: a JSON number (null for NaN and infinities), a JSON array of
// them, and %.6g text ("inf" / "-inf" for infinities).
nlohmann::ordered_json number(double x);
nlohmann::ordered_json vector_json(const Eigen::VectorXd& v);
std::string g6(double x);

// --overwrite of the commands that write a folder (zeroloss/output_directory.hpp).
void add_overwrite_flag(CLI::App& app, bool& overwrite);

}  // namespace zeroloss::cli
