#include "zeroloss/manifold/gradient_flow_projection.hpp"

#include <boost/numeric/odeint.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <vector>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {
namespace {

namespace odeint = boost::numeric::odeint;
using State = std::vector<double>;

Eigen::Map<const Eigen::VectorXd> as_vector(const State& x) {
  return Eigen::Map<const Eigen::VectorXd>(x.data(), static_cast<Eigen::Index>(x.size()));
}

struct FlowRun {
  Eigen::VectorXd theta;  // after the Newton finish
  double time = 0;
  long steps = 0, rejected = 0;
  double newton_correction = 0;
  int newton_iterations = 0;
};

double max_residual_at(const SquaredLossModel& model, const Eigen::Ref<const Eigen::VectorXd>& theta) {
  return (model.evaluate(theta)->outputs() - model.labels()).cwiseAbs().maxCoeff();
}

FlowRun integrate_flow(const std::shared_ptr<const SquaredLossModel>& model, const Eigen::VectorXd& theta0,
                       double ode_tol, const ProjectionOptions& options) {
  const SquaredLossModel& M = *model;
  const double inv_n = 1.0 / M.num_samples();
  // -grad L = -(1/n) J^T (f - y).
  const double r0 = max_residual_at(M, theta0);
  auto system = [&](const State& x, State& dxdt, double t) {
    if (!as_vector(x).allFinite()) {
      // A trial stage of the integrator left the finite numbers: the flow runs off to infinity (e.g. a
      // saturating activation whose M is empty, tanh with |y_i| >= sum_j |a_j|).
      throw ConvergenceError("gradient-flow projection: the flow diverged (the weights became non-finite at flow time " +
                             short_number(t) + ", started at max residual " + short_number(r0) +
                             "); the labels may be out of reach of the model (empty M) or the flow may run "
                             "to a critical point of L with L > 0 at infinity");
    }
    const auto point = M.evaluate(as_vector(x));
    const Eigen::VectorXd mu = (point->outputs() - M.labels()) * (-inv_n);
    Eigen::Map<Eigen::VectorXd>(dxdt.data(), static_cast<Eigen::Index>(dxdt.size())) = point->jacobian_transpose_apply(mu);
  };
  auto stepper = odeint::make_controlled(ode_tol, ode_tol, odeint::runge_kutta_fehlberg78<State>());

  State x(theta0.data(), theta0.data() + theta0.size());
  // Initial step from the scale of the linearised flow: the eigenvalues of (1/n) J J^T are at most
  // its trace, T.
  double dt = 1e-3 / std::max(M.evaluate(theta0)->sharpness(), 1e-12);
  FlowRun run;
  double t = 0, last_checked = std::numeric_limits<double>::infinity();
  long since_check = 0;
  for (;;) {
    if (run.steps >= options.max_ode_steps) {
      throw ConvergenceError("gradient-flow projection: the flow did not approach the zero-loss manifold within " +
                             std::to_string(options.max_ode_steps) + " integration steps (flow time " +
                             short_number(t) + ", max residual " + short_number(max_residual_at(M, as_vector(x))) +
                             ", started at " + short_number(r0) +
                             "); it may converge to a critical point of L with L > 0, or be very slow "
                             "(ill-conditioned J J^T); try --method newton or nearest");
    }
    const odeint::controlled_step_result result = stepper.try_step(std::ref(system), x, t, dt);
    if (result == odeint::fail) {
      ++run.rejected;
      if (!(dt > 1e-300) || run.rejected > 50 * (run.steps + 100)) {
        throw ConvergenceError("gradient-flow projection: the adaptive integrator cannot make progress (step size " +
                               short_number(dt) + " at flow time " + short_number(t) + ")");
      }
      continue;
    }
    ++run.steps;
    ++since_check;
    const Eigen::Map<const Eigen::VectorXd> theta = as_vector(x);
    if (!theta.allFinite()) {
      // E.g. a saturating activation when M is empty (tanh with |y_i| >= sum_j |a_j|): the flow runs off to
      // infinity towards a critical point of L with L > 0, and the adaptive steps grow until overflow.
      throw ConvergenceError("gradient-flow projection: the flow diverged (the weights became non-finite at flow time " +
                             short_number(t) + " after " + std::to_string(run.steps) +
                             " steps, started at max residual " + short_number(r0) +
                             "); the labels may be out of reach of the model (empty M) or the flow may run "
                             "to a critical point of L with L > 0 at infinity");
    }
    const double res = max_residual_at(M, theta);
    if (!std::isfinite(res) || res > 1e8 * std::max(1.0, r0)) {
      throw ConvergenceError("gradient-flow projection: the flow diverged (max residual " + short_number(res) +
                             " at flow time " + short_number(t) + ", started at " + short_number(r0) + ")");
    }
    // The Newton correction needs a factorisation of J J^T: check when the residual halved, or every 64 steps.
    if (res <= 0.5 * last_checked || since_check >= 64) {
      last_checked = res;
      since_check = 0;
      const ManifoldPoint point(model, theta, options.max_condition);
      if (!point.regular()) continue;  // singular on the way: keep integrating, check again later
      if (point.newton_step().norm() <= ode_tol * std::max(1.0, theta.norm())) break;
    }
  }
  run.time = t;
  ParameterProjection finish = project_newton(model, as_vector(x), options);
  run.newton_correction = finish.summary.distance_moved;
  run.newton_iterations = finish.summary.iterations;
  run.theta = std::move(finish.theta);
  return run;
}

}  // namespace

ParameterProjection project_gradient_flow(const std::shared_ptr<const SquaredLossModel>& model,
                                          const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                          const ProjectionOptions& options) {
  if (!model) throw InputError("gradient-flow projection: no model");
  model->check_parameters(theta0, "starting weights");
  if (!(options.ode_tolerance > 0)) throw InputError("gradient-flow projection: ode_tolerance must be positive");
  const Eigen::VectorXd start = theta0;

  ParameterProjection out;
  out.summary.method = ProjectionMethod::GradientFlow;
  out.summary.initial_residual = model->max_residual(start);
  const FlowRun run = integrate_flow(model, start, options.ode_tolerance, options);
  out.theta = run.theta;
  out.summary.iterations = run.newton_iterations;
  out.summary.final_residual = model->max_residual(out.theta);
  out.summary.distance_moved = (out.theta - start).norm();
  out.summary.converged = true;
  out.summary.integration_time = run.time;
  out.summary.ode_steps = run.steps;
  out.summary.ode_rejected_steps = run.rejected;
  out.summary.newton_correction = run.newton_correction;
  if (options.estimate_limit_error) {
    const FlowRun coarse = integrate_flow(model, start, 100 * options.ode_tolerance, options);
    out.summary.limit_error_estimate = (coarse.theta - run.theta).norm();
  }
  std::ostringstream t;
  t << "integrated the gradient flow to time " << short_number(run.time) << " (" << run.steps << " accepted, "
    << run.rejected << " rejected RKF78 steps, tolerance " << short_number(options.ode_tolerance)
    << ") until the Newton correction was below the integration accuracy; Newton finish moved "
    << short_number(run.newton_correction) << " in " << run.newton_iterations << " iterations";
  if (options.estimate_limit_error)
    t << "; estimated distance to the exact limit Phi_GF " << short_number(out.summary.limit_error_estimate);
  out.summary.termination = t.str();
  return out;
}

}  // namespace zeroloss
