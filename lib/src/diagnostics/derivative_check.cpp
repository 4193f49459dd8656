#include "zeroloss/support/number_text.hpp"
#include "zeroloss/diagnostics/derivative_check.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <ostream>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/random/portable_distributions.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();

double inner(const Eigen::VectorXd& a, const Eigen::VectorXd& b) { return a.dot(b); }

// Least-squares line through (X_k, Y_k), k in [b, e) (numerics/rate_fit.hpp's fit_line; at least two points
// with distinct X, all finite).
LinearFit fit_window(const std::vector<double>& X, const std::vector<double>& Y, int b, int e) {
  return fit_line(std::vector<double>(X.begin() + b, X.begin() + e), std::vector<double>(Y.begin() + b, Y.begin() + e));
}

// Chooses the fitted window and sets slope, verdict and pass/fail of one Taylor check.
void analyse(TaylorCheck& c, const DerivativeCheckOptions& o) {
  const int K = static_cast<int>(c.t.size());
  c.above_noise.assign(K, false);
  int finite = 0, above = 0;
  std::vector<double> lt(K), le(K);
  for (int k = 0; k < K; ++k) {
    lt[k] = std::log10(c.t[k]);
    if (std::isfinite(c.error[k])) ++finite;
    if (std::isfinite(c.error[k]) && c.error[k] > c.noise_floor[k]) {
      c.above_noise[k] = true;
      le[k] = std::log10(c.error[k]);
      ++above;
    }
  }
  c.slope = kNaN;
  const double need = c.expected_slope - o.slope_tolerance;
  if (finite < 3) {
    c.passed = false;
    c.verdict = "the retraction failed at all but " + std::to_string(finite) + " step sizes: inconclusive";
    return;
  }
  // Windows of `window` consecutive points, all above the noise floor.
  const int w = std::min(o.window, K);
  int chosen_b = -1, chosen_e = -1;
  double best_rms = std::numeric_limits<double>::infinity();
  int best_b = -1;
  for (int b = 0; b + w <= K; ++b) {
    bool ok = true;
    for (int k = b; k < b + w && ok; ++k) ok = c.above_noise[k];
    if (!ok) continue;
    const double r = fit_window(lt, le, b, b + w).rms_residual;
    if (r <= o.max_fit_rms) {  // smallest-t window that is a clean straight line
      chosen_b = b;
      chosen_e = b + w;
      break;
    }
    if (r < best_rms) {
      best_rms = r;
      best_b = b;
    }
  }
  std::string note;
  if (chosen_b < 0 && best_b >= 0) {
    chosen_b = best_b;
    chosen_e = best_b + w;
    note = " (no window is a clean straight line; best one used)";
  }
  if (chosen_b < 0) {
    // No full window above the noise: use the longest run of at least 3 points.
    int run_b = -1, run_len = 0;
    for (int k = 0; k < K;) {
      if (!c.above_noise[k]) {
        ++k;
        continue;
      }
      int e = k;
      while (e < K && c.above_noise[e]) ++e;
      if (e - k > run_len) {
        run_len = e - k;
        run_b = k;
      }
      k = e;
    }
    if (run_len >= 3) {
      chosen_b = run_b;
      chosen_e = run_b + run_len;
      note = " (only " + std::to_string(run_len) + " consecutive points above the rounding floor)";
    }
  }
  if (chosen_b < 0) {
    c.at_rounding_level = true;
    c.passed = true;
    c.verdict = "E(t) is at rounding level at " + std::to_string(K - above) + " of " + std::to_string(K) +
                " step sizes: the model is exact to rounding along this direction";
    return;
  }
  c.fit_begin = chosen_b;
  c.fit_end = chosen_e;
  const LinearFit line = fit_window(lt, le, chosen_b, chosen_e);
  c.slope = line.slope;
  c.intercept = line.intercept;
  c.fit_rms = line.rms_residual;
  c.passed = c.slope >= need;
  std::ostringstream s;
  s << "slope " << std::fixed << std::setprecision(3) << c.slope << " fitted on t in [" << short_number(c.t[chosen_b], 3) << ", "
    << short_number(c.t[chosen_e - 1], 3) << "]" << note << "; expected " << std::setprecision(0) << c.expected_slope;
  if (!c.passed) {
    if (c.slope < 1.5)
      s << ": FAILS (slope ~1: the gradient is wrong)";
    else
      s << ": FAILS (slope ~2: the Hessian is wrong, or the retraction is not second order)";
  }
  c.verdict = s.str();
}

