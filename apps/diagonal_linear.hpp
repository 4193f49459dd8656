#pragma once
// The commands' bodies for `--model diagonal-linear` (THEORY 9): read the data and a u,v weights
// file, call the library, print. The two-layer bodies stay in cmd_*.cpp.

#include <string>

#include "common.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/model_kind.hpp"

namespace zeroloss::cli {

// --model two-layer|diagonal-linear (default two-layer).
void add_model_option(CLI::App& app, ModelKind& kind);

// optimum: the weighted-l1 interpolator, certified, written as a u,v CSV.
void run_diagonal_optimum(const ProblemOptions& problem, const std::string& out, bool json);
// project --method newton.
void run_diagonal_project(const ProblemOptions& problem, const ProjectionOptions& options, const std::string& out,
                          bool json);
// inspect.
void run_diagonal_inspect(const ProblemOptions& problem, bool json, bool with_hessian);

}  // namespace zeroloss::cli
