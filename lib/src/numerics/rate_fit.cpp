#include "zeroloss/support/number_text.hpp"
#include "zeroloss/numerics/rate_fit.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <cmath>
#include <sstream>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {
LinearFit fit_line(const std::vector<double>& x, const std::vector<double>& y, double confidence) {
  if (x.size() != y.size()) throw InputError("line fit: x and y have different lengths");
  if (!(confidence > 0 && confidence < 1)) throw InputError("line fit: confidence must be in (0, 1)");
  const int n = static_cast<int>(x.size());
  if (n < 2) throw InputError("line fit: needs at least two points, got " + std::to_string(n));
  double mx = 0, my = 0;
  for (int k = 0; k < n; ++k) {
    if (!std::isfinite(x[k]) || !std::isfinite(y[k])) {
      throw InputError("line fit: point " + std::to_string(k + 1) + " is not finite");
    }
    mx += x[k];
    my += y[k];
  }
  mx /= n;
  my /= n;
  double sxx = 0, sxy = 0, syy = 0;
  for (int k = 0; k < n; ++k) {
    sxx += (x[k] - mx) * (x[k] - mx);
    sxy += (x[k] - mx) * (y[k] - my);
    syy += (y[k] - my) * (y[k] - my);
  }
  if (!(sxx > 0)) throw InputError("line fit: all x values are equal; the slope is undefined");
  LinearFit f;
  f.points = n;
  f.confidence = confidence;
  f.slope = sxy / sxx;
  f.intercept = my - f.slope * mx;
  double sse = 0;
  for (int k = 0; k < n; ++k) {
    const double r = y[k] - f.intercept - f.slope * x[k];
    sse += r * r;
  }
  f.r_squared = syy > 0 ? 1.0 - sse / syy : 1.0;
  f.rms_residual = std::sqrt(sse / n);
  if (n > 2) {
    const double se = std::sqrt(sse / (n - 2) / sxx);
    const boost::math::students_t dist(n - 2);
    const double tq = boost::math::quantile(boost::math::complement(dist, (1.0 - confidence) / 2.0));
    f.slope_stderr = se;
    f.slope_ci_low = f.slope - tq * se;
    f.slope_ci_high = f.slope + tq * se;
  }
  return f;
}

PowerLawFit fit_power_law(const std::vector<double>& x, const std::vector<double>& y, double confidence) {
  if (x.size() != y.size()) throw InputError("power-law fit: x and y have different lengths");
  std::vector<double> lx(x.size()), ly(y.size());
  for (size_t k = 0; k < x.size(); ++k) {
    if (!(x[k] > 0) || !(y[k] > 0)) {
      throw InputError("power-law fit: point " + std::to_string(k + 1) + " (" + short_number(x[k], 4) + ", " + short_number(y[k], 4) +
                       ") is not positive; error ~ C eta^p needs positive values");
    }
    lx[k] = std::log(x[k]);
    ly[k] = std::log(y[k]);
  }
  PowerLawFit f;
  f.line = fit_line(lx, ly, confidence);
  f.exponent = f.line.slope;
  f.prefactor = std::exp(f.line.intercept);
  return f;
}

namespace {

// The fit of log gap = ty against tx (at least three points, tx increasing) and its checks: the
// rates on the two halves of the points must agree within o.max_rate_change and R^2 >= o.min_r_squared.
ExponentialTailFit exponential_fit(const std::vector<double>& tx, const std::vector<double>& ty,
                                   const ExponentialTailOptions& o) {
  ExponentialTailFit out;
  out.points = static_cast<int>(tx.size());
  const LinearFit line = fit_line(tx, ty, o.confidence);
  out.fitted = true;
  out.rate = -line.slope;
  if (line.slope_ci_low) {
    out.rate_ci_low = -*line.slope_ci_high;
    out.rate_ci_high = -*line.slope_ci_low;
  }
  out.amplitude = std::exp(line.intercept);
  out.r_squared = line.r_squared;
  out.x_start = tx.front();
  out.x_end = tx.back();
  const size_t half = tx.size() / 2;
  const LinearFit first(fit_line(std::vector<double>(tx.begin(), tx.begin() + half + 1),
                                 std::vector<double>(ty.begin(), ty.begin() + half + 1), o.confidence));
  const LinearFit second(fit_line(std::vector<double>(tx.begin() + half, tx.end()),
                                  std::vector<double>(ty.begin() + half, ty.end()), o.confidence));
  out.first_half_rate = -first.slope;
  out.second_half_rate = -second.slope;
  const double change = std::abs(out.second_half_rate - out.first_half_rate) / std::max(std::abs(out.rate), 1e-300);
  std::ostringstream v;
  if (!(out.rate > 0)) {
    v << "not a decay: T - T* does not decrease along the tail (fitted rate " << short_number(out.rate, 4) << ")";
  } else if (change > o.max_rate_change) {
    v << "not exponential: the rate " << (out.second_half_rate < out.first_half_rate ? "falls" : "grows")
      << " along the tail (mu = " << short_number(out.first_half_rate, 4) << " on the first half, " << short_number(out.second_half_rate, 4)
      << " on the second; " << (out.second_half_rate < out.first_half_rate ? "sub" : "super")
      << "-exponential decay)";
  } else if (out.r_squared < o.min_r_squared) {
    v << "not exponential: log(T - T*) is not linear in time on the tail (R^2 = " << short_number(out.r_squared, 6) << " < "
      << o.min_r_squared << ")";
  } else {
    out.exponential = true;
    v << "exponential: T - T* ~ " << short_number(out.amplitude, 4) << " exp(-" << short_number(out.rate, 4) << " tau) over tau in ["
      << short_number(out.x_start, 4) << ", " << short_number(out.x_end, 4) << "], R^2 = " << short_number(out.r_squared, 6)
      << ", half-tail rates " << short_number(out.first_half_rate, 4) << " and " << short_number(out.second_half_rate, 4);
  }
  out.verdict = v.str();
  return out;
}

}  // namespace

