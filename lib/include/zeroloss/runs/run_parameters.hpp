#pragma once
// The parameters of dynamics runs given as text (seed lists, batch sizes, step-size lists), the
// logged steps of an SGD run, and the checks on step sizes whose time scales are not numbers.
// Messages name the options the values come from, as command-line flags unless the caller asks for
// keyword arguments (support/option_spelling.hpp).

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/support/option_spelling.hpp"

namespace zeroloss {

// "5" -> {5}; "0-63" -> {0..63}; "1,4,7-9" -> {1,4,7,8,9}. Throws InputError on malformed lists,
// empty ranges, ranges of more than a million seeds, or duplicates (the message quotes the list, not
// the option).
std::vector<std::uint64_t> parse_seed_list(const std::string& text);
// "full" -> n; otherwise an integer in [1, n] (InputError naming --batch).
int parse_batch(const std::string& text, int n, OptionSpelling spelling = OptionSpelling::CommandLine);
// Comma-separated positive finite numbers ("0.04,0.02"); `what` names the option in errors.
std::vector<double> parse_positive_list(const std::string& text, const std::string& what);

// Refuses step sizes for which the time scales of label-noise SGD are not finite numbers: the SGD
// time t = eta^2 K must be finite and > 0 (eta = 1e300 gives inf, eta = 1e-200 gives eta^2 = 0) and
// the flow time tau = s^2 eta^2 K / (4B) finite (B >= 1 only lowers it). Throws InputError naming
// --lr, --steps and --label-noise.
void check_sgd_time_scales(double lr, std::uint64_t steps, double label_noise,
                           OptionSpelling spelling = OptionSpelling::CommandLine);

// The checks every label-noise SGD run makes of its schedule, as one message naming the option
// ("" when all hold): steps >= 1, a finite eta > 0, a finite s >= 0, finite time scales
// (check_sgd_time_scales), and log_points >= 1 unless log_every > 0.
std::string sgd_schedule_error(std::uint64_t steps, double learning_rate, double label_noise, std::uint64_t log_every,
                               int log_points, OptionSpelling spelling = OptionSpelling::CommandLine);

// The advice after a divergence at step size `lr` given the stability limit
// 2 / max_i ||grad f_i||^2 at the start (dynamics/sgd_stability.hpp).
std::string smaller_lr_advice(double lr, double limit_at_start);

// Logged steps: 0, every, 2 every, ..., steps (log_every > 0), or round(q steps / points) for
// q = 0..points without repeats (InputError naming --log-points unless points >= 1).
std::vector<std::uint64_t> log_schedule(std::uint64_t steps, std::uint64_t log_every, int log_points);

// The default schedule of label-noise SGD on the two-layer network (`sgd` without --log-points or
// --log-every): P evenly spaced logged intervals (P + 1 rows, log_schedule) with
//
//     P = clamp(floor(K c_step / (9 c_row)), 1, kMaxDefaultLogPoints),
//
// the most rows whose modelled cost is at most a ninth of the K steps', i.e. at most a tenth of
// steps plus logging. c_step and c_row are models of what one step and one logged row cost, in
// multiply-add equivalents, from the sizes alone (LoggedRunSizes; the operation counts are in
// run_parameters.cpp, their constants checked with bench/trajectory_log_bench.cpp: docs/performance.md,
// "Logging along trajectories"). The rule depends on the configuration only, never on a measured time, so the same
// options give the same schedule on any machine (same seed, same bytes).
inline constexpr int kMaxDefaultLogPoints = 200;

struct LoggedRunSizes {
  int n = 0, m = 0, p = 0;      // samples, neurons, rank of the data (reduced coordinates)
  int batch = 1;                // B
  bool preactivations = false;  // the SGD state is R = Z beta^T (else beta)
  bool gradient = true;         // rows carry ||grad_M T|| (sgd --no-log-gradient: false)
};
// One label-noise SGD step: B m n (pre-activations) or 2 B m p (weights: update and next products),
// plus the activation of the batch's rows and a constant.
double sgd_step_cost(const LoggedRunSizes& sizes);
// One logged row (diagnostics/trajectory_metrics.hpp, with the Newton projection): both spectra
// (k^2 l for the Gram matrices, k = min(n, m), l = max(n, m), 5 k^3 per eigenvalue problem), the
// cosine, the evaluation, ||grad_M T|| if asked, three Newton steps, and a constant.
double logged_row_cost(const LoggedRunSizes& sizes);
// P above (steps >= 1).
int default_sgd_log_points(std::uint64_t steps, const LoggedRunSizes& sizes);

}  // namespace zeroloss
