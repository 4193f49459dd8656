#pragma once
// The minimum of the sharpness T on the zero-loss manifold of the diagonal linear network
// (THEORY 9), with a certificate of optimality.
//
// For fixed w = u o u - v o v, u_k^2 + v_k^2 >= |w_k| with equality iff u_k v_k = 0, so
//   min_M T = (4/n) min { sum_k c_k |w_k| : X w = y },     c_k = sum_i x_ik^2,
// a weighted basis pursuit (a linear program). Its dual is max { y . mu : |X^T mu|_k <= c_k }.
//
// Route (independent of any LP solver, so the tests can compare with one):
//  1. the Riemannian gradient flow of T (dynamics/riemannian_flow.hpp) from the given start, until
//     ||grad_M T|| falls below flow.until_gradient; it converges to the LP's solution from generic
//     starts (a stationary point that is not the solution is a saddle, THEORY 9);
//  2. the support S = {k : |w_k| > support_tolerance * max_k |w_k|} of the flow's end point, and
//     the exact primal point on it: X_S w_S = y (least squares when |S| < n, with the residual
//     checked);
//  3. a dual certificate: mu with X_S^T mu = c_S o sign(w_S), closest to (n/4) lambda, lambda the
//     flow's final Lagrange multipliers (on M, grad T = J^T lambda gives X^T lambda = (4/n) c o sign(w)
//     on the support). The point is optimal when mu is dual feasible, |X^T mu|_k <= c_k for every k;
//     then primal and dual objectives agree (strong duality) and the gap is reported.
// A start whose flow ends at a point that does not certify (a saddle, or a flow stopped early) is
// a ConvergenceError naming the worst dual violation: never an uncertified number.
// The point on M: u_k = s_k sqrt(w_k) where w_k > 0, v_k = s_k sqrt(-w_k) where w_k < 0, the signs
// s_k taken from the flow's end point (T and M are symmetric under each sign change).

#include <Eigen/Dense>

#include <string>
#include <vector>

#include "zeroloss/dynamics/flow_options.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"

namespace zeroloss {

struct DiagonalLinearOptimumOptions {
  // The flow of step 1. Defaults: coefficient 1, t_end 1e6, stop at ||grad_M T|| < 1e-9 * max(1, T).
  FlowOptions flow = default_flow();
  // |w_k| <= support_tolerance * max |w| counts as zero at the flow's end point.
  double support_tolerance = 1e-7;
  // Certified when max_k (|X^T mu|_k - c_k) / c_k <= dual_tolerance.
  double dual_tolerance = 1e-9;
  // Empty when the options are usable; otherwise what is wrong, naming the option.
  std::string validation_error() const;

  static FlowOptions default_flow();
};

struct DiagonalLinearOptimum {
  Eigen::VectorXd theta;       // (u, v) on M, u_k v_k = 0
  Eigen::VectorXd w;           // the weighted-l1 interpolator
  Eigen::VectorXd dual;        // mu, the dual certificate
  std::vector<int> support;    // k with w_k != 0 (0-based)
  double objective = 0;        // sum_k c_k |w_k|
  double dual_objective = 0;   // y . mu
  double sharpness = 0;        // T(theta) = (4/n) objective
  double max_dual_violation = 0;  // max_k (|X^T mu|_k - c_k) / c_k (<= 0 up to rounding when certified)
  double residual_max = 0;     // max_i |(X w - y)_i|
  double support_condition = 0;  // 2-norm condition number of X_S
  // Smallest |w_k| on the support relative to max |w|: close to support_tolerance means the support
  // was hard to identify.
  double support_margin = 0;
  FlowSummary flow;            // statistics of step 1
  double flow_sharpness = 0;   // T at the flow's end point (>= sharpness)
  double flow_distance = 0;    // ||theta - theta_flow||
};

// Throws InputError on bad options or a start that is malformed, SingularPointError if the start is
// a singular point of M, ConvergenceError if the end point does not certify (see above).
DiagonalLinearOptimum diagonal_linear_optimum(const DiagonalLinearNetwork& model,
                                              const Eigen::Ref<const Eigen::VectorXd>& start,
                                              const DiagonalLinearOptimumOptions& options = {});

}  // namespace zeroloss
