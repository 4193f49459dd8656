#include "zeroloss/manifold/geodesics.hpp"

#include <boost/numeric/odeint.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/manifold/newton_projection.hpp"

namespace zeroloss {
namespace {

namespace odeint = boost::numeric::odeint;
using State = std::vector<double>;

void check_s_values(const std::vector<double>& s_values) {
  double prev = 0;
  for (std::size_t k = 0; k < s_values.size(); ++k) {
    const double s = s_values[k];
    if (!std::isfinite(s) || s < prev) {
      throw InputError("geodesic: parameter values must be finite, non-negative and non-decreasing; value " +
                       std::to_string(k + 1) + " is " + short_number(s) + " after " + short_number(prev) +
                       " (for negative s, trace the geodesic with velocity -v)");
    }
    prev = s;
  }
}

// The position/velocity pair as one ODE state [theta; w].
void pack(const Eigen::VectorXd& theta, const Eigen::VectorXd& w, State& x) {
  const Eigen::Index k = theta.size();
  x.resize(static_cast<std::size_t>(2 * k));
  Eigen::Map<Eigen::VectorXd>(x.data(), k) = theta;
  Eigen::Map<Eigen::VectorXd>(x.data() + k, k) = w;
}

void unpack(const State& x, Eigen::VectorXd& theta, Eigen::VectorXd& w) {
  const Eigen::Index k = static_cast<Eigen::Index>(x.size() / 2);
  theta = Eigen::Map<const Eigen::VectorXd>(x.data(), k);
  w = Eigen::Map<const Eigen::VectorXd>(x.data() + k, k);
}

struct GeodesicSystem {
  const std::shared_ptr<const SquaredLossModel>* model;
  void operator()(const State& x, State& dxdt, double /*s*/) const {
    const Eigen::Index k = static_cast<Eigen::Index>(x.size() / 2);
    const ManifoldPoint point(*model, Eigen::Map<const Eigen::VectorXd>(x.data(), k));
    dxdt.resize(x.size());
    std::copy(x.begin() + k, x.end(), dxdt.begin());
    Eigen::Map<Eigen::VectorXd>(dxdt.data() + k, k) =
        point.geodesic_acceleration(Eigen::Map<const Eigen::VectorXd>(x.data() + k, k));
  }
};

// Projects (theta, w) back: theta onto M by Newton, w onto the tangent space there.
void project_state(const std::shared_ptr<const SquaredLossModel>& model, const ProjectionOptions& options,
                   Eigen::VectorXd& theta, Eigen::VectorXd& w, GeodesicStatistics& st) {
  ParameterProjection pr = project_newton(model, theta, options);
  st.max_drift_before_projection = std::max(st.max_drift_before_projection, pr.summary.initial_residual);
  st.max_residual = std::max(st.max_residual, pr.summary.final_residual);
  theta = std::move(pr.theta);
  w = ManifoldPoint(model, theta, options.max_condition).tangent_projection(w);
}

}  // namespace

void check_geodesic_options(const GeodesicOptions& options) {
  if (!(options.relative_tolerance > 0) || !(options.absolute_tolerance > 0) || !(options.initial_step > 0) ||
      !(options.rattle_step > 0) || options.max_steps < 1) {
    throw InputError("geodesic options: tolerances, initial_step and rattle_step must be positive and max_steps >= 1");
  }
}

std::vector<ParameterGeodesicSample> trace_geodesic(const std::shared_ptr<const SquaredLossModel>& model,
                                                    const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                                    const Eigen::Ref<const Eigen::VectorXd>& w0,
                                                    const std::vector<double>& s_values,
                                                    const GeodesicOptions& options, GeodesicStatistics* statistics) {
  check_geodesic_options(options);
  model->check_parameters(theta0, "geodesic start");
  model->check_parameters(w0, "geodesic velocity");
  check_s_values(s_values);
  GeodesicStatistics st;
  std::vector<ParameterGeodesicSample> out;
  out.reserve(s_values.size());
  Eigen::VectorXd theta = theta0, w = w0;
  const double speed0 = w0.norm();
  auto note_speed = [&]() {
    if (speed0 > 0) st.max_relative_speed_drift = std::max(st.max_relative_speed_drift, std::abs(w.norm() / speed0 - 1));
  };
  const double scale_y = std::max(1.0, model->labels().cwiseAbs().maxCoeff());
  double s = 0;

  if (options.method == GeodesicMethod::ProjectedRungeKutta) {
    const GeodesicSystem system{&model};
    auto stepper = odeint::make_controlled(options.absolute_tolerance, options.relative_tolerance,
                                           odeint::runge_kutta_fehlberg78<State>());
    State x;
    double ds = options.initial_step;
    for (double target : s_values) {
      while (s < target) {
        if (st.accepted_steps + st.rejected_steps >= options.max_steps) {
          throw ConvergenceError("geodesic: more than " + std::to_string(options.max_steps) +
                                 " steps before reaching s = " + short_number(target) + " (stopped at s = " + short_number(s) +
                                 "); the geodesic is too long or the curvature too large for the tolerance");
        }
        const double remaining = target - s;
        const bool truncated = ds >= remaining;
        double dt = truncated ? remaining : ds;
        pack(theta, w, x);
        double t = s;
        const auto result = stepper.try_step(system, x, t, dt);
        if (result == odeint::fail) {
          ++st.rejected_steps;
          ds = dt;
          if (!(ds > 1e-14 * std::max(1.0, target))) {
            throw ConvergenceError("geodesic: step size collapsed to " + short_number(ds) + " at s = " + short_number(s) +
                                   " (the acceleration is not finite or varies too fast)");
          }
          continue;
        }
        ++st.accepted_steps;
        s = truncated ? target : t;  // land exactly on the requested value
        ds = truncated ? std::max(ds, dt) : dt;
        unpack(x, theta, w);
        if (!theta.allFinite() || !w.allFinite()) throw ConvergenceError("geodesic: non-finite state at s = " + short_number(s));
        project_state(model, options.projection, theta, w, st);
        note_speed();
      }
      out.push_back({theta, w});
    }
  } else {
    // RATTLE with fixed step h (shortened to land on requested values).
    const double h = options.rattle_step;
    const int n = model->num_samples();
    for (double target : s_values) {
      while (s < target) {
        if (st.accepted_steps >= options.max_steps) {
          throw ConvergenceError("geodesic (RATTLE): more than " + std::to_string(options.max_steps) +
                                 " steps before reaching s = " + short_number(target));
        }
        const double step = std::min(h, target - s);
        const ManifoldPoint start(model, theta, options.projection.max_condition);
        if (!start.regular()) start.solve_gram(Eigen::VectorXd::Zero(n));  // throws SingularPointError
        Eigen::MatrixXd J0t(theta.size(), n);  // the columns J(theta)^T e_i
        for (int i = 0; i < n; ++i) J0t.col(i) = start.evaluation().jacobian_transpose_apply(Eigen::VectorXd::Unit(n, i));
        Eigen::VectorXd q = theta + step * w;
        const double tol = options.projection.residual_tolerance * scale_y;
        double first_residual = -1;
        for (int it = 0;; ++it) {
          const auto e = model->evaluate(q);
          const Eigen::VectorXd residuals = e->outputs() - model->labels();
          const double res = residuals.cwiseAbs().maxCoeff();
          if (first_residual < 0) first_residual = res;
          if (!std::isfinite(res)) throw ConvergenceError("geodesic (RATTLE): non-finite residual at s = " + short_number(s));
          if (res <= tol) {
            st.max_residual = std::max(st.max_residual, res);
            break;
          }
          if (it >= options.projection.max_iterations) {
            throw ConvergenceError("geodesic (RATTLE): the constraint solve did not reach residual " + short_number(tol) +
                                   " at s = " + short_number(s) + " (residual " + short_number(res) + "); use a smaller step");
          }
          // Newton on mu for f(q + J0^T mu) = y: the matrix is J(q) J0^T.
          Eigen::MatrixXd A(n, n);
          for (int i = 0; i < n; ++i) A.col(i) = e->jacobian_apply(J0t.col(i));
          q -= J0t * A.partialPivLu().solve(residuals);
        }
        st.max_drift_before_projection = std::max(st.max_drift_before_projection, first_residual);
        w = ManifoldPoint(model, q, options.projection.max_condition).tangent_projection((q - theta) / step);
        theta = std::move(q);
        s += step;
        if (s > target) s = target;
        ++st.accepted_steps;
        note_speed();
      }
      out.push_back({theta, w});
    }
  }
  if (statistics) *statistics = st;
  return out;
}

}  // namespace zeroloss
