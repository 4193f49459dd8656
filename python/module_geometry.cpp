// zeroloss.project, zeroloss.optimum and zeroloss.sharpness_flow: projections onto M, the minimum of
// T on M (closed form or numerical) and the Riemannian flow of T (THEORY 4-6, 9).
#include <vector>

#include "module_models.hpp"
#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss::python {
namespace {

py::dict projection_summary(const ProjectionSummary& s) {
  py::dict d;
  d["method"] = std::string(to_string(s.method));
  d["iterations"] = s.iterations;
  d["initial_residual"] = s.initial_residual;
  d["final_residual"] = s.final_residual;
  d["distance_moved"] = s.distance_moved;
  d["converged"] = s.converged;
  d["termination"] = s.termination;
  return d;
}

py::dict two_layer_optimum(const PyTwoLayer& model, const Eigen::MatrixXd& theta) {
  model.flatten(theta, "theta");
  SharpnessMinimum r;
  {
    py::gil_scoped_release release;
    r = sharpness_minimum(model.network().network(), theta);
  }
  py::dict d;
  d["theta"] = r.theta;
  d["sharpness"] = r.sharpness;
  d["riemannian_gradient_norm"] = r.riemannian_gradient_norm;
  d["max_residual"] = r.max_residual;
  d["closed_form"] = r.closed_form;
  d["kind"] = std::string(to_string(r.kind));
  d["verdict"] = r.verdict;
  d["message"] = r.message;
  d["hessian_min_eigenvalue"] = r.hessian_min_eigenvalue;
  d["multipliers"] = r.multipliers;
  d["preactivations"] = r.preactivations;
  return d;
}

py::dict diagonal_optimum(const PyDiagonal& model, const Eigen::MatrixXd& theta) {
  Eigen::VectorXd start = model.flatten(theta, "theta");
  DiagonalLinearOptimum r;
  {
    py::gil_scoped_release release;
    r = diagonal_linear_optimum(model.network(), start);
  }
  py::dict d;
  d["theta"] = r.theta;
  d["sharpness"] = r.sharpness;
  d["w"] = r.w;
  d["dual"] = r.dual;
  d["support"] = r.support;
  d["objective"] = r.objective;
  d["dual_objective"] = r.dual_objective;
  d["max_residual"] = r.residual_max;
  d["flow_sharpness"] = r.flow_sharpness;
  d["closed_form"] = true;
  return d;
}

}  // namespace

void bind_geometry(py::module_& m) {
  m.def(
      "project",
      [](const PyModel& model, const Eigen::MatrixXd& theta, const std::string& method, double residual_tolerance,
         int max_iterations) {
        ProjectionOptions options;
        options.residual_tolerance = residual_tolerance;
        options.max_iterations = max_iterations;
        ProjectionMethod kind = parse_projection_method(method);
        Eigen::VectorXd start = model.flatten(theta, "theta");
        ParameterProjection p;
        {
          py::gil_scoped_release release;
          p = project(model.model(), start, kind, options);
        }
        return py::make_tuple(model.shaped(p.theta), projection_summary(p.summary));
      },
      py::arg("model"), py::arg("theta"), py::arg("method") = "newton", py::arg("residual_tolerance") = 1e-13,
      py::arg("max_iterations") = 50, R"doc(
Projects theta onto the zero-loss manifold M = {f = y} (THEORY 2).

method: "newton" (minimum-norm Gauss-Newton, a second-order retraction), "nearest" (the metric
projection), "gradient-flow" (Phi_GF, the limit of the loss's gradient flow) or "ceres" (Levenberg-
Marquardt). Returns (theta_on_M, summary dict). Raises zeroloss.Error (ConvergenceError, singular
point) when the projection fails, zeroloss.InputError on bad input.)doc");

  m.def(
      "optimum",
      [](const PyModel& model, const Eigen::MatrixXd& theta) -> py::dict {
        if (auto* t = dynamic_cast<const PyTwoLayer*>(&model)) return two_layer_optimum(*t, theta);
        return diagonal_optimum(dynamic_cast<const PyDiagonal&>(model), theta);
      },
      py::arg("model"), py::arg("theta"), R"doc(
The minimum of the sharpness T on M (THEORY 5, 9), as a dict with 'theta' and 'sharpness' (T*).

TwoLayerModel: the closed form (a_j phi''(r_ij) = c_i, rank-one pre-activations) polished by Newton,
or Riemannian L-BFGS from theta when there is no closed form ('closed_form', 'kind': global minimum /
local minimum / stationary point, 'verdict'). DiagonalLinearModel: T* = (4/n) times the weighted basis
pursuit min { sum_k c_k |w_k| : X w = y } with its dual certificate ('w', 'dual', 'support').)doc");

  m.def(
      "sharpness_flow",
      [](const PyModel& model, const Eigen::MatrixXd& theta0, double t_end, double coefficient,
         std::vector<double> sample_times, double rtol, double atol, py::object callback) {
        FlowOptions options;
        options.t_end = t_end;
        options.coefficient = coefficient;
        options.sample_times = std::move(sample_times);
        options.rtol = rtol;
        options.atol = atol;
        Eigen::VectorXd start = model.flatten(theta0, "theta0");
        FlowSampleColumns columns;
        std::vector<Eigen::VectorXd> thetas;
        PythonPoller poller(std::move(callback));
        ParameterFlowResult result;
        {
          py::gil_scoped_release release;
          result = integrate_sharpness_flow(model.model(), start, options, [&](const ParameterFlowSample& s) {
            columns.add(s.t, s.tau, s.sharpness, s.gradient_norm);
            thetas.push_back(*s.theta);
            return poller.poll([&] { return py::make_tuple(s.t, model.shaped(*s.theta), s.sharpness, s.gradient_norm); });
          });
        }
        py::dict d;
        columns.write(d);
        py::list states;
        for (const auto& th : thetas) states.append(model.shaped(th));
        d["theta"] = states;
        d["final"] = model.shaped(result.theta);
        d["t_reached"] = result.summary.t_reached;
        d["completed"] = result.summary.completed;
        d["termination"] = result.summary.termination;
        if (poller.failed()) {
          py::module_::import("zeroloss").attr("last_result") = d;
          poller.rethrow();
        }
        return d;
      },
      py::arg("model"), py::arg("theta0"), py::arg("t_end") = 1.0, py::arg("coefficient") = 1.0,
      py::arg("sample_times") = std::vector<double>{}, py::arg("rtol") = 1e-9, py::arg("atol") = 1e-12,
      py::arg("callback") = py::none(), R"doc(
Integrates the Riemannian flow of the sharpness on M, d theta/dt = -C grad_M T(theta) (THEORY 6),
from theta0 on M (zeroloss.InputError otherwise: project it first, e.g. with
method="gradient-flow", Phi_GF of THEORY 7) over t in [0, t_end], re-projecting onto M after each step.

Samples are taken at t = 0, at each of sample_times, and at the end; for each one
callback(t, theta, T, ||grad_M T||) is called if given (return False to stop early). Returns a dict:
't', 'tau' (= C t), 'sharpness', 'gradient_norm' (lists over the samples), 'theta' (the sampled
states), 'final', 't_reached', 'completed', 'termination'. The GIL is released while integrating;
Ctrl-C (or an exception in the callback) stops the flow at the next sample and is raised, with the
samples so far kept in zeroloss.last_result.)doc");
}

}  // namespace zeroloss::python
