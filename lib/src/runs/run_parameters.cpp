#include "zeroloss/runs/run_parameters.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {

std::vector<std::uint64_t> parse_seed_list(const std::string& text) {
  std::vector<std::uint64_t> seeds;
  std::set<std::uint64_t> seen;
  auto number = [&](const std::string& s) -> std::uint64_t {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
      throw InputError("'" + text + "': '" + s + "' is not a non-negative integer; expected e.g. 0-63 or 1,4,7-9");
    }
    try {
      return std::stoull(s);
    } catch (const std::exception&) {
      throw InputError("'" + text + "': '" + s + "' is too large");
    }
  };
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto dash = item.find('-');
    std::uint64_t lo, hi;
    if (dash == std::string::npos) {
      lo = hi = number(item);
    } else {
      lo = number(item.substr(0, dash));
      hi = number(item.substr(dash + 1));
      if (hi < lo) throw InputError("'" + text + "': range " + item + " is empty (expected low-high)");
      if (hi - lo > 1000000) throw InputError("'" + text + "': range " + item + " has more than a million seeds");
    }
    for (std::uint64_t s = lo;; ++s) {
      if (!seen.insert(s).second) throw InputError("'" + text + "': seed " + std::to_string(s) + " appears twice");
      seeds.push_back(s);
      if (s == hi) break;
    }
  }
  if (seeds.empty()) throw InputError("empty list; expected e.g. 0-63");
  return seeds;
}

int parse_batch(const std::string& text, int n, OptionSpelling spelling) {
  const std::string batch = option_name("batch", spelling);
  if (text == "full") return n;
  std::size_t used = 0;
  long b = 0;
  try {
    b = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) {
    throw InputError(batch + " '" + text + "': expected a batch size B (1 <= B <= n = " + std::to_string(n) + ") or 'full'");
  }
  if (b < 1 || b > n) {
    throw InputError(batch + " " + text + ": the batch size must satisfy 1 <= B <= n = " + std::to_string(n) +
                     " (use 'full' for all samples)");
  }
  return static_cast<int>(b);
}

std::vector<double> parse_positive_list(const std::string& text, const std::string& what) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || !std::isfinite(v) || !(v > 0)) {
      throw InputError(what + " '" + text + "': '" + item + "' is not a positive number");
    }
    out.push_back(v);
  }
  if (out.empty()) throw InputError(what + ": empty list");
  return out;
}

void check_sgd_time_scales(double lr, std::uint64_t steps, double label_noise, OptionSpelling spelling) {
  const double eta2 = lr * lr;
  const double t = eta2 * static_cast<double>(steps);
  const std::string lr_name = option_name("lr", spelling);
  const std::string which = lr_name + " " + format_double(lr) + " with " + option_name("steps", spelling) + " " +
                            std::to_string(steps);
  if (!(eta2 > 0))
    throw InputError(which + ": eta^2 = " + format_double(eta2) +
                     " underflows, so the SGD time t = eta^2 k would never advance; expected a larger " + lr_name);
  if (!std::isfinite(t))
    throw InputError(which + ": the SGD time t = eta^2 K = " + format_double(t) +
                     " is not a finite number; expected a " + lr_name + " with eta^2 K finite (a stable step size is far "
                     "smaller: see docs/commands/sgd.md)");
  if (!std::isfinite(label_noise * label_noise * t))
    throw InputError(which + " and " + option_name("label-noise", spelling) + " " + format_double(label_noise) +
                     ": the flow time tau = s^2 eta^2 K / (4B) is not a finite number; expected smaller values");
}

std::string smaller_lr_advice(double lr, double limit) {
  std::ostringstream s;
  s.precision(3);
  if (std::isfinite(limit) && lr >= limit) {
    s << "Try --lr below " << limit << ": a step multiplies the residual of sample i by about 1 - eta ||grad f_i||^2, "
      << "which is stable only for eta < 2 / max_i ||grad f_i||^2 = " << limit << " at the start";
  } else {
    s << "Try a smaller --lr (e.g. " << lr / 2 << ")";
    if (std::isfinite(limit))
      s << "; at the start the step size was below the stability limit 2 / max_i ||grad f_i||^2 = " << limit
        << ", but that limit changes along the run";
  }
  return s.str();
}

std::vector<std::uint64_t> log_schedule(std::uint64_t steps, std::uint64_t every, int points) {
  std::vector<std::uint64_t> s;
  if (every > 0) {
    for (std::uint64_t k = 0; k < steps; k += every) s.push_back(k);
    s.push_back(steps);
  } else {
    if (points < 1) throw InputError("--log-points must be at least 1");
    for (int q = 0; q <= points; ++q) {
      const auto k = static_cast<std::uint64_t>(std::llround(static_cast<long double>(steps) * q / points));
      if (s.empty() || k != s.back()) s.push_back(k);
    }
  }
  return s;
}

double sgd_step_cost(const LoggedRunSizes& z) {
  const double B = z.batch, m = z.m;
  return B * m * (z.preactivations ? z.n : 2.0 * z.p) + 8.0 * B * m + 100.0;
}

double logged_row_cost(const LoggedRunSizes& z) {
  const double n = z.n, m = z.m, p = z.p;
  const double k = std::min(n, m), l = std::max(n, m);
  const double kernel = n * m * std::min(n, 2.0 * p);  // K W, n x n times n x m (or X (X^T W))
  double cost = k * k * l + 10.0 * k * k * k;          // spectra of Phi and R: Gram matrices, eigenvalues
  cost += z.preactivations ? 0.5 * n * n * m + n * n * n : n * p * m + 2.0 * m * p;  // R or L^-1 R; cosine
  cost += 30.0 * n * m;                                // phi and its derivatives, element-wise work
  if (z.gradient) cost += 0.5 * n * n * m + kernel + p * n * m;  // D D^T, K c, X^T (c - diag(lambda) D)
  cost += 3.0 * (0.5 * n * n * m + kernel);            // three Newton steps: D D^T, K diag(mu) D
  return cost + 4e4;
}

int default_sgd_log_points(std::uint64_t steps, const LoggedRunSizes& sizes) {
  const double points = static_cast<double>(steps) * sgd_step_cost(sizes) / (9.0 * logged_row_cost(sizes));
  if (!(points >= 1)) return 1;
  return points >= kMaxDefaultLogPoints ? kMaxDefaultLogPoints : static_cast<int>(points);
}

std::string sgd_schedule_error(std::uint64_t steps, double learning_rate, double label_noise, std::uint64_t log_every,
                               int log_points, OptionSpelling spelling) {
  const auto name = [spelling](const char* option) { return option_name(option, spelling); };
  if (steps == 0) return name("steps") + " must be at least 1";
  if (!(std::isfinite(learning_rate) && learning_rate > 0))
    return name("lr") + " " + format_double(learning_rate) + ": expected a finite step size eta > 0";
  if (!(std::isfinite(label_noise) && label_noise >= 0))
    return name("label-noise") + " " + format_double(label_noise) + ": expected a finite scale s >= 0";
  try {
    check_sgd_time_scales(learning_rate, steps, label_noise, spelling);
  } catch (const InputError& e) {
    return e.what();
  }
  if (log_every == 0 && log_points < 1) return name("log-points") + " must be at least 1";
  return "";
}

}  // namespace zeroloss
