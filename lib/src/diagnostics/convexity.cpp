#include "zeroloss/support/number_text.hpp"
#include "zeroloss/diagnostics/convexity.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "support/ceres_logging.hpp"
#include "zeroloss/diagnostics/search_chart.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/interrupt_flag.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/random/portable_distributions.hpp"

namespace zeroloss {

const char* to_string(AnchorSource source) {
  switch (source) {
    case AnchorSource::None: return "none";
    case AnchorSource::Given: return "given";
    case AnchorSource::Minimizer: return "minimizer";
  }
  return "?";
}
namespace {

using Progress = std::function<void(const std::string&)>;

void say(const Progress& progress, const std::string& message) {
  if (progress) progress(message);
}

Eigen::VectorXd random_unit(Eigen::Index k, std::mt19937_64& rng) {
  StandardNormal normal;
  Eigen::VectorXd c(k);
  for (Eigen::Index i = 0; i < k; ++i) c(i) = normal(rng);
  return c / c.norm();
}

void require_on_manifold(const ConvexityGeometry& G, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                         const std::string& what) {
  const double res = G.max_residual(theta);
  if (!(res <= kOnManifoldTolerance * G.label_scale())) {
    throw InputError(what + " is not on the zero-loss manifold: max_i |f_i - y_i| = " + short_number(res, 4) + " > " +
                     short_number(kOnManifoldTolerance * G.label_scale(), 4) + "; project it first (zeroloss project)");
  }
}

// A sampled point from a measurement made at it.
SampledPoint sampled_point(const ConvexityMeasurement& c, Eigen::MatrixXd theta, const std::string& scheme, int index,
                           double parameter, double negative_tolerance) {
  SampledPoint p;
  p.scheme = scheme;
  p.index = index;
  p.parameter = parameter;
  p.theta = std::move(theta);
  p.sharpness = c.sharpness;
  p.grad_norm = c.grad_norm;
  p.lambda_min = c.lambda_min;
  p.lambda_max = c.lambda_max;
  p.residual = c.residual;
  p.min_first_derivative = c.min_first_derivative;
  p.min_third_derivative = c.min_third_derivative;
  p.max_abs_preactivation = c.max_abs_preactivation;
  p.hessian_products = c.hessian_products;
  p.lambda_min_residual = c.lambda_min_residual;
  p.negative = p.lambda_min < -negative_tolerance * std::max(std::abs(c.lambda_min), std::abs(c.lambda_max));
  return p;
}

// The measurements of one point given in working coordinates.
SampledPoint measure(const ConvexityGeometry& G, const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::MatrixXd theta,
                     const std::string& scheme, int index, double parameter, double negative_tolerance,
                     const LanczosWarmStart* warm = nullptr) {
  return sampled_point(G.measure(x, warm), std::move(theta), scheme, index, parameter, negative_tolerance);
}

// T along the geodesic from x with unit velocity w at the given s (ascending, > 0). Integrates
// sample to sample so that a failure keeps the part already computed.
void trace_side(const ConvexityGeometry& G, const GeodesicOptions& options, const Eigen::MatrixXd& x0,
                const Eigen::MatrixXd& w0, const std::vector<double>& s, std::vector<double>& T_out,
                std::string& failure) {
  Eigen::MatrixXd x = x0, w = w0;
  double s_prev = 0;
  for (double sk : s) {
    try {
      auto r = G.geodesic(x, w, sk - s_prev, options);
      x = std::move(r.first);
      w = std::move(r.second);
      T_out.push_back(G.sharpness(x));
      s_prev = sk;
    } catch (const Error& e) {
      failure = "geodesic stopped at s = " + short_number(s_prev, 4) + ": " + e.what();
      return;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. At a point.

PointConvexity analyze_point(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                             const PointConvexityOptions& options) {
  return analyze_point(TwoLayerConvexityGeometry(model), theta, options);
}

PointConvexity analyze_point(const ConvexityGeometry& G, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                             const PointConvexityOptions& options) {
  G.check_point(theta, "convexity point");
  if (options.directions < 0 || options.profile_points < 3 || options.profile_points % 2 == 0 ||
      !(options.profile_length > 0) || !(options.derivative_step > 0)) {
    throw InputError("convexity point options: need directions >= 0, an odd profile_points >= 3, "
                     "profile_length > 0 and derivative_step > 0");
  }
  require_on_manifold(G, theta, "convexity point");
  G.require_tangent_directions();
  const Eigen::MatrixXd beta = G.reduce(theta);
  const Eigen::MatrixXd grad = G.riemannian_gradient(beta);

  PointConvexity out;
  out.grad_norm = grad.norm();
  out.spectrum = G.spectrum_method();
  if (auto a = G.assumptions({Eigen::MatrixXd(theta)})) out.assumptions = *a;

  // Directions: the eigenvector of lambda_min, then K uniform on the unit sphere of the non-trivial
  // tangent part (dense: combinations of the basis columns, flattened working-coordinate vectors;
  // Lanczos: random_tangent_direction, no basis).
  std::vector<std::pair<std::string, Eigen::MatrixXd>> dirs;
  std::mt19937_64 rng(options.seed);
  if (out.spectrum == SpectrumMethod::Dense) {
    const ConvexityMeasurement at = G.measure(beta);
    out.sharpness = at.sharpness;
    out.residual = at.residual;
    const ConvexityHessian H = G.hessian(beta);
    out.eigenvalues = H.eigenvalues;
    out.lambda_min = H.eigenvalues.minCoeff();
    out.lambda_max = H.eigenvalues.maxCoeff();
    if (options.include_min_eigenvector) {
      Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(H.matrix);
      const Eigen::VectorXd u = H.basis * es.eigenvectors().col(0);
      dirs.emplace_back("min-eigenvector", G.to_working(u / u.norm()));
    }
    for (int k = 0; k < options.directions; ++k) {
      const Eigen::VectorXd u = H.basis * random_unit(H.basis.cols(), rng);
      dirs.emplace_back("random", G.to_working(u / u.norm()));
    }
  } else {
    out.sharpness = G.sharpness(beta);
    out.residual = G.max_residual(theta);
    const HessianExtremes e = G.converged_lanczos_extremes(beta, 1, "the extremes of Hess_M T at the convexity point");
    out.lambda_min = e.lambda_min();
    out.lambda_max = e.lambda_max();
    out.lambda_min_residual = e.smallest_residuals(0);
    out.lambda_max_residual = e.largest_residuals(0);
    out.hessian_products = e.matrix_vector_products;
    if (options.include_min_eigenvector) {
      const Eigen::MatrixXd u = G.to_working(e.smallest_vectors.col(0));
      dirs.emplace_back("min-eigenvector", u / u.norm());
    }
    for (int k = 0; k < options.directions; ++k) dirs.emplace_back("random", random_tangent_direction(G, beta, rng));
  }

  const int half = options.profile_points / 2;
  const double L = options.profile_length, ds = L / half;
  std::vector<double> pos(half);
  for (int k = 0; k < half; ++k) pos[k] = ds * (k + 1);
  const double h = options.derivative_step;
  out.min_second_derivative = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < dirs.size(); ++k) {
    throw_if_interrupted(options.interrupt, "convexity at the point");
    const Eigen::MatrixXd& w = dirs[k].second;
    GeodesicProfile prof;
    prof.direction = static_cast<int>(k);
    prof.kind = dirs[k].first;
    prof.velocity = G.lift_tangent(w);
    prof.first_derivative = (grad.array() * w.array()).sum();
    prof.second_derivative = G.hessian_form(beta, w);
    out.min_second_derivative = std::min(out.min_second_derivative, prof.second_derivative);

    std::vector<double> Tp, Tm;
    std::string fail_p, fail_m;
    trace_side(G, options.geodesic, beta, w, pos, Tp, fail_p);
    trace_side(G, options.geodesic, beta, -w, pos, Tm, fail_m);
    for (std::size_t i = Tm.size(); i-- > 0;) {
      prof.s.push_back(-pos[i]);
      prof.sharpness.push_back(Tm[i]);
    }
    prof.s.push_back(0.0);
    prof.sharpness.push_back(out.sharpness);
    for (std::size_t i = 0; i < Tp.size(); ++i) {
      prof.s.push_back(pos[i]);
      prof.sharpness.push_back(Tp[i]);
    }
    prof.complete = fail_p.empty() && fail_m.empty();
    prof.failure = fail_p.empty() ? fail_m : (fail_m.empty() ? fail_p : fail_p + "; " + fail_m);
    for (std::size_t i = 1; i + 1 < prof.s.size(); ++i) {
      const double d2 = (prof.sharpness[i + 1] - 2 * prof.sharpness[i] + prof.sharpness[i - 1]) / (ds * ds);
      if (std::isnan(prof.min_second_difference) || d2 < prof.min_second_difference) prof.min_second_difference = d2;
    }
    // Richardson-extrapolated central second difference at s = 0 (error O(h^4)).
    std::vector<double> Fp, Fm;
    std::string f1, f2;
    trace_side(G, options.geodesic, beta, w, {h / 2, h}, Fp, f1);
    trace_side(G, options.geodesic, beta, -w, {h / 2, h}, Fm, f2);
    if (Fp.size() == 2 && Fm.size() == 2) {
      const double T0 = out.sharpness;
      const double coarse = (Fp[1] - 2 * T0 + Fm[1]) / (h * h);
      const double fine = (Fp[0] - 2 * T0 + Fm[0]) / (h * h / 4);
      prof.second_derivative_fd = (4 * fine - coarse) / 3;
    } else {
      prof.second_derivative_fd = std::numeric_limits<double>::quiet_NaN();
    }
    out.profiles.push_back(std::move(prof));
  }
  if (dirs.empty()) out.min_second_derivative = std::numeric_limits<double>::quiet_NaN();
  return out;
}

// ---------------------------------------------------------------------------------------------
// 2. Over M.

SampledPoint evaluate_point(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                            const std::string& scheme, int index, double parameter, double negative_tolerance) {
  return evaluate_point(TwoLayerConvexityGeometry(model), theta, scheme, index, parameter, negative_tolerance);
}

SampledPoint evaluate_point(const ConvexityGeometry& G, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                            const std::string& scheme, int index, double parameter, double negative_tolerance) {
  G.check_point(theta, "convexity sample (" + scheme + ")");
  require_on_manifold(G, theta, "convexity sample (" + scheme + " #" + std::to_string(index) + ")");
  G.require_tangent_directions();
  return measure(G, G.reduce(theta), theta, scheme, index, parameter, negative_tolerance);
}

SamplingResult sample_points(const TwoLayerModel& model, const std::optional<Eigen::MatrixXd>& anchor,
                             const Eigen::Ref<const Eigen::MatrixXd>& reference, const SamplingOptions& o,
                             const Progress& progress) {
  return sample_points(TwoLayerConvexityGeometry(model), anchor, reference, o, progress);
}

SamplingResult sample_points(const ConvexityGeometry& G, const std::optional<Eigen::MatrixXd>& anchor,
                             const Eigen::Ref<const Eigen::MatrixXd>& reference, const SamplingOptions& o,
                             const Progress& progress) {
  if (o.random_points < 0 || o.geodesic_points < 0 || !(o.random_scale_min > 0) ||
      !(o.random_scale_max >= o.random_scale_min) || !(o.max_distance > 0) || !(o.negative_tolerance >= 0)) {
    throw InputError("convexity sampling options: need point counts >= 0, 0 < random_scale_min <= "
                     "random_scale_max, max_distance > 0 and negative_tolerance >= 0");
  }
  G.require_tangent_directions();
  Eigen::MatrixXd ref = G.zero_point();
  if (reference.size() > 0) {
    G.check_point(reference, "convexity reference point");
    ref = reference;
  }
  SamplingResult out;
  std::mt19937_64 rng(o.seed);
  const double tol = o.negative_tolerance;

  // Lanczos: the geodesic points' runs start from the anchor's extremes (a warm start: the anchor's
  // run is the one its measurement just made, ConvexityGeometry::converged_lanczos_extremes).
  std::optional<LanczosWarmStart> from_anchor;
  if (anchor) {
    G.check_point(*anchor, "convexity anchor");
    require_on_manifold(G, *anchor, "convexity anchor");
    const Eigen::MatrixXd beta_a = G.reduce(*anchor);
    out.points.push_back(measure(G, beta_a, *anchor, "anchor", 0, 0.0, tol));
    if (G.spectrum_method() == SpectrumMethod::Lanczos && o.geodesic_points > 0)
      from_anchor = warm_start_from(G.converged_lanczos_extremes(beta_a, 1, "the extremes of Hess_M T at the anchor"));
  }

  // Random starts projected onto M.
  if (o.random_points > 0) say(progress, "sampling: " + std::to_string(o.random_points) + " random starts projected onto M");
  UniformDistribution unit(0.0, 1.0);
  const double llo = std::log(o.random_scale_min), lhi = std::log(o.random_scale_max);
  for (int i = 0; i < o.random_points; ++i) {
    throw_if_interrupted(o.interrupt, "convexity sampling");
    const double scale = std::exp(llo + (lhi - llo) * unit(rng));
    const Eigen::MatrixXd beta0 = G.random_point(rng, scale);
    try {
      const auto pr = G.project(beta0, o.projection);
      SampledPoint sp = measure(G, pr.first, G.lift(pr.first, ref), "random", i, scale, tol);
      sp.projection_distance = pr.second;
      out.points.push_back(std::move(sp));
    } catch (const Error& e) {
      out.failures.push_back({"random", i, e.what()});
    }
  }

  // Points at controlled geodesic length from the anchor.
  if (anchor && o.geodesic_points > 0) {
    say(progress, "sampling: " + std::to_string(o.geodesic_points) + " points along geodesics from the anchor (length up to " +
                      short_number(o.max_distance, 4) + ")");
    const Eigen::MatrixXd beta_a = G.reduce(*anchor);
    // Uniform unit tangent directions at the anchor: from a basis where the dense spectrum runs (the
    // numbers recorded before the Lanczos path existed), by projecting Gaussian vectors above it.
    const bool dense = G.spectrum_method() == SpectrumMethod::Dense;
    const Eigen::MatrixXd B = dense ? G.tangent_basis(beta_a) : Eigen::MatrixXd();
    for (int i = 0; i < o.geodesic_points; ++i) {
      throw_if_interrupted(o.interrupt, "convexity sampling");
      const double rho = o.max_distance * (i + 1) / o.geodesic_points;
      const Eigen::MatrixXd w =
          dense ? G.to_working(B * random_unit(B.cols(), rng)) : random_tangent_direction(G, beta_a, rng);
      try {
        const auto r = G.geodesic(beta_a, w, rho, o.geodesic);
        out.points.push_back(measure(G, r.first, G.lift(r.first, *anchor), "geodesic", i, rho, tol,
                                     from_anchor ? &*from_anchor : nullptr));
      } catch (const Error& e) {
        out.failures.push_back({"geodesic", i, e.what()});
      }
    }
  }

  // Caller-supplied points (trajectories).
  if (!o.external.empty()) say(progress, "sampling: " + std::to_string(o.external.size()) + " trajectory points");
  std::map<std::string, int> counters;
  for (const ExternalPoint& x : o.external) {
    throw_if_interrupted(o.interrupt, "convexity sampling");
    std::string source = x.source.empty() ? "external" : x.source;
    std::replace(source.begin(), source.end(), ',', '_');
    const std::string scheme = "trajectory:" + source;
    const int index = counters[scheme]++;
    G.check_point(x.theta, "trajectory point " + scheme + " #" + std::to_string(index));
    try {
      Eigen::MatrixXd beta = G.reduce(x.theta);
      double moved = 0;
      if (!(G.max_residual(x.theta) <= kOnManifoldTolerance * G.label_scale())) {
        auto pr = G.project(beta, o.projection);
        moved = pr.second;
        beta = std::move(pr.first);
      }
      SampledPoint sp = measure(G, beta, G.lift(beta, x.theta), scheme, index, x.time, tol);
      sp.projection_distance = moved;
      out.points.push_back(std::move(sp));
    } catch (const Error& e) {
      out.failures.push_back({scheme, index, e.what()});
    }
  }
  return out;
}

ConvexityThreshold convexity_threshold(const std::vector<SampledPoint>& points) {
  ConvexityThreshold t;
  for (std::size_t i = 0; i < points.size(); ++i) {
    t.largest_grad_sampled = std::max(t.largest_grad_sampled, points[i].grad_norm);
    if (points[i].negative) {
      t.negative_found = true;
      t.threshold = std::min(t.threshold, points[i].grad_norm);
      t.counterexamples.push_back(i);
    }
  }
  std::sort(t.counterexamples.begin(), t.counterexamples.end(), [&](std::size_t a, std::size_t b) {
    return points[a].grad_norm < points[b].grad_norm;
  });
  t.smallest_lambda_below = std::numeric_limits<double>::infinity();
  for (const auto& p : points) {
    if (p.grad_norm < t.threshold) {
      ++t.points_below;
      t.largest_grad_below = std::max(t.largest_grad_below, p.grad_norm);
      t.smallest_lambda_below = std::min(t.smallest_lambda_below, p.lambda_min);
    }
  }
  if (t.points_below == 0) t.smallest_lambda_below = std::numeric_limits<double>::quiet_NaN();
  return t;
}

// ---------------------------------------------------------------------------------------------
// 3. Adversarial search.

std::vector<double> search_ladder(const std::vector<SampledPoint>& points, int rungs) {
  std::vector<double> g;
  for (const auto& p : points)
    if (p.grad_norm > 0 && std::isfinite(p.grad_norm)) g.push_back(p.grad_norm);
  if (g.empty() || rungs < 1) return {};
  std::sort(g.begin(), g.end());
  auto log_spaced = [](double lo, double hi, int count, std::vector<double>& out) {
    for (int k = 0; k < count; ++k) {
      out.push_back(count == 1 || !(hi > lo) ? hi : lo * std::pow(hi / lo, static_cast<double>(k) / (count - 1)));
    }
  };
  std::vector<double> eps;
  const ConvexityThreshold t = convexity_threshold(points);
  if (!t.negative_found) {
    const double hi = g.back();
    log_spaced(std::max(g[static_cast<std::size_t>(0.05 * static_cast<double>(g.size() - 1))], 1e-6 * hi), hi, rungs,
               eps);
  } else {
    // Around the sampled threshold g*: below it (down to g*/100) the search tries to lower the threshold,
    // above it (up to 100 g* or the largest sampled norm) it finds the strongest counterexamples.
    const double gs = t.threshold;
    const int below = rungs / 2, above = rungs - below;
    if (below > 0) log_spaced(gs / 100, gs / std::pow(100.0, 1.0 / (below + 1)), below, eps);
    if (above > 0) {
      const double hi = std::max(std::min(g.back(), 100 * gs), gs);
      log_spaced(gs * std::pow(hi / gs, 1.0 / above), hi, above, eps);
    }
    eps.push_back(gs * (1 + 1e-9));  // the sampled counterexample is a feasible start there
  }
  std::sort(eps.begin(), eps.end());
  eps.erase(std::unique(eps.begin(), eps.end(), [](double a, double b) { return std::abs(a - b) <= 1e-12 * b; }),
            eps.end());
  return eps;
}

namespace {

// The best feasible point seen during one rung, and the rung's gradient counts.
struct Tracker {
  double lambda = std::numeric_limits<double>::infinity();
  double grad = 0;
  Eigen::MatrixXd beta;
  std::string from;
  long evaluations = 0;
  long budget = 0;
  long gradients = 0;        // chart gradients computed
  long dense_gradients = 0;  // of them by differences of the dense lambda_min (not simple there)
  std::mt19937_64 rng;       // the random directions of subspace charts (seeded per rung)

  void offer(const Eigen::MatrixXd& x, double g, double lambda_min, double eps, const std::string& start) {
    if (g < eps && lambda_min < lambda) {
      lambda = lambda_min;
      grad = g;
      beta = x;
      from = start;
    }
  }
};

// 0: charts span the whole non-trivial tangent space (tangent_basis); else the dimension of the
// subspace charts (subspace_chart_basis).
int search_chart_dimension(const ConvexityGeometry& G, const SearchOptions& o) {
  if (o.chart_dimension > 0) return o.chart_dimension;
  return G.spectrum_method() == SpectrumMethod::Dense ? 0 : kSearchSubspaceDimension;
}

// Objective of one stage in a retraction chart c -> project_newton(center + B c) (search_chart.hpp):
//   Barrier: lambda_min - mu log(1 - g^2 / eps^2), defined only where g < eps;
//   Penalty: lambda_min + rho max(0, g / (eps (1 - 1e-3)) - 1), defined everywhere: an exact penalty
//            whose minimizers (for rho large enough) sit just inside the constraint. Used to pull an
//            infeasible start with negative curvature (a sampled counterexample above eps) inside.
struct Chart {
  const ConvexityGeometry* G;
  SearchChart chart;  // centre beta_c on M (working coordinates) and the tangent basis there
  double eps = 0, mu = 0;
  bool penalty = false;
  double rho = 0;
  const SearchOptions* options;
  const std::atomic<bool>* interrupt = nullptr;  // set: every evaluation is undefined, the stage aborts
  std::mt19937_64* rng = nullptr;                 // the random directions of subspace charts
  // Lanczos only: the last point whose smallest eigenpair was computed, so that the chart's centre
  // (its basis needs the eigenvector, the stage's first value and first gradient are taken there)
  // costs one Lanczos run, not three; and every other point's Lanczos runs start from the last
  // pair's vectors (a warm start: consecutive evaluations of a chart are close). The dense path
  // recomputes (its numbers stay as recorded).
  mutable Eigen::MatrixXd last_point;
  mutable SmallestEigenpair last_pair;

  const SmallestEigenpair& pair_at(const Eigen::MatrixXd& x) const {
    const bool reuse = G->spectrum_method() == SpectrumMethod::Lanczos && last_point.size() == x.size() &&
                       last_point.rows() == x.rows() && last_point == x;
    if (!reuse) {
      SmallestEigenpair pair = smallest_eigenpair(*G, x, last_point.size() > 0 ? &last_pair : nullptr);
      last_pair = std::move(pair);
      last_point = x;
    }
    return last_pair;
  }
  double lambda_min_at(const Eigen::MatrixXd& x) const {
    if (G->spectrum_method() == SpectrumMethod::Lanczos) return pair_at(x).value;
    return curvature_extremes(*G, x).lambda_min;
  }

  double objective(double lambda, double g) const {
    return penalty ? lambda + rho * std::max(0.0, g / (eps * (1 - 1e-3)) - 1)
                   : lambda - mu * std::log1p(-(g * g) / (eps * eps));
  }
  // d objective / d g at g (the penalty's kink counts on the side g is on).
  double objective_slope(double g) const {
    if (penalty) return g > eps * (1 - 1e-3) ? rho / (eps * (1 - 1e-3)) : 0.0;
    return mu * (2 * g / (eps * eps)) / (1 - (g * g) / (eps * eps));
  }
};

// What the value at c leaves for the gradient there.
struct ChartValue {
  double grad_norm = 0;
  SmallestEigenpair pair;
};

// Value of the stage objective at chart coordinates c; false if it is undefined there (retraction
// failed, or g >= eps for the barrier). Every feasible point (g < eps) evaluated updates the tracker.
// With `at`, also the smallest eigenpair there (for the gradient).
bool barrier_value(const Chart& ch, Tracker& tr, const std::string& from, const double* c, double* value,
                   ChartValue* at) {
  if (interrupt_requested(ch.interrupt)) return false;
  ++tr.evaluations;
  const Eigen::Map<const Eigen::VectorXd> cv(c, ch.chart.basis.cols());
  try {
    const Eigen::MatrixXd x = ch.chart.point(*ch.G, cv, ch.options->projection);
    const double g = ch.G->riemannian_gradient(x).norm();
    if (!ch.penalty && !(g < ch.eps)) return false;
    double lambda = 0;
    if (at) {
      at->pair = ch.G->spectrum_method() == SpectrumMethod::Lanczos ? ch.pair_at(x) : smallest_eigenpair(*ch.G, x);
      at->grad_norm = g;
      lambda = at->pair.value;
    } else {
      lambda = ch.lambda_min_at(x);
    }
    if (!std::isfinite(lambda) || !std::isfinite(g)) return false;
    tr.offer(x, g, lambda, ch.eps, from);
    *value = ch.objective(lambda, g);
    return std::isfinite(*value);
  } catch (const Error&) {
    return false;
  }
}

// The stage objective for Ceres. Its gradient: the chain rule on the chart gradients of lambda_min
// and g (search_chart.hpp: the frozen eigenvector's Rayleigh quotient where lambda_min is simple,
// differences of the dense lambda_min where it is not).
class BarrierFunction final : public ceres::FirstOrderFunction {
 public:
  BarrierFunction(const Chart* chart, Tracker* tracker, std::string from, double step)
      : chart_(chart), tracker_(tracker), from_(std::move(from)), step_(step) {}
  int NumParameters() const override { return static_cast<int>(chart_->chart.basis.cols()); }
  bool Evaluate(const double* c, double* cost, double* gradient) const override {
    ChartValue at;
    if (!barrier_value(*chart_, *tracker_, from_, c, cost, gradient ? &at : nullptr)) return false;
    if (!gradient) return true;
    const SearchOptions& o = *chart_->options;
    ChartGradientOptions go;
    go.step = step_;
    go.simple_gap = o.simple_eigenvalue_gap;
    go.method = o.curvature_gradient;
    go.projection = o.projection;
    go.interrupt = chart_->interrupt;
    Tracker& tr = *tracker_;
    const double eps = chart_->eps;
    const std::string& from = from_;
    const ChartPointObserver observe = [&tr, eps, &from](const Eigen::MatrixXd& x, double g, double lambda) {
      tr.offer(x, g, lambda, eps, from);
    };
    const Eigen::Map<const Eigen::VectorXd> cv(c, NumParameters());
    const ChartGradient d = chart_gradient(*chart_->G, chart_->chart, cv, at.grad_norm, at.pair, go, observe);
    tr.evaluations += d.evaluations;
    ++tr.gradients;
    if (d.method == CurvatureGradient::EigenvalueDifferences) ++tr.dense_gradients;
    if (!d.ok) return false;
    Eigen::Map<Eigen::VectorXd>(gradient, NumParameters()) =
        d.lambda_min + chart_->objective_slope(at.grad_norm) * d.grad_norm;
    return true;
  }

 private:
  const Chart* chart_;
  Tracker* tracker_;
  std::string from_;
  double step_;
};

class BudgetCallback final : public ceres::IterationCallback {
 public:
  BudgetCallback(const Tracker* t, const std::atomic<bool>* interrupt) : t_(t), interrupt_(interrupt) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary&) override {
    if (interrupt_requested(interrupt_)) return ceres::SOLVER_ABORT;
    return t_->evaluations >= t_->budget ? ceres::SOLVER_TERMINATE_SUCCESSFULLY : ceres::SOLVER_CONTINUE;
  }

 private:
  const Tracker* t_;
  const std::atomic<bool>* interrupt_;
};

// Runs one Ceres L-BFGS stage in the chart centred at ch.chart.center and re-centres the chart at the
// result (when `require_feasible`, only if the result is strictly feasible). False if the chart
// could not be built or the re-centring failed.
bool run_stage(Chart& ch, Tracker& tr, const std::string& from, const SearchOptions& o, bool require_feasible) {
  const ConvexityGeometry& G = *ch.G;
  try {
    const int k = search_chart_dimension(G, o);
    if (k == 0) {
      ch.chart.basis = G.tangent_basis(ch.chart.center);
    } else {
      ch.chart.basis = subspace_chart_basis(G, ch.chart.center, ch.pair_at(ch.chart.center).vector, k, *ch.rng);
    }
  } catch (const Error&) {
    return false;
  }
  const double step = o.difference_step * std::max(1.0, ch.chart.center.norm());
  Eigen::VectorXd c = Eigen::VectorXd::Zero(ch.chart.basis.cols());
  double f0 = 0;
  if (!barrier_value(ch, tr, from, c.data(), &f0, nullptr)) return false;
  ceres::GradientProblem problem(new BarrierFunction(&ch, &tr, from, step));
  ceres::GradientProblemSolver::Options so;
  so.line_search_direction_type = ceres::LBFGS;
  so.max_num_iterations = o.iterations_per_stage;
  so.function_tolerance = 1e-12;
  so.gradient_tolerance = 1e-12;
  so.parameter_tolerance = 1e-12;
  so.logging_type = ceres::SILENT;
  BudgetCallback budget(&tr, ch.interrupt);
  so.callbacks.push_back(&budget);
  ceres::GradientProblemSolver::Summary summary;
  detail::silence_ceres_logging();
  ceres::Solve(so, problem, c.data(), &summary);
  throw_if_interrupted(ch.interrupt, "convexity search");
  try {
    Eigen::MatrixXd x = ch.chart.point(G, c, o.projection);
    if (!require_feasible || G.riemannian_gradient(x).norm() < ch.eps) ch.chart.center = std::move(x);
  } catch (const Error&) {
    return false;
  }
  return true;
}

// The curvature scale at beta (for mu and rho): max(|lambda_min|, 1e-2 max |lambda|, 1e-12), and
// the gradient norm and lambda_min there. False at a singular point. Lanczos: from the smallest
// eigenpair (K = 2), which the chart centred at beta needs next: it is left in `chart` (its
// last_point set to beta) so that the centre costs one Lanczos run, not a K = 1 run and then a
// K = 2 run. Dense: from every eigenvalue, `chart` untouched (the numbers stay as recorded).
bool curvature_scale(const ConvexityGeometry& G, const Eigen::MatrixXd& beta, double& g, double& lmin, double& scale,
                     const Chart& chart) {
  try {
    g = G.riemannian_gradient(beta).norm();
    double lmax = 0;
    if (G.spectrum_method() == SpectrumMethod::Lanczos) {
      const SmallestEigenpair& pair = chart.pair_at(beta);
      lmin = pair.value;
      lmax = pair.scale;  // max(|lambda_min|, |lambda_max|)
    } else {
      const CurvatureExtremes ev = curvature_extremes(G, beta);
      lmin = ev.lambda_min;
      lmax = ev.lambda_max;
    }
    scale = std::max({std::abs(lmin), 1e-2 * std::max(std::abs(lmin), std::abs(lmax)), 1e-12});
    return std::isfinite(g) && std::isfinite(lmin);
  } catch (const Error&) {
    return false;
  }
}

// One barrier descent from beta0 (on M, strictly feasible), updating the tracker.
void barrier_descent(const ConvexityGeometry& G, const Eigen::MatrixXd& beta0, const std::string& from, double eps,
                     const SearchOptions& o, Tracker& tr) {
  double g0 = 0, l0 = 0, scale = 0;
  Chart ch{&G, SearchChart{beta0, Eigen::MatrixXd()}, eps, 0.0, false, 0.0, &o, o.interrupt, &tr.rng};
  if (!curvature_scale(G, beta0, g0, l0, scale, ch) || !(g0 < eps)) return;
  ++tr.evaluations;
  if (l0 < tr.lambda) {
    tr.lambda = l0;
    tr.grad = g0;
    tr.beta = beta0;
    tr.from = from;
  }
  ch.mu = 0.1 * scale;
  for (int stage = 0; stage < o.barrier_stages && tr.evaluations < tr.budget; ++stage) {
    if (!run_stage(ch, tr, from, o, /*require_feasible=*/true)) return;
    ch.mu *= 0.1;
  }
}

// From an infeasible start (g >= eps): exact-penalty stages with rho = scale, 10 scale, 100 scale
// until a feasible point has been found, then a barrier descent from the best feasible point this
// start produced.
void penalty_then_barrier(const ConvexityGeometry& G, const Eigen::MatrixXd& beta0, const std::string& from,
                          double eps, const SearchOptions& o, Tracker& tr) {
  double g0 = 0, l0 = 0, scale = 0;
  Chart ch{&G, SearchChart{beta0, Eigen::MatrixXd()}, eps, 0.0, true, 0.0, &o, o.interrupt, &tr.rng};
  if (!curvature_scale(G, beta0, g0, l0, scale, ch)) return;
  ch.rho = scale;
  ++tr.evaluations;
  Tracker local;  // feasible points reached from this start only
  local.evaluations = tr.evaluations;
  local.budget = tr.budget;
  local.gradients = tr.gradients;
  local.dense_gradients = tr.dense_gradients;
  for (int stage = 0; stage < 3 && local.evaluations < local.budget; ++stage) {
    if (!run_stage(ch, local, from, o, /*require_feasible=*/false)) break;
    if (std::isfinite(local.lambda)) break;
    ch.rho *= 10;
  }
  tr.evaluations = local.evaluations;
  tr.gradients = local.gradients;
  tr.dense_gradients = local.dense_gradients;
  if (!std::isfinite(local.lambda)) return;
  if (local.lambda < tr.lambda) {
    tr.lambda = local.lambda;
    tr.grad = local.grad;
    tr.beta = local.beta;
    tr.from = local.from;
  }
  barrier_descent(G, local.beta, from, eps, o, tr);
}

}  // namespace

std::vector<SearchRung> search_negative_curvature(const TwoLayerModel& model,
                                                  const std::optional<Eigen::MatrixXd>& anchor,
                                                  const std::vector<SampledPoint>& starts,
                                                  const std::vector<double>& eps_in, const SearchOptions& o,
                                                  const Progress& progress) {
  return search_negative_curvature(TwoLayerConvexityGeometry(model), anchor, starts, eps_in, o, progress);
}

std::vector<SearchRung> search_negative_curvature(const ConvexityGeometry& G,
                                                  const std::optional<Eigen::MatrixXd>& anchor,
                                                  const std::vector<SampledPoint>& starts,
                                                  const std::vector<double>& eps_in, const SearchOptions& o,
                                                  const Progress& progress) {
  if (o.starts < 0 || o.barrier_stages < 1 || o.iterations_per_stage < 1 || o.max_evaluations_per_rung < 1 ||
      !(o.difference_step > 0) || !(o.simple_eigenvalue_gap >= 0) || !std::isfinite(o.simple_eigenvalue_gap) ||
      o.chart_dimension < 0) {
    throw InputError("convexity search options: need starts >= 0, barrier_stages >= 1, iterations_per_stage >= 1, "
                     "max_evaluations_per_rung >= 1, difference_step > 0, a finite simple_eigenvalue_gap >= 0 and "
                     "chart_dimension >= 0");
  }
  for (double e : eps_in)
    if (!(e > 0) || !std::isfinite(e)) throw InputError("convexity search: every eps must be positive and finite, got " + short_number(e, 4));
  G.require_tangent_directions();
  std::vector<double> eps = eps_in;
  std::sort(eps.begin(), eps.end());
  std::optional<Eigen::MatrixXd> beta_anchor;
  if (anchor) {
    require_on_manifold(G, *anchor, "convexity anchor");
    beta_anchor = G.reduce(*anchor);
  }
  const Eigen::MatrixXd lift_ref = anchor ? *anchor : G.zero_point();
  // Sampled starts by increasing lambda_min.
  std::vector<std::size_t> order(starts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return starts[a].lambda_min < starts[b].lambda_min; });

  std::vector<SearchRung> out;
  std::optional<Eigen::MatrixXd> previous;
  for (std::size_t r = 0; r < eps.size(); ++r) {
    say(progress, "search: rung " + std::to_string(r + 1) + "/" + std::to_string(eps.size()) +
                      ", minimizing lambda_min subject to ||grad_M T|| <= " + short_number(eps[r], 4));
    SearchRung rung;
    rung.eps = eps[r];
    std::vector<std::pair<std::string, Eigen::MatrixXd>> cands;
    if (previous) cands.emplace_back("previous", *previous);
    if (beta_anchor) cands.emplace_back("anchor", *beta_anchor);
    // Sampled starts: half with the lowest lambda_min, half closest to the boundary (largest gradient
    // norm below eps), where the most negative curvature usually lies.
    std::vector<std::size_t> feasible;
    for (std::size_t i : order)
      if (starts[i].grad_norm < eps[r] && starts[i].scheme != "anchor") feasible.push_back(i);
    std::vector<std::size_t> chosen;
    const std::size_t want = std::min<std::size_t>(static_cast<std::size_t>(o.starts), feasible.size());
    for (std::size_t i = 0; i < feasible.size() && chosen.size() < (want + 1) / 2; ++i) chosen.push_back(feasible[i]);
    std::vector<std::size_t> by_grad = feasible;
    std::stable_sort(by_grad.begin(), by_grad.end(),
                     [&](std::size_t a, std::size_t b) { return starts[a].grad_norm > starts[b].grad_norm; });
    for (std::size_t i = 0; i < by_grad.size() && chosen.size() < want; ++i)
      if (std::find(chosen.begin(), chosen.end(), by_grad[i]) == chosen.end()) chosen.push_back(by_grad[i]);
    for (std::size_t i : chosen) {
      cands.emplace_back(starts[i].scheme + "#" + std::to_string(starts[i].index), G.reduce(starts[i].theta));
    }
    // Infeasible starts: the sampled counterexamples just above eps (smallest gradient norms), pulled
    // inside by an exact penalty. This is how the search can lower the sampled threshold.
    const std::size_t n_feasible = cands.size();
    std::vector<std::size_t> above;
    for (std::size_t i = 0; i < starts.size(); ++i)
      if (starts[i].negative && starts[i].grad_norm >= eps[r]) above.push_back(i);
    std::stable_sort(above.begin(), above.end(),
                     [&](std::size_t a, std::size_t b) { return starts[a].grad_norm < starts[b].grad_norm; });
    for (std::size_t i = 0; i < above.size() && i < static_cast<std::size_t>((o.starts + 1) / 2); ++i) {
      cands.emplace_back(starts[above[i]].scheme + "#" + std::to_string(starts[above[i]].index) + "(outside)",
                         G.reduce(starts[above[i]].theta));
    }
    // Breadth, then depth: every start gets an equal share of half the rung's evaluation budget; the
    // rest continues the descent from the best point found.
    Tracker tr;
    tr.rng.seed(o.seed + r);
    const long share =
        std::max(1L, o.max_evaluations_per_rung / (2 * static_cast<long>(std::max<std::size_t>(1, cands.size()))));
    for (std::size_t ci = 0; ci < cands.size(); ++ci) {
      throw_if_interrupted(o.interrupt, "convexity search");
      const long before = tr.evaluations;
      tr.budget = before + share;
      if (ci < n_feasible) {
        barrier_descent(G, cands[ci].second, cands[ci].first, eps[r], o, tr);
      } else {
        penalty_then_barrier(G, cands[ci].second, cands[ci].first, eps[r], o, tr);
      }
      if (tr.evaluations > before) ++rung.starts_used;
    }
    if (std::isfinite(tr.lambda) && tr.evaluations < o.max_evaluations_per_rung) {
      tr.budget = o.max_evaluations_per_rung;
      const Eigen::MatrixXd best = tr.beta;
      const std::string from = tr.from;
      barrier_descent(G, best, from, eps[r], o, tr);
    }
    rung.evaluations = tr.evaluations;
    rung.gradients = tr.gradients;
    rung.dense_gradients = tr.dense_gradients;
    if (std::isfinite(tr.lambda)) {
      rung.feasible_start = true;
      // Re-evaluate the reported point from scratch, in the caller's coordinates.
      const Eigen::MatrixXd theta = G.lift(tr.beta, lift_ref);
      const SampledPoint check = measure(G, G.reduce(theta), theta, "search", static_cast<int>(r), eps[r],
                                         o.negative_tolerance);
      rung.lambda_min = check.lambda_min;
      rung.grad_norm = check.grad_norm;
      rung.sharpness = check.sharpness;
      rung.negative = check.negative;
      rung.theta = theta;
      rung.found_from = tr.from;
      previous = tr.beta;
    }
    out.push_back(std::move(rung));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Everything together.

ConvexityOptions ConvexityOptions::quick() {
  ConvexityOptions o;
  o.point.directions = 4;
  o.point.profile_points = 21;
  o.sampling.random_points = 100;
  o.sampling.geodesic_points = 100;
  o.search.rungs = 6;
  o.search.starts = 8;
  o.search.barrier_stages = 3;
  o.search.iterations_per_stage = 30;
  o.search.max_evaluations_per_rung = 10000;
  return o;
}

ConvexityOptions ConvexityOptions::full() {
  ConvexityOptions o;
  o.point.directions = 16;
  o.point.profile_points = 41;
  o.sampling.random_points = 1000;
  o.sampling.geodesic_points = 1000;
  o.search.rungs = 12;
  o.search.starts = 24;
  o.search.barrier_stages = 4;
  o.search.iterations_per_stage = 60;
  o.search.max_evaluations_per_rung = 100000;
  return o;
}

ConvexityOptions ConvexityOptions::matrix_free(bool quick) {
  ConvexityOptions o = quick ? ConvexityOptions::quick() : ConvexityOptions::full();
  o.point.directions = quick ? 2 : 8;
  o.point.profile_points = quick ? 11 : 21;
  o.sampling.random_points = quick ? 2 : 20;
  o.sampling.geodesic_points = quick ? 16 : 100;
  o.sampling.max_distance = 1.0;
  o.search.rungs = quick ? 2 : 6;
  o.search.starts = quick ? 1 : 4;
  o.search.barrier_stages = quick ? 1 : 3;
  o.search.iterations_per_stage = quick ? 5 : 20;
  o.search.max_evaluations_per_rung = quick ? 150 : 3000;
  return o;
}

ConvexityOptions interrupt_every_part(ConvexityOptions o) {
  if (o.interrupt == nullptr) return o;
  o.point.interrupt = o.sampling.interrupt = o.search.interrupt = o.interrupt;
  if (o.along_flow) o.along_flow->interrupt = o.interrupt;
  if (o.along_sgd) o.along_sgd->interrupt = o.interrupt;
  return o;
}

ConvexityResult analyze_convexity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                  const std::optional<Eigen::MatrixXd>& anchor, const ConvexityOptions& given,
                                  const Progress& progress) {
  const ConvexityOptions options = interrupt_every_part(given);
  const TrajectoryRunner trajectories = [&](const Eigen::MatrixXd& start, const Progress& say_progress) {
    std::vector<TrajectoryConvexity> out;
    if (options.along_flow) out.push_back(flow_convexity(model, start, *options.along_flow, say_progress));
    if (options.along_sgd) out.push_back(sgd_convexity(model, start, *options.along_sgd, say_progress));
    return out;
  };
  return analyze_convexity(TwoLayerConvexityGeometry(model), theta, anchor, options, progress, trajectories);
}

ConvexityResult analyze_convexity(const ConvexityGeometry& G, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                  const std::optional<Eigen::MatrixXd>& anchor, const ConvexityOptions& given,
                                  const Progress& progress, const TrajectoryRunner& trajectories) {
  const auto t0 = std::chrono::steady_clock::now();
  const ConvexityOptions options = interrupt_every_part(given);
  G.require_tangent_directions();
  ConvexityResult out;
  out.activation = G.model_name();
  const bool have_point = theta.size() > 0;
  if (have_point) {
    say(progress, "point: Riemannian Hessian spectrum and " + std::to_string(options.point.directions) +
                      " geodesic profiles");
    out.point = analyze_point(G, theta, options.point);
  }
  // The given point's sample, measured right after its analysis: above the dense dimension its
  // Lanczos run is then the one just made (ConvexityGeometry::converged_lanczos_extremes).
  std::optional<SampledPoint> given_sample;
  if (have_point) given_sample = evaluate_point(G, theta, "given", 0, 0.0, options.sampling.negative_tolerance);
  const bool have_start = options.trajectory_start.size() > 0;
  if (have_start) G.check_point(options.trajectory_start, "trajectory start");
  std::optional<Eigen::MatrixXd> anchor_used = anchor;
  if (anchor) {
    G.check_point(*anchor, "convexity anchor");
    require_on_manifold(G, *anchor, "convexity anchor");
    const SampledPoint a = measure(G, G.reduce(*anchor), *anchor, "anchor", 0, 0.0, 0.0);
    out.anchor.source = AnchorSource::Given;
    out.anchor.description = "given by the caller";
    out.anchor.sharpness = a.sharpness;
    out.anchor.grad_norm = a.grad_norm;
  } else if (options.default_anchor) {
    say(progress, "anchor: the minimizer of T");
    const Eigen::MatrixXd ref = have_point ? Eigen::MatrixXd(theta) : have_start ? options.trajectory_start : G.zero_point();
    out.anchor = G.minimizer_anchor(ref, anchor_used);
  } else {
    out.anchor.description = "no anchor (none given, default anchor disabled): no geodesic scheme";
  }

  // Along trajectories: their states on M join the sampled points.
  SamplingOptions sampling = options.sampling;
  if (options.along_flow || options.along_sgd) {
    if (!trajectories) {
      throw InputError("convexity along trajectories (the flow, SGD) is not available for the " + G.model_name() +
                       " model");
    }
    const Eigen::MatrixXd start = have_start ? options.trajectory_start
                                  : have_point ? Eigen::MatrixXd(theta)
                                  : anchor_used ? *anchor_used
                                                : Eigen::MatrixXd();
    if (start.size() == 0) {
      throw InputError("convexity along trajectories: no start (give a trajectory start, a point or an anchor)");
    }
    out.trajectories = trajectories(start, progress);
    throw_if_interrupted(options.interrupt, "convexity along trajectories");
  }

  Eigen::MatrixXd reference = have_point ? Eigen::MatrixXd(theta) : (anchor_used ? *anchor_used : G.zero_point());
  out.sampling = sample_points(G, anchor_used, reference, sampling, progress);
  // The trajectories' states join the sample with the measurements made along them (each state is a
  // point of M: the flow's, or SGD's iterate projected), after the caller's external points.
  {
    std::map<std::string, int> counters;
    for (const auto& tr : out.trajectories) {
      const std::string scheme = std::string("trajectory:") + to_string(tr.source);
      for (const auto& p : tr.points)
        out.sampling.points.push_back(sampled_point(p.measurement, p.theta, scheme, counters[scheme]++, p.tau,
                                                    sampling.negative_tolerance));
    }
  }
  if (given_sample) out.sampling.points.insert(out.sampling.points.begin(), std::move(*given_sample));
  out.threshold = convexity_threshold(out.sampling.points);
  if (options.run_search) {
    const std::vector<double> eps =
        options.search.eps.empty() ? search_ladder(out.sampling.points, options.search.rungs) : options.search.eps;
    out.search = search_negative_curvature(G, anchor_used, out.sampling.points, eps, options.search, progress);
    for (const auto& r : out.search) {
      if (!r.feasible_start) continue;
      if (r.negative) {
        out.search_negative_from = std::min(out.search_negative_from, r.eps);
      } else {
        out.search_convex_up_to = std::max(out.search_convex_up_to, r.eps);
      }
    }
  }
  std::vector<Eigen::MatrixXd> visited;
  for (const auto& p : out.sampling.points) visited.push_back(p.theta);
  for (const auto& s : out.search)
    if (s.theta.size() > 0) visited.push_back(s.theta);
  const std::optional<AssumptionReport> assumptions = G.assumptions(visited);
  out.assumptions_apply = assumptions.has_value();
  if (assumptions) out.assumptions = *assumptions;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace zeroloss
