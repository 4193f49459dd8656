#pragma once
// Rank-one diagnostics along a trajectory (SGD or flow), and the trajectory table they go into.
//
// At a point beta (pass the reduced model and reduced weights, THEORY 4; in full coordinates the
// cosine would include the never-moving perpendicular parts):
//   loss L, sharpness T (THEORY 3, the function T, not the full tr Hess L off M),
//   the singular values of the feature matrix Phi = phi(R) and of the pre-activations R = Z beta^T
//     (descending, min(n, m) of each): "rank one" means all but the first go to zero,
//   the distance ||R - R*||_F to the rank-one optimum and T - T* (THEORY 5), when the caller
//     supplies the optimum (sharpness/sharpness_minimum.hpp computes it; it does not exist for every problem),
//   the mean pairwise cosine of the neurons' in-span parts beta_j (1 when all point the same way),
//   optionally ||grad_M T|| (THEORY 3; at points off M the formula with the local J is used).
// Quantities that do not exist at a point are empty (std::nullopt), never a made-up number.

#include <Eigen/Dense>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/support/instruction_set.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss {

// The closed-form minimizer's pre-activations and value (THEORY 5), supplied by the caller.
struct RankOneOptimum {
  Eigen::MatrixXd preactivations;  // R* (n x m)
  double sharpness = 0;            // T*
};

struct TrajectoryMetrics {
  double loss = 0;
  double sharpness = 0;
  Eigen::VectorXd feature_singular_values;        // of Phi, descending
  Eigen::VectorXd preactivation_singular_values;  // of R, descending
  std::optional<double> sharpness_gap;            // T - T*
  std::optional<double> distance_to_optimum;      // ||R - R*||_F
  std::optional<double> mean_pairwise_cosine;     // over pairs of nonzero beta_j (needs m >= 2)
  std::optional<double> gradient_norm;            // ||grad_M T|| (empty if not asked or J J^T singular)
  // T at the point put on M by Newton's method (project_newton; within O(dist^2) of Phi_GF), and
  // that minus T*: for SGD iterates, which sit near M at a distance ~ sqrt(L), T itself is off by
  // O(dist), so convergence of T to T* is measured here. Equal to sharpness on M. Empty if not
  // asked or if the projection fails.
  std::optional<double> sharpness_on_manifold;
  std::optional<double> sharpness_gap_on_manifold;
};

// Computes the metrics at beta. `optimum` may be null. With `with_gradient` the Riemannian gradient
// norm is computed too (O(n m p + n^2 m + n^3)); at a singular point it stays empty. With
// `with_projection` the sharpness at the Newton projection onto M is computed too. Cost: one
// evaluation of the network shared by all metrics, products of n x n and n x m matrices (never J,
// never an m x d matrix except the gradient, m x p in reduced coordinates); at n = p = 100, m =
// 1000 about 7 ms with both options at the points of docs/performance.md's large run (two Newton
// steps, both spectra on the Gram route; AVX2), 9.6 ms with Eigen's products, 37 to 57 ms with the
// separate routes. The n x n x m products are numerics/ordered_product.hpp's, whose bits do not depend on
// the instruction set: `products` only picks the compiled variant (InputError for Avx2 without
// AVX2), every value is the same. The values agree with the separate routes (BDCSVD of R and Phi,
// SharpnessGeometry::riemannian_gradient, project_newton + T there) to relative 1e-12 (singular
// values far below sigma_1: absolute 1e-14 sigma_1, as BDCSVD itself; the gradient: plus 1e-12
// ||grad T|| from the cancellation in grad T - J^T lambda); loss and T are the same formulas.
// tests/trajectory_metrics_test.cpp checks this on random problems.
TrajectoryMetrics compute_trajectory_metrics(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                             const RankOneOptimum* optimum = nullptr, bool with_gradient = false,
                                             bool with_projection = false,
                                             InstructionSet products = InstructionSet::Auto);

// The same with the pre-activations R = Z beta^T (n x m) supplied by the caller, e.g. the state of
// label-noise SGD in pre-activation coordinates (dynamics/label_noise_sgd.hpp), which is then used as it is:
// beta only enters the mean pairwise cosine. beta may be empty (0 x 0) when Z is square (n = p):
// the cosines of beta_j = Z^{-1} r_j are then those of the columns of L^{-1} R (K = Z Z^T = L L^T),
// without forming beta. Throws InputError if R is not n x m, or beta is empty and n != p.
TrajectoryMetrics compute_trajectory_metrics(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                             Eigen::MatrixXd preactivations, const RankOneOptimum* optimum,
                                             bool with_gradient, bool with_projection,
                                             InstructionSet products = InstructionSet::Auto);

// Mean over pairs j < k with beta_j, beta_k != 0 of cos(beta_j, beta_k); empty if no such pair.
std::optional<double> mean_pairwise_cosine(const Eigen::Ref<const Eigen::MatrixXd>& beta);

// One logged state: step count k, SGD time t = eta^2 k (or the flow's own time), flow time tau.
struct TrajectoryRow {
  std::uint64_t step = 0;
  double t = 0;
  double tau = 0;
  TrajectoryMetrics metrics;
};

// trajectory.csv: header
//   step,t,tau,loss,sharpness,sharpness_gap,dist_R_opt,mean_cosine,grad_norm,sharpness_on_M,
//   sharpness_gap_on_M,sv_phi_1..sv_phi_K,sv_R_1..sv_R_K          (K = min(n, m))
// one row per logged state, numbers in the shortest round-trip %.Ng (they read back to the same
// bits), empty cells for quantities that do not exist at that state.
std::string trajectory_csv_header(int singular_values);
std::string trajectory_csv_line(const TrajectoryRow& row, int singular_values);
std::string trajectory_csv(const std::vector<TrajectoryRow>& rows, int singular_values);

// Numerical rank of a spectrum (descending): the values above tol * largest.
int numerical_rank(const Eigen::VectorXd& singular_values, double tol = 1e-6);

// First logged step from which sigma_2 / sigma_1 stays <= threshold to the end (the feature spectrum
// if `features`, else the pre-activations'); empty if never.
std::optional<std::uint64_t> rank_one_step(const std::vector<TrajectoryRow>& rows, double threshold, bool features);

}  // namespace zeroloss
