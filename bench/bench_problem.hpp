#pragma once
// The random problem the benchmarks share: a reduced problem (THEORY 4) with the start on M.
// Rows of Z are N(0, I/p) (norm about 1), beta_jk ~ N(0, 0.25) (pre-activations of order 0.5),
// a_j = 1, cubic phi, and labels y = f(beta), so beta lies on the zero-loss manifold.

#include <Eigen/Dense>

#include <cmath>
#include "zeroloss/random/portable_distributions.hpp"

#include "zeroloss/model/network.hpp"

namespace zeroloss::bench {

struct RandomProblem {
  TwoLayerModel model;
  Eigen::MatrixXd beta;  // m x p, on M
};

inline RandomProblem random_problem_on_manifold(int n, int p, int m) {
  std::mt19937_64 rng(42);
  zeroloss::StandardNormal g;
  Eigen::MatrixXd Z(n, p), beta(m, p);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < p; ++k) Z(i, k) = g(rng) / std::sqrt(static_cast<double>(p));
  for (int j = 0; j < m; ++j)
    for (int k = 0; k < p; ++k) beta(j, k) = 0.5 * g(rng);
  TwoLayerModel tmp(Z, Eigen::VectorXd::Zero(n), Eigen::VectorXd::Ones(m), Activation::cubic());
  const Eigen::VectorXd y = network_outputs(tmp, beta);
  return RandomProblem{tmp.with_labels(y), beta};
}

}  // namespace zeroloss::bench
