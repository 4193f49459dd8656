// The Python module `zeroloss`: numpy in, numpy out (docs/python.md). Library exceptions become
// Python exceptions: InputError -> zeroloss.InputError (a ValueError and a zeroloss.Error), every
// other library error -> zeroloss.Error (a RuntimeError).
#include "module_common.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/interrupt_flag.hpp"

namespace zeroloss::python {

void define_module(py::module_& m) {
  m.doc() = R"doc(zeroloss: the Riemannian geometry of zero-loss manifolds, the sharpness T and label-noise SGD.

Conventions (THEORY): squared loss L = 1/(2n) sum_i (f_i - y_i)^2, zero-loss manifold M = {f = y},
sharpness T = (1/n) sum_i ||grad f_i||^2 = tr Hess L on M, SGD time t = eta^2 k, flow time tau = C t
with C = s^2 / (4B). Models: TwoLayerModel, DiagonalLinearModel. Functions: project, optimum,
sharpness_flow, label_noise_sgd, resume_label_noise_sgd; LabelNoiseDynamics (flow, SGD, projections
for either model); geodesic, exponential_map, logarithm_map; convexity_at_point, sample_convexity,
search_negative_curvature, analyze_convexity, convexity_along_flow, convexity_along_sgd; the report's
decision rules (decide_global_minimum, decide_flow_rate, decide_sgd_tracks_flow,
decide_sgd_tracks_flow_population, decide_rank_one_sgd, decide_local_convexity, curvature_bracket,
decide_diagonal_sparse_interpolator) and run_report. Errors: Error, InputError (a ValueError),
Interrupted. See docs/python.md.)doc";
  static py::handle error = PyErr_NewExceptionWithDoc(
      "zeroloss.Error", "A zeroloss library error (no convergence, a singular point, ...).", PyExc_RuntimeError, nullptr);
  py::tuple bases = py::make_tuple(py::handle(PyExc_ValueError), error);
  static py::handle input_error = PyErr_NewExceptionWithDoc(
      "zeroloss.InputError", "Bad input: the message names the argument, file, line or key.", bases.ptr(), nullptr);
  static py::handle interrupted = PyErr_NewExceptionWithDoc(
      "zeroloss.Interrupted",
      "A long call stopped because its progress callback returned False (Ctrl-C raises KeyboardInterrupt).",
      error.ptr(), nullptr);
  m.attr("Error") = error;
  m.attr("InputError") = input_error;
  m.attr("Interrupted") = interrupted;
  m.attr("last_result") = py::none();
  m.attr("__version__") = ZEROLOSS_VERSION;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const zeroloss::InputError& e) {
      PyErr_SetString(input_error.ptr(), e.what());
    } catch (const zeroloss::InterruptedError& e) {
      PyErr_SetString(interrupted.ptr(), e.what());
    } catch (const zeroloss::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });
  zeroloss::python::bind_models(m);
  zeroloss::python::bind_geometry(m);
  zeroloss::python::bind_sgd(m);
  zeroloss::python::bind_geodesics(m);
  zeroloss::python::bind_convexity(m);
  zeroloss::python::bind_verification(m);
  zeroloss::python::bind_trajectories(m);
}

}  // namespace zeroloss::python

PYBIND11_MODULE(zeroloss, m) { zeroloss::python::define_module(m); }
