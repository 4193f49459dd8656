// The text `zeroloss convexity` prints (convexity_report_text in presentation/convexity_outputs.hpp).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <utility>

#include "zeroloss/presentation/convexity_outputs.hpp"

namespace zeroloss {
namespace {

std::string g(double x, int precision = 4) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, x);
  return buf;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

}  // namespace

std::string convexity_report_text(const ConvexityResult& r, const ConvexityOptions& o, const std::string& problem,
                                  const std::string& dir, const std::vector<std::string>& files,
                                  const std::vector<std::string>& figures,
                                  const std::vector<std::string>& figure_notes) {
  std::ostringstream out;
  out << "zeroloss convexity: " << problem << "\n\n";
  out << "Anchor: ";
  if (r.anchor.source == AnchorSource::Given) {
    out << "--anchor (T = " << g(r.anchor.sharpness, 8) << ", ||grad_M T|| = " << g(r.anchor.grad_norm, 3) << ")\n\n";
  } else if (r.anchor.source == AnchorSource::Minimizer) {
    out << "none given; using the " << to_string(*r.anchor.kind) << " of T"
        << (r.anchor.kind == OptimumKind::StationaryPoint  ? ", NOT a minimum, (T = "
            : r.anchor.kind == OptimumKind::Undetermined ? ", not shown to be a minimum, (T = "
                                                         : " (T* = ") << g(r.anchor.sharpness, 8)
        << ", ||grad_M T|| = " << g(r.anchor.grad_norm, 3) << ")\n  " << r.anchor.description << "\n\n";
  } else {
    out << r.anchor.description << "\n\n";
  }
  if (r.point) {
    const PointConvexity& pc = *r.point;
    out << "At the given point: T = " << g(pc.sharpness, 8) << ", ||grad_M T|| = " << g(pc.grad_norm, 6)
        << ", residual " << g(pc.residual, 2) << "\n";
    if (pc.spectrum == SpectrumMethod::Dense) {
      out << "  spectrum of Hess_M T (" << pc.eigenvalues.size() << " eigenvalues):";
      const Eigen::Index shown = std::min<Eigen::Index>(pc.eigenvalues.size(), 8);
      for (Eigen::Index k = 0; k < shown; ++k) out << " " << g(pc.eigenvalues(k), 6);
      if (shown < pc.eigenvalues.size()) out << " ... " << g(pc.eigenvalues(pc.eigenvalues.size() - 1), 6);
    } else {
      out << "  extremes of Hess_M T by Lanczos (" << pc.hessian_products << " Hessian-vector products): lambda_max = "
          << g(pc.lambda_max, 6) << " (residual " << g(pc.lambda_max_residual, 2) << "), lambda_min residual "
          << g(pc.lambda_min_residual, 2);
    }
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
        onset = "convex from tau = " + g(*tr.onset.tau, 4) + " on (||grad_M T|| = " + g(*tr.onset.grad_norm_at_onset, 4) +
                " there); last negative at tau = " + g(*tr.onset.last_negative_tau, 4) + " (||grad_M T|| = " +
                g(*tr.onset.grad_norm_at_last_negative, 4) + " there)";
      } else {
        onset = "negative curvature at the last state (tau = " + g(tr.points.back().tau, 4) + ", ||grad_M T|| = " +
                g(tr.points.back().grad_norm, 4) + ")";
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
    long gradients = 0, dense = 0;
    for (const auto& s : r.search) {
      gradients += s.gradients;
      dense += s.dense_gradients;
    }
    out << "\n  gradients of lambda_min: " << gradients << " (" << dense
        << " by differences of the dense lambda_min, where it was not simple)\n";
  }
  if (r.assumptions_apply) {
    out << "\nAssumptions (phi' > 0, phi''' > 0) on the " << "pre-activations visited: " << r.assumptions.describe(r.activation)
        << (r.assumptions.holds() ? "" : "\n  (outside THEORY's assumptions: the convexity guarantee does not apply; the "
                                         "numbers above are still exact for this activation)")
        << "\n";
  }
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
    for (const auto& f : figures) out << " " << f;
    out << "\n";
  }
  if (!figure_notes.empty() && gnuplot_program().empty()) {
    out << "Note: gnuplot not found (install it, e.g. apt-get install gnuplot-nox; or set ZEROLOSS_GNUPLOT): no "
           "SVG figures drawn. Their gnuplot scripts are in "
        << dir << "; draw them later with: cd " << dir << " && for f in *.gp; do gnuplot \"$f\"; done\n";
  } else {
    for (const auto& n : figure_notes) out << "Note: " << n << "\n";
  }
  return out.str();
}

}  // namespace zeroloss
