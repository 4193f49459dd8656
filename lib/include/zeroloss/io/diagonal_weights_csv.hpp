#pragma once
// Weights files of the diagonal linear network (model/diagonal_linear_network.hpp): a header row
// `u,v` and one row per coordinate k = 1..d with u_k and v_k. Columns are found by name, so `v,u`
// is read correctly; any other column is an error.

#include <Eigen/Dense>

#include <string>

namespace zeroloss {

struct DiagonalWeights {
  Eigen::VectorXd u, v;  // d each
};

// Reads a u,v weights CSV. If expected_d >= 0 the number of rows must equal it (the data's d).
// Throws InputError naming the file and line on a missing header, another column, a wrong row
// count or a malformed cell.
DiagonalWeights read_diagonal_weights_csv(const std::string& path, int expected_d = -1);

// Writes a u,v weights CSV atomically (shortest round-trip numbers).
void write_diagonal_weights_csv(const std::string& path, const Eigen::Ref<const Eigen::VectorXd>& u,
                                const Eigen::Ref<const Eigen::VectorXd>& v);

}  // namespace zeroloss
