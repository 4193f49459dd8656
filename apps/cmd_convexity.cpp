// zeroloss convexity: is the sharpness T geodesically convex near its stationary points, how near,
// and where does convexity fail? (THEORY 3 and 6; library: zeroloss/convexity.hpp)

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/convexity.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/rng.hpp"
#include "zeroloss/svg_plot.hpp"

namespace zeroloss::cli {
namespace {

struct Options {
  ProblemOptions problem;
  std::string anchor;
  std::vector<std::string> trajectory_weights;
  bool quick = false;
  std::string out;
  // Overrides (negative / empty: keep the preset's value).
  int directions = -1, profile_points = -1, random_points = -1, geodesic_points = -1;
  int rungs = -1, starts = -1, stages = -1, iterations = -1;
  long max_evaluations = -1;
  double profile_length = -1, max_distance = -1, negative_tolerance = -1;
  std::vector<double> random_scale;
  std::vector<double> eps;
  bool no_search = false;
  std::uint64_t seed = 0;
  // Default anchor and trajectories.
  bool no_anchor = false;
  bool no_figures = false;
  bool overwrite = false;
  double along_flow = 0;
  bool along_sgd = false;
  std::string trajectory_start;
  int trajectory_points = -1;
  std::string trajectory_projection = "gradient-flow";
  double lr = 0, label_noise = 0;
  std::string batch = "1";
  std::string noise = "gaussian";
  std::uint64_t steps = 0;
};

std::string g(double x, int precision = 4) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, x);
  return buf;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

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

void print_report(const ConvexityResult& r, const TwoLayerModel& model, int p, const ConvexityOptions& o,
                  const std::string& dir, const std::vector<std::string>& files, const nlohmann::json& figures,
                  const nlohmann::json& figure_notes) {
  std::ostream& out = std::cout;
  out << "zeroloss convexity: " << r.activation << ", n = " << model.n() << ", d = " << model.d()
      << ", m = " << model.m() << " (p = rank X = " << p << "; non-trivial tangent part of dimension "
      << model.m() * p - model.n() << ")\n\n";
  out << "Anchor: ";
  if (r.anchor.source == AnchorSource::Given) {
    out << "--anchor (T = " << g(r.anchor.sharpness, 8) << ", ||grad_M T|| = " << g(r.anchor.grad_norm, 3) << ")\n\n";
  } else if (r.anchor.source == AnchorSource::Minimizer) {
    out << "none given; using the " << to_string(*r.anchor.kind) << " of T"
        << (r.anchor.kind == OptimumKind::StationaryPoint ? ", NOT a minimum, (T = " : " (T* = ") << g(r.anchor.sharpness, 8)
        << ", ||grad_M T|| = " << g(r.anchor.grad_norm, 3) << ")\n  " << r.anchor.description << "\n\n";
  } else {
    out << r.anchor.description << "\n\n";
  }
  if (r.point) {
    const PointConvexity& pc = *r.point;
    out << "At the given point: T = " << g(pc.sharpness, 8) << ", ||grad_M T|| = " << g(pc.grad_norm, 6)
        << ", residual " << g(pc.residual, 2) << "\n";
    out << "  spectrum of Hess_M T (" << pc.eigenvalues.size() << " eigenvalues):";
    const Eigen::Index shown = std::min<Eigen::Index>(pc.eigenvalues.size(), 8);
    for (Eigen::Index k = 0; k < shown; ++k) out << " " << g(pc.eigenvalues(k), 6);
    if (shown < pc.eigenvalues.size()) out << " ... " << g(pc.eigenvalues(pc.eigenvalues.size() - 1), 6);
    out << "\n  lambda_min = " << g(pc.lambda_min, 6)
        << (pc.lambda_min < -o.sampling.negative_tolerance * std::max(std::abs(pc.lambda_min), std::abs(pc.lambda_max))
                ? "  (negative curvature)"
                : "  (positive semi-definite)")
        << "\n";
    if (!pc.profiles.empty()) {
      out << "  T along unit-speed geodesics, s in [-" << g(o.point.profile_length) << ", "
          << g(o.point.profile_length) << "] (profiles.csv):\n";
      out << "    " << pad("dir", 5) << pad("kind", 17) << pad("dT/ds(0)", 12) << pad("d2T/ds2(0)", 12)
          << pad("finite diff", 12) << pad("min 2nd diff", 13) << "complete\n";
      for (const auto& pr : pc.profiles) {
        out << "    " << pad(std::to_string(pr.direction), 5) << pad(pr.kind, 17) << pad(g(pr.first_derivative), 12)
            << pad(g(pr.second_derivative, 6), 12) << pad(g(pr.second_derivative_fd, 6), 12)
            << pad(g(pr.min_second_difference), 13) << (pr.complete ? "yes" : "no: " + pr.failure) << "\n";
      }
      out << "  min over directions of d2T/ds2(0) = " << g(pc.min_second_derivative, 6) << " (>= lambda_min)\n";
    }
    out << "\n";
  }
  // Per-scheme table.
  struct Row {
    int points = 0, negative = 0, failures = 0;
    double gmin = INFINITY, gmax = 0, lmin = INFINITY;
  };
  std::vector<std::pair<std::string, Row>> rows;
  auto row = [&](const std::string& s) -> Row& {
    for (auto& [k, v] : rows)
      if (k == s) return v;
    rows.emplace_back(s, Row{});
    return rows.back().second;
  };
  for (const auto& pt : r.sampling.points) {
    Row& w = row(pt.scheme);
    ++w.points;
    w.negative += pt.negative ? 1 : 0;
    w.gmin = std::min(w.gmin, pt.grad_norm);
    w.gmax = std::max(w.gmax, pt.grad_norm);
    w.lmin = std::min(w.lmin, pt.lambda_min);
  }
  for (const auto& f : r.sampling.failures) ++row(f.scheme).failures;
  out << "Sampled points on M (" << r.sampling.points.size() << " points, " << r.sampling.failures.size()
      << " failed samples; points.csv, failures.csv):\n";
  out << "  " << pad("scheme", 20) << pad("points", 8) << pad("failed", 8) << pad("negative", 10)
      << pad("||grad_M T|| range", 22) << "min lambda_min\n";
  for (const auto& [name, w] : rows) {
    out << "  " << pad(name, 20) << pad(std::to_string(w.points), 8) << pad(std::to_string(w.failures), 8)
        << pad(std::to_string(w.negative), 10)
        << pad(w.points ? g(w.gmin, 3) + " .. " + g(w.gmax, 3) : "-", 22) << (w.points ? g(w.lmin, 5) : "-") << "\n";
  }
  if (!r.trajectories.empty()) {
    out << "\nAlong trajectories (trajectory_convexity.csv; tau = flow time; points on M, SGD iterates projected):\n";
    out << "  " << pad("source", 8) << pad("states", 8) << pad("failed", 8) << pad("negative", 10) << pad("tau reached", 13)
        << pad("lambda_min first -> last", 27) << pad("||grad_M T|| first -> last", 28) << "convexity\n";
    for (const auto& tr : r.trajectories) {
      std::string lam = "-", grad = "-";
      if (!tr.points.empty()) {
        lam = g(tr.points.front().lambda_min, 4) + " -> " + g(tr.points.back().lambda_min, 4);
        grad = g(tr.points.front().grad_norm, 3) + " -> " + g(tr.points.back().grad_norm, 3);
      }
      std::string onset;
      if (tr.points.empty()) {
        onset = "no states";
      } else if (tr.onset.convex_throughout) {
        onset = "convex at every logged state";
      } else if (tr.onset.tau) {
        onset = "convex from tau = " + g(*tr.onset.tau, 4) + " on (last negative at " + g(*tr.onset.last_negative_tau, 4) +
                "; ||grad_M T|| = " + g(*tr.onset.grad_norm_at_onset, 4) + " there)";
      } else {
        onset = "negative curvature at the last state (tau = " + g(tr.points.back().tau, 4) + ")";
      }
      out << "  " << pad(to_string(tr.source), 8) << pad(std::to_string(tr.points.size()), 8)
          << pad(std::to_string(tr.failures.size()), 8) << pad(std::to_string(tr.onset.negative_points), 10)
          << pad(g(tr.tau_end, 4), 13) << pad(lam, 27) << pad(grad, 28) << onset << "\n";
    }
    for (const auto& tr : r.trajectories) {
      out << "  " << to_string(tr.source) << ": " << tr.start_note << "; " << tr.termination << " (" << g(tr.seconds, 3) << " s)\n";
      if (tr.refined_low) {
        out << "    onset refined by integrating the flow again across the bracket: convex from tau in ("
            << g(*tr.refined_low, 6) << ", " << g(*tr.refined_high, 6) << "]\n";
      } else if (!tr.refine_note.empty()) {
        out << "    " << tr.refine_note << "\n";
      }
      for (std::size_t k = 0; k < tr.failures.size() && k < 3; ++k) {
        out << "    failed at step " << tr.failures[k].step << ": " << tr.failures[k].reason << "\n";
      }
    }
  }
  const ConvexityThreshold& t = r.threshold;
  out << "\nThreshold (sampled): ";
  if (t.negative_found) {
    out << "no negative curvature at any of the " << t.points_below << " sampled points with ||grad_M T|| < "
        << g(t.threshold, 6) << " (the largest of them has " << g(t.largest_grad_below, 6) << ");\n  "
        << t.counterexamples.size() << " counterexamples from ||grad_M T|| = " << g(t.threshold, 6)
        << " up. Smallest gradient norms:\n";
    out << "    " << pad("point", 24) << pad("||grad_M T||", 14) << pad("lambda_min", 14) << "T\n";
    for (std::size_t k = 0; k < t.counterexamples.size() && k < 5; ++k) {
      const SampledPoint& pt = r.sampling.points[t.counterexamples[k]];
      out << "    " << pad(pt.scheme + " #" + std::to_string(pt.index), 24) << pad(g(pt.grad_norm, 6), 14)
          << pad(g(pt.lambda_min, 6), 14) << g(pt.sharpness, 6) << "\n";
    }
  } else if (r.sampling.points.empty()) {
    out << "none: no point of M was sampled (every sample failed; see failures.csv)\n";
  } else {
    out << "no negative curvature at any of the " << r.sampling.points.size()
        << " sampled points (largest ||grad_M T|| sampled: " << g(t.largest_grad_sampled, 6) << ")\n";
  }
  if (!r.search.empty()) {
    out << "\nAdversarial search: min lambda_min(Hess_M T) subject to ||grad_M T|| <= eps (search.csv):\n";
    out << "  " << pad("eps", 12) << pad("lambda_min", 14) << pad("||grad_M T||", 14) << pad("T", 12)
        << pad("found from", 24) << "evaluations\n";
    for (const auto& s : r.search) {
      if (!s.feasible_start) {
        out << "  " << pad(g(s.eps, 5), 12) << "no feasible start (no point with ||grad_M T|| < eps)\n";
        continue;
      }
      out << "  " << pad(g(s.eps, 5), 12) << pad(g(s.lambda_min, 6) + (s.negative ? " *" : ""), 14)
          << pad(g(s.grad_norm, 5), 14) << pad(g(s.sharpness, 6), 12) << pad(s.found_from, 24) << s.evaluations
          << "\n";
    }
    out << "  (* negative curvature)  ";
    if (r.search_convex_up_to > 0) {
      out << "no negative curvature found up to eps = " << g(r.search_convex_up_to, 5);
    } else {
      out << "negative curvature found at every rung";
    }
    if (std::isfinite(r.search_negative_from)) out << "; found from eps = " << g(r.search_negative_from, 5);
    out << "\n";
  }
  out << "\nAssumptions (phi' > 0, phi''' > 0) on the " << "pre-activations visited: " << r.assumptions.describe(r.activation)
      << (r.assumptions.holds() ? "" : "\n  (outside THEORY's assumptions: the convexity guarantee does not apply; the "
                                       "numbers above are still exact for this activation)")
      << "\n";
  out << "\nTime " << g(r.seconds, 3) << " s. Wrote in " << dir << ":";
  bool search_points = false;
  for (const auto& f : files) {
    if (f.find("search_points") != std::string::npos) {
      search_points = true;
      continue;
    }
    const std::string ext = std::filesystem::path(f).extension().string();
    if (ext == ".svg" || ext == ".gp") continue;
    out << " " << std::filesystem::path(f).filename().string();
  }
  out << (search_points ? " search_points/" : "") << "\n";
  if (!figures.empty()) {
    out << "Figures:";
    for (const auto& f : figures) out << " " << f.get<std::string>();
    out << "\n";
  }
  if (!figure_notes.empty() && gnuplot_program().empty()) {
    out << "Note: gnuplot not found (install it, e.g. apt-get install gnuplot-nox; or set ZEROLOSS_GNUPLOT): no "
           "SVG figures drawn. Their gnuplot scripts are in "
        << dir << "; draw them later with: cd " << dir << " && for f in *.gp; do gnuplot \"$f\"; done\n";
  } else {
    for (const auto& n : figure_notes) out << "Note: " << n.get<std::string>() << "\n";
  }
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
  app.add_flag("--quick", o->quick,
               "Seconds-scale preset: 4 directions, 100 random + 100 geodesic points, 6 rungs of 8 starts, "
               "at most 10000 evaluations per rung (default preset: 16 directions, 1000 + 1000 points, 12 rungs "
               "of 24 starts, at most 100000 evaluations per rung)");
  app.add_option("--directions", o->directions, "Random geodesic directions at the point (K >= 0)")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--profile-length", o->profile_length, "Half-length L > 0 of each profile: s in [-L, L] (default 1)")
      ->check(checks::positive_number());
  app.add_option("--profile-points", o->profile_points, "Odd number (>= 3) of profile points on [-L, L]")
      ->check(checks::odd_integer_at_least(3));
  app.add_option("--random", o->random_points, "Number (>= 0) of random starts projected onto M")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--random-scale", o->random_scale,
                 "LO,HI: RMS pre-activation of the random starts, log-uniform in [LO, HI], 0 < LO <= HI (default 0.1,3)")
      ->delimiter(',')
      ->expected(2)
      ->check(checks::positive_number());
  app.add_option("--geodesic", o->geodesic_points, "Number (>= 0) of points on geodesics from --anchor")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--max-distance", o->max_distance,
                 "Largest geodesic length (> 0) from the anchor; lengths are stratified on (0, max] (default 2)")
      ->check(checks::positive_number());
  app.add_option("--eps", o->eps,
                 "Comma-separated ladder of gradient bounds for the search (default: automatic, around the "
                 "sampled threshold); each > 0")
      ->delimiter(',')
      ->check(checks::positive_number());
  app.add_option("--rungs", o->rungs, "Size (>= 1) of the automatic eps ladder")->check(checks::positive_integer<int>());
  app.add_option("--starts", o->starts, "Sampled starts per rung, >= 0 (plus the previous rung's point and the anchor)")
      ->check(checks::non_negative_integer<int>());
  app.add_option("--stages", o->stages, "Barrier stages per start, >= 1 (mu divided by 10 each stage)")
      ->check(checks::positive_integer<int>());
  app.add_option("--iterations", o->iterations, "L-BFGS iterations per stage, >= 1")
      ->check(checks::positive_integer<int>());
  app.add_option("--max-evaluations", o->max_evaluations, "Budget (>= 1) of point evaluations per rung")
      ->check(checks::positive_integer<long>());
  app.add_flag("--no-search", o->no_search, "Skip the adversarial search");
  app.add_option("--negative-tolerance", o->negative_tolerance,
                 "lambda_min counts as negative below -tol * max_k |lambda_k|, tol >= 0 (default 1e-10)")
      ->check(checks::non_negative_number());
  app.add_option("--seed", o->seed,
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
  app.add_option("--trajectory-points", o->trajectory_points,
                 "Logged states per trajectory, evenly spaced in flow time (flow) or steps (SGD), plus the start "
                 "(default 200; --quick 40); >= 1")
      ->check(checks::positive_integer<int>());
  app.add_option("--trajectory-projection", o->trajectory_projection,
                 "Map onto M of the flow's start and of the SGD iterates: gradient-flow (Phi_GF of THEORY 7), newton, "
                 "nearest or ceres")
      ->capture_default_str()
      ->check(checks::one_of(projection_methods()));
  app.add_flag("--no-figures", o->no_figures, "Do not draw the SVG figures");
  return std::function<void()>([o, &app]() {
    const auto app_count = [&app](const std::string& name) { return app.count(name); };
    const bool trajectories = o->along_flow != 0 || o->along_sgd;
    if (!trajectories && (app_count("--trajectory-start") > 0 || app_count("--trajectory-points") > 0 ||
                          app_count("--trajectory-projection") > 0)) {
      throw InputError("--trajectory-start/--trajectory-points/--trajectory-projection need --along-flow or --along-sgd");
    }
    if (o->problem.weights.empty() && o->anchor.empty() && !(trajectories && !o->trajectory_start.empty())) {
      throw InputError("convexity needs --weights (the point to analyze) or --anchor (a point on M), or both "
                       "(or --trajectory-start with --along-flow / --along-sgd)");
    }
    if (o->along_flow < 0 || !std::isfinite(o->along_flow)) {
      throw InputError("--along-flow: the flow time must be a finite number > 0");
    }
    for (const char* opt : {"--lr", "--label-noise", "--batch", "--steps", "--noise"}) {
      if (!o->along_sgd && app_count(opt) > 0) {
        throw InputError(std::string(opt) + " only applies to the SGD run: add --along-sgd");
      }
    }
    if (o->along_sgd) {
      if (app_count("--lr") == 0 || app_count("--label-noise") == 0 || app_count("--steps") == 0) {
        throw InputError("--along-sgd needs --lr ETA, --label-noise S and --steps K");
      }
      if (!(o->lr > 0) || !std::isfinite(o->lr)) throw InputError("--lr must be a finite number > 0");
      if (!(o->label_noise > 0) || !std::isfinite(o->label_noise)) {
        throw InputError("--label-noise must be > 0 (the flow time s^2 eta^2 k / (4B) would not advance)");
      }
      if (o->steps < 1) throw InputError("--steps must be at least 1");
      check_sgd_time_scales(o->lr, o->steps, o->label_noise);
    }
    if (o->anchor.empty() == false && o->no_anchor) throw InputError("--no-anchor contradicts --anchor");
    if (o->random_scale.size() == 2 && !(o->random_scale[0] <= o->random_scale[1])) {
      throw InputError("--random-scale " + format_double(o->random_scale[0]) + "," + format_double(o->random_scale[1]) +
                       ": expected LO,HI with LO <= HI");
    }
    const Activation phi = Activation::from_name(o->problem.activation);
    const Dataset data = read_dataset_csv(o->problem.data);
    const int d = static_cast<int>(data.X.cols());
    std::optional<Weights> point, anchor, start;
    if (!o->problem.weights.empty()) point = read_weights_csv(o->problem.weights, d);
    if (!o->anchor.empty()) anchor = read_weights_csv(o->anchor, d);
    if (!o->trajectory_start.empty()) start = read_weights_csv(o->trajectory_start, d);
    const Eigen::VectorXd a = point ? point->a : (anchor ? anchor->a : start->a);
    if (anchor) check_same_second_layer(a, *anchor, o->anchor);
    if (start) check_same_second_layer(a, *start, o->trajectory_start);
    const TwoLayerModel model(data.X, data.y, a, phi);
    // Every weights file evaluable in floating point, then the data diagnostics (problem_checks.hpp).
    if (point) require_evaluable(model, point->theta, problem_source(data, o->problem.data, o->problem.weights));
    if (anchor) require_evaluable(model, anchor->theta, problem_source(data, o->problem.data, o->anchor));
    if (start) require_evaluable(model, start->theta, problem_source(data, o->problem.data, o->trajectory_start));
    for (const std::string& path : o->trajectory_weights) {
      const Weights w = read_weights_csv(path, d);
      check_same_second_layer(a, w, path);
      require_evaluable(model, w.theta, problem_source(data, o->problem.data, path));
    }
    {
      const ProblemSource source = problem_source(data, o->problem.data, o->problem.weights);
      require_manifold(diagnose_data(model, source), source);
    }

    ConvexityOptions opt = o->quick ? ConvexityOptions::quick() : ConvexityOptions::full();
    if (o->directions >= 0) opt.point.directions = o->directions;
    if (o->profile_length > 0) opt.point.profile_length = o->profile_length;
    if (o->profile_points >= 0) opt.point.profile_points = o->profile_points;
    if (o->random_points >= 0) opt.sampling.random_points = o->random_points;
    if (o->random_scale.size() == 2) {
      opt.sampling.random_scale_min = o->random_scale[0];
      opt.sampling.random_scale_max = o->random_scale[1];
    }
    if (o->geodesic_points >= 0) opt.sampling.geodesic_points = o->geodesic_points;
    if (o->max_distance > 0) opt.sampling.max_distance = o->max_distance;
    if (o->negative_tolerance >= 0) {
      opt.sampling.negative_tolerance = o->negative_tolerance;
      opt.search.negative_tolerance = o->negative_tolerance;
    }
    opt.search.eps = o->eps;
    if (o->rungs >= 0) opt.search.rungs = o->rungs;
    if (o->starts >= 0) opt.search.starts = o->starts;
    if (o->stages >= 0) opt.search.barrier_stages = o->stages;
    if (o->iterations >= 0) opt.search.iterations_per_stage = o->iterations;
    if (o->max_evaluations >= 0) opt.search.max_evaluations_per_rung = o->max_evaluations;
    opt.run_search = !o->no_search;
    opt.point.seed = o->seed;
    opt.sampling.seed = o->seed + 1;
    opt.default_anchor = !o->no_anchor;
    opt.figures = !o->no_figures;
    const int tpoints = o->trajectory_points >= 0 ? o->trajectory_points : (o->quick ? 40 : 200);
    if (trajectories && tpoints < 1) throw InputError("--trajectory-points must be at least 1");
    if (start) opt.trajectory_start = start->theta;
    if (o->along_flow > 0) {
      FlowConvexityOptions f;
      f.flow_time = o->along_flow;
      f.points = tpoints;
      f.negative_tolerance = opt.sampling.negative_tolerance;
      f.start_projection = o->trajectory_projection;
      opt.along_flow = f;
    }
    if (o->along_sgd) {
      SgdConvexityOptions g;
      g.sgd.learning_rate = o->lr;
      g.sgd.label_noise = o->label_noise;
      g.sgd.noise = parse_noise_kind(o->noise);
      g.sgd.batch_size = parse_batch(o->batch, model.n());
      g.sgd.seed = o->seed;
      g.steps = o->steps;
      g.points = tpoints;
      g.negative_tolerance = opt.sampling.negative_tolerance;
      g.projection = o->trajectory_projection;
      opt.along_sgd = g;
    }
    for (std::size_t k = 0; k < o->trajectory_weights.size(); ++k) {
      const std::string& path = o->trajectory_weights[k];
      const Weights w = read_weights_csv(path, d);
      check_same_second_layer(a, w, path);
      opt.sampling.external.push_back({std::filesystem::path(path).stem().string(), static_cast<double>(k), w.theta});
    }
    OutputDirectory out_dir(o->out, "convexity", OutputDirectoryOptions::fresh(o->overwrite));
    const auto progress = [](const std::string& s) { std::cerr << "zeroloss convexity: " << s << "\n"; };
    const Eigen::MatrixXd theta = point ? point->theta : Eigen::MatrixXd(0, 0);
    const std::optional<Eigen::MatrixXd> anchor_theta =
        anchor ? std::optional<Eigen::MatrixXd>(anchor->theta) : std::nullopt;
    const ConvexityResult r = analyze_convexity(model, theta, anchor_theta, opt, progress);
    const std::vector<std::string> files = write_convexity_outputs(o->out, r, opt, a);
    out_dir.finish(RunStatus::Completed);
    const nlohmann::json summary = read_json(o->out + "/summary.json");
    print_report(r, model, ReducedCoordinates(model.X()).rank(), opt, o->out, files, summary.at("figures"),
                 summary.at("figure_notes"));
  });
}, 60});

}  // namespace
}  // namespace zeroloss::cli
