// zeroloss sgd: label-noise SGD (THEORY 7) in reduced coordinates, with trajectories, checkpoints,
// resume, divergence handling and seed ensembles in threads.

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/dataset.hpp"
#include "zeroloss/label_noise_sgd.hpp"
#include "zeroloss/matrix_csv.hpp"
#include "zeroloss/reduced_weights.hpp"
#include "zeroloss/sgd_stability.hpp"
#include "zeroloss/sgd_checkpoint.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct SgdOptions {
  ProblemOptions problem;
  double lr = 0;
  double label_noise = 0;
  std::string noise = "gaussian";
  std::string instruction_set = "auto";  // which compiled SGD kernel (same bits either way)
  int steps_per_pass = 0;                // SgdParameters::steps_per_pass (same bits for every value)
  std::string coordinates = "auto";      // state of the run: weights or pre-activations (bits differ)
  std::string batch = "1";
  std::uint64_t steps = 0;
  std::uint64_t seed = 0;
  std::string seeds;
  int threads = 0;
  std::uint64_t log_every = 0;
  int log_points = 200;
  std::string out;
  std::uint64_t checkpoint_every = 0;
  std::string resume;
  bool overwrite = false;
  double max_loss = 0;
  bool no_figures = false;
  double rank_one_threshold = 1e-2;
  // Random start inside the data span instead of --weights (THEORY 4: theta_j = U beta_j).
  std::string init;  // "" (use --weights) or "gaussian"
  int m = 0;
  double init_scale = 1.0;
  std::uint64_t init_seed = 0;
  bool save_reduced = false;
  bool no_log_gradient = false;
};

// Everything a seed's run needs, shared read-only by the threads.
struct RunConfig {
  const DynamicsSetup* setup = nullptr;
  SgdParameters params;  // seed filled per run
  std::uint64_t steps = 0;
  std::vector<std::uint64_t> log_steps;
  std::uint64_t checkpoint_every = 0;
  double coefficient = 0;  // s^2 / (4B)
  double rank_one_threshold = 1e-2;
  bool figures = true;
  bool ensemble = false;
  std::string data_path, weights_path;
  bool resume = false;
  std::string run_path;  // DIR/run.json
  bool init = false;           // random start in the data span
  bool reduced_start = false;  // start from a reduced-weights file (--weights *.json)
  bool log_gradient = true;    // grad_norm column of the trajectory
  bool save_reduced = false;   // also write DIR/final_reduced.json (+ .csv, _basis.csv)
  bool perpendicular_dropped = false;  // the start had a part orthogonal to the data span (not stored)
  // Single-seed runs free the start (m x p) once the SGD holds its own copy.
  Eigen::MatrixXd* release_start = nullptr;
  // No m x d matrix anywhere: the result is written as reduced weights only.
  bool reduced_only() const { return init || reduced_start; }
};

struct SeedResult {
  std::uint64_t seed = 0;
  std::string status;  // completed | diverged | interrupted
  std::uint64_t steps_done = 0;
  std::vector<TrajectoryRow> rows;
  std::optional<TrajectoryRow> reached;  // interrupted: the state at the interrupt (step steps_done)
  std::string divergence_reason;
  std::uint64_t divergence_step = 0;
  std::uint64_t last_finite_step = 0;
  double steps_per_second = 0;
  std::string dir;
};

// Checkpoints: zeroloss/sgd_checkpoint.hpp (docs/formats.md#sgd-checkpoints).

std::string seed_dir(const std::string& out, std::uint64_t seed, bool ensemble) {
  return ensemble ? out + "/seed_" + std::to_string(seed) : out;
}

json parameters_json(const RunConfig& c) {
  const auto& p = c.params;
  return {{"activation", c.setup->problem.model.activation().name()},
          {"learning_rate", p.learning_rate},
          {"label_noise", p.label_noise},
          {"noise", noise_kind_name(p.noise)},
          {"batch_size", p.batch_size},
          {"full_batch", p.batch_size == c.setup->problem.model.n()},
          {"steps", c.steps},
          {"flow_coefficient", c.coefficient},
          {"flow_time_per_step", c.coefficient * p.learning_rate * p.learning_rate},
          {"checkpoint_every", c.checkpoint_every}};
}

json problem_json(const DynamicsSetup& s) {
  return {{"n", s.problem.model.n()},
          {"d", s.coordinates.basis().rows()},  // problem.model holds Z, not X, in reduced-only runs
          {"m", s.problem.model.m()},
          {"p", s.coordinates.rank()},
          {"data_rank", s.coordinates.rank()},
          {"data_condition", s.coordinates.condition()}};
}

json optimum_json(const DynamicsSetup& s) {
  json j = {{"available", s.optimum.has_value()}, {"note", s.optimum_note}};
  if (s.optimum) j["sharpness"] = s.optimum->sharpness;
  return j;
}

// One seed's run from the start or from its checkpoint. `progress` receives step counts.
// Exponential-tail fit of T - T* measured at the projection onto M (the raw T of an SGD iterate is
// off by O(distance to M)), over the leading rows where that value exists.
json projected_gap_fit(const std::vector<TrajectoryRow>& rows, const std::string& quantity) {
  std::vector<double> tau, gap;
  for (const auto& r : rows) {
    if (!r.metrics.sharpness_gap_on_manifold) break;
    tau.push_back(r.tau);
    gap.push_back(*r.metrics.sharpness_gap_on_manifold);
  }
  ExponentialTailOptions fo;
  fo.noise_floor = 0;
  ExponentialTailFit f = fit_exponential_tail(tau, gap, fo);
  if (!f.applicable && !rows.empty() && rows.back().tau == 0)
    f.verdict = "not applicable: the flow time tau = s^2/(4B) eta^2 k is 0 at every logged step (label noise s = 0, "
                "or s^2 below the smallest double: no drift along M), so T - T* has no rate over tau";
  json fit = fit_json(f);
  fit["quantity"] = quantity;
  return fit;
}

// The note for stdout and summary.json when a rate fit does not apply to the run.
void note_inapplicable_fit(const json& fit, const std::string& name, std::vector<std::string>& notes) {
  if (!fit.value("applicable", true)) notes.push_back(name + ": " + fit["verdict"].get<std::string>());
}