ResidualCheck residual(const std::string& name, double value, double tolerance, const std::string& meaning) {
  ResidualCheck r;
  r.name = name;
  r.ran = true;
  r.value = value;
  r.tolerance = tolerance;
  r.passed = std::isfinite(value) && value <= tolerance;
  r.meaning = meaning;
  return r;
}

Eigen::VectorXd random_unit(Eigen::Index P, std::mt19937_64& rng) {
  StandardNormal normal;
  Eigen::VectorXd g(P);
  for (Eigen::Index k = 0; k < P; ++k) g(k) = normal(rng);
  return g / g.norm();
}

Eigen::VectorXd random_unit_tangent(const ManifoldPoint& point, std::mt19937_64& rng) {
  const Eigen::VectorXd g = random_unit(point.point().size(), rng);
  const Eigen::VectorXd v = point.tangent_projection(g);
  const double nv = v.norm();
  if (!(nv > 1e-8)) {
    throw InputError("derivative check: the tangent space of the zero-loss manifold is {0} at this point "
                     "(P = n constraints fix every parameter); there is no direction to check along");
  }
  return v / nv;
}

}  // namespace

Eigen::VectorXd newton_retraction(const std::shared_ptr<const SquaredLossModel>& model,
                                  const Eigen::Ref<const Eigen::VectorXd>& x, const Eigen::Ref<const Eigen::VectorXd>& v) {
  if (!model) throw InputError("retraction: no model");
  model->check_parameters(x, "retraction base point");
  model->check_parameters(v, "retraction direction");
  // Newton's own stopping level (not an on-M test): below it a step that no longer reduces the
  // residual fourfold is at rounding level; the same level as a start used without projection.
  const double tol = kProjectedStartTolerance * residual_scale(model->labels());
  Eigen::VectorXd z = x + v;
  Eigen::VectorXd best = z;
  double best_res = std::numeric_limits<double>::infinity(), prev = best_res, last = best_res;
  int iterations = 0;
  std::ostringstream history;
  for (int it = 0; it <= 30; ++it) {
    if (!z.allFinite()) break;
    const ManifoldPoint point(model, z);
    const double res = point.max_residual();
    if (it < 4) history << (it ? ", " : "") << res;
    last = res;
    iterations = it + 1;
    if (!std::isfinite(res)) break;
    if (res < best_res) {
      best_res = res;
      best = z;
    }
    // Stop at an exact zero, or once the residual is small and a step no longer reduces it fourfold
    // (rounding level: Newton's quadratic convergence reduces it much faster than that before).
    if (res == 0.0 || (it >= 1 && res <= tol && res > 0.25 * prev)) break;
    prev = res;
    z += point.newton_step();  // throws SingularPointError at a singular point
  }
  if (!(best_res <= tol)) {
    throw ConvergenceError("retraction: Newton projection of x + v did not reach the zero-loss manifold "
                           "(residual max_i |f_i - y_i|: " + history.str() +
                           (iterations > 4 ? ", ..., " + short_number(last, 3) + " after " + std::to_string(iterations) + " evaluations"
                                           : std::string()) +
                           "; best " + short_number(best_res, 3) + ", needed " + short_number(tol, 3) +
                           "). If this is the starting point, move it onto M first (zeroloss project)");
  }
  return best;
}

bool DerivativeCheckResult::passed() const {
  for (const TaylorCheck* c : {&gradient, &hessian})
    if (c->ran && !c->passed) return false;
  for (const ResidualCheck* r : {&gradient_tangency, &hessian_tangency, &symmetry, &linearity})
    if (r->ran && !r->passed) return false;
  return true;
}

