#include "zeroloss/manifold/nearest_point_projection.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {
namespace {

struct KktState {
  std::unique_ptr<const ModelPoint> eval;
  Eigen::VectorXd rf;  // f(u) - y
  Eigen::VectorXd ru;  // u - theta0 + J^T mu
  double merit = 0;    // ||r_u||^2 + ||r_f||^2
};

KktState kkt_state(const SquaredLossModel& model, const Eigen::VectorXd& theta0, const Eigen::VectorXd& u,
                   const Eigen::VectorXd& mu) {
  KktState s;
  s.eval = model.evaluate(u);
  s.rf = s.eval->outputs() - model.labels();
  s.ru = u - theta0 + s.eval->jacobian_transpose_apply(mu);
  s.merit = s.ru.squaredNorm() + s.rf.squaredNorm();
  return s;
}

// The blocks of H = I + sum_i mu_i Hess f_i and their offsets.
struct LagrangianHessian {
  std::vector<Eigen::MatrixXd> blocks;
  std::vector<Eigen::Index> offsets;

  LagrangianHessian(const ModelPoint& point, const Eigen::VectorXd& mu, Eigen::Index P) {
    blocks = point.constraint_hessian_blocks(mu);
    Eigen::Index offset = 0;
    for (auto& B : blocks) {
      offsets.push_back(offset);
      B += Eigen::MatrixXd::Identity(B.rows(), B.cols());
      offset += B.rows();
    }
    if (offset != P) {
      throw std::logic_error("constraint_hessian_blocks: the blocks cover " + std::to_string(offset) +
                             " parameters, the model has " + std::to_string(P));
    }
  }

  Eigen::MatrixXd apply(const Eigen::MatrixXd& V) const {
    Eigen::MatrixXd HV(V.rows(), V.cols());
    for (std::size_t b = 0; b < blocks.size(); ++b)
      HV.middleRows(offsets[b], blocks[b].rows()).noalias() = blocks[b] * V.middleRows(offsets[b], blocks[b].rows());
    return HV;
  }
};

// Smallest eigenvalue of H on the tangent space ker J, or, when every block is positive definite,
// the smallest eigenvalue of H itself (a lower bound for it).
double second_order_check(const LagrangianHessian& H, const Eigen::MatrixXd& J) {
  double lo = std::numeric_limits<double>::infinity();
  for (const auto& B : H.blocks) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(B, Eigen::EigenvaluesOnly);
    lo = std::min(lo, es.eigenvalues()(0));
  }
  if (lo > 0) return lo;
  const Eigen::Index n = J.rows(), P = J.cols(), k = P - n;
  if (k <= 0) return std::numeric_limits<double>::infinity();  // M is a point locally: nothing to check
  {
    // J, the full Q of J^T (P square), the basis B and H B, the k x k form.
    const long double N = n, PP = P, K = k;
    require_dense_memory(N * PP + PP * PP + 2 * PP * K + 2 * K * K,
                         "the second-order check of the nearest-point projection (the full Q factor of J, P = " +
                             std::to_string(P) + " square)",
                         "Use a smaller model (fewer neurons m or data of lower rank p), or another projection "
                         "(newton or gradient-flow).");
  }
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(J.transpose());
  const Eigen::MatrixXd Q = qr.householderQ();
  const Eigen::MatrixXd B = Q.rightCols(k);
  const Eigen::MatrixXd R = B.transpose() * H.apply(B);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (R + R.transpose()), Eigen::EigenvaluesOnly);
  return es.eigenvalues()(0);
}

// The Newton direction of the KKT system at state s.
void kkt_direction(const LagrangianHessian& H, const Eigen::MatrixXd& J, const KktState& s, const ManifoldPoint& at,
                   int iteration, const std::ostringstream& history, Eigen::VectorXd& du, Eigen::VectorXd& dmu) {
  const Eigen::Index n = J.rows(), P = J.cols();
  std::vector<Eigen::LLT<Eigen::MatrixXd>> llt(H.blocks.size());
  bool blocks_pd = true;
  for (std::size_t b = 0; b < H.blocks.size() && blocks_pd; ++b) {
    llt[b].compute(H.blocks[b]);
    blocks_pd = llt[b].info() == Eigen::Success;
  }
  if (blocks_pd) {
    Eigen::MatrixXd HinvJt(P, n);  // H^{-1} J^T
    Eigen::VectorXd w(P);          // H^{-1} r_u
    for (std::size_t b = 0; b < H.blocks.size(); ++b) {
      const Eigen::Index o = H.offsets[b], size = H.blocks[b].rows();
      HinvJt.middleRows(o, size) = llt[b].solve(J.middleCols(o, size).transpose());
      w.segment(o, size) = llt[b].solve(s.ru.segment(o, size));
    }
    const Eigen::MatrixXd S = J * HinvJt;
    Eigen::LLT<Eigen::MatrixXd> sllt(S);
    if (sllt.info() != Eigen::Success) at.solve_gram(Eigen::VectorXd::Zero(n));  // singular J: throws
    dmu = sllt.solve(s.rf - J * w);
    du = -(w + HinvJt * dmu);
    return;
  }
  // Indefinite Lagrangian Hessian (large multipliers): the full KKT matrix, pivoted LU.
  require_dense_memory(2.0L * (P + n) * static_cast<long double>(P + n),
                       "the KKT matrix of the nearest-point projection (P + n = " + std::to_string(P + n) +
                           " square, twice with its LU)",
                       "Use a smaller model (fewer neurons m or data of lower rank p), or another projection "
                       "(newton or gradient-flow).");
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(P + n, P + n);
  for (std::size_t b = 0; b < H.blocks.size(); ++b)
    K.block(H.offsets[b], H.offsets[b], H.blocks[b].rows(), H.blocks[b].cols()) = H.blocks[b];
  K.topRightCorner(P, n) = J.transpose();
  K.bottomLeftCorner(n, P) = J;
  Eigen::VectorXd rhs(P + n);
  rhs << -s.ru, -s.rf;
  Eigen::FullPivLU<Eigen::MatrixXd> lu(K);
  if (!lu.isInvertible()) {
    throw ConvergenceError("nearest-point projection: the KKT matrix is singular at iteration " +
                           std::to_string(iteration) + " (the distance function is degenerate here: a focal point); "
                           "history: " + history.str());
  }
  const Eigen::VectorXd sol = lu.solve(rhs);
  du = sol.head(P);
  dmu = sol.tail(n);
}

}  // namespace

