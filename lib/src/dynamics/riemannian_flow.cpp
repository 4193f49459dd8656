#include "zeroloss/support/number_text.hpp"
#include "zeroloss/dynamics/riemannian_flow.hpp"

#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/stepper/rosenbrock4.hpp>
#include <boost/numeric/odeint/stepper/rosenbrock4_controller.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {
namespace {

namespace odeint = boost::numeric::odeint;
using State = std::vector<double>;

using UblasState = boost::numeric::ublas::vector<double>;
using UblasMatrix = boost::numeric::ublas::matrix<double>;

// theta <-> state vector, for std::vector and ublas::vector (Rosenbrock) states.
template <class S>
void to_state(const Eigen::VectorXd& theta, S& x) {
  if (static_cast<Eigen::Index>(x.size()) != theta.size()) x.resize(static_cast<size_t>(theta.size()));
  for (Eigen::Index k = 0; k < theta.size(); ++k) x[static_cast<size_t>(k)] = theta(k);
}
template <class S>
void from_state(const S& x, Eigen::VectorXd& theta) {
  for (Eigen::Index k = 0; k < theta.size(); ++k) theta(k) = x[static_cast<size_t>(k)];
}

// A trial state of a Runge-Kutta stage that cannot be evaluated (non-finite): the step is rejected.
struct StageFailure {
  std::string what;
};

struct FlowSystem {
  const std::shared_ptr<const SquaredLossModel>* model;
  double coefficient;
  Eigen::VectorXd* scratch;
  template <class S>
  void operator()(const S& x, S& dxdt, double t) const {
    for (double v : x)
      if (!std::isfinite(v)) throw StageFailure{"a Runge-Kutta stage at t = " + short_number(t, 6) + " left the finite numbers"};
    from_state(x, *scratch);
    try {
      to_state(sharpness_flow_velocity(*model, *scratch, coefficient), dxdt);
    } catch (const SingularPointError& e) {
      throw SingularPointError("sharpness flow at t = " + short_number(t, 6) + ": " + e.what(), e.condition());
    }
    for (double v : dxdt)
      if (!std::isfinite(v)) throw StageFailure{"the velocity at a Runge-Kutta stage at t = " + short_number(t, 6) + " is not finite"};
  }
};

// Jacobian of the velocity field by central differences (for the Rosenbrock method, which needs
// it only approximately: a W-method with error control stays consistent). Autonomous: dfdt = 0.
struct FlowJacobian {
  FlowSystem system;
  void operator()(const UblasState& x, UblasMatrix& J, double t, UblasState& dfdt) const {
    const size_t N = x.size();
    UblasState xp = x, fp(N), fm(N);
    for (size_t l = 0; l < N; ++l) {
      const double h = 1e-6 * std::max(1.0, std::abs(x[l]));
      xp[l] = x[l] + h;
      system(xp, fp, t);
      xp[l] = x[l] - h;
      system(xp, fm, t);
      xp[l] = x[l];
      for (size_t k = 0; k < N; ++k) J(k, l) = (fp[k] - fm[k]) / (2 * h);
    }
    for (size_t k = 0; k < N; ++k) dfdt[k] = 0;
  }
};

struct PointInfo {
  double gradient_norm;
  double sharpness;
};

PointInfo point_info(const std::shared_ptr<const SquaredLossModel>& model, const Eigen::VectorXd& theta, double t) {
  try {
    const RiemannianSharpness g(model, theta);
    return {g.riemannian_gradient().norm(), g.value()};
  } catch (const SingularPointError& e) {
    throw SingularPointError("sharpness flow at t = " + short_number(t, 6) + ": " + e.what(), e.condition());
  }
}

// Rosenbrock (implicit): the system passed to try_step is the pair (velocity, Jacobian).
template <class StateT, bool Implicit>
struct StepSystem;
template <>
struct StepSystem<State, false> {
  static FlowSystem make(const FlowSystem& f) { return f; }
};
template <>
struct StepSystem<UblasState, true> {
  static std::pair<FlowSystem, FlowJacobian> make(const FlowSystem& f) { return {f, FlowJacobian{f}}; }
};

template <bool Fsal, class StateT, bool Implicit, class Controlled>
ParameterFlowResult run(Controlled stepper, const std::shared_ptr<const SquaredLossModel>& model, Eigen::VectorXd theta,
                        const FlowOptions& o, const ParameterFlowObserver& observer) {
  ParameterFlowResult out;
  FlowSummary& s = out.summary;
  s.stepper = flow_stepper_name(o.stepper);
  const double C = o.coefficient;
  std::vector<double> samples;
  for (double ts : o.sample_times)
    if (ts > 0 && ts <= o.t_end) samples.push_back(ts);
  std::sort(samples.begin(), samples.end());
  samples.erase(std::unique(samples.begin(), samples.end()), samples.end());

  Eigen::VectorXd scratch(theta.size());
  const FlowSystem velocity{&model, C, &scratch};
  auto system = StepSystem<StateT, Implicit>::make(velocity);
  StateT x, x_before;
  to_state(theta, x);
  PointInfo info = point_info(model, theta, 0.0);
  s.initial_gradient_norm = info.gradient_norm;
  double t = 0;
  bool stopped_by_observer = false;
  auto notify = [&](double time) {
    if (!observer) return;
    ParameterFlowSample fs;
    fs.t = time;
    fs.tau = C * time;
    fs.theta = &theta;
    fs.gradient_norm = info.gradient_norm;
    fs.sharpness = info.sharpness;
    fs.accepted = s.accepted;
    fs.rejected = s.rejected;
    if (!observer(fs)) stopped_by_observer = true;
  };
  notify(0.0);
  const double ymax = std::max(1.0, model->labels().cwiseAbs().maxCoeff());
  double dt = o.initial_step > 0 ? o.initial_step : 1e-3 / (C * (1.0 + info.gradient_norm));
  s.smallest_step = std::numeric_limits<double>::infinity();
  size_t next_sample = 0;
  bool reached_gradient = o.until_gradient > 0 && info.gradient_norm < o.until_gradient;
  int failed_in_a_row = 0;
  std::string last_failure;
  bool last_failure_singular = false;
  double last_condition = 0;
  while (!stopped_by_observer && !reached_gradient && t < o.t_end) {
    if (s.accepted + s.rejected >= o.max_steps) {
      s.termination = "step limit reached (" + std::to_string(o.max_steps) + " accepted + rejected steps) at t = " +
                      short_number(t, 6) + " before t_end = " + short_number(o.t_end, 6);
      break;
    }
    while (next_sample < samples.size() && samples[next_sample] <= t) ++next_sample;
    const double target =
        o.land_on_samples && next_sample < samples.size() ? std::min(samples[next_sample], o.t_end) : o.t_end;
    const bool clamped = dt >= target - t;
    double h = clamped ? target - t : dt;
    const double h_tried = h;
    const double t_before = t;
    x_before = x;
    // A step fails when the error estimate is too large (odeint shrinks h), or when a stage, the
    // Newton re-projection or the new point cannot be evaluated (a trial point beyond a singular
    // point of M, or outside the finite numbers): then the step is undone and h shrunk fourfold.
    std::string failure;
    bool failure_singular = false;
    bool accepted = false;
    Eigen::VectorXd candidate;
    PointInfo candidate_info{};
    ProjectionSummary proj_summary;
    try {
      const odeint::controlled_step_result r = stepper.try_step(system, x, t, h);
      if (r == odeint::success) {
        for (double v : x)
          if (!std::isfinite(v)) throw StageFailure{"the state after a step from t = " + short_number(t_before, 6) + " is not finite"};
        candidate.resize(theta.size());
        from_state(x, candidate);
        const ParameterProjection proj = project_newton(model, candidate, o.projection);
        proj_summary = proj.summary;
        candidate = proj.theta;
        candidate_info = point_info(model, candidate, t);
        accepted = true;
      }
    } catch (const StageFailure& e) {
      failure = e.what;
    } catch (const SingularPointError& e) {
      failure = e.what();
      failure_singular = true;
      last_condition = e.condition();
    } catch (const ConvergenceError& e) {
      failure = std::string("re-projection onto M failed: ") + e.what();
    } catch (const InputError& e) {
      failure = std::string("a trial point could not be evaluated: ") + e.what();
    } catch (const std::exception& e) {  // e.g. a singular matrix in the Rosenbrock stage solves
      failure = std::string("the step failed: ") + e.what();
    }
    if (accepted) {
      ++s.accepted;
      failed_in_a_row = 0;
      const double taken = t - t_before;
      s.smallest_step = std::min(s.smallest_step, taken);
      s.largest_step = std::max(s.largest_step, taken);
      if (clamped) {
        t = target;  // land exactly on the sample time
        dt = std::max(dt, h);
      } else {
        dt = h;
      }
      s.max_constraint_drift = std::max(s.max_constraint_drift, proj_summary.initial_residual / ymax);
      s.max_projection_iterations = std::max(s.max_projection_iterations, proj_summary.iterations);
      theta = std::move(candidate);
      to_state(theta, x);
      if constexpr (Fsal) stepper.reset();  // the stored derivative belongs to the unprojected point
      info = candidate_info;
      if (o.until_gradient > 0 && info.gradient_norm < o.until_gradient) reached_gradient = true;
      if (clamped && next_sample < samples.size() && target == samples[next_sample] && !reached_gradient &&
          target < o.t_end) {
        notify(t);
        ++next_sample;
      } else if (!o.land_on_samples && next_sample < samples.size() && samples[next_sample] <= t && !reached_gradient &&
                 t < o.t_end) {
        notify(t);  // the first accepted step at or after the sample time (the loop skips those passed)
      }
      continue;
    }
    ++s.rejected;
    if (failure.empty()) {
      dt = h;  // the error control shrank the step
    } else {
      x = x_before;  // undo
      t = t_before;
      dt = h_tried / 4;
      if constexpr (Fsal) stepper.reset();
      last_failure = failure;
      last_failure_singular = failure_singular;
    }
    ++failed_in_a_row;
    if (failed_in_a_row > 200 || !(dt > 1e-15 * std::max(1.0, std::abs(t)))) {
      if (last_failure_singular) {
        // The flow runs into a singular point of M (J J^T degenerates): it cannot be continued.
        s.stopped_at_singular_point = true;
        s.termination = "stopped at t = " + short_number(t, 6) + ": the flow runs into a singular point of the zero-loss manifold "
                        "(every step beyond t fails: " + last_failure + ")";
        s.singular_condition = last_condition;
        break;
      }
      throw ConvergenceError("sharpness flow: the step size underflowed (dt = " + short_number(dt, 6) + ") at t = " + short_number(t, 6) +
                             " after " + std::to_string(failed_in_a_row) +
                             " rejected steps in a row; ||grad_M T|| = " + short_number(info.gradient_norm, 6) +
                             (last_failure.empty() ? std::string() : "; last failure: " + last_failure) +
                             ". The flow is too stiff here for the tolerances rtol = " + short_number(o.rtol, 6) +
                             ", atol = " + short_number(o.atol, 6));
    }
  }
  if (stopped_by_observer && s.termination.empty()) s.termination = "stopped by the observer at t = " + short_number(t, 6);
  if (s.termination.empty()) {
    s.completed = true;
    s.termination = reached_gradient ? "reached ||grad_M T|| = " + short_number(info.gradient_norm, 6) + " < " +
                                           short_number(o.until_gradient, 6) + " at t = " + short_number(t, 6)
                                     : "reached t_end = " + short_number(o.t_end, 6);
  }
  if (!std::isfinite(s.smallest_step)) s.smallest_step = 0;
  s.t_reached = t;
  s.tau_reached = C * t;
  s.final_gradient_norm = info.gradient_norm;
  s.final_sharpness = info.sharpness;
  if (!stopped_by_observer) notify(t);
  out.theta = theta;
  return out;
}

}  // namespace

