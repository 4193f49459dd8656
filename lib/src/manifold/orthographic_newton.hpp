#pragma once
// The orthographic retraction's Newton solve of ModelManifold (model_manifold.cpp; internal), given
// how to evaluate the residuals and the Newton matrix.
//
// Newton on mu -> f(base + J(x)^T mu) - y, whose Jacobian is J(u) J(x)^T, from *mu. Once the largest
// residual is within tol, one more step is taken and kept if it lowers the residual further
// (quadratic convergence then lands at rounding level, well inside tol). Gives up (returns false)
// on a non-finite point or residual, a residual 1e3 times above the first (or tol), or after
// max_iterations steps. On true, *u = base + J(x)^T *mu is the point and *mu its multiplier.

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

namespace zeroloss::detail {

// `evaluate(u)` returns an object with `residuals` (f(u) - y, n entries) and `newton_matrix()`
// (J(u) J(x)^T, n x n), the latter only called when a step is taken.
template <class Evaluate>
bool orthographic_newton(const Eigen::MatrixXd& jacobian_at_x, const Eigen::VectorXd& base, double tol,
                         int max_iterations, const Evaluate& evaluate, Eigen::VectorXd* mu, Eigen::VectorXd* u) {
  double first = -1;
  Eigen::VectorXd within_mu, within_u;
  double within_res = -1;
  for (int it = 0; it <= max_iterations + 1; ++it) {
    *u = base;
    u->noalias() += jacobian_at_x.transpose() * *mu;
    if (!u->allFinite()) return false;
    const auto e = evaluate(*u);
    const double res = e.residuals.cwiseAbs().maxCoeff();
    if (within_res >= 0) {
      if (!(res < within_res)) {
        *mu = within_mu;
        *u = within_u;
      }
      return true;
    }
    if (!std::isfinite(res)) return false;
    if (it == 0) first = res;
    if (res <= tol) {
      within_res = res;
      within_mu = *mu;
      within_u = *u;
    } else if (res > 1e3 * std::max(first, tol) || it >= max_iterations) {
      return false;
    }
    Eigen::PartialPivLU<Eigen::MatrixXd> lu(e.newton_matrix());
    const Eigen::VectorXd step = lu.solve(e.residuals);
    if (!step.allFinite()) {
      if (within_res < 0) return false;
      *mu = within_mu;
      *u = within_u;
      return true;
    }
    *mu -= step;
  }
  return false;
}

}  // namespace zeroloss::detail
