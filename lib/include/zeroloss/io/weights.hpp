#pragma once
// Weights files: one row per neuron with d numbers (theta_j); an optional header row; a column
// named `a`, if present, is that neuron's fixed second-layer weight (otherwise a_j = 1).

#include <Eigen/Dense>

#include <string>

namespace zeroloss {

struct Weights {
  Eigen::MatrixXd theta;  // m x d
  Eigen::VectorXd a;      // m
  bool has_second_layer_column = false;
};

// Reads a weights CSV. If expected_d >= 0 the number of feature columns must equal it (the data's d);
// a mismatch, a zero second-layer weight or any malformed cell throws InputError naming file and line.
Weights read_weights_csv(const std::string& path, int expected_d = -1);
// Writes a weights CSV atomically: header w1..wd,a and one row per neuron.
void write_weights_csv(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                       const Eigen::Ref<const Eigen::VectorXd>& a);

}  // namespace zeroloss