FlowStepper parse_flow_stepper(const std::string& name) {
  if (name == "rkf78") return FlowStepper::Fehlberg78;
  if (name == "dopri5") return FlowStepper::DormandPrince5;
  if (name == "rosenbrock4") return FlowStepper::Rosenbrock4;
  throw InputError("unknown flow integrator '" + name + "'; expected rkf78, dopri5 or rosenbrock4");
}

const char* flow_stepper_name(FlowStepper stepper) {
  switch (stepper) {
    case FlowStepper::Fehlberg78: return "rkf78";
    case FlowStepper::DormandPrince5: return "dopri5";
    case FlowStepper::Rosenbrock4: return "rosenbrock4";
  }
  return "?";
}

Eigen::VectorXd sharpness_flow_velocity(const std::shared_ptr<const SquaredLossModel>& model,
                                        const Eigen::Ref<const Eigen::VectorXd>& theta, double coefficient) {
  const RiemannianSharpness g(model, theta);
  return -coefficient * g.riemannian_gradient();
}

ParameterFlowResult integrate_sharpness_flow(const std::shared_ptr<const SquaredLossModel>& model,
                                             const Eigen::Ref<const Eigen::VectorXd>& theta0, const FlowOptions& o,
                                             const ParameterFlowObserver& observer) {
  model->check_parameters(theta0, "starting weights of the sharpness flow");
  auto require = [](bool ok, const std::string& msg) {
    if (!ok) throw InputError("sharpness flow: " + msg);
  };
  require(std::isfinite(o.coefficient) && o.coefficient > 0,
          "coefficient C = " + short_number(o.coefficient, 6) + "; expected a finite number > 0");
  require(std::isfinite(o.t_end) && o.t_end > 0, "end time " + short_number(o.t_end, 6) + "; expected a finite number > 0");
  require(std::isfinite(o.rtol) && o.rtol > 0 && std::isfinite(o.atol) && o.atol > 0,
          "tolerances rtol = " + short_number(o.rtol, 6) + ", atol = " + short_number(o.atol, 6) + "; expected finite numbers > 0");
  require(o.rtol >= 1e-15, "rtol = " + short_number(o.rtol, 6) + " is below what double precision can deliver; use >= 1e-15");
  require(std::isfinite(o.until_gradient) && o.until_gradient >= 0, "until-gradient threshold must be >= 0");
  const double ymax = std::max(1.0, model->labels().cwiseAbs().maxCoeff());
  const double residual = model->max_residual(theta0);
  if (!(residual <= o.start_tolerance * ymax)) {
    throw InputError("sharpness flow: the start is not on the zero-loss manifold (max_i |f_i - y_i| = " +
                     short_number(residual, 6) + " > " + short_number(o.start_tolerance * ymax, 6) +
                     "); project it first (THEORY 7 starts the flow at Phi_GF(Theta_0))");
  }
  Eigen::VectorXd theta = project_newton(model, theta0, o.projection).theta;
  switch (o.stepper) {
    case FlowStepper::Fehlberg78: {
      auto stepper = odeint::make_controlled(o.atol, o.rtol, odeint::runge_kutta_fehlberg78<State>());
      return run<false, State, false>(stepper, model, std::move(theta), o, observer);
    }
    case FlowStepper::DormandPrince5: {
      auto stepper = odeint::make_controlled(o.atol, o.rtol, odeint::runge_kutta_dopri5<State>());
      return run<true, State, false>(stepper, model, std::move(theta), o, observer);
    }
    case FlowStepper::Rosenbrock4: {
      odeint::rosenbrock4_controller<odeint::rosenbrock4<double>> stepper(o.atol, o.rtol);
      return run<false, UblasState, true>(stepper, model, std::move(theta), o, observer);
    }
  }
  throw InputError("sharpness flow: unknown integrator");
}

}  // namespace zeroloss
