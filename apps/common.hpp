#pragma once
// Options and loading shared by the subcommands that work on (data, weights, activation).

#include <CLI/CLI.hpp>

#include <string>

#include "zeroloss/io/dataset.hpp"
#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/model/problem_checks.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss::cli {

// The problem files a command reads (zeroloss/runs/loaded_problem.hpp).
using ProblemOptions = ProblemFiles;

// Adds --data, --weights (both required unless weights_optional) and --activation.
void add_problem_options(CLI::App& app, ProblemOptions& options, bool weights_required = true);

// --model two-layer|diagonal-linear (default two-layer).
void add_model_option(CLI::App& app, ModelKind& kind);

// Prints one "warning:" line per blocking finding on stderr, prefixed with the command name.
void warn_diagnostics(const DataDiagnostics& diagnostics, const std::string& command);

// --overwrite of the commands that write a folder (zeroloss/formats/output_directory.hpp).
void add_overwrite_flag(CLI::App& app, bool& overwrite);

}  // namespace zeroloss::cli