ParameterProjection project_nearest(const std::shared_ptr<const SquaredLossModel>& model,
                                    const Eigen::Ref<const Eigen::VectorXd>& theta0_in, const ProjectionOptions& options) {
  if (!model) throw InputError("nearest-point projection: no model");
  model->check_parameters(theta0_in, "starting weights");
  const Eigen::VectorXd theta0 = theta0_in;
  const Eigen::Index P = model->num_parameters();
  const double tol = absolute_residual_tolerance(options, model->labels());

  // Start: the Newton projection and least-squares multipliers (u - theta0 + J^T mu = 0 in the normal space).
  ParameterProjection newton = project_newton(model, theta0, options);
  const double newton_distance = newton.summary.distance_moved;
  Eigen::VectorXd u = newton.theta;
  Eigen::VectorXd mu = -ManifoldPoint(model, u, options.max_condition).normal_coefficients(u - theta0);

  ParameterProjection out;
  out.summary.method = ProjectionMethod::Nearest;
  out.summary.initial_residual = model->max_residual(theta0);
  std::ostringstream history;
  KktState s = kkt_state(*model, theta0, u, mu);
  bool converged = false;
  int it = 0;
  for (;; ++it) {
    const double res = s.rf.cwiseAbs().maxCoeff();
    const ManifoldPoint at(model, u, options.max_condition);
    const double dist = (u - theta0).norm();
    const double tangent_part = at.tangent_projection(u - theta0).norm();
    history << (it ? ", " : "") << "(" << short_number(res) << ", " << short_number(tangent_part) << ")";
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

    const LagrangianHessian H(*s.eval, mu, P);
    Eigen::VectorXd du, dmu;
    kkt_direction(H, s.eval->jacobian(), s, at, it, history, du, dmu);

    // Backtracking on the merit ||r_u||^2 + ||r_f||^2 (directional derivative -2 merit).
    double alpha = 1;
    bool accepted = false;
    for (int k = 0; k < 40; ++k, alpha *= 0.5) {
      const Eigen::VectorXd u_try = u + alpha * du;
      const Eigen::VectorXd mu_try = mu + alpha * dmu;
      if (!u_try.allFinite()) continue;
      KktState t = kkt_state(*model, theta0, u_try, mu_try);
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
                             "at iteration " + std::to_string(it) + " (merit " + short_number(s.merit) +
                             "); (residual, tangent part) history: " + history.str());
    }
  }

  // Verification: second-order condition and comparison with the Newton projection.
  const double lmin = second_order_check(LagrangianHessian(*s.eval, mu, P), s.eval->jacobian());
  const double dist = (u - theta0).norm();
  if (!(lmin > 0)) {
    throw ConvergenceError("nearest-point projection: the KKT point found is not a local minimum of the distance "
                           "(smallest eigenvalue of the Lagrangian Hessian on the tangent space " +
                           short_number(lmin) + " <= 0); use --method newton");
  }
  if (dist > newton_distance * (1 + 1e-10) + 1e-14) {
    throw ConvergenceError("nearest-point projection: the KKT point found is farther from the start (" +
                           short_number(dist) + ") than the Newton projection (" + short_number(newton_distance) +
                           "), so it is not the nearest point");
  }
  const double tangent_part = ManifoldPoint(model, u, options.max_condition).tangent_projection(u - theta0).norm();

  out.summary.iterations = it;
  out.summary.final_residual = model->max_residual(u);
  out.summary.distance_moved = dist;
  out.summary.normal_defect = dist > 0 ? tangent_part / dist : 0.0;
  out.summary.lagrangian_hessian_min_eigenvalue = lmin;
  out.summary.converged = converged;
  std::ostringstream t;
  t << "KKT converged after " << it << " Newton-KKT iterations (started at the Newton projection, "
    << newton.summary.iterations << " iterations, distance " << short_number(newton_distance)
    << "): residual " << short_number(out.summary.final_residual) << ", ||P(Theta'-Theta)||/||Theta'-Theta|| = "
    << short_number(out.summary.normal_defect) << ", Lagrangian Hessian on the tangent space >= " << short_number(lmin)
    << " > 0";
  out.summary.termination = t.str();
  out.theta = std::move(u);
  return out;
}

}  // namespace zeroloss
