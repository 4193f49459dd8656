#include "dynamics_common.hpp"

#include <thread>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/matrix_csv.hpp"
#include "zeroloss/sharpness_minimum.hpp"

namespace zeroloss::cli {

namespace {

DynamicsSetup make_setup(LoadedProblem problem) {
  ReducedCoordinates rc(problem.model.X());
  TwoLayerModel reduced = rc.reduce(problem.model);
  Eigen::MatrixXd beta0 = rc.reduce(problem.weights.theta);
  const int sv = std::min(problem.model.n(), problem.model.m());
  return DynamicsSetup{std::move(problem), std::move(rc), std::move(reduced), std::move(beta0), std::nullopt, "", sv};
}

}  // namespace


DynamicsSetup load_dynamics(const ProblemOptions& options, ManifoldPolicy policy) {
  DynamicsSetup s = make_setup(load_problem(options, policy));
  ClosedFormOptimum star = closed_form_optimum(s.reduced, s.coordinates.rank());
  s.optimum = std::move(star.optimum);
  s.optimum_note = std::move(star.note);
  return s;
}

Eigen::MatrixXd lift_weights(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta) {
  return setup.coordinates.lift(beta, setup.problem.weights.theta);
}

std::vector<std::string> projection_methods() { return projection_method_names(); }
std::string default_projection_method() { return "gradient-flow"; }

ProjectionResult project_onto_manifold(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                       const std::string& method, const std::string& what, bool estimate_error) {
  const std::string context = "putting " + what + " on the zero-loss manifold (" + method + " projection): ";
  const std::string hint =
      ". If no network of this form can fit the labels (e.g. softplus or sigmoid outputs with a = 1 are "
      "positive), the zero-loss manifold is empty";
  ProjectionOptions po;
  po.estimate_limit_error = estimate_error;
  try {
    return project(setup.reduced, beta, method, po);
  } catch (const SingularPointError& e) {
    throw SingularPointError(context + e.what() + hint, e.condition());
  } catch (const ConvergenceError& e) {
    throw ConvergenceError(context + e.what() + hint);
  } catch (const InputError& e) {
    // The input was validated before; an InputError here means the projection produced an invalid
    // (non-finite) point: a failure to converge, not bad input.
    throw ConvergenceError(context + "the projection produced an invalid point (" + e.what() + ")" + hint);
  }
}

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

int parse_batch(const std::string& text, int n) {
  if (text == "full") return n;
  std::size_t used = 0;
  long b = 0;
  try {
    b = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) {
    throw InputError("--batch '" + text + "': expected a batch size B (1 <= B <= n = " + std::to_string(n) + ") or 'full'");
  }
  if (b < 1 || b > n) {
    throw InputError("--batch " + text + ": the batch size must satisfy 1 <= B <= n = " + std::to_string(n) +
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

void check_sgd_time_scales(double lr, std::uint64_t steps, double label_noise) {
  const double eta2 = lr * lr;
  const double t = eta2 * static_cast<double>(steps);
  const std::string which = "--lr " + format_double(lr) + " with --steps " + std::to_string(steps);
  if (!(eta2 > 0))
    throw InputError(which + ": eta^2 = " + format_double(eta2) +
                     " underflows, so the SGD time t = eta^2 k would never advance; expected a larger --lr");
  if (!std::isfinite(t))
    throw InputError(which + ": the SGD time t = eta^2 K = " + format_double(t) +
                     " is not a finite number; expected a --lr with eta^2 K finite (a stable step size is far "
                     "smaller: see docs/commands/sgd.md)");
  if (!std::isfinite(label_noise * label_noise * t))
    throw InputError(which + " and --label-noise " + format_double(label_noise) +
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

ProgressBar::ProgressBar(std::string label, double total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(::isatty(STDERR_FILENO) == 1) {
  start_ = last_ = std::chrono::steady_clock::now();
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

void ProgressBar::update(double done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(120)) return;
  last_ = now;
  drawn_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = total_ > 0 ? std::min(1.0, done / total_) : 1.0;
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const int width = 28, filled = static_cast<int>(frac * width);
  char buf[256];
  std::snprintf(buf, sizeof buf, "\r%s [%s%s] %5.1f%%  %.3g %s/s  ETA %s   ", label_.c_str(),
                std::string(filled, '#').c_str(), std::string(width - filled, '-').c_str(), 100 * frac, rate,
                unit_.c_str(), rate > 0 ? format_seconds((total_ - done) / rate).c_str() : "?");
  std::cerr << buf << std::flush;
}

void ProgressBar::finish() {
  if (enabled_ && drawn_) std::cerr << "\r" << std::string(100, ' ') << "\r" << std::flush;
  drawn_ = false;
}

namespace {
// Read by every worker thread, written by the handler: a lock-free atomic is safe in both roles.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the interrupt flag must be lock-free");
extern "C" void on_interrupt(int sig) { g_signal.store(sig, std::memory_order_relaxed); }
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int interrupt_signal() { return g_signal.load(std::memory_order_relaxed); }

void exit_by_signal(int sig) {
  std::cout.flush();
  std::cerr.flush();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
  std::_Exit(128 + sig);
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "signal";
  }
}

std::uint64_t file_fingerprint(const std::string& path) { return file_checksum(path); }

void write_json(const std::string& path, const nlohmann::json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file for reading");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": not valid JSON (" + e.what() + ")");
  }
}

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

namespace {
std::vector<double> to_vector(const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }
Eigen::VectorXd to_eigen(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}
std::optional<double> optional_from(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<double>();
}
}  // namespace

nlohmann::json metrics_json(const TrajectoryMetrics& m) {
  return {{"loss", m.loss},
          {"sharpness", m.sharpness},
          {"sharpness_gap", optional_json(m.sharpness_gap)},
          {"dist_R_opt", optional_json(m.distance_to_optimum)},
          {"mean_cosine", optional_json(m.mean_pairwise_cosine)},
          {"grad_norm", optional_json(m.gradient_norm)},
          {"sharpness_on_M", optional_json(m.sharpness_on_manifold)},
          {"sharpness_gap_on_M", optional_json(m.sharpness_gap_on_manifold)},
          {"feature_singular_values", to_vector(m.feature_singular_values)},
          {"preactivation_singular_values", to_vector(m.preactivation_singular_values)},
          {"feature_rank", numerical_rank(m.feature_singular_values)},
          {"preactivation_rank", numerical_rank(m.preactivation_singular_values)}};
}

nlohmann::json row_json(const TrajectoryRow& row) {
  nlohmann::json j = metrics_json(row.metrics);
  j["step"] = row.step;
  j["t"] = row.t;
  j["tau"] = row.tau;
  return j;
}

TrajectoryRow row_from_json(const nlohmann::json& j) {
  TrajectoryRow r;
  r.step = j.at("step").get<std::uint64_t>();
  r.t = j.at("t").get<double>();
  r.tau = j.at("tau").get<double>();
  r.metrics.loss = j.at("loss").get<double>();
  r.metrics.sharpness = j.at("sharpness").get<double>();
  r.metrics.sharpness_gap = optional_from(j.at("sharpness_gap"));
  r.metrics.distance_to_optimum = optional_from(j.at("dist_R_opt"));
  r.metrics.mean_pairwise_cosine = optional_from(j.at("mean_cosine"));
  r.metrics.gradient_norm = optional_from(j.at("grad_norm"));
  r.metrics.sharpness_on_manifold = optional_from(j.at("sharpness_on_M"));
  r.metrics.sharpness_gap_on_manifold = optional_from(j.at("sharpness_gap_on_M"));
  r.metrics.feature_singular_values = to_eigen(j.at("feature_singular_values").get<std::vector<double>>());
  r.metrics.preactivation_singular_values = to_eigen(j.at("preactivation_singular_values").get<std::vector<double>>());
  return r;
}

nlohmann::json line_fit_json(const LinearFit& f) {
  return {{"points", f.points},
          {"slope", f.slope},
          {"intercept", f.intercept},
          {"r_squared", f.r_squared},
          {"slope_stderr", optional_json(f.slope_stderr)},
          {"slope_ci_low", optional_json(f.slope_ci_low)},
          {"slope_ci_high", optional_json(f.slope_ci_high)},
          {"confidence", f.confidence}};
}

nlohmann::json fit_json(const ExponentialTailFit& f) {
  nlohmann::json j = {
      {"applicable", f.applicable}, {"fitted", f.fitted}, {"exponential", f.exponential}, {"verdict", f.verdict}};
  if (f.fitted) {
    j["rate_mu"] = f.rate;
    j["rate_ci_low"] = optional_json(f.rate_ci_low);
    j["rate_ci_high"] = optional_json(f.rate_ci_high);
    j["amplitude"] = f.amplitude;
    j["r_squared"] = f.r_squared;
    j["points"] = f.points;
    j["tau_start"] = f.x_start;
    j["tau_end"] = f.x_end;
    j["first_half_rate"] = f.first_half_rate;
    j["second_half_rate"] = f.second_half_rate;
  }
  return j;
}

nlohmann::json assumptions_json(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta) {
  // The pre-activations R = Z beta^T written straight into the vector of points (no second n x m copy).
  std::vector<double> points(static_cast<std::size_t>(setup.reduced.n()) * static_cast<std::size_t>(beta.rows()));
  Eigen::Map<Eigen::MatrixXd>(points.data(), setup.reduced.n(), beta.rows()).noalias() =
      setup.reduced.X() * beta.transpose();
  const Activation& phi = setup.reduced.activation();
  const AssumptionReport a = check_assumptions(phi, points);
  return {{"holds", a.holds()},
          {"min_first_derivative", a.min_first_derivative},
          {"argmin_first_derivative", a.argmin_first_derivative},
          {"min_third_derivative", a.min_third_derivative},
          {"argmin_third_derivative", a.argmin_third_derivative},
          {"description", a.describe(phi.name())}};
}

int numerical_rank(const Eigen::VectorXd& sv, double tol) {
  if (sv.size() == 0 || !(sv(0) > 0)) return 0;
  int r = 0;
  for (Eigen::Index k = 0; k < sv.size(); ++k)
    if (sv(k) > tol * sv(0)) ++r;
  return r;
}

std::optional<std::uint64_t> rank_one_step(const std::vector<TrajectoryRow>& rows, double threshold, bool features) {
  std::optional<std::uint64_t> since;
  for (const auto& r : rows) {
    const Eigen::VectorXd& sv = features ? r.metrics.feature_singular_values : r.metrics.preactivation_singular_values;
    const bool one = sv.size() < 2 || (sv(0) > 0 && sv(1) / sv(0) <= threshold);
    if (one) {
      if (!since) since = r.step;
    } else {
      since.reset();
    }
  }
  return since;
}

std::string plot_color(int k) {
  static const char* palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return palette[k % 10];
}

void draw_figure(const PlotSpec& spec, const std::string& path, nlohmann::json& figures, std::vector<std::string>& notes) {
  const PlotOutcome o = write_svg_plot(spec, path);
  if (o.written) figures.push_back(path);
  if (!o.note.empty()) notes.push_back(o.note);
}

void trajectory_figures(const std::vector<TrajectoryRow>& rows, const DynamicsSetup& setup, const std::string& dir,
                        const std::string& x_name, bool x_is_step, const std::string& title_prefix,
                        nlohmann::json& figures, std::vector<std::string>& notes) {
  if (rows.size() < 2) return;
  auto xval = [&](const TrajectoryRow& r) { return x_is_step ? static_cast<double>(r.step) : r.tau; };
  // Singular values of the feature matrix and of the pre-activations.
  PlotSpec sv;
  sv.title = title_prefix + ": singular values of the feature matrix Phi (solid) and of R (dashed)";
  sv.x_label = x_name;
  sv.y_label = "singular value";
  sv.log_y = true;
  for (int k = 0; k < setup.singular_values; ++k) {
    const std::string color = plot_color(k);
    PlotSeries phi{"sigma_" + std::to_string(k + 1) + "(Phi)", {}, {}, PlotStyle::Lines, color, false};
    PlotSeries pre{"sigma_" + std::to_string(k + 1) + "(R)", {}, {}, PlotStyle::Lines, color, true};
    for (const auto& r : rows) {
      if (k < r.metrics.feature_singular_values.size()) {
        phi.x.push_back(xval(r));
        phi.y.push_back(r.metrics.feature_singular_values(k));
      }
      if (k < r.metrics.preactivation_singular_values.size()) {
        pre.x.push_back(xval(r));
        pre.y.push_back(r.metrics.preactivation_singular_values(k));
      }
    }
    sv.series.push_back(phi);
    sv.series.push_back(pre);
  }
  draw_figure(sv, dir + "/singular_values.svg", figures, notes);
  // T against flow time, with T* when known.
  PlotSpec t;
  t.title = title_prefix + ": sharpness T = tr Hess L against flow time";
  t.x_label = "flow time tau";
  t.y_label = "T";
  PlotSeries ts{"T", {}, {}, PlotStyle::Lines, "", false};
  for (const auto& r : rows) {
    ts.x.push_back(r.tau);
    ts.y.push_back(r.metrics.sharpness);
  }
  t.series.push_back(ts);
  {
    PlotSeries tm{"T at the projection onto M", {}, {}, PlotStyle::Lines, "", true};
    bool differs = false;
    for (const auto& r : rows)
      if (r.metrics.sharpness_on_manifold) {
        tm.x.push_back(r.tau);
        tm.y.push_back(*r.metrics.sharpness_on_manifold);
        differs = differs || std::abs(*r.metrics.sharpness_on_manifold - r.metrics.sharpness) >
                                 1e-9 * std::max(1.0, std::abs(r.metrics.sharpness));
      }
    if (differs) t.series.push_back(tm);
  }
  if (setup.optimum) {
    t.series.push_back(PlotSeries{"T* (closed form)", {rows.front().tau, rows.back().tau},
                                  {setup.optimum->sharpness, setup.optimum->sharpness}, PlotStyle::Lines, "black", true});
  }
  draw_figure(t, dir + "/sharpness.svg", figures, notes);
  if (setup.optimum) {
    PlotSpec g;
    g.title = title_prefix + ": T - T* against flow time (T at the projection onto M)";
    g.x_label = "flow time tau";
    g.y_label = "T - T*";
    g.log_y = true;
    PlotSeries gs{"T - T*", {}, {}, PlotStyle::Lines, "", false};
    for (const auto& r : rows) {
      const auto gap = r.metrics.sharpness_gap_on_manifold ? r.metrics.sharpness_gap_on_manifold : r.metrics.sharpness_gap;
      if (gap) {
        gs.x.push_back(r.tau);
        gs.y.push_back(*gap);
      }
    }
    g.series.push_back(gs);
    draw_figure(g, dir + "/sharpness_gap.svg", figures, notes);
  }
}

void run_workers_with_progress(int threads, const std::function<void()>& worker, ProgressBar& bar,
                               const std::atomic<std::uint64_t>& progress) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  std::atomic<bool> done{false};
  std::thread watcher([&]() {
    while (!done) {
      bar.update(static_cast<double>(progress.load()));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  for (auto& t : pool) t.join();
  done = true;
  watcher.join();
}

}  // namespace zeroloss::cli
