#pragma once
// The commands' bodies for `--model diagonal-linear` (THEORY 9): read the data and a u,v weights
// file, call the library, print. The two-layer bodies stay in cmd_*.cpp.

#include <memory>
#include <string>

#include "common.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/model_kind.hpp"

namespace zeroloss::cli {

// The data and a u,v weights file as a diagonal network and its parameters theta = (u, v).
struct DiagonalProblem {
  std::shared_ptr<const DiagonalLinearNetwork> model;
  Eigen::VectorXd theta;
};
DiagonalProblem load_diagonal_problem(const ProblemOptions& options);

// --model two-layer|diagonal-linear (default two-layer).
void add_model_option(CLI::App& app, ModelKind& kind);

// optimum: the weighted-l1 interpolator, certified, written as a u,v CSV.
void run_diagonal_optimum(const ProblemOptions& problem, const std::string& out, bool json);
// inspect.
void run_diagonal_inspect(const ProblemOptions& problem, bool json, bool with_hessian);

}  // namespace zeroloss::cli
