// zeroloss inspect: the geometry of the zero-loss manifold at one point (THEORY 1-4).
//
// At a singular point (J J^T singular or numerically so) everything that does not need (J J^T)^{-1}
// is still printed; the Riemannian quantities are reported as undefined (JSON null) and the command
// then fails with the SingularPointError message (exit 3).

#include <iostream>
#include <memory>

#include "command.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "common.hpp"
#include "option_checks.hpp"
#include "zeroloss/diagnostics/point_summary.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/numerics/ordered_product.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/point_summary_outputs.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"
#include "zeroloss/runs/point_inspection.hpp"

namespace zeroloss::cli {
namespace {

struct InspectOptions {
  ProblemOptions problem;
  bool json = false;
  double manifold_tolerance = kOnManifoldTolerance;  // the library's one acceptance threshold
  bool no_hessian = false;
  std::string spectrum = "auto";
  int eigenvalues = 1;
  int threads = 0;  // 0: the library's default (numerics/ordered_product.hpp)
  ModelKind model = ModelKind::TwoLayer;

  LanczosOptions lanczos() const {
    LanczosOptions l;
    l.eigenvalues = eigenvalues;
    return l;
  }
};

void run_inspect(const InspectOptions& o) {
  // Data that make M empty or J J^T singular everywhere: the table is still printed (the point is
  // singular, exit 3 below) and the error says what the data imply. Reduced weights stay reduced.
  PointInspection I;
  try {
    I = inspect_two_layer_point(o.problem, {o.manifold_tolerance, !o.no_hessian, parse_spectrum_method(o.spectrum),
                                            o.lanczos()});
  } catch (const ResourceError& err) {
    throw ResourceError(std::string(err.what()) + ", or pass --spectrum lanczos (the extremes without the matrix) or "
                        "--no-hessian to print everything else");
  }
  const TwoLayerPointSummary& s = I.summary;
  if (o.json) {
    std::cout << point_summary_json(s).dump(2) << std::endl;
  } else {
    print_point_summary(std::cout, s, o.problem.data, o.problem.weights);
    std::cout << std::flush;
  }
  if (s.regular) return;
  std::string message = s.singular_reason;
  if (I.diagnostics.blocking())
    for (const std::string& f : I.diagnostics.findings) message += ". " + o.problem.data + ": " + f;
  throw SingularPointError(message, s.singular_condition);
}

void run_diagonal_inspect(const InspectOptions& o) {
  const LoadedDiagonalProblem P = load_diagonal_problem(o.problem);
  const PointSummary s = summarize_point(P.model, P.theta, !o.no_hessian, ManifoldPoint::kDefaultMaxCondition,
                                         parse_spectrum_method(o.spectrum), o.lanczos());
  if (o.json)
    std::cout << point_summary_json(s, *P.model, P.theta, !o.no_hessian).dump(2) << std::endl;
  else
    print_point_summary(std::cout, s, *P.model, P.theta, !o.no_hessian);
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
       app.add_flag("--no-hessian", o->no_hessian, "Skip the Riemannian Hessian spectrum");
       app.add_option("--spectrum", o->spectrum,
                      "auto|dense|lanczos: dense lists every eigenvalue (a (m p - n)^2 matrix); lanczos computes the K "
                      "smallest and largest from Hessian-vector products; auto is dense up to m p - n = " +
                          std::to_string(kDenseSpectrumMaxDimension) + ", lanczos above")
           ->capture_default_str()
           ->check(checks::one_of({"auto", "dense", "lanczos"}));
       app.add_option("--eigenvalues", o->eigenvalues, "K >= 1: the K smallest and K largest eigenvalues with certificates")
           ->capture_default_str()
           ->check(checks::positive_integer<int>());
       app.footer(
           "Riemannian quantities (riemannian_grad_norm, hessian_eigenvalues: the m*p - n eigenvalues of the\n"
           "Riemannian Hessian of T on the non-trivial tangent part, ascending, dense path only;\n"
           "hessian_lambda_min/max with residual certificates ||H v - lambda v||, both paths) are computed in\n"
           "reduced coordinates. Off the manifold they are those of the level set {f = f(Theta)} through the point.\n"
           "At a singular point (J J^T singular) they are undefined: the rest is printed, then the command\n"
           "fails with exit code 3.");
       app.add_option("--threads", o->threads,
                      "Threads N for the Lanczos products at large sizes (0: all cores, at most 8; the results do not "
                      "depend on N)")
           ->capture_default_str()
           ->check(checks::non_negative_integer<int>());
       return std::function<void()>([o]() {
         set_product_threads(o->threads);
         if (o->model == ModelKind::DiagonalLinear) return run_diagonal_inspect(*o);
         run_inspect(*o);
       });
     },
     20});

}  // namespace
}  // namespace zeroloss::cli
