#include "zeroloss/sharpness_flow.hpp"

#include <boost/numeric/odeint.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "zeroloss/errors.hpp"
#include "zeroloss/sharpness.hpp"

namespace zeroloss {
Eigen::MatrixXd sharpness_flow_velocity(const TwoLayerModel&, const Eigen::Ref<const Eigen::MatrixXd>&, double);

namespace {

namespace odeint = boost::numeric::odeint;
using State = std::vector<double>;

std::string fmt(double x, int precision = 6) {
  std::ostringstream s;
  s.precision(precision);
  s << x;
  return s.str();
}

// beta (m x p) <-> state vector (block j = beta_j, the vectorize() order).
void to_state(const Eigen::MatrixXd& beta, State& x) {
  const Eigen::Index m = beta.rows(), p = beta.cols();
  x.resize(static_cast<size_t>(m * p));
  for (Eigen::Index j = 0; j < m; ++j)
    for (Eigen::Index k = 0; k < p; ++k) x[static_cast<size_t>(j * p + k)] = beta(j, k);
}
void from_state(const State& x, Eigen::MatrixXd& beta) {
  const Eigen::Index m = beta.rows(), p = beta.cols();
  for (Eigen::Index j = 0; j < m; ++j)
    for (Eigen::Index k = 0; k < p; ++k) beta(j, k) = x[static_cast<size_t>(j * p + k)];
}

struct FlowSystem {
  const TwoLayerModel* model;
  double coefficient;
  Eigen::MatrixXd* scratch;
  void operator()(const State& x, State& dxdt, double t) const {
    from_state(x, *scratch);
    try {
      to_state(sharpness_flow_velocity(*model, *scratch, coefficient), dxdt);
    } catch (const SingularPointError& e) {
      throw SingularPointError("sharpness flow at t = " + fmt(t) + ": " + e.what(), e.condition());
    }
  }
};

struct PointInfo {
  double gradient_norm;
  double sharpness;
};

PointInfo point_info(const TwoLayerModel& model, const Eigen::MatrixXd& beta, double t) {
  try {
    const SharpnessGeometry g(model, beta);
    return {g.riemannian_gradient().norm(), g.sharpness()};
  } catch (const SingularPointError& e) {
    throw SingularPointError("sharpness flow at t = " + fmt(t) + ": " + e.what(), e.condition());
  }
}

template <bool Fsal, class Controlled>
FlowResult run(Controlled stepper, const TwoLayerModel& model, Eigen::MatrixXd beta,
               const FlowOptions& o, const FlowObserver& observer) {
  FlowResult out;
  FlowSummary& s = out.summary;
  s.stepper = flow_stepper_name(o.stepper);
  const double C = o.coefficient;
  std::vector<double> samples;
  for (double ts : o.sample_times)
    if (ts > 0 && ts <= o.t_end) samples.push_back(ts);
  std::sort(samples.begin(), samples.end());
  samples.erase(std::unique(samples.begin(), samples.end()), samples.end());

  Eigen::MatrixXd scratch(beta.rows(), beta.cols());
  FlowSystem system{&model, C, &scratch};
  State x;
  to_state(beta, x);
  PointInfo info = point_info(model, beta, 0.0);
  s.initial_gradient_norm = info.gradient_norm;
  double t = 0;
  bool stopped_by_observer = false;
  auto notify = [&](double time) {
    if (!observer) return;
    FlowSample fs;
    fs.t = time;
    fs.tau = C * time;
    fs.beta = &beta;
    fs.gradient_norm = info.gradient_norm;
    fs.sharpness = info.sharpness;
    fs.accepted = s.accepted;
    fs.rejected = s.rejected;
    if (!observer(fs)) stopped_by_observer = true;
  };
  notify(0.0);
  const double ymax = std::max(1.0, model.y().cwiseAbs().maxCoeff());
  double dt = o.initial_step > 0 ? o.initial_step : 1e-3 / (C * (1.0 + info.gradient_norm));
  s.smallest_step = std::numeric_limits<double>::infinity();
  size_t next_sample = 0;
  bool reached_gradient = o.until_gradient > 0 && info.gradient_norm < o.until_gradient;
  int rejected_in_a_row = 0;
  while (!stopped_by_observer && !reached_gradient && t < o.t_end) {
    if (s.accepted + s.rejected >= o.max_steps) {
      s.termination = "step limit reached (" + std::to_string(o.max_steps) + " accepted + rejected steps) at t = " +
                      fmt(t) + " before t_end = " + fmt(o.t_end);
      break;
    }
    while (next_sample < samples.size() && samples[next_sample] <= t) ++next_sample;
    const double target = next_sample < samples.size() ? std::min(samples[next_sample], o.t_end) : o.t_end;
    const bool clamped = dt >= target - t;
    double h = clamped ? target - t : dt;
    const double t_before = t;
    const odeint::controlled_step_result r = stepper.try_step(system, x, t, h);
    if (r == odeint::success) {
      ++s.accepted;
      rejected_in_a_row = 0;
      const double taken = t - t_before;
      s.smallest_step = std::min(s.smallest_step, taken);
      s.largest_step = std::max(s.largest_step, taken);
      if (clamped) {
        t = target;  // land exactly on the sample time
        dt = std::max(dt, h);
      } else {
        dt = h;
      }
      from_state(x, beta);
      if (!beta.allFinite()) {
        throw ConvergenceError("sharpness flow: the state became non-finite at t = " + fmt(t) +
                               " despite error control; tighten --rtol/--atol");
      }
      const ProjectionResult proj = project_newton(model, beta, o.projection);
      s.max_constraint_drift = std::max(s.max_constraint_drift, proj.summary.initial_residual / ymax);
      s.max_projection_iterations = std::max(s.max_projection_iterations, proj.summary.iterations);
      beta = proj.theta;
      to_state(beta, x);
      if constexpr (Fsal) stepper.reset();  // the stored derivative belongs to the unprojected point
      info = point_info(model, beta, t);
      if (o.until_gradient > 0 && info.gradient_norm < o.until_gradient) reached_gradient = true;
      if (clamped && next_sample < samples.size() && target == samples[next_sample] && !reached_gradient &&
          target < o.t_end) {
        notify(t);
        ++next_sample;
      }
    } else {
      ++s.rejected;
      dt = h;
      if (++rejected_in_a_row > 200 || !(dt > 1e-15 * std::max(1.0, std::abs(t)))) {
        throw ConvergenceError("sharpness flow: the step size underflowed (dt = " + fmt(dt) + ") at t = " + fmt(t) +
                               " after " + std::to_string(rejected_in_a_row) +
                               " rejected steps in a row; ||grad_M T|| = " + fmt(info.gradient_norm) +
                               ". The flow is too stiff here for the tolerances rtol = " + fmt(o.rtol) +
                               ", atol = " + fmt(o.atol));
      }
    }
  }
  if (stopped_by_observer && s.termination.empty()) s.termination = "stopped by the observer at t = " + fmt(t);
  if (s.termination.empty()) {
    s.completed = true;
    s.termination = reached_gradient ? "reached ||grad_M T|| = " + fmt(info.gradient_norm) + " < " +
                                           fmt(o.until_gradient) + " at t = " + fmt(t)
                                     : "reached t_end = " + fmt(o.t_end);
  }
  if (!std::isfinite(s.smallest_step)) s.smallest_step = 0;
  s.t_reached = t;
  s.tau_reached = C * t;
  s.final_gradient_norm = info.gradient_norm;
  s.final_sharpness = info.sharpness;
  if (!stopped_by_observer) notify(t);
  out.beta = beta;
  return out;
}

}  // namespace

FlowStepper parse_flow_stepper(const std::string& name) {
  if (name == "rkf78") return FlowStepper::Fehlberg78;
  if (name == "dopri5") return FlowStepper::DormandPrince5;
  throw InputError("unknown flow integrator '" + name + "'; expected rkf78 or dopri5");
}

const char* flow_stepper_name(FlowStepper stepper) {
  return stepper == FlowStepper::Fehlberg78 ? "rkf78" : "dopri5";
}

Eigen::MatrixXd sharpness_flow_velocity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                        double coefficient) {
  const SharpnessGeometry g(model, beta);
  return -coefficient * g.riemannian_gradient();
}

