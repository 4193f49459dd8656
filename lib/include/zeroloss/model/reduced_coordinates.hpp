#pragma once
// Reduced coordinates (THEORY section 4). With U (d x p) an orthonormal basis of span{x_i}
// (p = rank X), theta_j = U beta_j + theta_j_perp, Z = X U (n x p) and R = Z beta^T. The map
// Theta -> beta = Theta U is an isometry on span(X)^m, the perpendicular part never moves under any
// flow of the toolkit, and every formula of THEORY 2-3 holds with X replaced by Z. Heavy
// operations (SGD, flows, spectra) therefore run on the m x p block instead of m x d.

#include <Eigen/Dense>

#include "zeroloss/model/network.hpp"

namespace zeroloss {

// The coordinates a point is given and computed in: Full (Theta, m x d) or Reduced (only
// beta = Theta U, m x p; the part of Theta orthogonal to span{x_i} is not at hand).
enum class PointCoordinates { Full, Reduced };
const char* to_string(PointCoordinates coordinates);  // "full", "reduced"

class ReducedCoordinates {
 public:
  // Basis of the row space of X from a thin SVD; singular values below
  // rank_tolerance * sigma_max count as zero (default max(n, d) * machine epsilon).
  explicit ReducedCoordinates(const Eigen::Ref<const Eigen::MatrixXd>& X, double rank_tolerance = -1);

  int rank() const { return static_cast<int>(U_.cols()); }
  // U (d x p), orthonormal columns spanning the rows of X.
  const Eigen::MatrixXd& basis() const { return U_; }
  // Singular values of X (all min(n, d) of them, descending) and its condition number
  // sigma_max / sigma_min over all min(n, d) values (infinity if rank deficient).
  const Eigen::VectorXd& singular_values() const { return sigma_; }
  double condition() const;

  // beta = Theta U (m x p).
  Eigen::MatrixXd reduce(const Eigen::Ref<const Eigen::MatrixXd>& theta) const;
  // Theta = beta U^T + (Theta_ref - Theta_ref U U^T): in-span part from beta, perpendicular part
  // from a reference point (pass a zero matrix for none).
  Eigen::MatrixXd lift(const Eigen::Ref<const Eigen::MatrixXd>& beta,
                       const Eigen::Ref<const Eigen::MatrixXd>& theta_reference) const;
  // Lift of a tangent vector (no perpendicular part): beta U^T.
  Eigen::MatrixXd lift_tangent(const Eigen::Ref<const Eigen::MatrixXd>& beta) const;
  // The model in reduced coordinates: X replaced by Z = X U.
  TwoLayerModel reduce(const TwoLayerModel& model) const;

 private:
  Eigen::MatrixXd U_;
  Eigen::VectorXd sigma_;
};

}  // namespace zeroloss
