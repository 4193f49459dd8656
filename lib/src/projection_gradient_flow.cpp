// Phi_GF: the limit of the gradient flow dbeta/dt = -grad L = -(1/n) J^T (f - y), integrated in
// reduced coordinates (the perpendicular components of Theta are constant along the flow) with an
// error-controlled Runge-Kutta-Fehlberg 7(8) stepper from Boost.Odeint, then finished by Newton once
// the remaining Newton correction is below the integrator's own accuracy.

#include <boost/numeric/odeint.hpp>

#include <cmath>
#include <functional>
#include <sstream>
#include <vector>

#include "projection_internal.hpp"
#include "zeroloss/constraint_jacobian.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/reduced_coordinates.hpp"

namespace zeroloss {
namespace {

using State = std::vector<double>;
using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Right-hand side -grad L on the state vector (vectorize() order: block j = beta_j). Work matrices are
// allocated once.
class GradientFlowSystem {
 public:
  explicit GradientFlowSystem(const TwoLayerModel& red)
      : red_(red), R_(red.n(), red.m()), W_(red.n(), red.m()), G_(red.m(), red.d()), r_(red.n()) {}

  void operator()(const State& x, State& dxdt, double /*t*/) {
    const int n = red_.n(), m = red_.m(), p = red_.d();
    const Eigen::Map<const RowMajorMatrix> beta(x.data(), m, p);
    R_.noalias() = red_.X() * beta.transpose();
    const Activation& act = red_.activation();
    const Eigen::VectorXd& a = red_.a();
    r_ = -red_.y();
    for (int j = 0; j < m; ++j)
      for (int i = 0; i < n; ++i) {
        const ActivationDerivatives dv = act.derivatives(R_(i, j));
        r_(i) += a(j) * dv.d0;
        W_(i, j) = a(j) * dv.d1;
      }
    // -grad L: block j = -(1/n) sum_i r_i a_j phi'(r_ij) z_i.
    for (int j = 0; j < m; ++j) W_.col(j).array() *= r_.array() * (-1.0 / n);
    G_.noalias() = W_.transpose() * red_.X();
    Eigen::Map<RowMajorMatrix>(dxdt.data(), m, p) = G_;
  }