DerivativeCheckResult check_derivatives(const std::shared_ptr<const SquaredLossModel>& model,
                                        const Eigen::Ref<const Eigen::VectorXd>& x_in, const ManifoldFunction& f,
                                        const DerivativeCheckOptions& o) {
  if (!model) throw InputError("derivative check: no model");
  if (!f.value || !f.gradient) throw InputError("derivative check: the value and gradient callbacks are required");
  if (o.points < 3 || o.window < 3 || !(o.log10_t_max > o.log10_t_min)) {
    throw InputError("derivative check: need at least 3 points, a window of at least 3 and log10_t_max > log10_t_min");
  }
  model->check_parameters(x_in, "derivative check point");
  const Eigen::Index P = model->num_parameters();
  const Retraction R = o.retraction ? o.retraction
                                    : Retraction([&model](const Eigen::VectorXd& x, const Eigen::VectorXd& v) {
                                        return newton_retraction(model, x, v);
                                      });
  DerivativeCheckResult out;
  out.options = o;
  out.options.retraction = nullptr;
  const Eigen::VectorXd x0 = R(Eigen::VectorXd(x_in), Eigen::VectorXd::Zero(P));
  out.base_point_shift = (x0 - x_in).norm();
  const ManifoldPoint J(model, x0);
  if (!J.regular()) J.solve_gram(Eigen::VectorXd::Zero(model->num_samples()));  // throws SingularPointError

  std::mt19937_64 rng(o.seed);
  const Eigen::VectorXd v = random_unit_tangent(J, rng);
  const Eigen::VectorXd u = random_unit_tangent(J, rng);
  StandardNormal normal;
  const double alpha = normal(rng), beta = normal(rng);

  const double f0 = f.value(x0);
  const Eigen::VectorXd g = f.gradient(x0);
  model->check_parameters(g, "derivative check: gradient callback result");
  const bool have_h = static_cast<bool>(f.hessian_apply);
  Eigen::VectorXd Hv, Hu;
  if (have_h) {
    Hv = f.hessian_apply(x0, v);
    Hu = f.hessian_apply(x0, u);
    model->check_parameters(Hv, "derivative check: Hessian callback result");
  }
  out.value = f0;
  out.gradient_norm = g.norm();
  out.directional_derivative = inner(g, v);
  out.curvature = have_h ? inner(Hv, v) : 0.0;
  const double gv = out.directional_derivative, vHv = out.curvature;

  TaylorCheck& c1 = out.gradient;
  TaylorCheck& c2 = out.hessian;
  c1.name = "gradient";
  c1.ran = true;
  c1.expected_slope = 2;
  c2.name = "hessian";
  c2.ran = have_h;
  c2.expected_slope = 3;
  for (int k = 0; k < o.points; ++k) {
    const double t = std::pow(10.0, o.log10_t_min + (o.log10_t_max - o.log10_t_min) * k / (o.points - 1));
    double ft = kNaN;
    try {
      ft = f.value(R(x0, t * v));
    } catch (const Error&) {
      ft = kNaN;  // the retraction (or f) failed at this step size: excluded from the fit
    }
    const double base = std::abs(f0) + std::abs(ft) + std::abs(t * gv);
    c1.t.push_back(t);
    c1.error.push_back(std::abs(ft - f0 - t * gv));
    c1.noise_floor.push_back(o.noise_factor * kEps * base);
    if (have_h) {
      c2.t.push_back(t);
      c2.error.push_back(std::abs(ft - f0 - t * gv - 0.5 * t * t * vHv));
      c2.noise_floor.push_back(o.noise_factor * kEps * (base + std::abs(0.5 * t * t * vHv)));
    }
  }
  analyse(c1, o);
  if (have_h) analyse(c2, o);

  const double gs = std::max(g.norm(), f.gradient_scale);
  out.gradient_tangency = residual("gradient tangency", J.normal_projection(g).norm() / (gs > 0 ? gs : 1.0),
                                   o.tangency_tolerance, "||N g|| / max(||g||, s_g)");
  if (have_h) {
    const double hs = f.hessian_scale;
    const double hv_den = std::max(Hv.norm(), hs);
    out.hessian_tangency = residual("Hessian tangency", J.normal_projection(Hv).norm() / (hv_den > 0 ? hv_den : 1.0),
                                    o.tangency_tolerance, "||N H v|| / max(||H v||, s_H)");
    const double sym_den = Hu.norm() + Hv.norm() + hs;
    out.symmetry = residual("Hessian symmetry", std::abs(inner(u, Hv) - inner(Hu, v)) / (sym_den > 0 ? sym_den : 1.0),
                            o.symmetry_tolerance, "|<u,Hv> - <Hu,v>| / (||Hu|| + ||Hv|| + s_H)");
    const Eigen::VectorXd Hw = f.hessian_apply(x0, alpha * u + beta * v);
    const double lin_den = std::abs(alpha) * Hu.norm() + std::abs(beta) * Hv.norm() + hs;
    out.linearity = residual("Hessian linearity",
                             (Hw - alpha * Hu - beta * Hv).norm() / (lin_den > 0 ? lin_den : 1.0),
                             o.linearity_tolerance, "||H(a u + b v) - a Hu - b Hv|| / (|a| ||Hu|| + |b| ||Hv|| + s_H)");
  }
  return out;
}

