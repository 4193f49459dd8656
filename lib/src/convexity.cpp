#include "zeroloss/convexity.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "ceres_logging.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/sharpness.hpp"
#include "zeroloss/sharpness_minimum.hpp"
#include "zeroloss/weights.hpp"

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

std::string fmt(double x, int precision = 4) {
  std::ostringstream s;
  s.precision(precision);
  s << x;
  return s.str();
}

double label_scale(const TwoLayerModel& model) { return std::max(1.0, model.y().cwiseAbs().maxCoeff()); }
constexpr double kOnManifold = 1e-8;  // relative residual accepted as "on M"

// The model's reduced coordinates, computed once.
struct Reduced {
  const TwoLayerModel* model;
  ReducedCoordinates rc;
  TwoLayerModel red;
  explicit Reduced(const TwoLayerModel& m) : model(&m), rc(m.X()), red(rc.reduce(m)) {}
  int tangent_dimension() const { return red.m() * red.d() - red.n(); }
  void require_tangent_directions() const {
    if (tangent_dimension() <= 0) {
      throw InputError("convexity: the non-trivial tangent space has dimension m*p - n = " +
                       std::to_string(tangent_dimension()) + " (m = " + std::to_string(red.m()) +
                       ", p = rank X = " + std::to_string(red.d()) + ", n = " + std::to_string(red.n()) +
                       "): the manifold is a set of isolated points in span(X)^m and has no curvature to test");
    }
  }
};

Eigen::MatrixXd random_gaussian(int rows, int cols, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd M(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) M(i, j) = normal(rng);
  return M;
}

Eigen::VectorXd random_unit(Eigen::Index k, std::mt19937_64& rng) {
  Eigen::VectorXd c = random_gaussian(static_cast<int>(k), 1, rng).col(0);
  return c / c.norm();
}

void require_on_manifold(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                         const std::string& what) {
  const double res = max_residual(model, theta);
  if (!(res <= kOnManifold * label_scale(model))) {
    throw InputError(what + " is not on the zero-loss manifold: max_i |f_i - y_i| = " + fmt(res) + " > " +
                     fmt(kOnManifold * label_scale(model)) + "; project it first (zeroloss project)");
  }
}

// The measurements of one point given in reduced coordinates.
SampledPoint measure(const Reduced& R, const Eigen::Ref<const Eigen::MatrixXd>& beta, Eigen::MatrixXd theta,
                     const std::string& scheme, int index, double parameter, double negative_tolerance) {
  const SharpnessGeometry geo(R.red, beta);
  SampledPoint p;
  p.scheme = scheme;
  p.index = index;
  p.parameter = parameter;
  p.theta = std::move(theta);
  p.sharpness = geo.sharpness();
  p.grad_norm = geo.riemannian_gradient().norm();
  const Eigen::VectorXd ev = geo.riemannian_hessian_matrix().eigenvalues;
  p.lambda_min = ev.minCoeff();
  p.lambda_max = ev.maxCoeff();
  const NetworkEvaluation& e = geo.evaluation();
  p.residual = e.residuals.cwiseAbs().maxCoeff();
  p.min_first_derivative = e.dphi.minCoeff();
  p.min_third_derivative = e.d3phi.minCoeff();
  p.max_abs_preactivation = e.R.cwiseAbs().maxCoeff();
  p.negative = p.lambda_min < -negative_tolerance * ev.cwiseAbs().maxCoeff();
  return p;
}

void append_preactivations(const TwoLayerModel& model, const Eigen::MatrixXd& theta, std::vector<double>& out) {
  const Eigen::MatrixXd R = model.X() * theta.transpose();
  out.insert(out.end(), R.data(), R.data() + R.size());
}

