// zeroloss.geodesic, zeroloss.exponential_map, zeroloss.logarithm_map: geodesics of the zero-loss
// manifold M with the metric induced by the Euclidean metric on parameters (THEORY 2),
// gamma'' = -J^T (J J^T)^{-1} q(gamma'), q_i(v) = v^T Hess f_i v (manifold/geodesic.hpp for the
// two-layer network, in reduced coordinates; manifold/geodesics.hpp for any model).
#include <algorithm>
#include <cmath>
#include <vector>

#include "module_models.hpp"
#include "zeroloss/manifold/geodesic.hpp"
#include "zeroloss/manifold/geodesics.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss::python {
namespace {

GeodesicOptions geodesic_options(const std::string& method, double relative_tolerance, double absolute_tolerance,
                                 double rattle_step) {
  GeodesicOptions o;
  if (method == "runge-kutta")
    o.method = GeodesicMethod::ProjectedRungeKutta;
  else if (method == "rattle")
    o.method = GeodesicMethod::Rattle;
  else
    throw InputError("geodesic method '" + method + "': expected \"runge-kutta\" or \"rattle\"");
  o.relative_tolerance = relative_tolerance;
  o.absolute_tolerance = absolute_tolerance;
  o.rattle_step = rattle_step;
  check_geodesic_options(o);
  return o;
}

py::dict statistics_dict(const GeodesicStatistics& s) {
  py::dict d;
  d["accepted_steps"] = s.accepted_steps;
  d["rejected_steps"] = s.rejected_steps;
  d["max_residual"] = s.max_residual;
  d["max_drift_before_projection"] = s.max_drift_before_projection;
  d["max_relative_speed_drift"] = s.max_relative_speed_drift;
  return d;
}

// The checks GeodesicIntegrator::trace makes, for a model without one: theta on M, v tangent.
void check_generic_start(const SquaredLossModel& model, const Eigen::VectorXd& theta, const Eigen::VectorXd& v,
                         const GeodesicOptions& o) {
  const auto point = model.evaluate(theta);
  const double scale = std::max(1.0, model.labels().cwiseAbs().maxCoeff());
  const double residual = (point->outputs() - model.labels()).cwiseAbs().maxCoeff();
  if (!(residual <= o.start_tolerance * scale))
    throw InputError("geodesic start is not on the zero-loss manifold: max_i |f_i - y_i| = " + std::to_string(residual) +
                     "; project it first (zeroloss.project)");
  const Eigen::MatrixXd J = point->jacobian();
  if (!((J * v).norm() <= o.tangent_tolerance * J.norm() * v.norm()))
    throw InputError("geodesic initial velocity is not tangent to the manifold: ||J v|| = " +
                     std::to_string((J * v).norm()) + "; project it onto T_theta M first");
}

// gamma(s), gamma'(s) at each s (shaped like theta), and the integration's statistics.
py::dict trace(const PyModel& model, const Eigen::MatrixXd& theta, const Eigen::MatrixXd& v, std::vector<double> s,
               const GeodesicOptions& o) {
  py::list thetas, velocities;
  GeodesicStatistics statistics;
  if (const auto* t = dynamic_cast<const PyTwoLayer*>(&model)) {
    model.flatten(theta, "theta");
    model.flatten(v, "v");
    GeodesicPath path;
    {
      py::gil_scoped_release release;
      path = GeodesicIntegrator(t->network().network(), o).trace(theta, v, s);
    }
    for (const auto& sample : path.samples) {
      thetas.append(py::cast(sample.theta));
      velocities.append(py::cast(sample.velocity));
    }
    statistics = path.statistics;
  } else {
    const Eigen::VectorXd x = model.flatten(theta, "theta"), w = model.flatten(v, "v");
    check_generic_start(*model.model(), x, w, o);
    std::vector<ParameterGeodesicSample> samples;
    {
      py::gil_scoped_release release;
      samples = trace_geodesic(model.model(), x, w, s, o, &statistics);
    }
    for (const auto& sample : samples) {
      thetas.append(model.shaped(sample.theta));
      velocities.append(model.shaped(sample.velocity));
    }
  }
  py::dict d;
  d["s"] = s;
  d["theta"] = thetas;
  d["velocity"] = velocities;
  d["statistics"] = statistics_dict(statistics);
  return d;
}

}  // namespace