FlowResult integrate_sharpness_flow(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta0,
                                    const FlowOptions& o, const FlowObserver& observer) {
  model.check_weights(beta0, "starting weights of the sharpness flow");
  auto require = [](bool ok, const std::string& msg) {
    if (!ok) throw InputError("sharpness flow: " + msg);
  };
  require(std::isfinite(o.coefficient) && o.coefficient > 0,
          "coefficient C = " + fmt(o.coefficient) + "; expected a finite number > 0");
  require(std::isfinite(o.t_end) && o.t_end > 0, "end time " + fmt(o.t_end) + "; expected a finite number > 0");
  require(std::isfinite(o.rtol) && o.rtol > 0 && std::isfinite(o.atol) && o.atol > 0,
          "tolerances rtol = " + fmt(o.rtol) + ", atol = " + fmt(o.atol) + "; expected finite numbers > 0");
  require(o.rtol >= 1e-15, "rtol = " + fmt(o.rtol) + " is below what double precision can deliver; use >= 1e-15");
  require(std::isfinite(o.until_gradient) && o.until_gradient >= 0, "until-gradient threshold must be >= 0");
  const double ymax = std::max(1.0, model.y().cwiseAbs().maxCoeff());
  const double residual = max_residual(model, beta0);
  if (!(residual <= o.start_tolerance * ymax)) {
    throw InputError("sharpness flow: the start is not on the zero-loss manifold (max_i |f_i - y_i| = " +
                     fmt(residual) + " > " + fmt(o.start_tolerance * ymax) +
                     "); project it first (THEORY 7 starts the flow at Phi_GF(Theta_0))");
  }
  Eigen::MatrixXd beta = project_newton(model, beta0, o.projection).theta;
  if (o.stepper == FlowStepper::Fehlberg78) {
    auto stepper = odeint::make_controlled(o.atol, o.rtol, odeint::runge_kutta_fehlberg78<State>());
    return run<false>(stepper, model, std::move(beta), o, observer);
  }
  auto stepper = odeint::make_controlled(o.atol, o.rtol, odeint::runge_kutta_dopri5<State>());
  return run<true>(stepper, model, std::move(beta), o, observer);
}

}  // namespace zeroloss