SeedResult run_seed(const RunConfig& cfg, std::uint64_t seed, const std::string& dir,
                    const std::function<void(std::uint64_t)>& progress) {
  const DynamicsSetup& setup = *cfg.setup;
  SeedResult res;
  res.seed = seed;
  res.dir = dir;
  SgdParameters params = cfg.params;
  params.seed = seed;
  LabelNoiseSgd sgd(setup.reduced, setup.beta0, params);
  if (cfg.release_start) cfg.release_start->resize(0, 0);  // single seed: the SGD holds its own copy
  const std::string checkpoint_path = dir + "/checkpoint.json";
  double previous_seconds = 0;
  // An ensemble's seed whose folder does not exist never started: it starts now.
  const bool resume = cfg.resume && (!cfg.ensemble || fs::exists(dir));
  ensure_directory(dir);
  if (!resume) {
    std::error_code ec;
    fs::remove(checkpoint_path, ec);  // a fresh run never continues an old checkpoint in the same folder
    remove_sgd_checkpoint_blocks(dir, "");
  } else {
    if (!fs::exists(checkpoint_path))
      throw InputError(checkpoint_path + ": missing; --resume continues a run from its checkpoint, and " + dir +
                       " has none (the run stopped before its first checkpoint, or the file was removed): start the "
                       "run again without --resume (its options are in " + cfg.run_path + ")");
    const SgdCheckpoint ck = read_sgd_checkpoint(checkpoint_path);
    SgdCheckpointExpectation expected;
    expected.seed = seed;
    expected.steps = cfg.steps;
    expected.log_steps = cfg.log_steps;
    expected.n = setup.reduced.n();
    expected.m = setup.reduced.m();
    expected.p = setup.coordinates.rank();
    check_sgd_checkpoint(ck, checkpoint_path, expected);
    try {
      for (const auto& r : ck.trajectory) res.rows.push_back(row_from_json(r));
    } catch (const json::exception& e) {
      throw InputError(checkpoint_path + ": malformed trajectory row (" + e.what() + ")");
    }
    previous_seconds = ck.elapsed_seconds;
    if (ck.status == "completed" || ck.status == "diverged") {
      // Finished before; nothing to do (the block is not loaded: after a divergence it may be
      // non-finite, and the final outputs exist).
      res.status = ck.status;
      res.steps_done = ck.state.step;
      res.divergence_reason = ck.divergence;
      res.last_finite_step = res.steps_done;
      return res;
    }
    sgd.restore(ck.state);
  }
  const double eta = params.learning_rate;
  // R, when given, is the run's own state in pre-activation coordinates (used as it is, and not
  // recomputed from beta).
  auto make_row = [&](const Eigen::MatrixXd& beta, std::uint64_t step, Eigen::MatrixXd R = Eigen::MatrixXd()) {
    TrajectoryRow row;
    row.step = step;
    row.t = eta * eta * static_cast<double>(step);
    row.tau = cfg.coefficient * row.t;
    const RankOneOptimum* optimum = setup.optimum ? &*setup.optimum : nullptr;
    row.metrics = R.size() > 0
                      ? compute_trajectory_metrics(setup.reduced, beta, std::move(R), optimum, cfg.log_gradient, true,
                                                   sgd.instruction_set())
                      : compute_trajectory_metrics(setup.reduced, beta, optimum, cfg.log_gradient, true,
                                                   sgd.instruction_set());
    return row;
  };
  size_t next_log = 0;
  while (next_log < cfg.log_steps.size() && !res.rows.empty() && cfg.log_steps[next_log] <= res.rows.back().step)
    ++next_log;

  const auto start = Clock::now();
  const std::uint64_t start_step = sgd.step();
  double logging_seconds = 0;
  std::uint64_t chunk = 256;
  std::uint64_t last_checkpoint = sgd.step();
  auto write_checkpoint = [&](const std::string& status) {
    SgdCheckpoint ck;
    ck.seed = seed;
    ck.status = status;
    ck.elapsed_seconds = previous_seconds + std::chrono::duration<double>(Clock::now() - start).count();
    ck.state = sgd.state();
    for (const auto& r : res.rows) ck.trajectory.push_back(row_json(r));
    if (sgd.diverged()) ck.divergence = sgd.divergence().reason;
    write_sgd_checkpoint(dir, ck);
    last_checkpoint = sgd.step();
  };

  std::string status = "completed";
  for (;;) {
    const std::uint64_t k = sgd.step();
    if (next_log < cfg.log_steps.size() && cfg.log_steps[next_log] == k) {
      const auto t0 = Clock::now();
      // In pre-activation coordinates the metrics need only the state R (not beta = Z^{-1} R).
      if (sgd.coordinates() == SgdCoordinates::Preactivations)
        res.rows.push_back(make_row(Eigen::MatrixXd(), k, sgd.preactivations()));
      else
        res.rows.push_back(make_row(sgd.weights(), k));
      logging_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      ++next_log;
    }
    if (interrupt_signal() != 0) {
      status = "interrupted";
      break;
    }
    if (k >= cfg.steps) break;
    if (cfg.checkpoint_every > 0 && k % cfg.checkpoint_every == 0 && k != last_checkpoint) write_checkpoint("running");
    std::uint64_t target = cfg.steps;
    if (next_log < cfg.log_steps.size()) target = std::min(target, cfg.log_steps[next_log]);
    if (cfg.checkpoint_every > 0) target = std::min(target, (k / cfg.checkpoint_every + 1) * cfg.checkpoint_every);
    const std::uint64_t todo = std::min(target - k, chunk);
    const auto t0 = Clock::now();
    const std::uint64_t done = sgd.advance(todo);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (done > 0) progress(done);
    if (sgd.diverged()) {
      status = "diverged";
      break;
    }
    if (dt < 0.01 && chunk < (1ULL << 26)) chunk *= 2;
    if (dt > 0.08 && chunk > 1) chunk /= 2;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const std::uint64_t steps_here = sgd.step() - start_step;
  res.status = status;
  res.steps_done = sgd.step();
  res.steps_per_second = seconds > 0 ? steps_here / seconds : 0;

  Eigen::MatrixXd final_beta = sgd.weights();
  std::vector<std::string> notes;
  if (status == "diverged") {
    res.divergence_reason = sgd.divergence().reason;
    res.divergence_step = sgd.divergence().step;
    res.last_finite_step = sgd.last_finite_step();
    final_beta = sgd.last_finite_weights();
    // Log the last finite state unless it is already the last row.
    if (res.rows.empty() || res.rows.back().step != res.last_finite_step) {
      try {
        res.rows.push_back(make_row(final_beta, res.last_finite_step));
      } catch (const Error&) {
        notes.push_back("the last finite state could not be evaluated for the trajectory");
      }
    }
  }
  if (status == "interrupted") {
    // The state the run reached, which the next logged row would have been far from; it is reported,
    // not added to the trajectory (a resume continues the logged schedule).
    if (!res.rows.empty() && res.rows.back().step == sgd.step())
      res.reached = res.rows.back();
    else if (sgd.coordinates() == SgdCoordinates::Preactivations)
      res.reached = make_row(Eigen::MatrixXd(), sgd.step(), sgd.preactivations());
    else
      res.reached = make_row(final_beta, sgd.step());
  }
  // Outputs: the trajectory always; final weights unless interrupted (the checkpoint holds the state).
  write_file_atomic(dir + "/trajectory.csv", trajectory_csv(res.rows, setup.singular_values));
  if (status != "interrupted") {
    // From --init or a reduced-weights file the full weights (m x d) are never formed: the reduced
    // weights are the output.
    if (!cfg.reduced_only())
      write_weights_csv(dir + "/final_weights.csv", lift_weights(setup, final_beta), setup.problem.model.a());
    if (cfg.reduced_only() || cfg.save_reduced)
      write_reduced_weights(dir + "/final_reduced.json", final_beta, setup.reduced.a(), setup.coordinates.basis(),
                            cfg.perpendicular_dropped);
  }
  write_checkpoint(status);

  json summary = {{"command", "sgd"},
                  {"status", status},
                  {"data_diagnostics", diagnostics_json(setup.problem.diagnostics)},
                  {"seed", seed},
                  {"data", cfg.data_path},
                  {"weights", cfg.weights_path},
                  {"problem", problem_json(setup)},
                  {"parameters", parameters_json(cfg)},
                  {"kernel", sgd.kernel_name()},
                  {"instruction_set", to_string(sgd.instruction_set())},
                  {"steps_per_pass", sgd.steps_per_pass()},
                  {"coordinates", to_string(sgd.coordinates())},
                  {"data_rcond", sgd.data_rcond()},
                  {"steps_done", res.steps_done},
                  {"t", eta * eta * static_cast<double>(res.steps_done)},
                  {"tau", cfg.coefficient * eta * eta * static_cast<double>(res.steps_done)},
                  {"performance",
                   {{"steps_per_second", res.steps_per_second},
                    {"steps_this_process", steps_here},
                    {"wall_seconds_this_process", seconds},
                    {"logging_seconds", logging_seconds},
                    {"resumed_from_step", start_step},
                    {"elapsed_seconds_total", previous_seconds + seconds}}},
                  {"optimum", optimum_json(setup)}};
  if (final_beta.allFinite()) summary["assumptions_at_end"] = assumptions_json(setup, final_beta);
  if (res.reached) {
    summary["final"] = row_json(*res.reached);
    summary["final"]["interrupted"] = true;  // the state at the interrupt, not a logged row
  } else if (!res.rows.empty()) {
    summary["final"] = row_json(res.rows.back());
  }
  if (!res.rows.empty()) {
    const auto f = rank_one_step(res.rows, cfg.rank_one_threshold, true);
    const auto r = rank_one_step(res.rows, cfg.rank_one_threshold, false);
    summary["rank_one"] = {{"threshold_sigma2_over_sigma1", cfg.rank_one_threshold},
                           {"feature_step", f ? json(*f) : json(nullptr)},
                           {"preactivation_step", r ? json(*r) : json(nullptr)}};
  }
  if (setup.optimum && res.rows.size() >= 2) {
    summary["rate_fit"] = projected_gap_fit(res.rows, "T(projection onto M) - T*");
    note_inapplicable_fit(summary["rate_fit"], "rate fit of T - T*", notes);
  }
  if (status == "diverged") {
    summary["divergence"] = {{"step", res.divergence_step},
                             {"reason", res.divergence_reason},
                             {"last_finite_step", res.last_finite_step},
                             {"max_loss", sgd.parameters().max_loss}};
  }
  json figures = json::array();
  if (cfg.figures && !cfg.ensemble && status != "interrupted")
    trajectory_figures(res.rows, setup, dir, "step k", true, "label-noise SGD", figures, notes);
  summary["figures"] = figures;
  summary["notes"] = notes;
  write_json(dir + "/summary.json", summary);
  return res;
}

// Mean and standard deviation over seeds at each logged step (seeds that reached it).
struct EnsembleTable {
  std::vector<TrajectoryRow> mean;
  std::vector<int> seeds;  // how many seeds each row of `mean` averages
  std::string csv;
};

EnsembleTable ensemble_table(const std::vector<SeedResult>& results, const std::vector<std::uint64_t>& schedule, int K) {
  EnsembleTable out;
  std::ostringstream csv;
  csv << "step,t,tau,seeds";
  const std::vector<std::string> scalar = {"loss",      "sharpness", "sharpness_gap",  "dist_R_opt",
                                           "mean_cosine", "grad_norm", "sharpness_on_M", "sharpness_gap_on_M"};
  for (const auto& s : scalar) csv << ',' << s << "_mean," << s << "_std";
  for (int k = 1; k <= K; ++k) csv << ",sv_phi_" << k << "_mean,sv_phi_" << k << "_std";
  for (int k = 1; k <= K; ++k) csv << ",sv_R_" << k << "_mean,sv_R_" << k << "_std";
  csv << '\n';
  for (std::uint64_t step : schedule) {
    std::vector<const TrajectoryRow*> rows;
    for (const auto& r : results)
      for (const auto& row : r.rows)
        if (row.step == step) rows.push_back(&row);
    if (rows.empty()) continue;
    auto stats = [&](const std::function<std::optional<double>(const TrajectoryRow&)>& get) {
      double sum = 0, sum2 = 0;
      int count = 0;
      for (const auto* r : rows)
        if (auto v = get(*r)) {
          sum += *v;
          sum2 += *v * *v;
          ++count;
        }
      if (count == 0) return std::pair<std::optional<double>, std::optional<double>>{};
      const double mean = sum / count;
      const double var = count > 1 ? std::max(0.0, (sum2 - count * mean * mean) / (count - 1)) : 0.0;
      return std::pair<std::optional<double>, std::optional<double>>{mean, std::sqrt(var)};
    };
    TrajectoryRow m;
    m.step = step;
    m.t = rows[0]->t;
    m.tau = rows[0]->tau;
    csv << step << ',' << format_double(m.t) << ',' << format_double(m.tau) << ',' << rows.size();
    auto put = [&](const std::pair<std::optional<double>, std::optional<double>>& p) {
      csv << ',' << (p.first ? format_double(*p.first) : "") << ',' << (p.second ? format_double(*p.second) : "");
      return p.first;
    };
    m.metrics.loss = put(stats([](const TrajectoryRow& r) { return std::optional<double>(r.metrics.loss); })).value_or(0);
    m.metrics.sharpness =
        put(stats([](const TrajectoryRow& r) { return std::optional<double>(r.metrics.sharpness); })).value_or(0);
    m.metrics.sharpness_gap = put(stats([](const TrajectoryRow& r) { return r.metrics.sharpness_gap; }));
    m.metrics.distance_to_optimum = put(stats([](const TrajectoryRow& r) { return r.metrics.distance_to_optimum; }));
    m.metrics.mean_pairwise_cosine = put(stats([](const TrajectoryRow& r) { return r.metrics.mean_pairwise_cosine; }));
    m.metrics.gradient_norm = put(stats([](const TrajectoryRow& r) { return r.metrics.gradient_norm; }));
    m.metrics.sharpness_on_manifold = put(stats([](const TrajectoryRow& r) { return r.metrics.sharpness_on_manifold; }));
    m.metrics.sharpness_gap_on_manifold =
        put(stats([](const TrajectoryRow& r) { return r.metrics.sharpness_gap_on_manifold; }));
    m.metrics.feature_singular_values.resize(K);
    m.metrics.preactivation_singular_values.resize(K);
    for (int k = 0; k < K; ++k)
      m.metrics.feature_singular_values(k) = put(stats([k](const TrajectoryRow& r) {
                                                   return k < r.metrics.feature_singular_values.size()
                                                              ? std::optional<double>(r.metrics.feature_singular_values(k))
                                                              : std::nullopt;
                                                 })).value_or(0);
    for (int k = 0; k < K; ++k)
      m.metrics.preactivation_singular_values(k) =
          put(stats([k](const TrajectoryRow& r) {
                return k < r.metrics.preactivation_singular_values.size()
                           ? std::optional<double>(r.metrics.preactivation_singular_values(k))
                           : std::nullopt;
              })).value_or(0);
    csv << '\n';
    out.mean.push_back(std::move(m));
    out.seeds.push_back(static_cast<int>(rows.size()));
  }
  out.csv = csv.str();
  return out;
}

// FNV-1a 64 of the two files a reduced-weights manifest names (0 if they cannot be found: loading
// the manifest then reports the problem), so a resume notices a changed block or basis.
std::uint64_t reduced_files_fingerprint(const std::string& manifest) {
  try {
    const json j = read_json(manifest);
    const fs::path folder = fs::path(manifest).parent_path();
    const std::uint64_t sums[2] = {file_checksum((folder / j.at("weights").get<std::string>()).string()),
                                   file_checksum((folder / j.at("basis").get<std::string>()).string())};
    return fnv1a64(reinterpret_cast<const char*>(sums), sizeof sums);
  } catch (const std::exception&) {
    return 0;
  }
}

json run_json(const SgdOptions& o, const std::vector<std::uint64_t>& seeds, bool ensemble) {
  return {{"format", "zeroloss-sgd-run"},
          {"version", 1},
          {"data", fs::absolute(o.problem.data).string()},
          {"weights", o.init.empty() ? fs::absolute(o.problem.weights).string() : std::string()},
          {"activation", o.problem.activation},
          {"data_fingerprint", file_fingerprint(o.problem.data)},
          {"weights_fingerprint", o.init.empty() ? file_fingerprint(o.problem.weights) : 0},
          {"weights_files_fingerprint",
           o.init.empty() && is_reduced_weights_path(o.problem.weights) ? reduced_files_fingerprint(o.problem.weights)
                                                                        : 0},
          {"init", o.init},
          {"m", o.m},
          {"init_scale", o.init_scale},
          {"init_seed", o.init_seed},
          {"save_reduced", o.save_reduced},
          {"no_log_gradient", o.no_log_gradient},
          {"lr", o.lr},
          {"label_noise", o.label_noise},
          {"noise", o.noise},
          {"coordinates", o.coordinates},
          {"batch", o.batch},
          {"steps", o.steps},
          {"seeds", seeds},
          {"ensemble", ensemble},
          {"log_every", o.log_every},
          {"log_points", o.log_points},
          {"checkpoint_every", o.checkpoint_every},
          {"max_loss", o.max_loss},
          {"no_figures", o.no_figures},
          {"rank_one_threshold", o.rank_one_threshold}};
}

// Reduced-only setups (--init, or --weights *.json) keep no n x d data matrix: after the reduction
// problem.model holds the reduced model (X replaced by Z = X U; n, m, a and the activation are the
// same, d comes from the basis) and problem.weights.theta is empty (0 x d): lift_weights must not be
// called on them. At n = 100, d = 10^4 this frees 8 MB.
DynamicsSetup reduced_only_setup(Dataset data, Weights w, TwoLayerModel model, ReducedCoordinates rc,
                                 Eigen::MatrixXd beta0, const ProblemSource& source) {
  TwoLayerModel reduced = rc.reduce(model);
  // The start in reduced coordinates: R = Z beta0^T is the full-coordinate X Theta0^T.
  require_evaluable(reduced, beta0, source, false);
  DataDiagnostics diagnostics = diagnose_data(model, source);
  const int sv = std::min(model.n(), model.m());
  TwoLayerModel kept = reduced;
  { TwoLayerModel drop = std::move(model); }  // X (n x d) freed here
  DynamicsSetup s{LoadedProblem{std::move(data), std::move(w), std::move(kept), std::move(diagnostics)}, std::move(rc), std::move(reduced),
                  std::move(beta0), std::nullopt, "", sv};
  ClosedFormOptimum star = closed_form_optimum(s.reduced, s.coordinates.rank());
  s.optimum = std::move(star.optimum);
  s.optimum_note = std::move(star.note);
  return s;
}

// The setup of a run from a random start inside the data span (--init gaussian): beta_jk iid
// N(0, sigma^2) with sigma = init_scale / sqrt(mean_i |x_i|^2), so the pre-activations
// r_ij = z_i . beta_j have standard deviation about init_scale (as `zeroloss data --init-scale`);
// theta_j = U beta_j has no part orthogonal to the data. Second layer a = 1. Memory: U (d x p) and
// beta (m x p); the m x d weights are never formed.
DynamicsSetup init_dynamics(const SgdOptions& o) {
  Dataset data = read_dataset_csv(o.problem.data);
  const Activation phi = Activation::from_name(o.problem.activation);
  TwoLayerModel model(std::move(data.X), data.y, Eigen::VectorXd::Ones(o.m), phi);
  ReducedCoordinates rc(model.X());
  const double mean_norm2 = model.row_norms_squared().mean();
  if (!(mean_norm2 > 0)) throw InputError(o.problem.data + ": every data row is zero; --init needs a data span");
  const double sigma = o.init_scale / std::sqrt(mean_norm2);
  StandardNoise gauss(NoiseKind::Gaussian, o.init_seed, 7);  // stream 7: not used by the SGD noise
  Eigen::MatrixXd beta0(o.m, rc.rank());
  for (Eigen::Index j = 0; j < beta0.rows(); ++j)
    for (Eigen::Index k = 0; k < beta0.cols(); ++k) beta0(j, k) = sigma * gauss.next();
  Weights w;
  w.theta.resize(0, model.d());
  w.a = Eigen::VectorXd::Ones(o.m);
  ProblemSource source = problem_source(data, o.problem.data, "the --init " + o.init + " start");
  return reduced_only_setup(std::move(data), std::move(w), std::move(model), std::move(rc), std::move(beta0), source);
}

// The setup of a run from a reduced-weights file (--weights *.json, written by --init/--save-reduced):
// the run stays in reduced coordinates and never forms the m x d weights. The data's own basis U
// (thin SVD, as for any run) must span the same space as the saved basis V: then the start is
// beta0 = beta_saved (V^T U), exactly the reduction (beta_saved V^T) U of the lifted weights (up to
// rounding; bit for bit beta_saved when V = U, e.g. continuing on the same data). Otherwise the
// file belongs to other data: InputError.
DynamicsSetup reduced_start_dynamics(const SgdOptions& o, bool& perpendicular_dropped) {
  Dataset data = read_dataset_csv(o.problem.data);
  ReducedWeights saved = read_reduced_weights(o.problem.weights, static_cast<int>(data.X.cols()));
  const Activation phi = Activation::from_name(o.problem.activation);
  TwoLayerModel model(std::move(data.X), data.y, saved.a, phi);
  ReducedCoordinates rc(model.X());
  const Eigen::MatrixXd& U = rc.basis();
  if (saved.basis.cols() != U.cols()) {
    throw InputError(o.problem.weights + ": the saved basis has p = " + std::to_string(saved.basis.cols()) +
                     " columns, but the data " + o.problem.data + " have rank " + std::to_string(U.cols()) +
                     "; expected the data the reduced weights were saved with (same span of the rows)");
  }
  Eigen::MatrixXd beta0;
  if (saved.basis == U) {
    beta0 = std::move(saved.beta);
  } else {
    const Eigen::MatrixXd Q = saved.basis.transpose() * U;  // p x p, orthogonal iff the spans agree
    const double mismatch =
        (Q.transpose() * Q - Eigen::MatrixXd::Identity(Q.cols(), Q.cols())).cwiseAbs().maxCoeff();
    if (!(mismatch <= 1e-8)) {
      throw InputError(o.problem.weights + ": the rows of the data " + o.problem.data +
                       " do not span the space of the saved basis (max |Q^T Q - I| = " + format_double(mismatch) +
                       " for Q = V^T U, V the saved basis, U the data's; expected <= 1e-8): the reduced weights "
                       "belong to other data");
    }
    beta0.noalias() = saved.beta * Q;
  }
  perpendicular_dropped = saved.perpendicular_dropped;
  Weights w;
  w.theta.resize(0, model.d());
  w.a = std::move(saved.a);
  w.has_second_layer_column = true;
  ProblemSource source = problem_source(data, o.problem.data, o.problem.weights);
  return reduced_only_setup(std::move(data), std::move(w), std::move(model), std::move(rc), std::move(beta0), source);
}

void run_sgd(SgdOptions o, const std::vector<std::string>& given) {
  std::vector<std::uint64_t> seeds;
  bool ensemble = false;
  // The output folder, locked from here to the end (a resumed run: before anything in it is read).
  std::optional<OutputDirectory> out_dir;
  if (!o.resume.empty()) {
    for (const auto& name : given) {
      if (name != "--resume" && name != "--threads" && name != "--no-figures") {
        throw InputError("--resume takes every run option from " + o.resume + "/run.json; " + name +
                         " cannot be combined with it (only --threads and --no-figures can)");
      }
    }
    OutputDirectoryOptions resume_options;
    resume_options.resume = true;
    resume_options.resume_marker = "run.json";  // a run written before run manifests existed
    out_dir.emplace(o.resume, "sgd", resume_options);
    const std::string run_path = o.resume + "/run.json";
    const json run = read_json(run_path);
    if (run.value("format", "") != "zeroloss-sgd-run") throw InputError(run_path + ": not a zeroloss sgd run file");
    const int threads = o.threads;
    const bool no_figures = o.no_figures;
    try {
      o.problem.data = run.at("data").get<std::string>();
      o.problem.weights = run.at("weights").get<std::string>();
      o.problem.activation = run.at("activation").get<std::string>();
      o.lr = run.at("lr").get<double>();
      o.label_noise = run.at("label_noise").get<double>();
      o.noise = run.at("noise").get<std::string>();
      o.coordinates = run.value("coordinates", std::string("auto"));  // run.json before this option: auto
      o.batch = run.at("batch").get<std::string>();
      o.steps = run.at("steps").get<std::uint64_t>();
      seeds = run.at("seeds").get<std::vector<std::uint64_t>>();
      ensemble = run.at("ensemble").get<bool>();
      o.log_every = run.at("log_every").get<std::uint64_t>();
      o.log_points = run.at("log_points").get<int>();
      o.checkpoint_every = run.at("checkpoint_every").get<std::uint64_t>();
      o.max_loss = run.at("max_loss").get<double>();
      o.no_figures = run.at("no_figures").get<bool>() || no_figures;
      o.rank_one_threshold = run.at("rank_one_threshold").get<double>();
      o.init = run.value("init", std::string());
      o.m = run.value("m", 0);
      o.init_scale = run.value("init_scale", 1.0);
      o.init_seed = run.value("init_seed", std::uint64_t{0});
      o.save_reduced = run.value("save_reduced", false);
      o.no_log_gradient = run.value("no_log_gradient", false);
    } catch (const json::exception& e) {
      throw InputError(run_path + ": malformed run file (" + e.what() + ")");
    }
    o.threads = threads;
    o.out = o.resume;
    for (const auto& [key, path] : {std::pair<std::string, std::string>{"data_fingerprint", o.problem.data},
                                    {"weights_fingerprint", o.problem.weights}}) {
      if (key == "weights_fingerprint" && !o.init.empty()) continue;  // --init: no weights file
      if (!fs::exists(path)) throw InputError(run_path + ": the run's input " + path + " no longer exists");
      if (file_fingerprint(path) != run.at(key).get<std::uint64_t>()) {
        throw InputError(path + " changed since the run in " + o.resume +
                         " started; a resumed run must read the same inputs");
      }
    }
    if (o.init.empty() && is_reduced_weights_path(o.problem.weights) && run.contains("weights_files_fingerprint") &&
        reduced_files_fingerprint(o.problem.weights) != run.at("weights_files_fingerprint").get<std::uint64_t>()) {
      throw InputError("the weight block or basis named by " + o.problem.weights + " changed since the run in " +
                       o.resume + " started; a resumed run must read the same inputs");
    }
  } else {
    auto has = [&](const char* name) { return std::find(given.begin(), given.end(), name) != given.end(); };
    for (const char* name : {"--data", "--lr", "--label-noise", "--steps", "--out"}) {
      if (!has(name)) throw InputError(std::string(name) + " is required (or continue a run with --resume DIR)");
    }
    if (o.init.empty()) {
      if (!has("--weights")) throw InputError("--weights is required (or a random start with --init gaussian --m M, or --resume DIR)");
      for (const char* name : {"--m", "--init-scale", "--init-seed"})
        if (has(name)) throw InputError(std::string(name) + " only applies with --init");
    } else {
      if (o.init != "gaussian") throw InputError("--init " + o.init + ": unknown start; expected gaussian");
      if (has("--weights")) throw InputError("--init and --weights cannot be combined (--init draws the start)");
      if (!has("--m") || o.m < 1) throw InputError("--init needs --m M (the number of neurons, M >= 1)");
      if (!(std::isfinite(o.init_scale) && o.init_scale > 0))
        throw InputError("--init-scale must be a finite number > 0");
    }
    const bool has_seeds = std::find(given.begin(), given.end(), "--seeds") != given.end();
    if (has_seeds && std::find(given.begin(), given.end(), "--seed") != given.end()) {
      throw InputError("--seed and --seeds cannot be combined (--seeds 0-63 runs an ensemble)");
    }
    if (has_seeds) {
      seeds = parse_seed_list(o.seeds);
      ensemble = true;
    } else {
      seeds = {o.seed};
    }
    if (o.steps == 0) throw InputError("--steps must be at least 1");
  }
  check_sgd_time_scales(o.lr, o.steps, o.label_noise);

  const bool reduced_start = o.init.empty() && is_reduced_weights_path(o.problem.weights);
  bool perpendicular_dropped = false;
  DynamicsSetup setup = !o.init.empty() ? init_dynamics(o)
                        : reduced_start ? reduced_start_dynamics(o, perpendicular_dropped)
                                        : load_dynamics(o.problem, ManifoldPolicy::Warn);
  // sgd is well defined off M: data that make M empty or J J^T singular everywhere are reported, not refused.
  warn_diagnostics(setup.problem.diagnostics, "sgd");
  if (o.init.empty() && !reduced_start) {
    const Eigen::MatrixXd& theta = setup.problem.weights.theta;
    perpendicular_dropped = (theta - setup.coordinates.lift_tangent(setup.beta0)).norm() > 1e-12 * theta.norm();
  }
  RunConfig cfg;
  cfg.setup = &setup;
  cfg.params.learning_rate = o.lr;
  cfg.params.label_noise = o.label_noise;
  cfg.params.noise = parse_noise_kind(o.noise);
  cfg.params.instruction_set = o.instruction_set == "baseline" ? SgdInstructionSet::Baseline
                               : o.instruction_set == "avx2"   ? SgdInstructionSet::Avx2
                                                               : SgdInstructionSet::Auto;
  cfg.params.steps_per_pass = o.steps_per_pass;
  cfg.params.coordinates = o.coordinates == "weights"          ? SgdCoordinates::Weights
                           : o.coordinates == "preactivations" ? SgdCoordinates::Preactivations
                                                               : SgdCoordinates::Auto;
  cfg.params.batch_size = parse_batch(o.batch, setup.problem.model.n());
  cfg.params.max_loss = o.max_loss;
  cfg.steps = o.steps;
  cfg.log_steps = log_schedule(o.steps, o.log_every, o.log_points);
  cfg.checkpoint_every = o.checkpoint_every;
  cfg.coefficient = limiting_flow_coefficient(o.label_noise, cfg.params.batch_size);
  cfg.rank_one_threshold = o.rank_one_threshold;
  cfg.figures = !o.no_figures;
  cfg.ensemble = ensemble;
  cfg.resume = !o.resume.empty();
  cfg.run_path = o.out + "/run.json";
  cfg.data_path = o.problem.data;
  cfg.weights_path = o.init.empty() ? o.problem.weights
                                     : "--init " + o.init + " --m " + std::to_string(o.m) + " --init-scale " +
                                           format_double(o.init_scale) + " --init-seed " + std::to_string(o.init_seed);
  cfg.init = !o.init.empty();
  cfg.reduced_start = reduced_start;
  cfg.perpendicular_dropped = perpendicular_dropped;
  cfg.save_reduced = o.save_reduced;
  cfg.log_gradient = !o.no_log_gradient;
  {
    // Validate the parameters once, before any thread or file.
    SgdParameters probe = cfg.params;
    LabelNoiseSgd check(setup.reduced, setup.beta0, probe);
  }
  // For the advice after a divergence (the start is released below in single-seed runs).
  const double stability_limit = sgd_stability_limit(setup.reduced, setup.beta0);
  if (!ensemble) cfg.release_start = &setup.beta0;
  if (!out_dir) out_dir.emplace(o.out, "sgd", OutputDirectoryOptions::fresh(o.overwrite));
  if (o.resume.empty()) write_json(o.out + "/run.json", run_json(o, seeds, ensemble));
  install_interrupt_handlers();

  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, std::min<int>(o.threads > 0 ? o.threads : hw, static_cast<int>(seeds.size())));
  const double total = static_cast<double>(o.steps) * static_cast<double>(seeds.size());
  ProgressBar bar(ensemble ? "sgd x" + std::to_string(seeds.size()) : "sgd", total, "steps");
  std::atomic<std::uint64_t> progress{0};
  std::vector<SeedResult> results(seeds.size());
  std::vector<std::exception_ptr> errors(seeds.size());
  const auto start = Clock::now();
  if (!ensemble) {
    const std::string dir = seed_dir(o.out, seeds[0], false);
    // Count steps already done when resuming so the bar starts where the run stands.
    results[0] = run_seed(cfg, seeds[0], dir, [&](std::uint64_t d) {
      progress += d;
      bar.update(static_cast<double>(progress.load()));
    });
  } else {
    std::atomic<size_t> next{0};
    auto worker = [&]() {
      for (size_t i = next++; i < seeds.size(); i = next++) {
        try {
          const std::string dir = seed_dir(o.out, seeds[i], true);  // created by run_seed
          results[i] = run_seed(cfg, seeds[i], dir, [&](std::uint64_t d) { progress += d; });
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    run_workers_with_progress(threads, worker, bar, progress);
  }
  bar.finish();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  // Report.
  std::uint64_t steps_here = progress.load();
  int interrupted = 0, diverged = 0;
  for (const auto& r : results) {
    interrupted += r.status == "interrupted";
    diverged += r.status == "diverged";
  }
  std::vector<std::string> notes;
  json figures = json::array();
  std::ostringstream msg;
  msg.precision(6);
  if (!ensemble) {
    const SeedResult& r = results[0];
    const json summary = read_json(o.out + "/summary.json");
    msg << "label-noise SGD, seed " << r.seed << ": " << r.steps_done << " of " << o.steps << " steps (t = eta^2 k = "
        << o.lr * o.lr * static_cast<double>(r.steps_done) << ", flow time tau = "
        << cfg.coefficient * o.lr * o.lr * static_cast<double>(r.steps_done) << ")";
    if (steps_here >= 10000) msg << ", " << static_cast<double>(steps_here) / wall << " steps/s";
    msg << "\n";
    if (summary.contains("final")) {
      const json& f = summary["final"];
      if (f.value("interrupted", false))
        msg << "state at the interrupt (step " << f["step"].get<std::uint64_t>() << "): loss ";
      else
        msg << "final: loss ";
      msg << f["loss"].get<double>() << ", T " << f["sharpness"].get<double>();
      if (!f["sharpness_gap"].is_null()) msg << ", T - T* " << f["sharpness_gap"].get<double>();
      if (!f["sharpness_gap_on_M"].is_null())
        msg << " (at the projection onto M: " << f["sharpness_gap_on_M"].get<double>() << ")";
      msg << ", singular values of Phi:";
      for (double v : f["feature_singular_values"]) msg << ' ' << v;
      msg << "\n";
      if (summary.contains("assumptions_at_end") && !summary["assumptions_at_end"]["holds"].get<bool>())
        msg << "outside THEORY's assumptions at the end point: "
            << summary["assumptions_at_end"]["description"].get<std::string>() << "\n";
      const json& ro = summary["rank_one"];
      if (r.status == "completed" && !ro["feature_step"].is_null())
        msg << "rank one (sigma_2/sigma_1 of Phi <= " << o.rank_one_threshold << ") from step "
            << ro["feature_step"].get<std::uint64_t>() << " on\n";
    }
    for (const auto& f : summary["figures"]) msg << "figure: " << f.get<std::string>() << "\n";
    for (const auto& n : summary["notes"]) msg << "note: " << n.get<std::string>() << "\n";
  } else {
    const EnsembleTable table = ensemble_table(results, cfg.log_steps, setup.singular_values);
    write_file_atomic(o.out + "/ensemble_trajectory.csv", table.csv);
    if (cfg.figures && interrupted == 0)
      trajectory_figures(table.mean, setup, o.out, "step k", true,
                         "label-noise SGD, mean of " + std::to_string(seeds.size()) + " seeds", figures, notes);
    json per_seed = json::array();
    for (const auto& r : results) {
      json s = {{"seed", r.seed}, {"status", r.status}, {"steps_done", r.steps_done},
                {"steps_per_second", r.steps_per_second}, {"dir", r.dir}};
      if (r.reached) {
        s["final"] = row_json(*r.reached);
        s["final"]["interrupted"] = true;
      } else if (!r.rows.empty()) {
        s["final"] = row_json(r.rows.back());
      }
      if (r.status == "diverged") s["divergence"] = r.divergence_reason;
      per_seed.push_back(s);
    }
    // After an interrupt the seeds stand at different steps: a mean is formed only over states at
    // one step (the states reached, when every seed stopped at the same step), never across steps.
    std::optional<TrajectoryRow> interrupted_mean;
    std::string no_mean;
    if (interrupted > 0) {
      bool same_step = diverged == 0;
      for (const auto& r : results) same_step = same_step && r.steps_done == results[0].steps_done;
      if (same_step) {
        std::vector<SeedResult> states(results.size());
        for (size_t i = 0; i < results.size(); ++i)
          if (results[i].reached) states[i].rows = {*results[i].reached};
          else if (!results[i].rows.empty()) states[i].rows = {results[i].rows.back()};
        const EnsembleTable at = ensemble_table(states, {results[0].steps_done}, setup.singular_values);
        if (!at.mean.empty() && at.seeds[0] == static_cast<int>(results.size())) interrupted_mean = at.mean[0];
      }
      if (!interrupted_mean) {
        std::ostringstream why;
        why << "no mean over seeds: the run was interrupted with the seeds at different steps (";
        for (size_t i = 0; i < results.size(); ++i)
          why << (i ? ", " : "") << "seed " << results[i].seed << " " << results[i].status << " at step "
              << results[i].steps_done;
        why << "), and states at different steps are not averaged; each seed's state is in per_seed";
        no_mean = why.str();
        notes.push_back(no_mean);
      }
    }
    json summary = {{"command", "sgd"},
                    {"status", interrupted ? "interrupted" : (diverged ? "diverged" : "completed")},
                    {"data_diagnostics", diagnostics_json(setup.problem.diagnostics)},
                    {"seeds", seeds},
                    {"threads", threads},
                    {"problem", problem_json(setup)},
                    {"parameters", parameters_json(cfg)},
                    {"performance",
                     {{"wall_seconds_this_process", wall},
                      {"steps_this_process", steps_here},
                      {"steps_per_second_all_threads", wall > 0 ? steps_here / wall : 0}}},
                    {"optimum", optimum_json(setup)},
                    {"per_seed", per_seed}};
    if (interrupted > 0) {
      if (interrupted_mean) {
        summary["final_mean"] = row_json(*interrupted_mean);
        summary["final_mean"]["interrupted"] = true;  // the mean of the states at the interrupt
      }
    } else if (!table.mean.empty()) {
      summary["final_mean"] = row_json(table.mean.back());
    }
    // The rate fit of the mean uses the logged steps every seed reached (after an interrupt, a later
    // row would average fewer seeds than an earlier one).
    std::vector<TrajectoryRow> mean_rows;
    for (size_t i = 0; i < table.mean.size(); ++i)
      if (interrupted == 0 || table.seeds[i] == static_cast<int>(results.size())) mean_rows.push_back(table.mean[i]);
    if (setup.optimum && mean_rows.size() >= 2) {
      summary["rate_fit_of_mean"] = projected_gap_fit(mean_rows, "mean over seeds of T(projection onto M) - T*");
      note_inapplicable_fit(summary["rate_fit_of_mean"], "rate fit of the mean T - T*", notes);
    }
    summary["figures"] = figures;
    summary["notes"] = notes;
    write_json(o.out + "/summary.json", summary);
    msg << "label-noise SGD ensemble: " << seeds.size() << " seeds x " << o.steps << " steps on " << threads
        << " threads, " << static_cast<double>(steps_here) / std::max(wall, 1e-12) << " steps/s in all\n";
    if (interrupted > 0) {
      for (const auto& r : results) {
        const TrajectoryRow* f = r.reached ? &*r.reached : (r.rows.empty() ? nullptr : &r.rows.back());
        msg << "seed " << r.seed << ", " << r.status << " at step " << r.steps_done;
        if (f) {
          msg << (r.reached ? " (state at the interrupt)" : " (last logged row, step " + std::to_string(f->step) + ")")
              << ": loss " << f->metrics.loss << ", T " << f->metrics.sharpness;
          if (f->metrics.sharpness_gap) msg << ", T - T* " << *f->metrics.sharpness_gap;
        }
        msg << "\n";
      }
    }
    const TrajectoryRow* shown = interrupted > 0 ? (interrupted_mean ? &*interrupted_mean : nullptr)
                                                 : (table.mean.empty() ? nullptr : &table.mean.back());
    if (shown) {
      const TrajectoryRow& f = *shown;
      msg << "mean at step " << f.step << (interrupted > 0 ? " (states at the interrupt, all seeds)" : "") << ": loss "
          << f.metrics.loss << ", T " << f.metrics.sharpness;
      if (f.metrics.sharpness_gap) msg << ", T - T* " << *f.metrics.sharpness_gap;
      msg << ", mean singular values of Phi:";
      for (Eigen::Index k = 0; k < f.metrics.feature_singular_values.size(); ++k)
        msg << ' ' << f.metrics.feature_singular_values(k);
      msg << "\n";
    }
    for (const auto& f : figures) msg << "figure: " << f.get<std::string>() << "\n";
    for (const auto& n : notes) msg << "note: " << n << "\n";
  }
  msg << "outputs in " << o.out << "\n";
  std::cout << msg.str() << std::flush;

  if (interrupted > 0) {
    const int sig = interrupt_signal();
    std::cerr << "zeroloss sgd: interrupted by " << signal_name(sig) << "; checkpoint written ("
              << (ensemble ? o.out + "/seed_*/checkpoint.json" : o.out + "/checkpoint.json")
              << "); continue with: zeroloss sgd --resume " << o.out << "\n";
    out_dir->finish(RunStatus::Interrupted);
    exit_by_signal(sig);
  }
  if (diverged > 0) {
    std::ostringstream e;
    e.precision(6);
    for (const auto& r : results)
      if (r.status == "diverged") {
        e << "label-noise SGD diverged" << (ensemble ? " for seed " + std::to_string(r.seed) : std::string()) << ": "
          << r.divergence_reason << ". " << smaller_lr_advice(o.lr, stability_limit)
          << ". The last finite weights (step " << r.last_finite_step << ") are in " << r.dir
          << (cfg.reduced_only() ? "/final_reduced.json" : "/final_weights.csv");
        break;
      }
    if (diverged > 1) e << " (" << diverged << " of " << seeds.size() << " seeds diverged)";
    out_dir->finish(RunStatus::Failed, e.str());
    throw ConvergenceError(e.str());
  }
  out_dir->finish(RunStatus::Completed);
}

CommandRegistration reg({"sgd", "label-noise SGD (THEORY 7) in reduced coordinates: trajectories, checkpoints, ensembles",
                         [](CLI::App& app) {
  auto o = std::make_shared<SgdOptions>();
  app.add_option("--data", o->problem.data, "[required unless --resume] Data CSV: header row, column 'y' = labels, other columns = features")
      ->check(checks::existing_file("--data"));
  app.add_option("--weights", o->problem.weights,
                 "[required unless --resume or --init] Starting weights W0: a CSV (one row per neuron, optional "
                 "column 'a' = fixed second layer, default 1), or a reduced-weights manifest *.json (written by "
                 "--init / --save-reduced): the run then stays in reduced coordinates (no m x d matrix; the data "
                 "rows must span the saved basis) and writes DIR/final_reduced.json instead of final_weights.csv")
      ->check(checks::existing_file("--weights"));
  app.add_option("--activation", o->problem.activation, "Activation: " + Activation::known_names())
      ->capture_default_str()
      ->check(checks::activation_name());
  app.add_option("--lr", o->lr, "[required unless --resume] Learning rate eta > 0 (SGD time t = eta^2 k after k steps; eta^2 K must "
                 "be a finite number > 0)")
      ->check(checks::positive_number());
  app.add_option("--label-noise", o->label_noise,
                 "[required unless --resume] Label-noise scale s >= 0: each step uses labels y_i + xi_i, E xi = 0, Var xi = s^2")
      ->check(checks::non_negative_number());
  app.add_option("--noise", o->noise, "Noise distribution: gaussian (N(0, s^2)) or rademacher (+-s)")
      ->capture_default_str()
      ->check(checks::one_of({"gaussian", "rademacher"}));
  app.add_option("--instruction-set", o->instruction_set,
                 "SGD kernel: auto (AVX2 when the processor has it), baseline (SSE2) or avx2 (an error "
                 "without AVX2). Both give the same bits; summary.json reports the one used")
      ->check(checks::one_of({"auto", "baseline", "avx2"}))
      ->capture_default_str();
  app.add_option("--steps-per-pass", o->steps_per_pass,
                 "Performance only, the same bits for every value: how many steps share one pass over "
                 "the pre-activations R (pre-activation coordinates with --batch 1; the rows of a "
                 "pass's later samples are formed from m-vectors). 1 to 8, or 0 = auto (4 when n > 16, "
                 "else 1); summary.json reports the value used")
      ->check(checks::integer_from_to(0, kMaxStepsPerPass))
      ->capture_default_str();
  app.add_option("--coordinates", o->coordinates,
                 "What the run stores and updates: preactivations (R = Z beta^T, n x m: a step is one "
                 "multiply-add pass, no dot products; needs n = p and well-conditioned data), weights "
                 "(beta, m x p), or auto (preactivations when n = p and Z's reciprocal condition number is "
                 ">= 1e-4). The iterates agree up to rounding, not bit for bit; summary.json reports the "
                 "choice and data_rcond")
      ->check(checks::one_of({"auto", "weights", "preactivations"}))
      ->capture_default_str();
  app.add_option("--batch", o->batch,
                 "Batch size B (B distinct samples drawn uniformly each step) or 'full' (all n samples, no "
                 "sampling: with --label-noise 0 this is gradient descent on L); 1 <= B <= n")
      ->capture_default_str()
      ->check(checks::batch_size());
  app.add_option("--steps", o->steps, "[required unless --resume] Number of SGD steps K >= 1")
      ->check(checks::positive_integer<std::uint64_t>());
  app.add_option("--seed", o->seed, "Random seed, an integer >= 0 (same seed, same bits)")
      ->capture_default_str()
      ->check(checks::non_negative_integer<std::uint64_t>());
  app.add_option("--seeds", o->seeds,
                 "Run an ensemble: a list like 0-63 or 1,4,7-9; each seed in DIR/seed_<s>/, in parallel threads; "
                 "each seed's result is independent of the thread count")
      ->check(checks::seed_list());
  app.add_option("--threads", o->threads, "Threads N >= 1 for --seeds (default: all cores)")
      ->check(checks::positive_integer<int>());
  auto* every = app.add_option("--log-every", o->log_every, "Log every N >= 1 steps (and the last step)")
                    ->check(checks::positive_integer<std::uint64_t>());
  auto* points = app.add_option("--log-points", o->log_points, "Log P+1 evenly spaced steps 0..K (P >= 1)")
                     ->capture_default_str()
                     ->check(checks::positive_integer<int>());
  every->excludes(points);
  app.add_option("--out", o->out,
                 "[required unless --resume] Output directory: final_weights.csv (or final_reduced.json + .csv + "
                 "_basis.csv), trajectory.csv, summary.json, checkpoint.json + checkpoint_<step>.csv, run.json, "
                 "figures (SVG, when gnuplot is installed)");
  app.add_option("--checkpoint-every", o->checkpoint_every,
                 "Write a checkpoint every N steps: DIR/checkpoint.json (step, RNG states, trajectory so far) and "
                 "the state block in DIR/checkpoint_<step>.csv (the n x m pre-activations R or the m x p weights, "
                 "see --coordinates; block first, JSON second, both atomic); SIGINT/SIGTERM always write one "
                 "before exiting; N >= 0, 0 = only at the end and on a signal")
      ->capture_default_str()
      ->check(checks::non_negative_integer<std::uint64_t>());
  add_overwrite_flag(app, o->overwrite);
  app.add_option("--resume", o->resume,
                 "Continue the run in DIR from its checkpoint (options come from DIR/run.json); the result is bit "
                 "for bit that of an uninterrupted run");
  app.add_option("--max-loss", o->max_loss,
                 "Divergence bound on the loss L (default 1e6 * max(1, L(W0), mean y^2)); a step whose batch shows "
                 "L beyond it, or a non-finite output, stops the run; L > 0")
      ->check(checks::positive_number());
  app.add_option("--rank-one-threshold", o->rank_one_threshold,
                 "Report the step from which sigma_2/sigma_1 of the feature matrix stays below this; in (0, 1]")
      ->capture_default_str()
      ->check(checks::half_open_unit_interval());
  app.add_flag("--no-figures", o->no_figures, "Do not draw SVG figures");
  app.add_option("--init", o->init,
                 "Start from a random point inside the data span instead of --weights: 'gaussian' draws "
                 "theta_j = U beta_j, beta_jk ~ N(0, s^2 / mean_i |x_i|^2) (pre-activations of standard deviation "
                 "about s = --init-scale), a = 1. Needs --m. The m x d weights are never formed: the result is "
                 "written as reduced weights (DIR/final_reduced.json) instead of final_weights.csv")
      ->check(checks::one_of({"gaussian"}));
  app.add_option("--m", o->m, "Number of neurons M >= 1 of the --init start")->check(checks::positive_integer<int>());
  app.add_option("--init-scale", o->init_scale, "Scale s > 0 of the --init start")
      ->capture_default_str()
      ->check(checks::positive_number());
  app.add_option("--init-seed", o->init_seed, "Seed of the --init start (independent of --seed/--seeds: an ensemble "
                                              "shares one start); an integer >= 0")
      ->capture_default_str()
      ->check(checks::non_negative_integer<std::uint64_t>());
  app.add_flag("--no-log-gradient", o->no_log_gradient,
               "Leave the grad_norm column of trajectory.csv empty: the Riemannian gradient at each logged point "
               "evaluates the geometry again (O(n m) memory, about 80 MB at n = 100, m = 10^4)");
  app.add_flag("--save-reduced", o->save_reduced,
               "Also write the final reduced weights: DIR/final_reduced.json (manifest), final_reduced.csv (m x p "
               "block beta with column a), final_reduced_basis.csv (U, d x p); commands that read --weights accept "
               "the .json (Theta = beta U^T). See docs/formats.md");
  app.footer(
      "Step (THEORY 7), batch I of B distinct samples, noise xi_i with mean 0 and variance s^2:\n"
      "  Theta <- Theta - (eta/B) sum_{i in I} (f_i - y_i - xi_i) grad f_i\n"
      "run in reduced coordinates (O(m p) per step). Time scales: t = eta^2 k, flow time tau = s^2/(4B) t.\n"
      "Exit codes: 0 done, 2 bad input, 5 diverged (the last finite weights are in DIR/final_weights.csv, or\n"
      "DIR/final_reduced.json for runs from --init or a reduced-weights file);\n"
      "SIGINT/SIGTERM write DIR/checkpoint.json and end the process by that signal. See docs/commands/sgd.md.");
  return std::function<void()>([o, &app]() {
    std::vector<std::string> given;
    for (const CLI::Option* opt : app.get_options())
      if (opt->count() > 0) given.push_back(opt->get_name());
    run_sgd(*o, given);
  });
}, 40});

}  // namespace
}  // namespace zeroloss::cli
