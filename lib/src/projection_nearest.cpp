// Nearest point of the zero-loss manifold: Newton's method on the KKT system of
//   min 1/2 ||u - b0||^2  s.t.  f(u) = y,   Lagrangian  1/2 ||u - b0||^2 + mu^T (f(u) - y),
// in reduced coordinates (u, b0 are m x p). KKT residuals: r_u = u - b0 + J^T mu, r_f = f(u) - y.
// Exact Lagrangian Hessian H = I + sum_i mu_i Hess f_i, block diagonal with p x p blocks
//   H_j = I + Z^T diag(mu o a_j phi''(r_:j)) Z.
// Newton step: [H J^T; J 0] [du; dmu] = -[r_u; r_f], solved through the Schur complement
//   S = J H^{-1} J^T,  S dmu = r_f - J H^{-1} r_u,  du = -H^{-1} (r_u + J^T dmu)
// when every block is positive definite, and by a dense pivoted LU of the whole KKT matrix otherwise.
// Safeguards: start at the Newton projection with least-squares multipliers; backtrack on the merit
// ||r_u||^2 + ||r_f||^2 (the Newton direction is a descent direction for it); verify at the end.

#include <cmath>
#include <limits>
#include <sstream>

#include "projection_internal.hpp"
#include "zeroloss/constraint_jacobian.hpp"
#include "zeroloss/dense_limit.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/reduced_coordinates.hpp"

namespace zeroloss {
namespace {

struct KktState {
  NetworkEvaluation eval;
  Eigen::MatrixXd D;   // a_j phi'(r_ij), n x m
  Eigen::MatrixXd ru;  // u - b0 + J^T mu, m x p
  double merit = 0;    // ||r_u||^2 + ||r_f||^2
};

KktState kkt_state(const TwoLayerModel& red, const Eigen::MatrixXd& b0, const Eigen::MatrixXd& u,
                   const Eigen::VectorXd& mu) {
  KktState s;
  s.eval = evaluate(red, u);
  s.D = s.eval.dphi * red.a().asDiagonal();
  s.ru = u - b0;
  s.ru.noalias() += (mu.asDiagonal() * s.D).transpose() * red.X();
  s.merit = s.ru.squaredNorm() + s.eval.residuals.squaredNorm();
  return s;
}

// Blocks H_j = I + Z^T diag(mu o a_j phi''(r_:j)) Z.
std::vector<Eigen::MatrixXd> lagrangian_hessian_blocks(const TwoLayerModel& red, const NetworkEvaluation& e,
                                                       const Eigen::VectorXd& mu) {
  const int m = red.m(), p = red.d();
  const Eigen::MatrixXd& Z = red.X();
  std::vector<Eigen::MatrixXd> H(m);
  for (int j = 0; j < m; ++j) {
    const Eigen::VectorXd w = red.a()(j) * mu.cwiseProduct(e.d2phi.col(j));
    H[j] = Eigen::MatrixXd::Identity(p, p);
    H[j].noalias() += Z.transpose() * w.asDiagonal() * Z;
  }
  return H;
}

// Dense reduced Jacobian (n x m p), block j = diag(D_:j) Z.
Eigen::MatrixXd dense_jacobian(const Eigen::MatrixXd& Z, const Eigen::MatrixXd& D) {
  const Eigen::Index n = Z.rows(), p = Z.cols(), m = D.cols();
  Eigen::MatrixXd J(n, m * p);
  for (Eigen::Index j = 0; j < m; ++j) J.middleCols(j * p, p) = D.col(j).asDiagonal() * Z;
  return J;
}

// Smallest eigenvalue of H on the tangent space ker J, or, when every block is positive definite,
// the smallest eigenvalue of H itself (a lower bound for it).
double second_order_check(const TwoLayerModel& red, const std::vector<Eigen::MatrixXd>& H, const Eigen::MatrixXd& D) {
  const int m = red.m(), p = red.d(), n = red.n();
  double lo = std::numeric_limits<double>::infinity();
  for (const auto& Hj : H) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Hj, Eigen::EigenvaluesOnly);
    lo = std::min(lo, es.eigenvalues()(0));
  }
  if (lo > 0) return lo;
  const Eigen::Index mp = static_cast<Eigen::Index>(m) * p, k = mp - n;
  if (k <= 0) return std::numeric_limits<double>::infinity();  // M is a point locally: nothing to check
  {
    // J, the full Q of J^T (m p square), the basis B and H B, the k x k form.
    const long double N = n, MP = mp, K = k;
    require_dense_memory(N * MP + MP * MP + 2 * MP * K + 2 * K * K,
                         "the second-order check of the nearest-point projection (the full Q factor of J, m p = " +
                             std::to_string(mp) + " square)",
                         "Use fewer neurons m or data of lower rank p, or another projection (newton or "
                         "gradient-flow).");
  }
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(dense_jacobian(red.X(), D).transpose());
  const Eigen::MatrixXd Q = qr.householderQ();
  const Eigen::MatrixXd B = Q.rightCols(k);
  Eigen::MatrixXd HB(mp, k);
  for (int j = 0; j < m; ++j) HB.middleRows(static_cast<Eigen::Index>(j) * p, p) = H[j] * B.middleRows(static_cast<Eigen::Index>(j) * p, p);
  const Eigen::MatrixXd R = B.transpose() * HB;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (R + R.transpose()), Eigen::EigenvaluesOnly);
  return es.eigenvalues()(0);
}

}  // namespace

