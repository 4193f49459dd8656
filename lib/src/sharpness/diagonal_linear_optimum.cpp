#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <sstream>

#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {
namespace {

// max_i |(X w)_i - y_i| / max(1, max_i |y_i|) accepted for the certified optimum (see below).
constexpr double kCertifiedFitTolerance = 1e-9;

std::string g(double x) {
  std::ostringstream s;
  s.precision(6);
  s << x;
  return s.str();
}

double sign_of(double x) { return x < 0 ? -1.0 : 1.0; }

}  // namespace

FlowOptions DiagonalLinearOptimumOptions::default_flow() {
  FlowOptions f;
  f.coefficient = 1.0;
  f.t_end = 1e6;
  f.until_gradient = 1e-9;
  f.rtol = 1e-10;
  f.atol = 1e-13;
  return f;
}

std::string DiagonalLinearOptimumOptions::validation_error() const {
  if (!(std::isfinite(support_tolerance) && support_tolerance > 0 && support_tolerance < 1))
    return "support tolerance " + g(support_tolerance) + ": expected a number in (0, 1)";
  if (!(std::isfinite(dual_tolerance) && dual_tolerance > 0))
    return "dual tolerance " + g(dual_tolerance) + ": expected a finite number > 0";
  if (!(flow.until_gradient > 0))
    return "the flow's gradient threshold must be > 0 (the flow must stop near a stationary point)";
  return {};
}

