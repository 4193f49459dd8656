// zeroloss inspect: the geometry of the zero-loss manifold at one point (THEORY 1-4).
//
// At a singular point (J J^T singular or numerically so) everything that does not need (J J^T)^{-1}
// is still printed; the Riemannian quantities are reported as undefined (JSON null) and the command
// then fails with the SingularPointError message (exit 3).

#include <nlohmann/json.hpp>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "diagonal_linear.hpp"
#include "option_checks.hpp"
#include "zeroloss/dense_limit.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/sharpness.hpp"

namespace zeroloss::cli {
namespace {

struct InspectOptions {
  ProblemOptions problem;
  bool json = false;
  double manifold_tolerance = 1e-9;
  bool no_hessian = false;
  ModelKind model = ModelKind::TwoLayer;
};

// A vector on one or more lines; long vectors show their ends (the JSON output has every value).
std::string vector_text(const Eigen::VectorXd& v, const std::string& indent) {
  if (v.size() == 0) return "(none)";
  std::ostringstream s;
  auto item = [&](Eigen::Index k) { s << std::setw(13) << g6(v(k)); };
  const Eigen::Index show = v.size() <= 24 ? v.size() : 12;
  for (Eigen::Index k = 0; k < show; ++k) {
    if (k > 0 && k % 6 == 0) s << "\n" << indent;
    item(k);
  }
  if (show < v.size()) {
    s << "\n" << indent << "  ... " << v.size() - 12 << " more (all in --json) ...\n" << indent;
    for (Eigen::Index k = v.size() - 6; k < v.size(); ++k) item(k);
  }
  return s.str();
}

void run_inspect(const InspectOptions& o) {
  // Data that make M empty or J J^T singular everywhere: the table is still printed (the point is
  // singular, exit 3 below) and the error says what the data imply.
  const LoadedProblem P = load_problem(o.problem, ManifoldPolicy::Warn);
  const TwoLayerModel& model = P.model;
  const Eigen::MatrixXd& theta = P.weights.theta;
  const int n = model.n(), d = model.d(), m = model.m();
  const ReducedCoordinates rc(model.X());
  const int p = rc.rank();

  // Network quantities in the user's (full) coordinates.
  const SharpnessGeometry full(model, theta);
  const NetworkEvaluation& e = full.evaluation();
  const double residual_max = e.residuals.cwiseAbs().maxCoeff();
  const double tol = o.manifold_tolerance * std::max(1.0, model.y().cwiseAbs().maxCoeff());
  const bool on_manifold = residual_max <= tol;
  const Eigen::VectorXd sv_R = Eigen::BDCSVD<Eigen::MatrixXd>(e.R).singularValues();
  const Eigen::VectorXd sv_Phi = Eigen::BDCSVD<Eigen::MatrixXd>(e.phi).singularValues();
  const double jjt_condition = full.jacobian().condition();
  std::vector<double> pre(e.R.data(), e.R.data() + e.R.size());
  const AssumptionReport assumptions = check_assumptions(model.activation(), pre);

  // Riemannian quantities in reduced coordinates (THEORY 4: isometric, the spectrum is the same).
  std::optional<double> grad_norm;
  std::optional<Eigen::VectorXd> eigenvalues;
  std::string singular_message;
  double singular_condition = jjt_condition;
  try {
    const TwoLayerModel reduced = rc.reduce(model);
    const SharpnessGeometry red(reduced, rc.reduce(theta));
    if (!full.jacobian().regular()) full.jacobian().solve_gram(Eigen::VectorXd::Zero(n));  // throws
    grad_norm = red.riemannian_gradient().norm();
    if (!o.no_hessian) {
      try {
        eigenvalues = red.riemannian_hessian_matrix().eigenvalues;
      } catch (const ResourceError& err) {
        throw ResourceError(std::string(err.what()) + ", or pass --no-hessian to print everything else");
      }
    }
  } catch (const SingularPointError& err) {
    singular_message = err.what();
    singular_condition = err.condition();
  }
  const bool singular = !singular_message.empty();
  const std::string riemannian_on =
      on_manifold ? "zero-loss manifold" : "level set f = f(Theta) through this point (off the zero-loss manifold)";

  if (o.json) {
    nlohmann::ordered_json j;
    j["n"] = n;
    j["d"] = d;
    j["m"] = m;
    j["p"] = p;
    j["activation"] = model.activation().name();
    j["manifold_dimension"] = m * d - n;
    j["nontrivial_tangent_dimension"] = m * p - n;
    j["on_manifold"] = on_manifold;
    j["manifold_tolerance"] = tol;
    j["loss"] = number(e.loss);
    j["residual_max"] = number(residual_max);
    j["sharpness"] = number(full.sharpness());
    j["hessian_trace"] = number(full.hessian_trace());
    j["riemannian_grad_norm"] = grad_norm ? number(*grad_norm) : nlohmann::ordered_json(nullptr);
    j["hessian_eigenvalues"] = eigenvalues ? vector_json(*eigenvalues) : nlohmann::ordered_json(nullptr);
    if (o.no_hessian) j["hessian_eigenvalues_skipped"] = true;
    j["riemannian_reference"] = riemannian_on;
    j["preactivation_singular_values"] = vector_json(sv_R);
    j["feature_singular_values"] = vector_json(sv_Phi);
    j["jjt_condition"] = number(jjt_condition);
    j["jjt_regular"] = !singular;
    j["data_condition"] = number(rc.condition());
    j["assumptions"] = {{"min_first_derivative", number(assumptions.min_first_derivative)},
                        {"argmin_first_derivative", number(assumptions.argmin_first_derivative)},
                        {"min_third_derivative", number(assumptions.min_third_derivative)},
                        {"argmin_third_derivative", number(assumptions.argmin_third_derivative)},
                        {"holds", assumptions.holds()},
                        {"description", assumptions.describe(model.activation().name())}};
    std::cout << j.dump(2) << std::endl;
  } else {
    const int w = 31;
    const std::string indent(w, ' ');
    auto row = [&](const std::string& key, const std::string& value) {
      std::cout << std::left << std::setw(w) << key << value << "\n";
    };
    row("data", o.problem.data + "  (n = " + std::to_string(n) + ", d = " + std::to_string(d) +
                    ", rank p = " + std::to_string(p) + ", condition " + g6(rc.condition()) + ")");
    row("weights", o.problem.weights + "  (m = " + std::to_string(m) + ")");
    row("activation", model.activation().name());
    row("manifold dimension", "m*d - n = " + std::to_string(m * d - n) + "; non-trivial tangent part m*p - n = " +
                                  std::to_string(m * p - n));
    row("point", on_manifold ? "on the zero-loss manifold (max |f_i - y_i| <= " + g6(tol) + ")"
                             : "OFF the zero-loss manifold (max |f_i - y_i| = " + g6(residual_max) + " > " + g6(tol) +
                                   ")");
    row("loss", g6(e.loss) + "  (1/(2n) sum_i (f_i - y_i)^2)");
    row("residual_max", g6(residual_max) + "  (max_i |f_i - y_i|)");
    row("sharpness", g6(full.sharpness()) + "  (T = (1/n) sum_i ||grad f_i||^2)");
    row("hessian_trace", g6(full.hessian_trace()) + (on_manifold ? "  (tr Hess L; = T on M)"
                                                                  : "  (tr Hess L, includes the residual term)"));
    row("jjt_condition", g6(jjt_condition) + (singular ? "  (SINGULAR: J J^T cannot be inverted)" : ""));
    if (singular) {
      row("riemannian_grad_norm", "undefined at a singular point");
      row("hessian_eigenvalues", "undefined at a singular point");
    } else {
      if (!on_manifold) {
        row("note", "Riemannian quantities below are computed at an off-manifold point, on the level set");
        row("", "{f = f(Theta)} through it (tangent space ker J): they are not those of the zero-loss manifold");
      }
      row("riemannian_grad_norm", g6(*grad_norm) + "  (||grad_M T||)");
      if (eigenvalues) {
        row("hessian_eigenvalues", std::to_string(eigenvalues->size()) + " eigenvalues of Hess_M T, ascending:");
        row("", vector_text(*eigenvalues, indent));
      } else {
        row("hessian_eigenvalues", "not computed (--no-hessian)");
      }
    }
    row("preactivation_singular_values", vector_text(sv_R, indent));
    row("feature_singular_values", vector_text(sv_Phi, indent));
    row("assumptions", std::string(assumptions.holds() ? "hold" : "FAIL") + ": " +
                           assumptions.describe(model.activation().name()) + " (the n*m pre-activations present)");
    std::cout << std::flush;
  }
  if (singular) {
    if (P.diagnostics.blocking()) {
      for (const std::string& f : P.diagnostics.findings) singular_message += ". " + o.problem.data + ": " + f;
    }
    throw SingularPointError(singular_message, singular_condition);
  }
}

CommandRegistration reg(
    {"inspect", "The geometry at a point: loss, sharpness T, Riemannian gradient and Hessian spectrum, J J^T condition",
     [](CLI::App& app) {
       auto o = std::make_shared<InspectOptions>();
       add_problem_options(app, o->problem);
       add_model_option(app, o->model);
       app.add_flag("--json", o->json,
                    "Print one JSON object (keys in docs/formats.md; infinite or undefined values are null)");
       app.add_option("--manifold-tolerance", o->manifold_tolerance,
                      "The point counts as on M when max_i |f_i - y_i| <= tolerance * max(1, max_i |y_i|); tolerance > 0")
           ->capture_default_str()
           ->check(checks::positive_number());
       app.add_flag("--no-hessian", o->no_hessian,
                    "Skip the Riemannian Hessian spectrum (a dense (m p - n)^2 matrix; needed when it exceeds the "
                    "dense limit, see docs/performance.md)");
       app.footer(
           "Riemannian quantities (riemannian_grad_norm, hessian_eigenvalues: the m*p - n eigenvalues of the\n"
           "Riemannian Hessian of T on the non-trivial tangent part, ascending) are computed in reduced\n"
           "coordinates. Off the manifold they are those of the level set {f = f(Theta)} through the point.\n"
           "At a singular point (J J^T singular) they are undefined: the rest is printed, then the command\n"
           "fails with exit code 3.");
       return std::function<void()>([o]() {
         if (o->model == ModelKind::DiagonalLinear) return run_diagonal_inspect(o->problem, o->json, !o->no_hessian);
         run_inspect(*o);
       });
     },
     20});

}  // namespace
}  // namespace zeroloss::cli