// T along the geodesic from beta with unit velocity w at the given s (ascending, > 0). Integrates
// sample to sample so that a failure keeps the part already computed.
void trace_side(const GeodesicIntegrator& integ, const Eigen::MatrixXd& beta0, const Eigen::MatrixXd& w0,
                const std::vector<double>& s, std::vector<double>& T_out, std::string& failure) {
  Eigen::MatrixXd beta = beta0, w = w0;
  double s_prev = 0;
  for (double sk : s) {
    try {
      const auto r = integ.trace_reduced(beta, w, {sk - s_prev});
      beta = r.front().beta;
      w = r.front().velocity;
      T_out.push_back(SharpnessGeometry(integ.reduced_model(), beta).sharpness());
      s_prev = sk;
    } catch (const Error& e) {
      failure = "geodesic stopped at s = " + fmt(s_prev) + ": " + e.what();
      return;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. At a point.

PointConvexity analyze_point(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                             const PointConvexityOptions& options) {
  model.check_weights(theta, "convexity point");
  if (options.directions < 0 || options.profile_points < 3 || options.profile_points % 2 == 0 ||
      !(options.profile_length > 0) || !(options.derivative_step > 0)) {
    throw InputError("convexity point options: need directions >= 0, an odd profile_points >= 3, "
                     "profile_length > 0 and derivative_step > 0");
  }
  require_on_manifold(model, theta, "convexity point");
  const GeodesicIntegrator integ(model, options.geodesic);
  const ReducedCoordinates& rc = integ.reduced_coordinates();
  const TwoLayerModel& red = integ.reduced_model();
  if (red.m() * red.d() - red.n() <= 0) Reduced(model).require_tangent_directions();
  const Eigen::MatrixXd beta = rc.reduce(theta);
  const SharpnessGeometry geo(red, beta);
  const RiemannianHessianMatrix H = geo.riemannian_hessian_matrix();
  const Eigen::MatrixXd grad = geo.riemannian_gradient();

  PointConvexity out;
  out.sharpness = geo.sharpness();
  out.grad_norm = grad.norm();
  out.residual = geo.evaluation().residuals.cwiseAbs().maxCoeff();
  out.eigenvalues = H.eigenvalues;
  out.lambda_min = H.eigenvalues.minCoeff();
  out.lambda_max = H.eigenvalues.maxCoeff();
  {
    std::vector<double> r;
    append_preactivations(model, theta, r);
    out.assumptions = check_assumptions(model.activation(), r);
  }

  // Directions: the eigenvector of lambda_min, then K uniform on the unit sphere of the non-trivial
  // tangent part. H.basis is in the reduced model's coordinates.
  std::vector<std::pair<std::string, Eigen::MatrixXd>> dirs;
  if (options.include_min_eigenvector) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(H.matrix);
    const Eigen::VectorXd u = H.basis * es.eigenvectors().col(0);
    dirs.emplace_back("min-eigenvector", unvectorize(u / u.norm(), red.m(), red.d()));
  }
  std::mt19937_64 rng(options.seed);
  for (int k = 0; k < options.directions; ++k) {
    const Eigen::VectorXd u = H.basis * random_unit(H.basis.cols(), rng);
    dirs.emplace_back("random", unvectorize(u / u.norm(), red.m(), red.d()));
  }

  const int half = options.profile_points / 2;
  const double L = options.profile_length, ds = L / half;
  std::vector<double> pos(half);
  for (int k = 0; k < half; ++k) pos[k] = ds * (k + 1);
  const double h = options.derivative_step;
  out.min_second_derivative = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < dirs.size(); ++k) {
    const Eigen::MatrixXd& w = dirs[k].second;
    GeodesicProfile prof;
    prof.direction = static_cast<int>(k);
    prof.kind = dirs[k].first;
    prof.velocity = rc.lift_tangent(w);
    prof.first_derivative = (grad.array() * w.array()).sum();
    prof.second_derivative = geo.riemannian_hessian_form(w);
    out.min_second_derivative = std::min(out.min_second_derivative, prof.second_derivative);

    std::vector<double> Tp, Tm;
    std::string fail_p, fail_m;
    trace_side(integ, beta, w, pos, Tp, fail_p);
    trace_side(integ, beta, -w, pos, Tm, fail_m);
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
    trace_side(integ, beta, w, {h / 2, h}, Fp, f1);
    trace_side(integ, beta, -w, {h / 2, h}, Fm, f2);
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
  model.check_weights(theta, "convexity sample (" + scheme + ")");
  require_on_manifold(model, theta, "convexity sample (" + scheme + " #" + std::to_string(index) + ")");
  const Reduced R(model);
  R.require_tangent_directions();
  return measure(R, R.rc.reduce(theta), theta, scheme, index, parameter, negative_tolerance);
}

SamplingResult sample_points(const TwoLayerModel& model, const std::optional<Eigen::MatrixXd>& anchor,
                             const Eigen::Ref<const Eigen::MatrixXd>& reference, const SamplingOptions& o,
                             const Progress& progress) {
  if (o.random_points < 0 || o.geodesic_points < 0 || !(o.random_scale_min > 0) ||
      !(o.random_scale_max >= o.random_scale_min) || !(o.max_distance > 0) || !(o.negative_tolerance >= 0)) {
    throw InputError("convexity sampling options: need point counts >= 0, 0 < random_scale_min <= "
                     "random_scale_max, max_distance > 0 and negative_tolerance >= 0");
  }
  const Reduced R(model);
  R.require_tangent_directions();
  const int m = R.red.m(), p = R.red.d();
  Eigen::MatrixXd ref = Eigen::MatrixXd::Zero(model.m(), model.d());
  if (reference.size() > 0) {
    model.check_weights(reference, "convexity reference point");
    ref = reference;
  }
  SamplingResult out;
  std::mt19937_64 rng(o.seed);
  const double tol = o.negative_tolerance;

  if (anchor) {
    model.check_weights(*anchor, "convexity anchor");
    require_on_manifold(model, *anchor, "convexity anchor");
    out.points.push_back(measure(R, R.rc.reduce(*anchor), *anchor, "anchor", 0, 0.0, tol));
  }

  // Random starts projected onto M.
  if (o.random_points > 0) say(progress, "sampling: " + std::to_string(o.random_points) + " random starts projected onto M");
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double llo = std::log(o.random_scale_min), lhi = std::log(o.random_scale_max);
  for (int i = 0; i < o.random_points; ++i) {
    const double scale = std::exp(llo + (lhi - llo) * unit(rng));
    Eigen::MatrixXd beta0 = random_gaussian(m, p, rng);
    const double rms = std::sqrt((R.red.X() * beta0.transpose()).squaredNorm() / (R.red.n() * m));
    if (rms > 0) beta0 *= scale / rms;
    try {
      ProjectionResult pr = project_newton(R.red, beta0, o.projection);
      SampledPoint sp = measure(R, pr.theta, R.rc.lift(pr.theta, ref), "random", i, scale, tol);
      sp.projection_distance = pr.summary.distance_moved;
      out.points.push_back(std::move(sp));
    } catch (const Error& e) {
      out.failures.push_back({"random", i, e.what()});
    }
  }

  // Points at controlled geodesic length from the anchor.
  if (anchor && o.geodesic_points > 0) {
    say(progress, "sampling: " + std::to_string(o.geodesic_points) + " points along geodesics from the anchor (length up to " +
                      fmt(o.max_distance) + ")");
    const GeodesicIntegrator integ(model, o.geodesic);
    const Eigen::MatrixXd beta_a = R.rc.reduce(*anchor);
    const Eigen::MatrixXd B = tangent_basis(R.red, beta_a);
    for (int i = 0; i < o.geodesic_points; ++i) {
      const double rho = o.max_distance * (i + 1) / o.geodesic_points;
      const Eigen::MatrixXd w = unvectorize(B * random_unit(B.cols(), rng), m, p);
      try {
        const auto r = integ.trace_reduced(beta_a, w, {rho});
        out.points.push_back(measure(R, r.front().beta, R.rc.lift(r.front().beta, *anchor), "geodesic", i, rho, tol));
      } catch (const Error& e) {
        out.failures.push_back({"geodesic", i, e.what()});
      }
    }
  }

  // Caller-supplied points (trajectories).
  if (!o.external.empty()) say(progress, "sampling: " + std::to_string(o.external.size()) + " trajectory points");
  std::map<std::string, int> counters;
  for (const ExternalPoint& x : o.external) {
    std::string source = x.source.empty() ? "external" : x.source;
    std::replace(source.begin(), source.end(), ',', '_');
    const std::string scheme = "trajectory:" + source;
    const int index = counters[scheme]++;
    model.check_weights(x.theta, "trajectory point " + scheme + " #" + std::to_string(index));
    try {
      Eigen::MatrixXd beta = R.rc.reduce(x.theta);
      double moved = 0;
      if (!(max_residual(model, x.theta) <= kOnManifold * label_scale(model))) {
        ProjectionResult pr = project_newton(R.red, beta, o.projection);
        moved = pr.summary.distance_moved;
        beta = std::move(pr.theta);
      }
      SampledPoint sp = measure(R, beta, R.rc.lift(beta, x.theta), scheme, index, x.time, tol);
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

// The best feasible point seen during one rung.
struct Tracker {
  double lambda = std::numeric_limits<double>::infinity();
  double grad = 0;
  Eigen::MatrixXd beta;
  std::string from;
  long evaluations = 0;
  long budget = 0;
};

// Objective of one stage in a retraction chart c -> project_newton(center + B c).
//   Barrier: lambda_min - mu log(1 - g^2 / eps^2), defined only where g < eps;
//   Penalty: lambda_min + rho max(0, g / (eps (1 - 1e-3)) - 1), defined everywhere: an exact penalty
//            whose minimizers (for rho large enough) sit just inside the constraint. Used to pull an
//            infeasible start with negative curvature (a sampled counterexample above eps) inside.
struct Chart {
  const TwoLayerModel* red;
  Eigen::MatrixXd center;  // beta_c on M
  Eigen::MatrixXd basis;   // (m p) x k, orthonormal tangent basis at beta_c
  double eps = 0, mu = 0;
  bool penalty = false;
  double rho = 0;
  const ProjectionOptions* projection;
};

// Value of the stage objective at chart coordinates c; false if it is undefined there (retraction
// failed, or g >= eps for the barrier). Every feasible point (g < eps) evaluated updates the tracker.
bool barrier_value(const Chart& ch, Tracker& tr, const std::string& from, const double* c, double* value) {
  ++tr.evaluations;
  const Eigen::Map<const Eigen::VectorXd> cv(c, ch.basis.cols());
  const Eigen::MatrixXd start = ch.center + unvectorize(ch.basis * cv, ch.red->m(), ch.red->d());
  if (!start.allFinite()) return false;
  try {
    const ProjectionResult pr = project_newton(*ch.red, start, *ch.projection);
    const SharpnessGeometry geo(*ch.red, pr.theta);
    const double g = geo.riemannian_gradient().norm();
    if (!ch.penalty && !(g < ch.eps)) return false;
    const double lambda = geo.riemannian_hessian_matrix().eigenvalues.minCoeff();
    if (!std::isfinite(lambda) || !std::isfinite(g)) return false;
    if (g < ch.eps && lambda < tr.lambda) {
      tr.lambda = lambda;
      tr.grad = g;
      tr.beta = pr.theta;
      tr.from = from;
    }
    *value = ch.penalty ? lambda + ch.rho * std::max(0.0, g / (ch.eps * (1 - 1e-3)) - 1)
                        : lambda - ch.mu * std::log1p(-(g * g) / (ch.eps * ch.eps));
    return std::isfinite(*value);
  } catch (const Error&) {
    return false;
  }
}

class BarrierFunction final : public ceres::FirstOrderFunction {
 public:
  BarrierFunction(const Chart* chart, Tracker* tracker, std::string from, double step)
      : chart_(chart), tracker_(tracker), from_(std::move(from)), step_(step) {}
  int NumParameters() const override { return static_cast<int>(chart_->basis.cols()); }
  bool Evaluate(const double* c, double* cost, double* gradient) const override {
    if (!barrier_value(*chart_, *tracker_, from_, c, cost)) return false;
    if (!gradient) return true;
    const int k = NumParameters();
    std::vector<double> x(c, c + k);
    for (int i = 0; i < k; ++i) {
      double fp = 0, fm = 0;
      x[i] = c[i] + step_;
      const bool okp = barrier_value(*chart_, *tracker_, from_, x.data(), &fp);
      x[i] = c[i] - step_;
      const bool okm = barrier_value(*chart_, *tracker_, from_, x.data(), &fm);
      x[i] = c[i];
      if (okp && okm) {
        gradient[i] = (fp - fm) / (2 * step_);
      } else if (okp) {
        gradient[i] = (fp - *cost) / step_;
      } else if (okm) {
        gradient[i] = (*cost - fm) / step_;
      } else {
        return false;
      }
    }
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
  explicit BudgetCallback(const Tracker* t) : t_(t) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary&) override {
    return t_->evaluations >= t_->budget ? ceres::SOLVER_TERMINATE_SUCCESSFULLY : ceres::SOLVER_CONTINUE;
  }

 private:
  const Tracker* t_;
};

// Runs one Ceres L-BFGS stage in the chart centred at ch.center and re-centres the chart at the
// result (when `require_feasible`, only if the result is strictly feasible). False if the chart
// could not be built or the re-centring failed.
bool run_stage(Chart& ch, Tracker& tr, const std::string& from, const SearchOptions& o, bool require_feasible) {
  const TwoLayerModel& red = *ch.red;
  try {
    ch.basis = tangent_basis(red, ch.center);
  } catch (const Error&) {
    return false;
  }
  const double step = o.difference_step * std::max(1.0, ch.center.norm());
  Eigen::VectorXd c = Eigen::VectorXd::Zero(ch.basis.cols());
  double f0 = 0;
  if (!barrier_value(ch, tr, from, c.data(), &f0)) return false;
  ceres::GradientProblem problem(new BarrierFunction(&ch, &tr, from, step));
  ceres::GradientProblemSolver::Options so;
  so.line_search_direction_type = ceres::LBFGS;
  so.max_num_iterations = o.iterations_per_stage;
  so.function_tolerance = 1e-12;
  so.gradient_tolerance = 1e-12;
  so.parameter_tolerance = 1e-12;
  so.logging_type = ceres::SILENT;
  BudgetCallback budget(&tr);
  so.callbacks.push_back(&budget);
  ceres::GradientProblemSolver::Summary summary;
  detail::silence_ceres_logging();
  ceres::Solve(so, problem, c.data(), &summary);
  try {
    const Eigen::MatrixXd start = ch.center + unvectorize(ch.basis * c, red.m(), red.d());
    ProjectionResult pr = project_newton(red, start, o.projection);
    if (!require_feasible || SharpnessGeometry(red, pr.theta).riemannian_gradient().norm() < ch.eps) {
      ch.center = std::move(pr.theta);
    }
  } catch (const Error&) {
    return false;
  }
  return true;
}

// The curvature scale at beta (for mu and rho): max(|lambda_min|, 1e-2 max |lambda|, 1e-12), and
// the gradient norm and lambda_min there. False at a singular point.
bool curvature_scale(const TwoLayerModel& red, const Eigen::MatrixXd& beta, double& g, double& lmin, double& scale) {
  try {
    const SharpnessGeometry geo(red, beta);
    g = geo.riemannian_gradient().norm();
    const Eigen::VectorXd ev = geo.riemannian_hessian_matrix().eigenvalues;
    lmin = ev.minCoeff();
    scale = std::max({std::abs(lmin), 1e-2 * ev.cwiseAbs().maxCoeff(), 1e-12});
    return std::isfinite(g) && std::isfinite(lmin);
  } catch (const Error&) {
    return false;
  }
}

// One barrier descent from beta0 (on M, strictly feasible), updating the tracker.
void barrier_descent(const TwoLayerModel& red, const Eigen::MatrixXd& beta0, const std::string& from, double eps,
                     const SearchOptions& o, Tracker& tr) {
  double g0 = 0, l0 = 0, scale = 0;
  if (!curvature_scale(red, beta0, g0, l0, scale) || !(g0 < eps)) return;
  ++tr.evaluations;
  if (l0 < tr.lambda) {
    tr.lambda = l0;
    tr.grad = g0;
    tr.beta = beta0;
    tr.from = from;
  }
  Chart ch{&red, beta0, Eigen::MatrixXd(), eps, 0.1 * scale, false, 0.0, &o.projection};
  for (int stage = 0; stage < o.barrier_stages && tr.evaluations < tr.budget; ++stage) {
    if (!run_stage(ch, tr, from, o, /*require_feasible=*/true)) return;
    ch.mu *= 0.1;
  }
}

// From an infeasible start (g >= eps): exact-penalty stages with rho = scale, 10 scale, 100 scale
// until a feasible point has been found, then a barrier descent from the best feasible point this
// start produced.
void penalty_then_barrier(const TwoLayerModel& red, const Eigen::MatrixXd& beta0, const std::string& from,
                          double eps, const SearchOptions& o, Tracker& tr) {
  double g0 = 0, l0 = 0, scale = 0;
  if (!curvature_scale(red, beta0, g0, l0, scale)) return;
  ++tr.evaluations;
  Tracker local;  // feasible points reached from this start only
  local.evaluations = tr.evaluations;
  local.budget = tr.budget;
  Chart ch{&red, beta0, Eigen::MatrixXd(), eps, 0.0, true, scale, &o.projection};
  for (int stage = 0; stage < 3 && local.evaluations < local.budget; ++stage) {
    if (!run_stage(ch, local, from, o, /*require_feasible=*/false)) break;
    if (std::isfinite(local.lambda)) break;
    ch.rho *= 10;
  }
  tr.evaluations = local.evaluations;
  if (!std::isfinite(local.lambda)) return;
  if (local.lambda < tr.lambda) {
    tr.lambda = local.lambda;
    tr.grad = local.grad;
    tr.beta = local.beta;
    tr.from = local.from;
  }
  barrier_descent(red, local.beta, from, eps, o, tr);
}

}  // namespace

std::vector<SearchRung> search_negative_curvature(const TwoLayerModel& model,
                                                  const std::optional<Eigen::MatrixXd>& anchor,
                                                  const std::vector<SampledPoint>& starts,
                                                  const std::vector<double>& eps_in, const SearchOptions& o,
                                                  const Progress& progress) {
  if (o.starts < 0 || o.barrier_stages < 1 || o.iterations_per_stage < 1 || o.max_evaluations_per_rung < 1 ||
      !(o.difference_step > 0)) {
    throw InputError("convexity search options: need starts >= 0, barrier_stages >= 1, iterations_per_stage >= 1, "
                     "max_evaluations_per_rung >= 1 and difference_step > 0");
  }
  for (double e : eps_in)
    if (!(e > 0) || !std::isfinite(e)) throw InputError("convexity search: every eps must be positive and finite, got " + fmt(e));
  const Reduced R(model);
  R.require_tangent_directions();
  std::vector<double> eps = eps_in;
  std::sort(eps.begin(), eps.end());
  std::optional<Eigen::MatrixXd> beta_anchor;
  if (anchor) {
    require_on_manifold(model, *anchor, "convexity anchor");
    beta_anchor = R.rc.reduce(*anchor);
  }
  const Eigen::MatrixXd lift_ref = anchor ? *anchor : Eigen::MatrixXd::Zero(model.m(), model.d());
  // Sampled starts by increasing lambda_min.
  std::vector<std::size_t> order(starts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return starts[a].lambda_min < starts[b].lambda_min; });

  std::vector<SearchRung> out;
  std::optional<Eigen::MatrixXd> previous;
  for (std::size_t r = 0; r < eps.size(); ++r) {
    say(progress, "search: rung " + std::to_string(r + 1) + "/" + std::to_string(eps.size()) +
                      ", minimizing lambda_min subject to ||grad_M T|| <= " + fmt(eps[r]));
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
      cands.emplace_back(starts[i].scheme + "#" + std::to_string(starts[i].index), R.rc.reduce(starts[i].theta));
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
                         R.rc.reduce(starts[above[i]].theta));
    }
    // Breadth, then depth: every start gets an equal share of half the rung's evaluation budget; the
    // rest continues the descent from the best point found.
    Tracker tr;
    const long share =
        std::max(1L, o.max_evaluations_per_rung / (2 * static_cast<long>(std::max<std::size_t>(1, cands.size()))));
    for (std::size_t ci = 0; ci < cands.size(); ++ci) {
      const long before = tr.evaluations;
      tr.budget = before + share;
      if (ci < n_feasible) {
        barrier_descent(R.red, cands[ci].second, cands[ci].first, eps[r], o, tr);
      } else {
        penalty_then_barrier(R.red, cands[ci].second, cands[ci].first, eps[r], o, tr);
      }
      if (tr.evaluations > before) ++rung.starts_used;
    }
    if (std::isfinite(tr.lambda) && tr.evaluations < o.max_evaluations_per_rung) {
      tr.budget = o.max_evaluations_per_rung;
      const Eigen::MatrixXd best = tr.beta;
      const std::string from = tr.from;
      barrier_descent(R.red, best, from, eps[r], o, tr);
    }
    rung.evaluations = tr.evaluations;
    if (std::isfinite(tr.lambda)) {
      rung.feasible_start = true;
      // Re-evaluate the reported point from scratch, in the caller's coordinates.
      const Eigen::MatrixXd theta = R.rc.lift(tr.beta, lift_ref);
      const SampledPoint check = measure(R, R.rc.reduce(theta), theta, "search", static_cast<int>(r), eps[r],
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

namespace {

// The minimizer of T as the anchor; `anchor` receives it when it can be used.
AnchorInfo minimizer_anchor(const TwoLayerModel& model, const Eigen::MatrixXd& reference,
                            std::optional<Eigen::MatrixXd>& anchor) {
  AnchorInfo info;
  const std::string skip = "; continuing without an anchor (no geodesic scheme; the search starts from sampled points)";
  SharpnessMinimum s;
  try {
    s = sharpness_minimum(model, reference);
  } catch (const Error& e) {
    info.description = std::string("no minimizer of T available: ") + e.what() + skip;
    return info;
  }
  if (!s.closed_form && !s.fallback_summary.converged) {
    info.description = "no minimizer of T available: " + s.message + skip;
    return info;
  }
  if (!(s.max_residual <= kOnManifold * label_scale(model))) {
    info.description = "no minimizer of T available: the point found is off M (max_i |f_i - y_i| = " +
                       fmt(s.max_residual) + ")" + skip;
    return info;
  }
  info.source = AnchorSource::Minimizer;
  info.kind = s.kind;
  info.description = (s.kind == OptimumKind::StationaryPoint ? "candidate minimizer of T (" : "minimizer of T (") +
                     s.message + "): " + s.verdict;
  info.sharpness = s.sharpness;
  info.grad_norm = s.riemannian_gradient_norm;
  anchor = s.theta;
  return info;
}

}  // namespace

ConvexityResult analyze_convexity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                  const std::optional<Eigen::MatrixXd>& anchor, const ConvexityOptions& options,
                                  const Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  Reduced(model).require_tangent_directions();
  ConvexityResult out;
  out.activation = model.activation().name();
  const bool have_point = theta.size() > 0;
  if (have_point) {
    say(progress, "point: Riemannian Hessian spectrum and " + std::to_string(options.point.directions) +
                      " geodesic profiles");
    out.point = analyze_point(model, theta, options.point);
  }
  const bool have_start = options.trajectory_start.size() > 0;
  if (have_start) model.check_weights(options.trajectory_start, "trajectory start");
  std::optional<Eigen::MatrixXd> anchor_used = anchor;
  if (anchor) {
    model.check_weights(*anchor, "convexity anchor");
    require_on_manifold(model, *anchor, "convexity anchor");
    const Reduced R(model);
    const SampledPoint a = measure(R, R.rc.reduce(*anchor), *anchor, "anchor", 0, 0.0, 0.0);
    out.anchor.source = AnchorSource::Given;
    out.anchor.description = "given by the caller";
    out.anchor.sharpness = a.sharpness;
    out.anchor.grad_norm = a.grad_norm;
  } else if (options.default_anchor) {
    say(progress, "anchor: the minimizer of T (sharpness_minimum)");
    const Eigen::MatrixXd ref = have_point   ? Eigen::MatrixXd(theta)
                                : have_start ? options.trajectory_start
                                             : Eigen::MatrixXd::Zero(model.m(), model.d());
    out.anchor = minimizer_anchor(model, ref, anchor_used);
  } else {
    out.anchor.description = "no anchor (none given, default anchor disabled): no geodesic scheme";
  }

  // Along trajectories: their states on M join the sampled points.
  SamplingOptions sampling = options.sampling;
  if (options.along_flow || options.along_sgd) {
    const Eigen::MatrixXd start = have_start ? options.trajectory_start
                                  : have_point ? Eigen::MatrixXd(theta)
                                  : anchor_used ? *anchor_used
                                                : Eigen::MatrixXd();
    if (start.size() == 0) {
      throw InputError("convexity along trajectories: no start (give a trajectory start, a point or an anchor)");
    }
    if (options.along_flow) out.trajectories.push_back(flow_convexity(model, start, *options.along_flow, progress));
    if (options.along_sgd) out.trajectories.push_back(sgd_convexity(model, start, *options.along_sgd, progress));
    for (const auto& tr : out.trajectories)
      for (const auto& p : tr.points) sampling.external.push_back({to_string(tr.source), p.tau, p.theta});
  }

  Eigen::MatrixXd reference = have_point ? Eigen::MatrixXd(theta)
                                         : (anchor_used ? *anchor_used : Eigen::MatrixXd::Zero(model.m(), model.d()));
  out.sampling = sample_points(model, anchor_used, reference, sampling, progress);
  if (have_point) {
    out.sampling.points.insert(out.sampling.points.begin(),
                               evaluate_point(model, theta, "given", 0, 0.0, options.sampling.negative_tolerance));
  }
  out.threshold = convexity_threshold(out.sampling.points);
  if (options.run_search) {
    const std::vector<double> eps =
        options.search.eps.empty() ? search_ladder(out.sampling.points, options.search.rungs) : options.search.eps;
    out.search = search_negative_curvature(model, anchor_used, out.sampling.points, eps, options.search, progress);
    for (const auto& r : out.search) {
      if (!r.feasible_start) continue;
      if (r.negative) {
        out.search_negative_from = std::min(out.search_negative_from, r.eps);
      } else {
        out.search_convex_up_to = std::max(out.search_convex_up_to, r.eps);
      }
    }
  }
  std::vector<double> r;
  for (const auto& p : out.sampling.points) append_preactivations(model, p.theta, r);
  for (const auto& s : out.search)
    if (s.theta.size() > 0) append_preactivations(model, s.theta, r);
  out.assumptions = check_assumptions(model.activation(), r);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Output.

namespace {

nlohmann::json number_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

std::string csv_quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return q + "\"";
}

nlohmann::json point_json(const SampledPoint& p) {
  return {{"scheme", p.scheme},         {"index", p.index},          {"parameter", p.parameter},
          {"grad_norm", p.grad_norm},   {"lambda_min", p.lambda_min}, {"lambda_max", p.lambda_max},
          {"sharpness", p.sharpness},   {"max_abs_preactivation", p.max_abs_preactivation}};
}

}  // namespace

nlohmann::json convexity_summary_json(const ConvexityResult& res, const ConvexityOptions& o) {
  using nlohmann::json;
  json j;
  j["activation"] = res.activation;
  j["options"] = {
      {"point", {{"directions", o.point.directions}, {"include_min_eigenvector", o.point.include_min_eigenvector},
                 {"profile_length", o.point.profile_length}, {"profile_points", o.point.profile_points},
                 {"derivative_step", o.point.derivative_step}, {"seed", o.point.seed}}},
      {"sampling", {{"random_points", o.sampling.random_points}, {"random_scale_min", o.sampling.random_scale_min},
                    {"random_scale_max", o.sampling.random_scale_max}, {"geodesic_points", o.sampling.geodesic_points},
                    {"max_distance", o.sampling.max_distance}, {"external_points", o.sampling.external.size()},
                    {"negative_tolerance", o.sampling.negative_tolerance}, {"seed", o.sampling.seed}}},
      {"search", {{"run", o.run_search}, {"eps", o.search.eps}, {"rungs", o.search.rungs},
                  {"starts", o.search.starts}, {"barrier_stages", o.search.barrier_stages},
                  {"iterations_per_stage", o.search.iterations_per_stage},
                  {"max_evaluations_per_rung", o.search.max_evaluations_per_rung},
                  {"difference_step", o.search.difference_step}}}};
  j["anchor"] = {{"source", to_string(res.anchor.source)},
                 {"description", res.anchor.description},
                 {"kind", res.anchor.kind ? json(to_string(*res.anchor.kind)) : json(nullptr)},
                 {"sharpness", number_or_null(res.anchor.sharpness)},
                 {"grad_norm", number_or_null(res.anchor.grad_norm)}};
  json trajectories = json::array();
  for (const auto& tr : res.trajectories) {
    json fails = json::array();
    for (const auto& f : tr.failures) fails.push_back({{"step", f.step}, {"tau", f.tau}, {"reason", f.reason}});
    json t = {{"source", to_string(tr.source)},
              {"points", tr.points.size()},
              {"negative_points", tr.onset.negative_points},
              {"completed", tr.completed},
              {"termination", tr.termination},
              {"start", tr.start_note},
              {"tau_end", tr.tau_end},
              {"convex_throughout", tr.onset.convex_throughout},
              {"convex_at_end", tr.onset.convex_at_end},
              {"convex_from_tau", tr.onset.tau ? json(*tr.onset.tau) : json(nullptr)},
              {"last_negative_tau", tr.onset.last_negative_tau ? json(*tr.onset.last_negative_tau) : json(nullptr)},
              {"grad_norm_at_onset", tr.onset.grad_norm_at_onset ? json(*tr.onset.grad_norm_at_onset) : json(nullptr)},
              {"onset_refined", tr.refined_low ? json{{"after", *tr.refined_low}, {"by", *tr.refined_high}}
                                               : json(nullptr)},
              {"refine_note", tr.refine_note},
              {"failures", fails},
              {"seconds", tr.seconds}};
    if (!tr.points.empty()) {
      const auto& a = tr.points.front();
      const auto& b = tr.points.back();
      t["first"] = {{"tau", a.tau}, {"grad_norm", a.grad_norm}, {"lambda_min", a.lambda_min}, {"sharpness", a.sharpness}};
      t["last"] = {{"tau", b.tau}, {"grad_norm", b.grad_norm}, {"lambda_min", b.lambda_min}, {"sharpness", b.sharpness}};
    }
    trajectories.push_back(t);
  }
  j["trajectories"] = trajectories;
  if (o.along_flow) {
    j["options"]["along_flow"] = {{"flow_time", o.along_flow->flow_time}, {"points", o.along_flow->points},
                                  {"rtol", o.along_flow->flow.rtol}, {"atol", o.along_flow->flow.atol},
                                  {"start_projection", o.along_flow->start_projection}};
  }
  if (o.along_sgd) {
    const SgdConvexityOptions& g = *o.along_sgd;
    j["options"]["along_sgd"] = {{"lr", g.sgd.learning_rate}, {"label_noise", g.sgd.label_noise},
                                 {"noise", noise_kind_name(g.sgd.noise)},
                                 {"batch", g.sgd.batch_size}, {"steps", g.steps}, {"seed", g.sgd.seed},
                                 {"points", g.points}, {"projection", g.projection}};
  }
  j["options"]["default_anchor"] = o.default_anchor;
  if (res.point) {
    const PointConvexity& p = *res.point;
    json profiles = json::array();
    for (const auto& pr : p.profiles) {
      profiles.push_back({{"direction", pr.direction}, {"kind", pr.kind},
                          {"first_derivative", pr.first_derivative}, {"second_derivative", pr.second_derivative},
                          {"second_derivative_fd", number_or_null(pr.second_derivative_fd)},
                          {"min_second_difference", number_or_null(pr.min_second_difference)},
                          {"complete", pr.complete}, {"failure", pr.failure}});
    }
    j["point"] = {{"sharpness", p.sharpness},
                  {"grad_norm", p.grad_norm},
                  {"residual", p.residual},
                  {"lambda_min", p.lambda_min},
                  {"lambda_max", p.lambda_max},
                  {"eigenvalues", std::vector<double>(p.eigenvalues.data(), p.eigenvalues.data() + p.eigenvalues.size())},
                  {"min_second_derivative_over_geodesics", number_or_null(p.min_second_derivative)},
                  {"profiles", profiles},
                  {"assumptions_hold", p.assumptions.holds()}};
  } else {
    j["point"] = nullptr;
  }
  std::map<std::string, json> schemes;
  for (const auto& p : res.sampling.points) {
    json& s = schemes[p.scheme];
    if (s.is_null()) {
      s = {{"points", 0}, {"negative", 0}, {"failures", 0}, {"grad_norm_min", p.grad_norm},
           {"grad_norm_max", p.grad_norm}, {"lambda_min_min", p.lambda_min}};
    }
    s["points"] = s["points"].get<int>() + 1;
    if (p.negative) s["negative"] = s["negative"].get<int>() + 1;
    s["grad_norm_min"] = std::min(s["grad_norm_min"].get<double>(), p.grad_norm);
    s["grad_norm_max"] = std::max(s["grad_norm_max"].get<double>(), p.grad_norm);
    s["lambda_min_min"] = std::min(s["lambda_min_min"].get<double>(), p.lambda_min);
  }
  for (const auto& f : res.sampling.failures) {
    json& s = schemes[f.scheme];
    if (s.is_null()) s = {{"points", 0}, {"negative", 0}, {"failures", 0}};
    s["failures"] = s["failures"].get<int>() + 1;
  }
  j["sampling"] = {{"points", res.sampling.points.size()},
                   {"failures", res.sampling.failures.size()},
                   {"by_scheme", schemes}};
  const ConvexityThreshold& t = res.threshold;
  json ce = json::array();
  for (std::size_t k = 0; k < t.counterexamples.size() && k < 10; ++k) ce.push_back(point_json(res.sampling.points[t.counterexamples[k]]));
  json most = nullptr;
  for (std::size_t i : t.counterexamples) {
    if (most.is_null() || res.sampling.points[i].lambda_min < most["lambda_min"].get<double>()) {
      most = point_json(res.sampling.points[i]);
    }
  }
  j["threshold"] = {{"negative_found", t.negative_found},
                    {"grad_norm_threshold", number_or_null(t.threshold)},
                    {"points_below", t.points_below},
                    {"largest_grad_below", t.largest_grad_below},
                    {"smallest_lambda_below", number_or_null(t.smallest_lambda_below)},
                    {"largest_grad_sampled", t.largest_grad_sampled},
                    {"counterexamples_total", t.counterexamples.size()},
                    {"counterexamples", ce},
                    {"most_negative_counterexample", most}};
  json rungs = json::array();
  for (const auto& r : res.search) {
    rungs.push_back({{"eps", r.eps}, {"feasible_start", r.feasible_start}, {"lambda_min", number_or_null(r.lambda_min)},
                     {"grad_norm", number_or_null(r.grad_norm)}, {"sharpness", number_or_null(r.sharpness)},
                     {"negative", r.negative}, {"found_from", r.found_from}, {"starts_used", r.starts_used},
                     {"evaluations", r.evaluations}});
  }
  j["search"] = {{"rungs", rungs},
                 {"convex_up_to", res.search_convex_up_to},
                 {"negative_from", number_or_null(res.search_negative_from)}};
  const AssumptionReport& a = res.assumptions;
  j["assumptions"] = {{"hold", a.holds()},
                      {"first_derivative_positive", a.first_derivative_positive},
                      {"third_derivative_positive", a.third_derivative_positive},
                      {"min_first_derivative", number_or_null(a.min_first_derivative)},
                      {"argmin_first_derivative", a.argmin_first_derivative},
                      {"min_third_derivative", number_or_null(a.min_third_derivative)},
                      {"argmin_third_derivative", a.argmin_third_derivative},
                      {"description", a.describe(res.activation)}};
  j["seconds"] = res.seconds;
  return j;
}

std::vector<std::string> write_convexity_outputs(const std::string& dir, const ConvexityResult& res,
                                                 const ConvexityOptions& options,
                                                 const Eigen::Ref<const Eigen::VectorXd>& a) {
  namespace fs = std::filesystem;
  std::vector<std::string> written;
  auto put = [&](const std::string& name, const std::string& contents) {
    const std::string path = (fs::path(dir) / name).string();
    write_file_atomic(path, contents);
    written.push_back(path);
  };
  const auto& F = format_double;
  {
    std::ostringstream s;
    s << "scheme,index,parameter,grad_norm,lambda_min,lambda_max,sharpness,negative,residual,projection_distance,"
         "min_dphi,min_d3phi,max_abs_preactivation\n";
    for (const auto& p : res.sampling.points) {
      s << p.scheme << ',' << p.index << ',' << F(p.parameter) << ',' << F(p.grad_norm) << ',' << F(p.lambda_min)
        << ',' << F(p.lambda_max) << ',' << F(p.sharpness) << ',' << (p.negative ? 1 : 0) << ',' << F(p.residual)
        << ',' << F(p.projection_distance) << ',' << F(p.min_first_derivative) << ','
        << F(p.min_third_derivative) << ',' << F(p.max_abs_preactivation) << '\n';
    }
    put("points.csv", s.str());
  }
  {
    std::ostringstream s;
    s << "scheme,index,reason\n";
    for (const auto& f : res.sampling.failures) s << f.scheme << ',' << f.index << ',' << csv_quote(f.reason) << '\n';
    put("failures.csv", s.str());
  }
  {
    std::ostringstream s;
    s << "eps,feasible_start,lambda_min,grad_norm,sharpness,negative,found_from,starts_used,evaluations\n";
    for (const auto& r : res.search) {
      s << F(r.eps) << ',' << (r.feasible_start ? 1 : 0) << ',' << F(r.lambda_min) << ',' << F(r.grad_norm) << ','
        << F(r.sharpness) << ',' << (r.negative ? 1 : 0) << ',' << r.found_from << ',' << r.starts_used << ','
        << r.evaluations << '\n';
    }
    put("search.csv", s.str());
  }
  if (res.point) {
    std::ostringstream s, d, e;
    s << "direction,kind,s,sharpness\n";
    d << "direction,kind,first_derivative,second_derivative,second_derivative_fd,min_second_difference,complete,"
         "failure\n";
    for (const auto& pr : res.point->profiles) {
      for (std::size_t k = 0; k < pr.s.size(); ++k) {
        s << pr.direction << ',' << pr.kind << ',' << F(pr.s[k]) << ',' << F(pr.sharpness[k]) << '\n';
      }
      d << pr.direction << ',' << pr.kind << ',' << F(pr.first_derivative) << ',' << F(pr.second_derivative) << ','
        << F(pr.second_derivative_fd) << ',' << F(pr.min_second_difference) << ',' << (pr.complete ? 1 : 0) << ','
        << csv_quote(pr.failure) << '\n';
    }
    e << "index,eigenvalue\n";
    for (Eigen::Index k = 0; k < res.point->eigenvalues.size(); ++k) e << k << ',' << F(res.point->eigenvalues(k)) << '\n';
    put("profiles.csv", s.str());
    put("directions.csv", d.str());
    put("spectrum.csv", e.str());
  }
  bool any_search_point = false;
  for (const auto& r : res.search) any_search_point = any_search_point || r.theta.size() > 0;
  if (any_search_point) {
    const fs::path sub = fs::path(dir) / "search_points";
    std::error_code ec;
    fs::create_directories(sub, ec);
    if (ec) throw InputError(sub.string() + ": cannot create directory (" + ec.message() + ")");
    for (std::size_t k = 0; k < res.search.size(); ++k) {
      if (res.search[k].theta.size() == 0) continue;
      const std::string path = (sub / ("eps_" + std::to_string(k) + ".csv")).string();
      write_weights_csv(path, res.search[k].theta, a);
      written.push_back(path);
    }
  }
  if (!res.trajectories.empty()) put("trajectory_convexity.csv", trajectory_convexity_csv(res.trajectories));
  nlohmann::json summary = convexity_summary_json(res, options);
  nlohmann::json figures = nlohmann::json::array(), scripts = nlohmann::json::array(), notes = nlohmann::json::array();
  if (options.figures) {
    for (const PlotOutcome& f : write_convexity_figures(dir, res)) {
      if (!f.script_path.empty()) {
        scripts.push_back(fs::path(f.script_path).filename().string());
        written.push_back(f.script_path);
      }
      if (f.written) {
        figures.push_back(fs::path(f.svg_path).filename().string());
        written.push_back(f.svg_path);
      }
      if (!f.note.empty() && std::find(notes.begin(), notes.end(), f.note) == notes.end()) notes.push_back(f.note);
    }
  }
  summary["figures"] = figures;
  summary["figure_scripts"] = scripts;
  summary["figure_notes"] = notes;
  put("summary.json", summary.dump(2) + "\n");
  return written;
}

}  // namespace zeroloss
