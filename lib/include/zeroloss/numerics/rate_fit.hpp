#pragma once
// Fitting rates to trajectories and error curves, with honest uncertainty.
//
//   fit_line             ordinary least squares y = intercept + slope x, the standard error of the
//                        slope and its Student-t confidence interval (Boost.Math), R^2 and the RMS
//                        residual. The one line fit of the library (rates here, Taylor slopes in
//                        diagnostics/derivative_check).
//   fit_power_law        error ~ C eta^p: a line through (log eta, log error); p with its interval.
//   fit_exponential_tail T - T* ~ A exp(-mu tau) on the tail of a decay: a line through
//                        (tau, log(T - T*)) over the last part of the points above the noise floor,
//                        plus a check that the tail really is exponential: the rate fitted on the
//                        first and on the second half of the tail must agree and R^2 must be high.
//                        When they do not, the verdict says so (sub- or super-exponential, or too
//                        few points above the floor) instead of reporting a rate as if it were one.
//   fit_exponential_window  T - T* ~ A exp(-mu tau) on the points whose gap lies in a window of
//                        levels [low, high] (not of times): the final rate of a decay, measured on the
//                        same decades of T - T* whatever the time the decay takes to get there.
//   local_decay_rates    -d log(T - T*)/dtau between consecutive points: the rate profile of a decay.

#include <optional>
#include <string>
#include <vector>

namespace zeroloss {

struct LinearFit {
  int points = 0;
  double slope = 0, intercept = 0;
  double r_squared = 0;      // 1 - SSE / sum_k (y_k - mean y)^2 (1 when every y is equal)
  double rms_residual = 0;   // sqrt(SSE / points), SSE = sum_k (y_k - intercept - slope x_k)^2
  // Standard error of the slope and its confidence interval (Student t with points - 2 degrees of
  // freedom); empty with only two points (no residual degrees of freedom).
  std::optional<double> slope_stderr;
  std::optional<double> slope_ci_low, slope_ci_high;
  double confidence = 0.95;
};

// Needs at least two points with distinct x; throws InputError otherwise or on non-finite input.
LinearFit fit_line(const std::vector<double>& x, const std::vector<double>& y, double confidence = 0.95);

struct PowerLawFit {
  LinearFit line;           // in (log x, log y)
  double exponent = 0;      // p = line.slope
  double prefactor = 0;     // C = exp(line.intercept)
};

// Needs x > 0 and y > 0 everywhere (throws InputError naming the offending point otherwise).
PowerLawFit fit_power_law(const std::vector<double>& x, const std::vector<double>& y, double confidence = 0.95);

struct ExponentialTailOptions {
  double tail_fraction = 0.5;  // fit the last fraction of the points above the floor
  double noise_floor = 1e-12;  // gaps <= this (and everything after the first such gap) are ignored
  int min_points = 6;          // fewer usable tail points: no fit
  double min_r_squared = 0.995;
  double max_rate_change = 0.2;  // |mu_1st half - mu_2nd half| / mu allowed for "exponential"
  double confidence = 0.95;
};

struct ExponentialTailFit {
  // false: a rate over x does not exist for these points (x does not increase along the tail, e.g.
  // every flow time is 0 without label noise); `verdict` says why. fitted is then false too.
  bool applicable = true;
  bool fitted = false;      // false: too few points above the floor, or not applicable (see verdict)
  bool exponential = false; // the tail passed the checks
  double rate = 0;          // mu (per unit of the x variable, e.g. flow time)
  std::optional<double> rate_ci_low, rate_ci_high;
  double amplitude = 0;     // A
  double r_squared = 0;
  int points = 0;           // points used
  double x_start = 0, x_end = 0;  // the tail's range
  double first_half_rate = 0, second_half_rate = 0;
  std::string verdict;      // one sentence
};

// Never throws for a fit that cannot be made: too few usable points, or x values that do not
// increase along the tail, give fitted = false with the reason in the verdict. Throws InputError
// only when x and gap differ in length.
ExponentialTailFit fit_exponential_tail(const std::vector<double>& x, const std::vector<double>& gap,
                                        const ExponentialTailOptions& options = {});

// A line through (x_k, log gap_k) over every point with low <= gap_k <= high (0 < low < high), with
// the result's fields as fit_exponential_tail fills them (x_start and x_end the first and last point
// used; first_half_rate and second_half_rate the rates on the two halves of those points). fitted is
// false, with the reason in the verdict, when fewer than `min_points` (>= 3) points lie in the window
// or their x values do not increase; `exponential` is set as by fit_exponential_tail with its default
// thresholds. Throws InputError when x and gap differ in length or the window is not 0 < low < high.
ExponentialTailFit fit_exponential_window(const std::vector<double>& x, const std::vector<double>& gap, double low,
                                          double high, int min_points = 6, double confidence = 0.95);

// The local rate -(log gap_{k+1} - log gap_k) / (x_{k+1} - x_k) of each pair of consecutive points
// with both gaps above `floor` (> 0) and x increasing, placed at the pair's midpoint x.
struct LocalRate {
  double x = 0;
  double rate = 0;
};
std::vector<LocalRate> local_decay_rates(const std::vector<double>& x, const std::vector<double>& gap, double floor);

}  // namespace zeroloss
