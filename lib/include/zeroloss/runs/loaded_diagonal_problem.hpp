#pragma once
// A diagonal linear network problem read from its files (THEORY 9): the data (X, y) and a u,v
// weights CSV (io/diagonal_weights_csv.hpp), as the model and its parameters theta = (u, v).

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/runs/loaded_problem.hpp"

namespace zeroloss {

struct LoadedDiagonalProblem {
  std::shared_ptr<const DiagonalLinearNetwork> model;
  Eigen::VectorXd theta;  // (u, v)
};

// files.activation is not used. Throws InputError naming the file on any problem, also when the
// weights are a reduced-weights manifest (*.json: two-layer weights).
LoadedDiagonalProblem load_diagonal_problem(const ProblemFiles& files);

}  // namespace zeroloss
