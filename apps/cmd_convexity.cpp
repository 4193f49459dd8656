// zeroloss convexity: is the sharpness T geodesically convex near its stationary points, how near,
// and where does convexity fail? (THEORY 3, 6 and 9; the run is the library's, zeroloss/runs/convexity_run.hpp,
// on the two-layer network or --model diagonal-linear; this file parses and prints)

#include <iostream>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/convexity_outputs.hpp"
#include "zeroloss/random/rng.hpp"
#include "zeroloss/runs/convexity_run.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"

namespace zeroloss::cli {
namespace {

// The run's options, and what becomes its settings once the combination is checked.
struct Options {
  ConvexityRunOptions run;
  std::vector<double> random_scale;
  bool no_search = false, no_anchor = false, no_figures = false;
  double along_flow = 0;
  bool along_sgd = false;
  double lr = 0, label_noise = 0;
  std::string noise = "gaussian";
  std::uint64_t steps = 0;
};

CommandRegistration reg({"convexity",
                         "Geodesic convexity of the sharpness T on M: spectrum and geodesic profiles at a point, "
                         "(||grad_M T||, lambda_min) over sampled points, adversarial search for negative curvature",
                         [](CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.footer(
      "Measures where T (the trace of the loss Hessian) is geodesically convex on the zero-loss manifold M.\n"
      "1. At --weights (on M: max |f_i - y_i| <= 1e-8 max(1, |y|)): the eigenvalues of the Riemannian Hessian\n"
      "   of T on the non-trivial tangent part (the numbers of `zeroloss inspect`), and T along unit-speed\n"
      "   geodesics (the eigenvector of lambda_min plus --directions random ones; s = arc length in weight units).\n"
      "2. Over M: points from random starts projected onto M (Newton), from geodesics of length up to\n"
      "   --max-distance out of the anchor, from --trajectory-weights files, and from the flow and SGD runs\n"
      "   (--along-flow, --along-sgd), each with ||grad_M T|| and lambda_min. The threshold is the smallest\n"
      "   gradient norm at which negative curvature (lambda_min < -tol * max|lambda|) was found.\n"
      "   The anchor is --anchor, or else the minimizer of T (THEORY 5 closed form; Riemannian L-BFGS when\n"
      "   rank X < n); when it cannot be found the output says why and the geodesic scheme is skipped.\n"
      "3. For each eps of a ladder: minimize lambda_min subject to ||grad_M T|| <= eps over M (log-barrier,\n"
      "   Ceres L-BFGS in retraction charts), started from the anchor, the previous rung and sampled points.\n"
      "4. Along trajectories: lambda_min and ||grad_M T|| over flow time tau for the flow and for SGD (iterates\n"
      "   projected onto M), and the flow time from which lambda_min stays non-negative (trajectory_convexity.csv).\n"
      "Outputs in --out: points.csv, search.csv, profiles.csv, directions.csv, spectrum.csv, failures.csv,\n"
      "trajectory_convexity.csv, summary.json, search_points/eps_<k>.csv (weights of each rung's point), and\n"
      "the figures scatter.svg, trajectory_lambda_min.svg, trajectory_grad_norm.svg, search.svg (gnuplot; each\n"
      "with its .gp script; without gnuplot only the scripts). See docs/commands/convexity.md.\n"
      "Presets: the default is the thorough setting (a minute or two at n=3, d=3, m=10); --quick takes seconds.");
  add_problem_options(app, o->run.problem, /*weights_required=*/false);
  app.add_option("--anchor", o->run.anchor,
                 "Weights CSV of a point on M: the centre of the geodesic-distance sampling scheme and a start of "
                 "the search (default: the minimizer of T, computed; see --no-anchor)")
      ->check(checks::existing_file("--anchor"));
  app.add_option("--trajectory-weights", o->run.trajectory_weights,
                 "Weights CSV files to add as sampled points (scheme 'trajectory:<file stem>', parameter = "
                 "position in this list); points off M are projected with Newton")
      ->check(checks::existing_file("--trajectory-weights"));
  app.add_option("--out", o->run.out, "Output directory (created if missing)")->required();
  add_overwrite_flag(app, o->run.overwrite);
  app.add_flag("--quick", o->run.settings.quick,
               "Seconds-scale preset: 4 directions, 100 random + 100 geodesic points, 6 rungs of 8 starts, "
               "at most 10000 evaluations per rung (default preset: 16 directions, 1000 + 1000 points, 12 rungs "
               "of 24 starts, at most 100000 evaluations per rung). Above tangent dimension m p - n = 1500 the "
               "spectrum runs by Lanczos and both presets shrink (docs/convexity.md, 'At size'): quick 2 random + 16 "
               "geodesic points out to length 1, 2 rungs of 1 start, 150 evaluations per rung");
  app.add_option("--directions", o->run.settings.directions, "Random geodesic directions at the point (K >= 0)")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--profile-length", o->run.settings.profile_length, "Half-length L > 0 of each profile: s in [-L, L] (default 1)")
      ->check(checks::positive_number());
  app.add_option("--profile-points", o->run.settings.profile_points, "Odd number (>= 3) of profile points on [-L, L]")
      ->check(checks::odd_integer_at_least(3));
  app.add_option("--random", o->run.settings.random_points, "Number (>= 0) of random starts projected onto M")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--random-scale", o->random_scale,
                 "LO,HI: RMS pre-activation of the random starts, log-uniform in [LO, HI], 0 < LO <= HI (default 0.1,3)")
      ->delimiter(',')
      ->expected(2)
      ->check(checks::positive_number());
  app.add_option("--geodesic", o->run.settings.geodesic_points, "Number (>= 0) of points on geodesics from --anchor")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--max-distance", o->run.settings.max_distance,
                 "Largest geodesic length (> 0) from the anchor; lengths are stratified on (0, max] (default 2)")
      ->check(checks::positive_number());
  app.add_option("--eps", o->run.settings.eps,
                 "Comma-separated ladder of gradient bounds for the search (default: automatic, around the "
                 "sampled threshold); each > 0")
      ->delimiter(',')
      ->check(checks::positive_number());
  app.add_option("--rungs", o->run.settings.rungs, "Size (>= 1) of the automatic eps ladder")->check(checks::positive_integer<int>());
  app.add_option("--starts", o->run.settings.starts, "Sampled starts per rung, >= 0 (plus the previous rung's point and the anchor)")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--stages", o->run.settings.stages, "Barrier stages per start, >= 1 (mu divided by 10 each stage)")
      ->check(checks::positive_integer<int>());
  app.add_option("--iterations", o->run.settings.iterations, "L-BFGS iterations per stage, >= 1")
      ->check(checks::positive_integer<int>());
  app.add_option("--max-evaluations", o->run.settings.max_evaluations, "Budget (>= 1) of point evaluations per rung")
      ->check(checks::positive_integer<long>());
  app.add_flag("--no-search", o->no_search, "Skip the adversarial search");
  app.add_option("--negative-tolerance", o->run.settings.negative_tolerance,
                 "lambda_min counts as negative below -tol * max_k |lambda_k|, tol >= 0 (default 1e-10)")
      ->check(checks::non_negative_number());
  app.add_option("--seed", o->run.settings.seed,
                 "Seed (integer >= 0) of every random choice, including the SGD run (same seed, same numbers)")
      ->capture_default_str()
      ->check(checks::non_negative_integer<std::uint64_t>());
  app.add_flag("--no-anchor", o->no_anchor,
               "Without --anchor, do not compute the minimizer of T as the anchor (no geodesic scheme)");
  app.add_option("--along-flow", o->along_flow,
                 "TAU > 0: integrate the limiting flow dTheta/dtau = -grad_M T (THEORY 7, C = 1) to flow time TAU "
                 "from the projection of the trajectory start onto M, recording lambda_min(Hess_M T) and ||grad_M T|| "
                 "(trajectory_convexity.csv, source 'flow')")
      ->check(checks::positive_number());
  app.add_flag("--along-sgd", o->along_sgd,
               "Run label-noise SGD (--lr, --label-noise, --batch, --steps, --noise, --seed) from the trajectory "
               "start; each logged iterate is projected onto M (--trajectory-projection) and measured there, at flow "
               "time tau = s^2 eta^2 k / (4B) (source 'sgd')");
  app.add_option("--lr", o->lr, "SGD learning rate eta > 0 (with --along-sgd)")->check(checks::positive_number());
  app.add_option("--label-noise", o->label_noise, "SGD label-noise standard deviation s > 0 (with --along-sgd)")
      ->check(checks::positive_number());
  app.add_option("--batch", o->run.sgd_batch, "SGD batch size B in [1, n] or 'full' (with --along-sgd)")
      ->capture_default_str()
      ->check(checks::batch_size());
  app.add_option("--steps", o->steps, "SGD steps K >= 1 (with --along-sgd)")
      ->check(checks::positive_integer<std::uint64_t>());
  app.add_option("--noise", o->noise, "SGD noise: gaussian or rademacher (with --along-sgd)")
      ->capture_default_str()
      ->check(checks::one_of({"gaussian", "rademacher"}));
  app.add_option("--trajectory-start", o->run.trajectory_start,
                 "Weights CSV where the flow and SGD start (may be off M; default: --weights, else the anchor)")
      ->check(checks::existing_file("--trajectory-start"));
  app.add_option("--trajectory-points", o->run.settings.trajectory_points,
                 "Logged states per trajectory, evenly spaced in flow time (flow) or steps (SGD), plus the start "
                 "(default 200; --quick 40); >= 1")
      ->check(checks::positive_integer<int>());
  app.add_option_function<std::string>(
         "--trajectory-projection",
         [o](const std::string& name) { o->run.settings.trajectory_projection = parse_projection_method(name); },
         "Map onto M of the flow's start and of the SGD iterates: gradient-flow (Phi_GF of THEORY 7, the default), "
         "newton, nearest or ceres")
      ->check(checks::one_of(projection_method_names()));
  app.add_flag("--no-figures", o->no_figures, "Do not draw the SVG figures");
  add_model_option(app, o->run.model);
  return std::function<void()>([o, &app]() {
    const auto given = [&app](const std::string& name) { return app.count(name) > 0; };
    const bool trajectories = o->along_flow != 0 || o->along_sgd;
    if (!trajectories && (given("--trajectory-start") || given("--trajectory-points") || given("--trajectory-projection"))) {
      throw InputError("--trajectory-start/--trajectory-points/--trajectory-projection need --along-flow or --along-sgd");
    }
    if (o->run.problem.weights.empty() && o->run.anchor.empty() && !(trajectories && !o->run.trajectory_start.empty())) {
      throw InputError("convexity needs --weights (the point to analyze) or --anchor (a point on M), or both "
                       "(or --trajectory-start with --along-flow / --along-sgd)");
    }
    for (const char* opt : {"--lr", "--label-noise", "--batch", "--steps", "--noise"}) {
      if (!o->along_sgd && given(opt)) throw InputError(std::string(opt) + " only applies to the SGD run: add --along-sgd");
    }
    if (o->along_sgd && (!given("--lr") || !given("--label-noise") || !given("--steps"))) {
      throw InputError("--along-sgd needs --lr ETA, --label-noise S and --steps K");
    }
    if (!o->run.anchor.empty() && o->no_anchor) throw InputError("--no-anchor contradicts --anchor");
    ConvexityRunOptions& r = o->run;
    if (given("--along-flow")) r.settings.along_flow = o->along_flow;
    if (o->random_scale.size() == 2) r.settings.random_scale = std::make_pair(o->random_scale[0], o->random_scale[1]);
    r.settings.search = !o->no_search;
    r.settings.default_anchor = !o->no_anchor;
    r.settings.figures = !o->no_figures;
    if (o->along_sgd) {
      r.settings.sgd = SgdParameters{};
      r.settings.sgd->learning_rate = o->lr;
      r.settings.sgd->label_noise = o->label_noise;
      r.settings.sgd->noise = parse_noise_kind(o->noise);
      r.settings.sgd_steps = o->steps;
    }
    r.interrupt = &interrupt_flag();
    ConvexityRunSummary S;
    run_interruptible("convexity", [&] {
      S = run_convexity(r, [](const std::string& s) { std::cerr << "zeroloss convexity: " << s << "\n"; });
    });
    std::cout << convexity_report_text(S.result, S.options, S.problem, r.out, S.files, S.figures, S.figure_notes);
  });
}, 60});

}  // namespace
}  // namespace zeroloss::cli