void bind_geodesics(py::module_& m) {
  m.def(
      "geodesic",
      [](const PyModel& model, const Eigen::MatrixXd& theta, const Eigen::MatrixXd& v, std::vector<double> s,
         const std::string& method, double relative_tolerance, double absolute_tolerance, double rattle_step) {
        return trace(model, theta, v, std::move(s), geodesic_options(method, relative_tolerance, absolute_tolerance,
                                                                     rattle_step));
      },
      py::arg("model"), py::arg("theta"), py::arg("v"), py::arg("s"), py::arg("method") = "runge-kutta",
      py::arg("relative_tolerance") = 1e-12, py::arg("absolute_tolerance") = 1e-12, py::arg("rattle_step") = 1e-3,
      R"doc(
The geodesic of M = {f = y} with gamma(0) = theta (on M) and gamma'(0) = v (tangent: J v = 0), for the
metric induced by the Euclidean metric on parameters (THEORY 2): gamma'' = -J^T (J J^T)^{-1} q(gamma'),
q_i(v) = v^T Hess f_i v. Along it f(gamma) = y and the speed ||gamma'|| is constant.

s: the arc parameters (non-negative, non-decreasing; for s < 0 pass -v). method: "runge-kutta"
(Fehlberg 7(8) with error control, position re-projected onto M after every step; the tolerances
apply) or "rattle" (the constrained leapfrog with the fixed step rattle_step: symplectic, second
order, an independent route). TwoLayerModel runs in reduced coordinates (THEORY 4).

Returns a dict: 's', 'theta' and 'velocity' (lists of arrays in theta's shape, one per s),
'statistics' (accepted/rejected steps, max residual, speed drift). zeroloss.InputError when theta is
off M or v not tangent; zeroloss.Error when the geodesic reaches a singular point or the step collapses.)doc");

  m.def(
      "exponential_map",
      [](const PyModel& model, const Eigen::MatrixXd& theta, const Eigen::MatrixXd& v) {
        const py::dict d = trace(model, theta, v, {1.0}, GeodesicOptions{});
        const py::list points = d["theta"];
        return py::object(points[0]);
      },
      py::arg("model"), py::arg("theta"), py::arg("v"), R"doc(
exp_theta(v) = gamma(1) for the geodesic with gamma(0) = theta (on M), gamma'(0) = v (tangent), with
the default Runge-Kutta integration (tolerances 1e-12). In theta's shape.)doc");

  m.def(
      "logarithm_map",
      [](const PyModel& model, const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double tolerance,
         int max_iterations) {
        const auto* t = dynamic_cast<const PyTwoLayer*>(&model);
        if (t == nullptr)
          throw InputError("logarithm_map: the shooting method is implemented for the two-layer network "
                           "(TwoLayerModel); got " + model.model()->description());
        model.flatten(x, "x");
        model.flatten(y, "y");
        LogarithmOptions o;
        o.tolerance = tolerance;
        o.max_iterations = max_iterations;
        LogarithmResult r;
        {
          py::gil_scoped_release release;
          r = logarithm_map(t->network().network(), x, y, o);
        }
        py::dict d;
        d["velocity"] = r.velocity;
        d["length"] = r.length;
        d["mismatch"] = r.mismatch;
        d["iterations"] = r.iterations;
        d["report"] = r.report;
        return d;
      },
      py::arg("model"), py::arg("x"), py::arg("y"), py::arg("tolerance") = 1e-9, py::arg("max_iterations") = 50,
      R"doc(
log_x(y) for x, y on M (TwoLayerModel): the tangent v at x with exp_x(v) = y, found by shooting
(Levenberg-Marquardt over the coordinates of v in an orthonormal basis of T_x M), converged when
||exp_x(v) - y||_F <= tolerance * max(1, ||y||_F). Returns a dict: 'velocity' (v, m x d), 'length'
(||v||_F, the length of the geodesic found: an upper bound on the distance, at least the chord
||y - x||), 'mismatch', 'iterations', 'report'. zeroloss.Error when no shot lands on y (too far,
beyond a conjugate point, another component of M).)doc");
}

}  // namespace zeroloss::python
