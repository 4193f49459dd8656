// zeroloss convexity: is the sharpness T geodesically convex near its stationary points, how near,
// and where does convexity fail? (THEORY 3, 6 and 9; library: zeroloss/convexity.hpp on a ConvexityGeometry:
// the two-layer network, or --model diagonal-linear)

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/convexity.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/diagnostics/model_convexity_geometry.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/presentation/convexity_outputs.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/rng.hpp"
#include "zeroloss/runs/convexity_settings.hpp"

namespace zeroloss::cli {
namespace {

struct Options {
  ProblemOptions problem;
  ModelKind model = ModelKind::TwoLayer;
  ConvexitySettings settings;
  std::string anchor;
  std::vector<std::string> trajectory_weights;
  std::string out;
  std::vector<double> random_scale;
  bool no_search = false, no_anchor = false, no_figures = false, overwrite = false;
  double along_flow = 0;
  bool along_sgd = false;
  std::string trajectory_start;
  double lr = 0, label_noise = 0;
  std::string batch = "1";
  std::string noise = "gaussian";
  std::uint64_t steps = 0;
};

void check_same_second_layer(const Eigen::VectorXd& a, const Weights& w, const std::string& path) {
  if (w.theta.rows() != a.size()) {
    throw InputError(path + ": " + std::to_string(w.theta.rows()) + " neurons, but the network has m = " +
                     std::to_string(a.size()));
  }
  if (w.has_second_layer_column && w.a != a) {
    throw InputError(path + ": its column 'a' differs from the network's second layer; every weights file of one "
                           "run must describe the same network");
  }
}

using Progress = std::function<void(const std::string&)>;

// Runs the analysis into --out, writes the files and prints the report.
void run_and_report(const Options& o, const ConvexityOptions& opt, const std::string& problem,
                    const std::function<ConvexityResult(const Progress&)>& analyze, const ConvexityPointWriter& writer) {
  OutputDirectory out_dir(o.out, "convexity", OutputDirectoryOptions::fresh(o.overwrite));
  const ConvexityResult r = analyze([](const std::string& s) { std::cerr << "zeroloss convexity: " << s << "\n"; });
  const std::vector<std::string> files = write_convexity_outputs_with(o.out, r, opt, writer);
  out_dir.finish(RunStatus::Completed);
  const nlohmann::json summary = read_json(o.out + "/summary.json");
  std::cout << convexity_report_text(r, opt, problem, o.out, files, summary.at("figures"), summary.at("figure_notes"));
}

// --model diagonal-linear: points are u,v CSV files; no trajectories.
void run_diagonal(const Options& o) {
  if (o.along_flow != 0 || o.along_sgd) {
    throw InputError("--along-flow and --along-sgd are not available with --model diagonal-linear");
  }
  Dataset data = read_dataset_csv(o.problem.data);
  const int d = static_cast<int>(data.X.cols());
  auto model = std::make_shared<const DiagonalLinearNetwork>(std::move(data.X), std::move(data.y));
  const auto read = [&](const std::string& path) -> Eigen::MatrixXd {
    const DiagonalWeights w = read_diagonal_weights_csv(path, d);
    return model->parameters(w.u, w.v);
  };
  ConvexityOptions opt = o.settings.options();
  for (std::size_t k = 0; k < o.trajectory_weights.size(); ++k) {
    const std::string& path = o.trajectory_weights[k];
    opt.sampling.external.push_back({std::filesystem::path(path).stem().string(), static_cast<double>(k), read(path)});
  }
  const ModelConvexityGeometry geometry = diagonal_linear_convexity_geometry(model);
  const Eigen::MatrixXd point = o.problem.weights.empty() ? Eigen::MatrixXd(0, 0) : read(o.problem.weights);
  const std::optional<Eigen::MatrixXd> anchor =
      o.anchor.empty() ? std::nullopt : std::optional<Eigen::MatrixXd>(read(o.anchor));
  run_and_report(o, opt, model->description() + " (tangent space of dimension 2d - n = " +
                             std::to_string(geometry.tangent_dimension()) + ")",
                 [&](const Progress& progress) { return analyze_convexity(geometry, point, anchor, opt, progress); },
                 [&model](const std::string& path, const Eigen::MatrixXd& theta) {
                   write_diagonal_weights_csv(path, model->u(theta.col(0)), model->v(theta.col(0)));
                 });
}

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
  add_problem_options(app, o->problem, /*weights_required=*/false);
  app.add_option("--anchor", o->anchor,
                 "Weights CSV of a point on M: the centre of the geodesic-distance sampling scheme and a start of "
                 "the search (default: the minimizer of T, computed; see --no-anchor)")
      ->check(checks::existing_file("--anchor"));
  app.add_option("--trajectory-weights", o->trajectory_weights,
                 "Weights CSV files to add as sampled points (scheme 'trajectory:<file stem>', parameter = "
                 "position in this list); points off M are projected with Newton")
      ->check(checks::existing_file("--trajectory-weights"));
  app.add_option("--out", o->out, "Output directory (created if missing)")->required();
  add_overwrite_flag(app, o->overwrite);
  app.add_flag("--quick", o->settings.quick,
               "Seconds-scale preset: 4 directions, 100 random + 100 geodesic points, 6 rungs of 8 starts, "
               "at most 10000 evaluations per rung (default preset: 16 directions, 1000 + 1000 points, 12 rungs "
               "of 24 starts, at most 100000 evaluations per rung)");
  app.add_option("--directions", o->settings.directions, "Random geodesic directions at the point (K >= 0)")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--profile-length", o->settings.profile_length, "Half-length L > 0 of each profile: s in [-L, L] (default 1)")
      ->check(checks::positive_number());
  app.add_option("--profile-points", o->settings.profile_points, "Odd number (>= 3) of profile points on [-L, L]")
      ->check(checks::odd_integer_at_least(3));
  app.add_option("--random", o->settings.random_points, "Number (>= 0) of random starts projected onto M")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--random-scale", o->random_scale,
                 "LO,HI: RMS pre-activation of the random starts, log-uniform in [LO, HI], 0 < LO <= HI (default 0.1,3)")
      ->delimiter(',')
      ->expected(2)
      ->check(checks::positive_number());
  app.add_option("--geodesic", o->settings.geodesic_points, "Number (>= 0) of points on geodesics from --anchor")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--max-distance", o->settings.max_distance,
                 "Largest geodesic length (> 0) from the anchor; lengths are stratified on (0, max] (default 2)")
      ->check(checks::positive_number());
  app.add_option("--eps", o->settings.eps,
                 "Comma-separated ladder of gradient bounds for the search (default: automatic, around the "
                 "sampled threshold); each > 0")
      ->delimiter(',')
      ->check(checks::positive_number());
  app.add_option("--rungs", o->settings.rungs, "Size (>= 1) of the automatic eps ladder")->check(checks::positive_integer<int>());
  app.add_option("--starts", o->settings.starts, "Sampled starts per rung, >= 0 (plus the previous rung's point and the anchor)")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--stages", o->settings.stages, "Barrier stages per start, >= 1 (mu divided by 10 each stage)")
      ->check(checks::positive_integer<int>());
  app.add_option("--iterations", o->settings.iterations, "L-BFGS iterations per stage, >= 1")
      ->check(checks::positive_integer<int>());
  app.add_option("--max-evaluations", o->settings.max_evaluations, "Budget (>= 1) of point evaluations per rung")
      ->check(checks::positive_integer<long>());
  app.add_flag("--no-search", o->no_search, "Skip the adversarial search");
  app.add_option("--negative-tolerance", o->settings.negative_tolerance,
                 "lambda_min counts as negative below -tol * max_k |lambda_k|, tol >= 0 (default 1e-10)")
      ->check(checks::non_negative_number());
  app.add_option("--seed", o->settings.seed,
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
  app.add_option("--batch", o->batch, "SGD batch size B in [1, n] or 'full' (with --along-sgd)")
      ->capture_default_str()
      ->check(checks::batch_size());
  app.add_option("--steps", o->steps, "SGD steps K >= 1 (with --along-sgd)")
      ->check(checks::positive_integer<std::uint64_t>());
  app.add_option("--noise", o->noise, "SGD noise: gaussian or rademacher (with --along-sgd)")
      ->capture_default_str()
      ->check(checks::one_of({"gaussian", "rademacher"}));
  app.add_option("--trajectory-start", o->trajectory_start,
                 "Weights CSV where the flow and SGD start (may be off M; default: --weights, else the anchor)")
      ->check(checks::existing_file("--trajectory-start"));
  app.add_option("--trajectory-points", o->settings.trajectory_points,
                 "Logged states per trajectory, evenly spaced in flow time (flow) or steps (SGD), plus the start "
                 "(default 200; --quick 40); >= 1")
      ->check(checks::positive_integer<int>());
  app.add_option("--trajectory-projection", o->settings.trajectory_projection,
                 "Map onto M of the flow's start and of the SGD iterates: gradient-flow (Phi_GF of THEORY 7), newton, "
                 "nearest or ceres")
      ->capture_default_str()
      ->check(checks::one_of(projection_methods()));
  app.add_flag("--no-figures", o->no_figures, "Do not draw the SVG figures");
  add_model_option(app, o->model);
  return std::function<void()>([o, &app]() {
    const auto given = [&app](const std::string& name) { return app.count(name) > 0; };
    const bool trajectories = o->along_flow != 0 || o->along_sgd;
    if (!trajectories && (given("--trajectory-start") || given("--trajectory-points") || given("--trajectory-projection"))) {
      throw InputError("--trajectory-start/--trajectory-points/--trajectory-projection need --along-flow or --along-sgd");
    }
    if (o->problem.weights.empty() && o->anchor.empty() && !(trajectories && !o->trajectory_start.empty())) {
      throw InputError("convexity needs --weights (the point to analyze) or --anchor (a point on M), or both "
                       "(or --trajectory-start with --along-flow / --along-sgd)");
    }
    for (const char* opt : {"--lr", "--label-noise", "--batch", "--steps", "--noise"}) {
      if (!o->along_sgd && given(opt)) throw InputError(std::string(opt) + " only applies to the SGD run: add --along-sgd");
    }
    if (o->along_sgd && (!given("--lr") || !given("--label-noise") || !given("--steps"))) {
      throw InputError("--along-sgd needs --lr ETA, --label-noise S and --steps K");
    }
    if (!o->anchor.empty() && o->no_anchor) throw InputError("--no-anchor contradicts --anchor");
    ConvexitySettings& st = o->settings;
    if (given("--along-flow")) st.along_flow = o->along_flow;
    if (o->random_scale.size() == 2) st.random_scale = std::make_pair(o->random_scale[0], o->random_scale[1]);
    st.search = !o->no_search;
    st.default_anchor = !o->no_anchor;
    st.figures = !o->no_figures;
    if (o->model == ModelKind::DiagonalLinear) return run_diagonal(*o);
    const Dataset data = read_dataset_csv(o->problem.data);
    const int d = static_cast<int>(data.X.cols());
    std::optional<Weights> point, anchor, start;
    if (!o->problem.weights.empty()) point = read_weights_csv(o->problem.weights, d);
    if (!o->anchor.empty()) anchor = read_weights_csv(o->anchor, d);
    if (!o->trajectory_start.empty()) start = read_weights_csv(o->trajectory_start, d);
    const Eigen::VectorXd a = point ? point->a : (anchor ? anchor->a : start->a);
    if (anchor) check_same_second_layer(a, *anchor, o->anchor);
    if (start) check_same_second_layer(a, *start, o->trajectory_start);
    const TwoLayerModel model(data.X, data.y, a, Activation::from_name(o->problem.activation));
    // Every weights file evaluable in floating point, then the data diagnostics (problem_checks.hpp).
    if (point) require_evaluable(model, point->theta, problem_source(data, o->problem.data, o->problem.weights));
    if (anchor) require_evaluable(model, anchor->theta, problem_source(data, o->problem.data, o->anchor));
    if (start) require_evaluable(model, start->theta, problem_source(data, o->problem.data, o->trajectory_start));
    std::vector<ExternalPoint> external;
    for (std::size_t k = 0; k < o->trajectory_weights.size(); ++k) {
      const std::string& path = o->trajectory_weights[k];
      const Weights w = read_weights_csv(path, d);
      check_same_second_layer(a, w, path);
      require_evaluable(model, w.theta, problem_source(data, o->problem.data, path));
      external.push_back({std::filesystem::path(path).stem().string(), static_cast<double>(k), w.theta});
    }
    {
      const ProblemSource source = problem_source(data, o->problem.data, o->problem.weights);
      require_manifold(diagnose_data(model, source), source);
    }
    if (o->along_sgd) {
      check_sgd_time_scales(o->lr, o->steps, o->label_noise);
      SgdParameters sgd;
      sgd.learning_rate = o->lr;
      sgd.label_noise = o->label_noise;
      sgd.noise = parse_noise_kind(o->noise);
      sgd.batch_size = parse_batch(o->batch, model.n());
      st.sgd = sgd;
      st.sgd_steps = o->steps;
    }
    if (start) st.trajectory_start = start->theta;
    ConvexityOptions opt = st.options();
    opt.sampling.external = std::move(external);
    const int p = ReducedCoordinates(model.X()).rank();
    std::ostringstream problem;
    problem << model.activation().name() << ", n = " << model.n() << ", d = " << model.d() << ", m = " << model.m()
            << " (p = rank X = " << p << "; non-trivial tangent part of dimension " << model.m() * p - model.n() << ")";
    run_and_report(*o, opt, problem.str(), [&](const Progress& progress) {
      return analyze_convexity(model, point ? point->theta : Eigen::MatrixXd(0, 0),
                               anchor ? std::optional<Eigen::MatrixXd>(anchor->theta) : std::nullopt, opt, progress);
    }, [&a](const std::string& path, const Eigen::MatrixXd& theta) { write_weights_csv(path, theta, a); });
  });
}, 60});

}  // namespace
}  // namespace zeroloss::cli
