#pragma once
// Load-time checks of a problem (data X, y; second layer a; activation phi; weights Theta), run once
// by every command before any work:
//  - require_evaluable: the model can be evaluated in floating point at the given weights;
//  - diagnose_data / require_manifold: what the data imply for the zero-loss set M (rank of X,
//    identical rows, identical rows with different labels, zero rows, mirrored and parallel rows).

#include <Eigen/Dense>

#include <string>
#include <vector>

#include "zeroloss/model/network.hpp"

namespace zeroloss {

// Where the numbers came from, for messages.
struct ProblemSource {
  std::string data = "data";          // the data file
  std::string weights = "weights";    // the weights file (or a description of generated weights)
  std::vector<int> data_lines;        // line of data row i in the data file; empty: rows named by index
  std::vector<std::string> feature_names;  // column names of the features; empty: x1..xd
  // "D.csv:5 (sample 4)" or "D.csv, sample 4".
  std::string sample(int i) const;
  // "D.csv:5 (sample 4), column 'x2'".
  std::string data_cell(int i, int k) const;
  // "W.csv, neuron 3 (row 3)".
  std::string neuron(int j) const;
};

// Throws InputError unless every quantity the toolkit computes from the model at theta is finite:
// ||x_i||^2 (hence X X^T), ||theta_j||^2, r_ij = x_i . theta_j, phi and its first three derivatives
// at r_ij, the outputs f_i, the residuals f_i - y_i and the loss, the diagonal of J J^T
// (||x_i||^2 sum_j a_j^2 phi'(r_ij)^2, which bounds every entry of J J^T and gives T), and the
// per-entry weights of the gradient and Hessian of T (||x_i||^2 a_j^2 phi' phi'' and
// ||x_i||^2 a_j^2 (phi''^2 + phi' phi''')). The message names the file and the cell (data row and
// column, weights row and column, or sample i and neuron j) that makes the evaluation impossible.
// theta may be in reduced coordinates (model reduced, m x p): then the weights are named by neuron.
void require_evaluable(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                       const ProblemSource& source, bool theta_from_file = true);

// A pair of data rows with x_second = factor * x_first (indices 0-based, first < second).
struct RowPair {
  int first = 0, second = 0;
  double factor = 1;
};

// What the data (X, y) and the model (m, a, phi) imply for M, independently of the weights.
struct DataDiagnostics {
  int n = 0, d = 0, m = 0;
  // Rank of X from its singular values (the same thin SVD and tolerance as ReducedCoordinates): the
  // number of singular values above rank_tolerance = max(n, d) * machine epsilon * sigma_max.
  int rank = 0;
  double rank_tolerance = 0;
  double sigma_max = 0, sigma_min = 0;  // largest and smallest of the min(n, d) singular values
  std::vector<RowPair> identical_same_label;  // x_k = x_i, y_k = y_i
  std::vector<RowPair> identical_conflicting;  // x_k = x_i, y_k != y_i
  // x_k = -x_i for a point-symmetric phi (phi(-z) = 2 phi(0) - phi(z): cubic, sinh, tanh, sigmoid,
  // odd polynomials), so f_k = 2 phi(0) sum_j a_j - f_i for every Theta.
  std::vector<RowPair> mirrored_consistent, mirrored_conflicting;
  std::vector<RowPair> parallel;  // other x_k = c x_i (up to rounding): informational
  std::vector<int> zero_rows_consistent, zero_rows_conflicting;  // x_i = 0: f_i = phi(0) sum_j a_j
  bool empty_manifold = false;       // no Theta has f(Theta) = y
  bool singular_everywhere = false;  // J J^T is singular at every Theta
  // One sentence per finding (what is true, what it implies, what to do); empty when nothing to say.
  std::vector<std::string> findings;
  bool blocking() const { return empty_manifold || singular_everywhere; }
};

// Exact comparisons for identical, mirrored and zero rows; parallel rows through the Gram matrix
// (|G_ik|^2 >= (1 - 1e-12) G_ii G_kk). O(n^2 + n d) after the Gram matrix the model holds.
DataDiagnostics diagnose_data(const TwoLayerModel& model, const ProblemSource& source);

// For the commands that need M to be a manifold: throws InputError (M is empty) or
// SingularPointError (J J^T singular everywhere, condition infinity) with the findings and what to
// do; returns otherwise.
void require_manifold(const DataDiagnostics& diagnostics, const ProblemSource& source);

}  // namespace zeroloss