DiagonalLinearOptimum diagonal_linear_optimum(const DiagonalLinearNetwork& model,
                                              const Eigen::Ref<const Eigen::VectorXd>& start,
                                              const DiagonalLinearOptimumOptions& options) {
  if (const std::string e = options.validation_error(); !e.empty()) throw InputError("diagonal linear optimum: " + e);
  model.check_parameters(start, "starting weights");
  const Eigen::MatrixXd& X = model.X();
  const Eigen::VectorXd& c = model.column_norms_squared();
  const Eigen::VectorXd& y = model.labels();
  const int n = model.num_samples(), d = model.dimension();
  for (int k = 0; k < d; ++k)
    if (c(k) == 0.0) {
      throw InputError("diagonal linear optimum: feature " + std::to_string(k + 1) +
                       " is zero in every sample, so w_" + std::to_string(k + 1) +
                       " is not determined by the data and costs nothing; remove that column");
    }
  const auto shared = std::make_shared<const DiagonalLinearNetwork>(model);

  // 1. The Riemannian flow of T from the start (put on M first).
  DiagonalLinearOptimum out;
  const Eigen::VectorXd on_m = project_newton(shared, start, options.flow.projection).theta;
  const ParameterFlowResult flow = integrate_sharpness_flow(shared, on_m, options.flow);
  out.flow = flow.summary;
  if (!flow.summary.completed && !flow.summary.stopped_at_singular_point) {
    throw ConvergenceError("diagonal linear optimum: the sharpness flow did not finish: " + flow.summary.termination);
  }
  const Eigen::VectorXd& theta_flow = flow.theta;
  out.flow_sharpness = shared->evaluate(theta_flow)->sharpness();
  const Eigen::VectorXd u_flow = model.u(theta_flow), v_flow = model.v(theta_flow);
  const Eigen::VectorXd w_flow = model.linear_weights(theta_flow);

  // 2. Support and the exact primal point on it.
  const double wmax = w_flow.cwiseAbs().maxCoeff();
  if (!(wmax > 0)) throw ConvergenceError("diagonal linear optimum: the flow ended at w = 0, which does not fit y");
  for (int k = 0; k < d; ++k)
    if (std::abs(w_flow(k)) > options.support_tolerance * wmax) out.support.push_back(k);
  const int s = static_cast<int>(out.support.size());
  Eigen::MatrixXd XS(n, s);
  Eigen::VectorXd cs(s), sign(s);
  out.support_margin = 1;
  for (int l = 0; l < s; ++l) {
    const int k = out.support[static_cast<size_t>(l)];
    XS.col(l) = X.col(k);
    cs(l) = c(k);
    out.support_margin = std::min(out.support_margin, std::abs(w_flow(k)) / wmax);
  }
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(XS);
  const Eigen::VectorXd sv = svd.singularValues();
  out.support_condition = sv.size() && sv(sv.size() - 1) > 0 ? sv(0) / sv(sv.size() - 1) : INFINITY;
  Eigen::VectorXd wS(s);
  if (s <= n) {
    wS = XS.colPivHouseholderQr().solve(y);
  } else {
    for (int l = 0; l < s; ++l) wS(l) = w_flow(out.support[static_cast<size_t>(l)]);
  }
  out.w = Eigen::VectorXd::Zero(d);
  for (int l = 0; l < s; ++l) {
    const int k = out.support[static_cast<size_t>(l)];
    out.w(k) = wS(l);
    sign(l) = sign_of(wS(l));
    if (sign_of(wS(l)) != sign_of(w_flow(k))) {
      throw ConvergenceError("diagonal linear optimum: on the support found by the flow, w_" + std::to_string(k + 1) +
                             " changes sign when solved exactly (" + g(w_flow(k)) + " -> " + g(wS(l)) +
                             "): the flow has not identified the solution; lower the flow's gradient threshold");
    }
  }
  out.residual_max = (X * out.w - y).cwiseAbs().maxCoeff();

  // 3. Dual certificate closest to (n/4) lambda.
  Eigen::VectorXd mu0 = Eigen::VectorXd::Zero(n);
  try {
    mu0 = (n / 4.0) * RiemannianSharpness(shared, theta_flow).multipliers();
  } catch (const SingularPointError&) {
    // A singular end point (sparse solution, |S| < n): start the certificate from mu = 0.
  }
  const Eigen::VectorXd b = cs.cwiseProduct(sign);
  const Eigen::MatrixXd XSt = XS.transpose();
  out.dual = mu0 + XSt.completeOrthogonalDecomposition().solve(b - XSt * mu0);
  const Eigen::VectorXd Xtmu = X.transpose() * out.dual;
  out.max_dual_violation = -INFINITY;
  for (int k = 0; k < d; ++k) out.max_dual_violation = std::max(out.max_dual_violation, (std::abs(Xtmu(k)) - c(k)) / c(k));
  double equality_defect = 0;
  for (int l = 0; l < s; ++l) equality_defect = std::max(equality_defect, std::abs(Xtmu(out.support[static_cast<size_t>(l)]) - b(l)) / cs(l));
  out.objective = c.dot(out.w.cwiseAbs());
  out.dual_objective = y.dot(out.dual);

  // The certificate's primal feasibility: the support's least-squares fit must reproduce y. Looser
  // than the projections' target (it solves X_S w_S = y by a QR of possibly ill-conditioned columns)
  // and tighter than kOnManifoldTolerance, since the optimum is an output, not a user's point.
  const double ytol = kCertifiedFitTolerance * residual_scale(y);
  if (!(out.max_dual_violation <= options.dual_tolerance) || !(equality_defect <= options.dual_tolerance) ||
      !(out.residual_max <= ytol)) {
    std::ostringstream msg;
    msg << "diagonal linear optimum: the flow's end point (T = " << g(out.flow_sharpness) << ", support of " << s
        << " coordinates, flow " << flow.summary.termination << ") is not certified optimal: ";
    if (!(out.residual_max <= ytol)) msg << "the support does not fit y (max residual " << g(out.residual_max) << "); ";
    if (!(equality_defect <= options.dual_tolerance))
      msg << "no dual vector matches the support's signs (defect " << g(equality_defect) << "); ";
    if (!(out.max_dual_violation <= options.dual_tolerance))
      msg << "the dual vector violates |X^T mu|_k <= c_k by " << g(out.max_dual_violation) << " (relative); ";
    msg << "a stationary point that is not the minimum is a saddle (THEORY 9): start elsewhere or run the flow longer";
    throw ConvergenceError(msg.str());
  }

  // The point on M with u_k v_k = 0, signs from the flow.
  Eigen::VectorXd u = Eigen::VectorXd::Zero(d), v = Eigen::VectorXd::Zero(d);
  for (int k = 0; k < d; ++k) {
    if (out.w(k) > 0) u(k) = sign_of(u_flow(k)) * std::sqrt(out.w(k));
    if (out.w(k) < 0) v(k) = sign_of(v_flow(k)) * std::sqrt(-out.w(k));
  }
  out.theta = model.parameters(u, v);
  out.sharpness = shared->evaluate(out.theta)->sharpness();
  out.flow_distance = (out.theta - theta_flow).norm();
  return out;
}

}  // namespace zeroloss
