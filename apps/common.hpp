#pragma once
// Options and loading shared by the subcommands that work on (data, weights, activation).

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "zeroloss/dataset.hpp"
#include "zeroloss/network.hpp"
#include "zeroloss/output_directory.hpp"
#include "zeroloss/problem_checks.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss::cli {

// The problem files a command reads (zeroloss/runs/loaded_problem.hpp).
using ProblemOptions = ProblemFiles;

// Adds --data, --weights (both required unless weights_optional) and --activation.
void add_problem_options(CLI::App& app, ProblemOptions& options, bool weights_required = true);

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
