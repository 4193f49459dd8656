// zeroloss optimum: the minimizer of the sharpness T on the zero-loss manifold (THEORY 5), in closed
// form when rank X = n, otherwise by Riemannian L-BFGS (Ceres) from the given weights.

#include <glog/logging.h>

#include <iostream>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "option_checks.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/manifold/riemannian_lbfgs.hpp"
#include "zeroloss/presentation/optimum_outputs.hpp"
#include "zeroloss/presentation/trust_region_outputs.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"
#include "zeroloss/runs/optimum_run.hpp"
#include "zeroloss/sharpness/diagonal_linear_optimum.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss::cli {
namespace {

struct OptimumOptions {
  ProblemOptions problem;
  std::string out;
  bool json = false;
  bool accept_stationary = false;
  std::string method = "auto";
  std::string log;  // trust-region iteration log CSV
  SharpnessMinimumOptions minimum;
  ModelKind model = ModelKind::TwoLayer;
};

void run_optimum(const OptimumOptions& o) {
  // Ceres logs internal notes (line-search details) through glog; the command reports every outcome.
  FLAGS_minloglevel = google::GLOG_FATAL;
  OptimumRunOptions r{o.problem, o.out, o.minimum, o.method == "lbfgs", o.accept_stationary, o.log};
  r.minimum.use_closed_form = o.method == "auto";
  r.minimum.use_trust_region = o.method == "trust-region";
  const OptimumRun run = run_two_layer_optimum(r);
  if (o.json)
    std::cout << optimum_json(run.minimum, run.report).dump(2) << std::endl;
  else
    print_optimum(std::cout, run.minimum, run.report);
}

// --method lbfgs: the generic Riemannian L-BFGS of T on the model's M, an independent route to the
// certified optimum of `--method auto`.
void run_diagonal_lbfgs(const OptimumOptions& o, const LoadedDiagonalProblem& P) {
  FLAGS_minloglevel = google::GLOG_FATAL;
  const ParameterMinimization r = minimize_sharpness_on_manifold(P.model, P.theta, o.minimum.fallback);
  if (!r.summary.converged)
    throw ConvergenceError("Riemannian L-BFGS did not converge: " + r.summary.termination +
                           "; no output written (raise --max-iterations?)");
  write_diagonal_weights_csv(o.out, P.model->u(r.theta), P.model->v(r.theta));
  if (o.json)
    std::cout << optimum_json(r, *P.model, o.out).dump(2) << std::endl;
  else
    print_optimum(std::cout, r, *P.model, o.out);
}

void run_diagonal_optimum(const OptimumOptions& o) {
  const LoadedDiagonalProblem P = load_diagonal_problem(o.problem);
  if (o.method == "trust-region") {
    const TrustRegionMinimization t = minimize_sharpness_trust_region(P.model, P.theta, o.minimum.trust_region);
    if (!t.summary.converged)
      throw ConvergenceError("Riemannian trust-region Newton did not converge: " + t.summary.message + "; no output written");
    const DiagonalLinearOptimum c = diagonal_linear_optimum(*P.model, t.theta);
    write_diagonal_weights_csv(o.out, P.model->u(t.theta), P.model->v(t.theta));
    if (!o.log.empty()) write_file_atomic(o.log, trust_region_log_csv(t.summary));
    if (o.json) std::cout << diagonal_trust_region_json(t, *P.model, c, o.out).dump(2) << std::endl;
    else print_diagonal_trust_region(std::cout, t, *P.model, c, o.out);
    return;
  }
  if (o.method == "lbfgs") return run_diagonal_lbfgs(o, P);
  const DiagonalLinearOptimum r = diagonal_linear_optimum(*P.model, P.theta);
  write_diagonal_weights_csv(o.out, P.model->u(r.theta), P.model->v(r.theta));
  if (o.json)
    std::cout << optimum_json(r, P.model->description(), o.out).dump(2) << std::endl;
  else
    print_optimum(std::cout, r, P.model->description(), o.out);
}

CommandRegistration reg({"optimum", "Minimizer of the sharpness T on the zero-loss manifold (closed form or L-BFGS)",
                         [](CLI::App& app) {
                           auto o = std::make_shared<OptimumOptions>();
                           app.description(
                               "Write the minimizer of the sharpness T = (1/n) sum_i ||x_i||^2 sum_j a_j^2 phi'(r_ij)^2 "
                               "on the zero-loss manifold and print T*, ||grad_M T|| there and the rank-one structure.\n"
                               "rank X = n (independent rows): closed form (THEORY 5). Per sample, a_j phi''(r_ij) = c_i "
                               "with sum_j a_j phi((phi'')^{-1}(c_i / a_j)) = y_i (for constant a: r_ij = "
                               "phi^{-1}(y_i / (m a))); the components of theta_j orthogonal to span{x_i} are taken "
                               "from --weights.\n"
                               "rank X < n (e.g. n > d): no closed form; says so and minimizes T over M by Riemannian "
                               "L-BFGS (Ceres) from --weights (projected onto M first if needed).\n"
                               "Exit 4 if the needed inverse does not exist (tanh with |y_i/m| >= 1; a non-constant a "
                               "with an activation whose phi'' is not monotone) or if the point is a stationary point "
                               "but not a minimum (a certified Riemannian Hessian eigenvalue <= 0; see --accept-stationary; a "
                               "point whose type the spectrum does not decide is written, kind undetermined), "
                               "5 if L-BFGS does not converge; no output file then. Output: weights CSV (header "
                               "w1..wd,a); from --weights R.json everything runs in reduced coordinates and --out "
                               "NAME.json gets reduced weights.\n"
                               "--model diagonal-linear: the minimizer of T = (4/n) sum_k c_k (u_k^2 + v_k^2) on {X w = y}, w = u*u - v*v, i.e. the weighted basis pursuit min sum_k c_k |w_k| (THEORY 9): the Riemannian flow of T from --weights, then the exact point on the support it finds, certified optimal by a dual vector mu with |X^T mu|_k <= c_k (exit 5 if the certificate fails, e.g. from a start on a saddle); with --method lbfgs the generic Riemannian L-BFGS of T on M from --weights instead (no certificate; exit 5 if it does not converge). Output: u,v CSV.");
                           add_problem_options(app, o->problem);
                           add_model_option(app, o->model);
                           app.add_option("--out", o->out, "Output weights CSV (written atomically; header w1..wd,a); from reduced "
                                                          "weights --weights R.json a manifest NAME.json (reduced weights)")
                               ->required();
                           app.add_flag("--json", o->json, "Print one JSON object instead of the table");
                           app.add_option("--method", o->method,
                                          "auto: closed form when rank X = n, else Riemannian L-BFGS from --weights; "
                                          "lbfgs: always Riemannian L-BFGS from --weights (an independent route); "
                                          "trust-region: Riemannian trust-region Newton from --weights (both models; "
                                          "matrix-free, quadratic local convergence, prints its iteration log)")
                               ->check(checks::one_of({"auto", "lbfgs", "trust-region"}))
                               ->capture_default_str();
                           app.add_flag("--accept-stationary", o->accept_stationary,
                                        "Write the point even when it is a stationary point that is not a minimum "
                                        "(e.g. tanh, where THEORY 5's assumptions fail); otherwise that is exit 4");
                           app.add_option("--max-iterations", o->minimum.fallback.max_iterations,
                                          "L-BFGS and trust-region: iteration limit (>= 1)")
                               ->capture_default_str()
                               ->check(checks::positive_integer<int>());
                           app.add_option("--gradient-tolerance", o->minimum.fallback.gradient_tolerance,
                                          "L-BFGS fallback: converged when ||grad_M T|| <= this * max(1, T); > 0")
                               ->capture_default_str()
                               ->check(checks::positive_number());
                           app.add_option("--tr-gradient-tolerance", o->minimum.trust_region.gradient_tolerance,
                                          "trust-region: converged when ||grad_M T|| <= this (absolute); > 0")
                               ->capture_default_str()
                               ->check(checks::positive_number());
                           app.add_option("--log", o->log, "trust-region: also write the iteration log as CSV here");
                           return std::function<void()>([o]() {
                             if (!o->log.empty() && o->method != "trust-region")
                               throw InputError("--log writes the trust-region iteration log: it needs --method trust-region");
                             o->minimum.trust_region.max_iterations = o->minimum.fallback.max_iterations;
                             if (o->model == ModelKind::DiagonalLinear) return run_diagonal_optimum(*o);
                             run_optimum(*o);
                           });
                         },
                         41});

}  // namespace
}  // namespace zeroloss::cli
