#pragma once
// Options and loading shared by the subcommands that work on (data, weights, activation).

#include <CLI/CLI.hpp>

#include <string>

#include "zeroloss/dataset.hpp"
#include "zeroloss/network.hpp"
#include "zeroloss/output_directory.hpp"
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
};

// Reads and validates everything; throws InputError naming the file on any problem.
LoadedProblem load_problem(const ProblemOptions& options);

// Makes `dir` (and parents) exist; throws InputError if it cannot.
void ensure_directory(const std::string& dir);

// --overwrite of the commands that write a folder (zeroloss/output_directory.hpp).
void add_overwrite_flag(CLI::App& app, bool& overwrite);

}  // namespace zeroloss::cli