DerivativeCheckResult check_sharpness_derivatives(const std::shared_ptr<const SquaredLossModel>& model,
                                                  const Eigen::Ref<const Eigen::VectorXd>& theta,
                                                  const DerivativeCheckOptions& options, const InjectedError& injected,
                                                  double hessian_scale) {
  if (!model) throw InputError("derivative check: no model");
  model->check_parameters(theta);
  DerivativeCheckOptions o = options;
  if (!o.retraction) {
    o.retraction = [model](const Eigen::VectorXd& x, const Eigen::VectorXd& v) { return newton_retraction(model, x, v); };
  }
  const Eigen::VectorXd x0 = o.retraction(theta, Eigen::VectorXd::Zero(theta.size()));

  ManifoldFunction f;
  f.value = [model](const Eigen::VectorXd& x) { return model->evaluate(x)->sharpness(); };
  f.gradient = [model](const Eigen::VectorXd& x) { return RiemannianSharpness(model, x).riemannian_gradient(); };
  f.hessian_apply = [model](const Eigen::VectorXd& x, const Eigen::VectorXd& v) {
    return RiemannianSharpness(model, x).riemannian_hessian_apply(v);
  };
  // Rounding scales: ||grad T|| (Euclidean; the Riemannian gradient is its tangent part) and the
  // size of the two unprojected terms of the Hessian, Hess T w and sum_i lambda_i Hess f_i w.
  const RiemannianSharpness s0(model, x0);
  f.gradient_scale = s0.euclidean_gradient().norm();
  if (hessian_scale > 0) {
    f.hessian_scale = hessian_scale;
  } else {
    std::mt19937_64 rng(o.seed ^ 0x5851F42D4C957F2DULL);
    const ModelPoint& e = s0.point().evaluation();
    double scale = 0;
    for (int k = 0; k < 4; ++k) {
      const Eigen::VectorXd w = random_unit(x0.size(), rng);
      scale = std::max(scale, e.sharpness_hessian_apply(w).norm() + e.constraint_hessian_apply(s0.multipliers(), w).norm());
    }
    f.hessian_scale = scale;
  }

  if (injected.gradient != 0 || injected.hessian != 0) {
    // The gradient error points along the check's own direction v (the first tangent direction the
    // checker draws from o.seed), so that it is fully visible in <g, v>; the Hessian error is the
    // tangent projection times a constant, visible along every tangent direction.
    std::mt19937_64 rng(o.seed);
    const Eigen::VectorXd w = random_unit_tangent(s0.point(), rng);
    const double dg = injected.gradient * f.gradient_scale, dh = injected.hessian * f.hessian_scale;
    const ManifoldFunction exact = f;
    f.gradient = [exact, w, dg](const Eigen::VectorXd& x) { return Eigen::VectorXd(exact.gradient(x) + dg * w); };
    f.hessian_apply = [exact, model, dh](const Eigen::VectorXd& x, const Eigen::VectorXd& v) {
      return Eigen::VectorXd(exact.hessian_apply(x, v) + dh * ManifoldPoint(model, x).tangent_projection(v));
    };
  }
  DerivativeCheckResult r = check_derivatives(model, x0, f, o);
  r.base_point_shift = (x0 - theta).norm();
  r.options.retraction = nullptr;
  return r;
}