ExponentialTailFit fit_exponential_tail(const std::vector<double>& x, const std::vector<double>& gap,
                                        const ExponentialTailOptions& o) {
  if (x.size() != gap.size()) throw InputError("exponential tail fit: x and gap have different lengths");
  ExponentialTailFit out;
  // Usable range: from the start up to (excluding) the first gap at or below the noise floor.
  size_t usable = 0;
  while (usable < gap.size() && std::isfinite(gap[usable]) && gap[usable] > o.noise_floor) ++usable;
  const size_t count = static_cast<size_t>(std::ceil(o.tail_fraction * static_cast<double>(usable)));
  const size_t begin = usable - std::min(usable, count);
  out.points = static_cast<int>(usable - begin);
  if (usable == 0 && !gap.empty() && std::isfinite(gap[0]) && gap[0] < 0) {
    out.verdict = "no fit: T - T* is negative from the start (T lies below the reference value T*, which is then not "
                  "the minimum; e.g. outside THEORY's assumptions)";
    return out;
  }
  if (out.points < o.min_points) {
    out.verdict = "no fit: only " + std::to_string(out.points) + " tail points with T - T* above the noise floor " +
                  short_number(o.noise_floor, 4) + " (" + std::to_string(usable) + " usable points in all; need " +
                  std::to_string(o.min_points) + "); run longer or log more points";
    return out;
  }
  for (size_t k = begin; k < usable; ++k) {
    if (!std::isfinite(x[k]) || (k > begin && !(x[k] > x[k - 1]))) {
      out.applicable = false;
      out.verdict = "not applicable: the times of the tail points do not increase (" +
                    (std::isfinite(x[k]) ? "x = " + short_number(x[k - 1], 17) + " then " + short_number(x[k], 17)
                                         : std::string("a non-finite time")) +
                    "), so T - T* has no rate over time; e.g. the flow time is 0 at every point when there is no "
                    "label noise";
      return out;
    }
  }
  std::vector<double> tx(x.begin() + begin, x.begin() + usable), ty;
  for (size_t k = begin; k < usable; ++k) ty.push_back(std::log(gap[k]));
  return exponential_fit(tx, ty, o);
}

ExponentialTailFit fit_exponential_window(const std::vector<double>& x, const std::vector<double>& gap, double low,
                                          double high, int min_points, double confidence) {
  if (x.size() != gap.size()) throw InputError("exponential window fit: x and gap have different lengths");
  if (!(low > 0 && high > low && std::isfinite(high)))
    throw InputError("exponential window fit: the window [" + short_number(low, 4) + ", " + short_number(high, 4) +
                     "] is not 0 < low < high");
  if (min_points < 3) throw InputError("exponential window fit: min_points must be at least 3");
  std::vector<double> tx, ty;
  for (size_t k = 0; k < gap.size(); ++k) {
    if (!(gap[k] >= low && gap[k] <= high)) continue;
    if (!std::isfinite(x[k]) || (!tx.empty() && !(x[k] > tx.back()))) {
      ExponentialTailFit out;
      out.applicable = false;
      out.verdict = "not applicable: the times of the points in the window do not increase";
      return out;
    }
    tx.push_back(x[k]);
    ty.push_back(std::log(gap[k]));
  }
  if (static_cast<int>(tx.size()) < min_points) {
    ExponentialTailFit out;
    out.points = static_cast<int>(tx.size());
    out.verdict = "no fit: only " + std::to_string(tx.size()) + " points with T - T* in [" + short_number(low, 4) +
                  ", " + short_number(high, 4) + "] (need " + std::to_string(min_points) + ")";
    return out;
  }
  ExponentialTailOptions o;
  o.confidence = confidence;
  return exponential_fit(tx, ty, o);
}

std::vector<LocalRate> local_decay_rates(const std::vector<double>& x, const std::vector<double>& gap, double floor) {
  if (x.size() != gap.size()) throw InputError("local decay rates: x and gap have different lengths");
  if (!(floor > 0)) throw InputError("local decay rates: the floor must be > 0");
  std::vector<LocalRate> rates;
  for (size_t k = 0; k + 1 < gap.size(); ++k) {
    if (!(gap[k] > floor && gap[k + 1] > floor && x[k + 1] > x[k]) || !std::isfinite(gap[k]) ||
        !std::isfinite(gap[k + 1]) || !std::isfinite(x[k]) || !std::isfinite(x[k + 1]))
      continue;
    rates.push_back({0.5 * (x[k] + x[k + 1]), -(std::log(gap[k + 1]) - std::log(gap[k])) / (x[k + 1] - x[k])});
  }
  return rates;
}

}  // namespace zeroloss