 private:
  const TwoLayerModel& red_;
  Eigen::MatrixXd R_, W_, G_;
  Eigen::VectorXd r_;
};

struct FlowRun {
  Eigen::MatrixXd beta;  // after the Newton finish
  double time = 0;
  long steps = 0, rejected = 0;
  double newton_correction = 0;
  int newton_iterations = 0;
};

FlowRun integrate_flow(const TwoLayerModel& red, const Eigen::MatrixXd& b0, double ode_tol,
                       const ProjectionOptions& options) {
  namespace odeint = boost::numeric::odeint;
  const int m = red.m(), p = red.d();
  State x(static_cast<size_t>(m) * p);
  Eigen::Map<RowMajorMatrix>(x.data(), m, p) = b0;
  GradientFlowSystem system(red);
  auto stepper = odeint::make_controlled(ode_tol, ode_tol, odeint::runge_kutta_fehlberg78<State>());

  auto beta_of = [&](const State& s) { return Eigen::MatrixXd(Eigen::Map<const RowMajorMatrix>(s.data(), m, p)); };
  const double r0 = (network_outputs(red, b0) - red.y()).cwiseAbs().maxCoeff();
  // Initial step from the scale of the linearised flow: eigenvalues of (1/n) J J^T <= trace / n.
  double dt;
  {
    const NetworkEvaluation e = evaluate(red, b0);
    const Eigen::MatrixXd D = e.dphi * red.a().asDiagonal();
    const double tr = red.gram().diagonal().dot(D.rowwise().squaredNorm()) / red.n();
    dt = 1e-3 / std::max(tr, 1e-12);
  }
  FlowRun run;
  double t = 0, last_checked = std::numeric_limits<double>::infinity();
  long since_check = 0;
  std::ostringstream trace;
  for (;;) {
    if (run.steps >= options.max_ode_steps) {
      const double res = (network_outputs(red, beta_of(x)) - red.y()).cwiseAbs().maxCoeff();
      throw ConvergenceError("gradient-flow projection: the flow did not approach the zero-loss manifold within " +
                             std::to_string(options.max_ode_steps) + " integration steps (flow time " +
                             detail::short_number(t) + ", max residual " + detail::short_number(res) +
                             ", started at " + detail::short_number(r0) +
                             "); it may converge to a critical point of L with L > 0, or be very slow "
                             "(ill-conditioned J J^T); try --method newton or nearest");
    }
    const odeint::controlled_step_result result = stepper.try_step(std::ref(system), x, t, dt);
    if (result == odeint::fail) {
      ++run.rejected;
      if (!(dt > 1e-300) || run.rejected > 50 * (run.steps + 100)) {
        throw ConvergenceError("gradient-flow projection: the adaptive integrator cannot make progress (step size " +
                               detail::short_number(dt) + " at flow time " + detail::short_number(t) + ")");
      }
      continue;
    }
    ++run.steps;
    ++since_check;
    const Eigen::MatrixXd beta = beta_of(x);
    if (!beta.allFinite()) {
      // E.g. a saturating activation when M is empty (tanh with |y_i| >= sum_j |a_j|): the flow runs off to
      // infinity towards a critical point of L with L > 0, and the adaptive steps grow until overflow.
      throw ConvergenceError("gradient-flow projection: the flow diverged (the weights became non-finite at flow time " +
                             detail::short_number(t) + " after " + std::to_string(run.steps) +
                             " steps, started at max residual " + detail::short_number(r0) +
                             "); the labels may be out of reach of the network (empty M) or the flow may run "
                             "to a critical point of L with L > 0 at infinity");
    }
    const Eigen::VectorXd r = network_outputs(red, beta) - red.y();
    const double res = r.cwiseAbs().maxCoeff();
    if (!std::isfinite(res) || res > 1e8 * std::max(1.0, r0)) {
      throw ConvergenceError("gradient-flow projection: the flow diverged (max residual " + detail::short_number(res) +
                             " at flow time " + detail::short_number(t) + ", started at " + detail::short_number(r0) + ")");
    }
    // The Newton correction needs a factorisation of J J^T: check when the residual halved, or every 64 steps.
    if (res <= 0.5 * last_checked || since_check >= 64) {
      last_checked = res;
      since_check = 0;
      const NetworkEvaluation e = evaluate(red, beta);
      const ConstraintJacobian J(red, e, options.max_condition);
      if (!J.regular()) continue;  // singular on the way: keep integrating, check again later
      const double correction = J.apply_transpose(J.solve_gram(e.residuals)).norm();
      if (correction <= ode_tol * std::max(1.0, beta.norm())) break;
    }
  }
  run.time = t;
  const Eigen::MatrixXd beta = beta_of(x);
  ProjectionResult finish = project_newton(red, beta, options);
  run.newton_correction = finish.summary.distance_moved;
  run.newton_iterations = finish.summary.iterations;
  run.beta = std::move(finish.theta);
  return run;
}

}  // namespace

ProjectionResult project_gradient_flow(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                       const ProjectionOptions& options) {
  model.check_weights(theta0, "starting weights");
  if (!(options.ode_tolerance > 0)) throw InputError("gradient-flow projection: ode_tolerance must be positive");
  const ReducedCoordinates rc(model.X());
  const TwoLayerModel red = rc.reduce(model);
  const Eigen::MatrixXd b0 = rc.reduce(theta0);

  ProjectionResult out;
  out.summary.method = "gradient-flow";
  out.summary.initial_residual = max_residual(model, theta0);
  const FlowRun run = integrate_flow(red, b0, options.ode_tolerance, options);
  out.theta = rc.lift(run.beta, theta0);
  out.summary.iterations = run.newton_iterations;
  out.summary.final_residual = max_residual(model, out.theta);
  out.summary.distance_moved = (out.theta - theta0).norm();
  out.summary.converged = true;
  out.summary.integration_time = run.time;
  out.summary.ode_steps = run.steps;
  out.summary.ode_rejected_steps = run.rejected;
  out.summary.newton_correction = run.newton_correction;
  if (options.estimate_limit_error) {
    const FlowRun coarse = integrate_flow(red, b0, 100 * options.ode_tolerance, options);
    out.summary.limit_error_estimate = (coarse.beta - run.beta).norm();
  }
  std::ostringstream t;
  t << "integrated the gradient flow to time " << detail::short_number(run.time) << " (" << run.steps
    << " accepted, " << run.rejected << " rejected RKF78 steps, tolerance " << detail::short_number(options.ode_tolerance)
    << ") until the Newton correction was below the integration accuracy; Newton finish moved "
    << detail::short_number(run.newton_correction) << " in " << run.newton_iterations << " iterations";
  if (options.estimate_limit_error)
    t << "; estimated distance to the exact limit Phi_GF " << detail::short_number(out.summary.limit_error_estimate);
  out.summary.termination = t.str();
  return out;
}

}  // namespace zeroloss
