// zeroloss.TwoLayerModel and zeroloss.DiagonalLinearModel: the two models of the SquaredLossModel
// interface, and the pointwise geometry every model has (f, T, grad T, the Riemannian gradient and
// Hessian of T on M, the spectrum extremes).
#include <optional>

#include "module_models.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss::python {
namespace {

// The point, checked (InputError naming `theta` on a bad shape or non-finite entries).
std::unique_ptr<const ModelPoint> at(const PyModel& m, const Eigen::MatrixXd& theta) {
  return m.model()->evaluate(m.flatten(theta, "theta"));
}

}  // namespace

void bind_models(py::module_& m) {
  py::class_<PyModel>(m, "Model", R"doc(
A model trained with the squared loss L = 1/(2n) sum_i (f_i(theta) - y_i)^2 (THEORY 1-3, 9).

Its zero-loss manifold is M = {theta : f(theta) = y}; the sharpness on M is
T(theta) = (1/n) sum_i ||grad f_i(theta)||^2 = tr Hess L (THEORY 3). Parameters are passed in the
model's natural shape: TwoLayerModel takes Theta (m x d), DiagonalLinearModel theta = (u, v) (2d).)doc")
      .def_property_readonly("num_samples", [](const PyModel& s) { return s.model()->num_samples(); }, "n")
      .def_property_readonly("num_parameters", [](const PyModel& s) { return s.model()->num_parameters(); }, "P")
      .def_property_readonly("labels", [](const PyModel& s) { return Eigen::VectorXd(s.model()->labels()); }, "y (n)")
      .def("__repr__", [](const PyModel& s) { return "<zeroloss " + s.model()->description() + ">"; })
      .def("outputs", [](const PyModel& s, const Eigen::MatrixXd& theta) { return Eigen::VectorXd(at(s, theta)->outputs()); },
           py::arg("theta"), "f(theta) in R^n.")
      .def("max_residual", [](const PyModel& s, const Eigen::MatrixXd& theta) { return s.model()->max_residual(s.flatten(theta, "theta")); },
           py::arg("theta"), "max_i |f_i(theta) - y_i| (zero on M).")
      .def("jacobian", [](const PyModel& s, const Eigen::MatrixXd& theta) { return at(s, theta)->jacobian(); },
           py::arg("theta"), "J (n x P), row i = grad f_i, columns in the flattened parameter order.")
      .def("sharpness", [](const PyModel& s, const Eigen::MatrixXd& theta) { return at(s, theta)->sharpness(); },
           py::arg("theta"), "T(theta) = (1/n) sum_i ||grad f_i(theta)||^2 (THEORY 3), a float.")
      .def("sharpness_gradient",
           [](const PyModel& s, const Eigen::MatrixXd& theta) { return s.shaped(at(s, theta)->sharpness_gradient()); },
           py::arg("theta"), "The Euclidean gradient grad T = (2/n) sum_i Hess f_i grad f_i, in theta's shape.")
      .def("riemannian_gradient",
           [](const PyModel& s, const Eigen::MatrixXd& theta) {
             RiemannianSharpness r(s.model(), s.flatten(theta, "theta"));
             return s.shaped(r.riemannian_gradient());
           },
           py::arg("theta"),
           "grad_M T = P_T grad T, the tangent projection of grad T at theta on M (THEORY 4), in theta's shape.")
      .def("riemannian_hessian_apply",
           [](const PyModel& s, const Eigen::MatrixXd& theta, const Eigen::MatrixXd& v) {
             RiemannianSharpness r(s.model(), s.flatten(theta, "theta"));
             return s.shaped(r.riemannian_hessian_apply(s.flatten(v, "v")));
           },
           py::arg("theta"), py::arg("v"),
           "Hess_M T v: the Riemannian Hessian of T at theta on M applied to v (v is projected onto the "
           "tangent space first), in theta's shape.")
      .def("sharpness_hessian_apply",
           [](const PyModel& s, const Eigen::MatrixXd& theta, const Eigen::MatrixXd& v) {
             return s.shaped(at(s, theta)->sharpness_hessian_apply(s.flatten(v, "v")));
           },
           py::arg("theta"), py::arg("v"), "The Euclidean Hessian-vector product Hess T v, in theta's shape.")
      .def("riemannian_hessian_extremes",
           [](const PyModel& s, const Eigen::MatrixXd& theta, int k, double tolerance) {
             LanczosOptions options;
             options.eigenvalues = k;
             options.tolerance = tolerance;
             if (!options.is_valid()) throw InputError("riemannian_hessian_extremes: " + options.invalid_reason());
             Eigen::VectorXd flat = s.flatten(theta, "theta");
             HessianExtremes e;
             {
               py::gil_scoped_release release;
               RiemannianSharpness r(s.model(), flat);
               e = riemannian_hessian_extremes(r, options);
             }
             py::dict d;
             d["smallest"] = e.smallest;
             d["largest"] = e.largest;
             d["converged"] = e.converged;
             d["method"] = std::string(to_string(e.method));
             d["tangent_dimension"] = e.tangent_dimension;
             return d;
           },
           py::arg("theta"), py::arg("k") = 1, py::arg("tolerance") = 1e-10,
           "The k smallest and k largest eigenvalues of the Riemannian Hessian of T on the tangent space "
           "at theta (sharpness/hessian_spectrum.hpp: dense below its limit, Lanczos above). Returns a dict "
           "with 'smallest', 'largest' (ascending / descending arrays), 'converged', 'method', "
           "'tangent_dimension'.");

  py::class_<PyTwoLayer, PyModel>(m, "TwoLayerModel", R"doc(
The two-layer network f_i(Theta) = sum_j a_j phi(theta_j . x_i) with a fixed second layer a (THEORY 1).

TwoLayerModel(X, y, activation="cubic", a=None, m=None): X (n x d), y (n); a (m) the second layer, or
m for a = ones. activation: "cubic", "sinh", "tanh", "sigmoid", "softplus", "gelu" or "poly:c0,c1,...".
Parameters Theta are m x d arrays (row j = theta_j).)doc")
      .def(py::init<Eigen::MatrixXd, Eigen::VectorXd, const std::string&, std::optional<Eigen::VectorXd>, std::optional<int>>(),
           py::arg("X"), py::arg("y"), py::arg("activation") = "cubic", py::arg("a") = py::none(),
           py::arg("m") = py::none())
      .def_property_readonly("X", [](const PyTwoLayer& s) { return s.network().network().X(); })
      .def_property_readonly("a", [](const PyTwoLayer& s) { return s.network().network().a(); })
      .def_property_readonly("activation", &PyTwoLayer::activation);

  py::class_<PyDiagonal, PyModel>(m, "DiagonalLinearModel", R"doc(
The diagonal linear network f(u, v) = X (u o u - v o v) (THEORY 9). DiagonalLinearModel(X, y), X (n x d);
parameters theta = (u, v) are vectors of length 2d.)doc")
      .def(py::init<Eigen::MatrixXd, Eigen::VectorXd>(), py::arg("X"), py::arg("y"))
      .def_property_readonly("X", [](const PyDiagonal& s) { return s.network().X(); })
      .def("linear_weights",
           [](const PyDiagonal& s, const Eigen::MatrixXd& theta) {
             return s.network().linear_weights(s.flatten(theta, "theta"));
           },
           py::arg("theta"), "w = u o u - v o v.");
}

}  // namespace zeroloss::python