void print_derivative_check(std::ostream& out, const DerivativeCheckResult& r) {
  const auto flags = out.flags();
  const auto prec = out.precision();
  out << std::setprecision(6);
  out << "Derivative check along a random unit tangent direction v (seed " << r.options.seed << ")\n";
  out << "  f(x) = " << r.value << ", ||grad f|| = " << r.gradient_norm << ", <grad f, v> = " << r.directional_derivative;
  if (r.hessian.ran) out << ", <Hess f[v], v> = " << r.curvature;
  out << "\n  the point was moved " << std::setprecision(3) << r.base_point_shift
      << " onto M by the retraction before checking\n\n";

  out << std::left << std::setw(20) << "check" << std::setw(13) << "measured" << std::setw(16) << "criterion"
      << std::setw(7) << "result" << "detail\n";
  for (const TaylorCheck* c : {&r.gradient, &r.hessian}) {
    if (!c->ran) continue;
    std::ostringstream meas, crit;
    if (std::isfinite(c->slope))
      meas << std::fixed << std::setprecision(3) << c->slope;
    else
      meas << (c->at_rounding_level ? "rounding" : "n/a");
    crit << "slope >= " << std::fixed << std::setprecision(2) << c->expected_slope - r.options.slope_tolerance;
    out << std::setw(20) << (c->name == "gradient" ? "gradient (Taylor)" : "Hessian (Taylor)") << std::setw(13)
        << meas.str() << std::setw(16) << crit.str() << std::setw(7) << (c->passed ? "PASS" : "FAIL") << c->verdict
        << "\n";
  }
  for (const ResidualCheck* c : {&r.gradient_tangency, &r.hessian_tangency, &r.symmetry, &r.linearity}) {
    if (!c->ran) continue;
    std::ostringstream meas, crit;
    meas << std::scientific << std::setprecision(2) << c->value;
    crit << "<= " << std::scientific << std::setprecision(0) << c->tolerance;
    out << std::setw(20) << c->name << std::setw(13) << meas.str() << std::setw(16) << crit.str() << std::setw(7)
        << (c->passed ? "PASS" : "FAIL") << c->meaning << "\n";
  }
  out << "\nTaylor remainders (every 5th step; * = in the fitted window, . = below the rounding floor)\n";
  out << std::right << std::setw(10) << "t" << std::setw(14) << "E_grad(t)";
  if (r.hessian.ran) out << std::setw(16) << "E_hess(t)";
  out << "\n";
  auto mark = [](const TaylorCheck& c, size_t k) {
    if (static_cast<int>(k) >= c.fit_begin && static_cast<int>(k) < c.fit_end) return '*';
    return c.above_noise[k] ? ' ' : '.';
  };
  for (size_t k = 0; k < r.gradient.t.size(); k += 5) {
    out << std::setw(10) << std::scientific << std::setprecision(1) << r.gradient.t[k] << std::setw(13)
        << std::setprecision(3) << r.gradient.error[k] << mark(r.gradient, k);
    if (r.hessian.ran) out << std::setw(15) << r.hessian.error[k] << mark(r.hessian, k);
    out << "\n";
  }
  out << "\nOverall: " << (r.passed() ? "PASS" : "FAIL") << "\n";
  out.flags(flags);
  out.precision(prec);
}

}  // namespace zeroloss