ProjectionResult project_nearest(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                 const ProjectionOptions& options) {
  model.check_weights(theta0, "starting weights");
  const ReducedCoordinates rc(model.X());
  const TwoLayerModel red = rc.reduce(model);
  const Eigen::MatrixXd b0 = rc.reduce(theta0);
  const int m = red.m(), p = red.d();
  const Eigen::Index mp = static_cast<Eigen::Index>(m) * p;
  const Eigen::MatrixXd& Z = red.X();
  const double tol = detail::residual_tolerance(model, options);

  // Start: the Newton projection and least-squares multipliers (u - b0 + J^T mu = 0 in the normal space).
  ProjectionResult newton = project_newton(red, b0, options);
  const double newton_distance = newton.summary.distance_moved;
  Eigen::MatrixXd u = newton.theta;
  Eigen::VectorXd mu;
  {
    const NetworkEvaluation e = evaluate(red, u);
    const ConstraintJacobian J(red, e, options.max_condition);
    mu = -J.normal_coefficients(u - b0);
  }

  ProjectionResult out;
  out.summary.method = "nearest";
  out.summary.initial_residual = max_residual(model, theta0);
  std::ostringstream history;
  KktState s = kkt_state(red, b0, u, mu);
  std::vector<Eigen::MatrixXd> H;
  bool converged = false;
  int it = 0;
  for (;; ++it) {
    const double res = s.eval.residuals.cwiseAbs().maxCoeff();
    const ConstraintJacobian J(red, s.eval, options.max_condition);
    const double dist = (u - b0).norm();
    const double tangent_part = J.tangent_projection(u - b0).norm();
    history << (it ? ", " : "") << "(" << detail::short_number(res) << ", " << detail::short_number(tangent_part) << ")";
    if (!std::isfinite(s.merit)) {
      throw ConvergenceError("nearest-point projection: non-finite KKT residual at iteration " + std::to_string(it) +
                             "; (residual, tangent part of Theta' - Theta) history: " + history.str());
    }
    if (res <= tol && tangent_part <= options.optimality_tolerance * std::max(1.0, dist)) {
      converged = true;
      break;
    }
    if (it >= options.max_iterations) {
      throw ConvergenceError("nearest-point projection: the KKT Newton iteration did not converge in " +
                             std::to_string(options.max_iterations) +
                             " iterations; (residual, tangent part of Theta' - Theta) history: " + history.str());
    }

    // Newton direction.
    H = lagrangian_hessian_blocks(red, s.eval, mu);
    Eigen::MatrixXd du(m, p);
    Eigen::VectorXd dmu;
    bool blocks_pd = true;
    std::vector<Eigen::LLT<Eigen::MatrixXd>> llt(m);
    for (int j = 0; j < m && blocks_pd; ++j) {
      llt[j].compute(H[j]);
      blocks_pd = llt[j].info() == Eigen::Success;
    }
    if (blocks_pd) {
      const int n = red.n();
      Eigen::MatrixXd S = Eigen::MatrixXd::Zero(n, n);
      Eigen::VectorXd Jw = Eigen::VectorXd::Zero(n);
      std::vector<Eigen::MatrixXd> W(m);  // H_j^{-1} Z^T diag(D_:j), p x n
      Eigen::MatrixXd w(m, p);            // rows: H_j^{-1} r_u,j
      for (int j = 0; j < m; ++j) {
        const Eigen::MatrixXd DZ = s.D.col(j).asDiagonal() * Z;  // n x p: block j of J
        W[j] = llt[j].solve(DZ.transpose());
        S.noalias() += DZ * W[j];
        w.row(j) = llt[j].solve(s.ru.row(j).transpose()).transpose();
        Jw.noalias() += DZ * w.row(j).transpose();
      }
      Eigen::LLT<Eigen::MatrixXd> sllt(S);
      if (sllt.info() != Eigen::Success) J.solve_gram(Eigen::VectorXd::Zero(n));  // singular J: throws
      dmu = sllt.solve(s.eval.residuals - Jw);
      for (int j = 0; j < m; ++j) du.row(j) = -(w.row(j).transpose() + W[j] * dmu).transpose();
    } else {
      // Indefinite Lagrangian Hessian (large multipliers): the full KKT matrix, pivoted LU.
      const int n = red.n();
      // The KKT matrix and its pivoted LU.
      require_dense_memory(2.0L * (mp + n) * static_cast<long double>(mp + n),
                           "the KKT matrix of the nearest-point projection (m p + n = " + std::to_string(mp + n) +
                               " square, twice with its LU)",
                           "Use fewer neurons m or data of lower rank p, or another projection (newton or "
                           "gradient-flow).");
      Eigen::MatrixXd K = Eigen::MatrixXd::Zero(mp + n, mp + n);
      for (int j = 0; j < m; ++j) K.block(static_cast<Eigen::Index>(j) * p, static_cast<Eigen::Index>(j) * p, p, p) = H[j];
      const Eigen::MatrixXd Jd = dense_jacobian(Z, s.D);
      K.topRightCorner(mp, n) = Jd.transpose();
      K.bottomLeftCorner(n, mp) = Jd;
      Eigen::VectorXd rhs(mp + n);
      rhs << -vectorize(s.ru), -s.eval.residuals;
      Eigen::FullPivLU<Eigen::MatrixXd> lu(K);
      if (!lu.isInvertible()) {
        throw ConvergenceError("nearest-point projection: the KKT matrix is singular at iteration " +
                               std::to_string(it) + " (the distance function is degenerate here: a focal point); "
                               "history: " + history.str());
      }
      const Eigen::VectorXd sol = lu.solve(rhs);
      du = unvectorize(sol.head(mp), m, p);
      dmu = sol.tail(n);
    }

    // Backtracking on the merit ||r_u||^2 + ||r_f||^2 (directional derivative -2 merit).
    double alpha = 1;
    bool accepted = false;
    for (int k = 0; k < 40; ++k, alpha *= 0.5) {
      const Eigen::MatrixXd u_try = u + alpha * du;
      const Eigen::VectorXd mu_try = mu + alpha * dmu;
      KktState t = kkt_state(red, b0, u_try, mu_try);
      if (std::isfinite(t.merit) && t.merit <= (1 - 2e-4 * alpha) * s.merit) {
        u = u_try;
        mu = mu_try;
        s = std::move(t);
        accepted = true;
        break;
      }
    }
    if (!accepted) {
      throw ConvergenceError("nearest-point projection: no decrease of the KKT residual along the Newton direction "
                             "at iteration " + std::to_string(it) + " (merit " + detail::short_number(s.merit) +
                             "); (residual, tangent part) history: " + history.str());
    }
  }

  // Verification: second-order condition and comparison with the Newton projection.
  H = lagrangian_hessian_blocks(red, s.eval, mu);
  const double lmin = second_order_check(red, H, s.D);
  const double dist = (u - b0).norm();
  if (!(lmin > 0)) {
    throw ConvergenceError("nearest-point projection: the KKT point found is not a local minimum of the distance "
                           "(smallest eigenvalue of the Lagrangian Hessian on the tangent space " +
                           detail::short_number(lmin) + " <= 0); use --method newton");
  }
  if (dist > newton_distance * (1 + 1e-10) + 1e-14) {
    throw ConvergenceError("nearest-point projection: the KKT point found is farther from the start (" +
                           detail::short_number(dist) + ") than the Newton projection (" +
                           detail::short_number(newton_distance) + "), so it is not the nearest point");
  }
  const ConstraintJacobian J(red, s.eval, options.max_condition);
  const double tangent_part = J.tangent_projection(u - b0).norm();

  out.theta = rc.lift(u, theta0);
  out.summary.iterations = it;
  out.summary.final_residual = max_residual(model, out.theta);
  out.summary.distance_moved = (out.theta - theta0).norm();
  out.summary.normal_defect = dist > 0 ? tangent_part / dist : 0.0;
  out.summary.lagrangian_hessian_min_eigenvalue = lmin;
  out.summary.converged = converged;
  std::ostringstream t;
  t << "KKT converged after " << it << " Newton-KKT iterations (started at the Newton projection, "
    << newton.summary.iterations << " iterations, distance " << detail::short_number(newton_distance)
    << "): residual " << detail::short_number(out.summary.final_residual) << ", ||P(Theta'-Theta)||/||Theta'-Theta|| = "
    << detail::short_number(out.summary.normal_defect) << ", Lagrangian Hessian on the tangent space >= "
    << detail::short_number(lmin) << " > 0";
  out.summary.termination = t.str();
  return out;
}

}  // namespace zeroloss
