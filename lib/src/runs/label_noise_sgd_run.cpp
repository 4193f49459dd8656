#include "zeroloss/runs/label_noise_sgd_run.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <filesystem>
#include <functional>
#include <sstream>
#include <thread>
#include <utility>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/matrix_csv.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/sgd_run_file.hpp"
#include "zeroloss/presentation/trajectory_figures.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"
#include "zeroloss/runs/run_parameters.hpp"
#include "zeroloss/runs/sgd_ensemble_table.hpp"
#include "zeroloss/formats/sgd_checkpoint.hpp"
#include "zeroloss/dynamics/sgd_stability.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss {

const char* to_string(SgdRunStatus status) {
  switch (status) {
    case SgdRunStatus::Completed: return "completed";
    case SgdRunStatus::Diverged: return "diverged";
    case SgdRunStatus::Interrupted: return "interrupted";
  }
  return "completed";
}

namespace {

// The checks of is_valid that do not concern the files (shared with runs on a problem in memory);
// empty when they pass.
std::string run_settings_error(const LabelNoiseSgdRunOptions& o) {
  auto fail = [](const std::string& why) { return why; };
  if (o.random_start) {
    if (o.m < 1) return fail("--init needs --m M (the number of neurons, M >= 1)");
    if (!(std::isfinite(o.init_scale) && o.init_scale > 0)) return fail("--init-scale must be a finite number > 0");
  }
  const auto name = [&o](const char* option) { return option_name(option, o.spelling); };
  if (o.seeds.empty()) return fail(name("seeds") + ": empty list; expected e.g. 0-63");
  if (!o.ensemble && o.seeds.size() != 1)
    return fail("a run of one seed has exactly one seed (" + std::to_string(o.seeds.size()) + " given); an ensemble "
                "runs several");
  {
    std::vector<std::uint64_t> sorted = o.seeds;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
      return fail(name("seeds") + ": a seed appears twice");
  }
  // log_points 0 is the default schedule, resolved when the run starts (default_sgd_log_points).
  if (o.log_points < 0) return fail(name("log-points") + " " + std::to_string(o.log_points) + ": expected P >= 1");
  if (const std::string why = sgd_schedule_error(o.steps, o.learning_rate, o.label_noise, o.log_every,
                                                 o.log_points == 0 ? kMaxDefaultLogPoints : o.log_points,
                                                 o.spelling);
      !why.empty())
    return fail(why);
  if (!(o.rank_one_threshold > 0 && o.rank_one_threshold <= 1))
    return fail(name("rank-one-threshold") + " " + format_double(o.rank_one_threshold) + ": expected a number in (0, 1]");
  if (o.steps_per_pass < 0 || o.steps_per_pass > kMaxStepsPerPass)
    return fail(name("steps-per-pass") + " " + std::to_string(o.steps_per_pass) + ": expected 0 to " +
                std::to_string(kMaxStepsPerPass));
  if (o.threads < 0) return fail(name("threads") + " " + std::to_string(o.threads) + ": expected N >= 1 (or 0: all cores)");
  return {};
}

}  // namespace

bool LabelNoiseSgdRunOptions::is_valid(std::string* error) const {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (const std::string why = run_settings_error(*this); !why.empty()) return fail(why);
  if (out.empty()) return fail("--out: an output folder is required");
  if (problem.data.empty()) return fail("--data: a data file is required");
  if (!random_start && problem.weights.empty()) return fail("--weights: a weights file is required (or a random start)");
  return true;
}

void LabelNoiseSgdRunOptions::validate() const {
  std::string why;
  if (!is_valid(&why)) throw InputError(why);
}

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::optional<double> optimum_sharpness(const DynamicsSetup& setup) {
  return setup.optimum ? std::optional<double>(setup.optimum->sharpness) : std::nullopt;
}

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
  const RunControl* control = nullptr;
  std::string run_path;  // DIR/run.json
  bool init = false;           // random start in the data span
  bool reduced_start = false;  // start from a reduced-weights file (--weights *.json)
  bool log_gradient = true;    // grad_norm column of the trajectory
  std::string schedule_note;   // how the default schedule was chosen (empty: as given, or 200 points)
  bool save_reduced = false;   // also write DIR/final_reduced.json (+ .csv, _basis.csv)
  bool perpendicular_dropped = false;  // the start had a part orthogonal to the data span (not stored)
  // Single-seed runs free the start (m x p) once the SGD holds its own copy.
  Eigen::MatrixXd* release_start = nullptr;
  // Runs on a problem in memory: `files` false writes nothing (no folder); keep_final_weights fills
  // SgdSeedResult::final_weights.
  bool files = true;
  bool keep_final_weights = false;
  // No m x d matrix anywhere: the result is written as reduced weights only.
  bool reduced_only() const { return init || reduced_start; }
};

// Checkpoints: zeroloss/formats/sgd_checkpoint.hpp (docs/formats.md#sgd-checkpoints).

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

// The report of a seed's summary.json in `res`: the final state, the assumptions at the end, the
// rank-one step, figures and notes.
void read_seed_summary(const json& summary, SgdSeedResult& res) {
  if (summary.contains("final")) {
    res.final_state = row_from_json(summary["final"]);
    res.final_is_interrupt_state = summary["final"].value("interrupted", false);
  }
  if (summary.contains("assumptions_at_end")) {
    res.assumptions_checked = true;
    res.assumptions_hold = summary["assumptions_at_end"]["holds"].get<bool>();
    res.assumptions_description = summary["assumptions_at_end"]["description"].get<std::string>();
  }
  if (summary.contains("rank_one") && !summary["rank_one"]["feature_step"].is_null())
    res.rank_one_feature_step = summary["rank_one"]["feature_step"].get<std::uint64_t>();
  for (const auto& f : summary["figures"]) res.figures.push_back(f.get<std::string>());
  for (const auto& n : summary["notes"]) res.notes.push_back(n.get<std::string>());
}

// One seed's run from the start or from its checkpoint. `progress` receives step counts.
SgdSeedResult run_seed(const RunConfig& cfg, std::uint64_t seed, const std::string& dir,
                    const std::function<void(std::uint64_t)>& progress) {
  const DynamicsSetup& setup = *cfg.setup;
  SgdSeedResult res;
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
  if (cfg.files) ensure_directory(dir);
  if (!cfg.files) {
    // Nothing to remove or continue: the run keeps its results in memory.
  } else if (!resume) {
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
      res.status = ck.status == "completed" ? SgdRunStatus::Completed : SgdRunStatus::Diverged;
      res.steps_done = ck.state.step;
      res.divergence_reason = ck.divergence;
      res.last_finite_step = res.steps_done;
      // What the earlier process reported for this seed (a single seed's summary is printed).
      if (!cfg.ensemble) read_seed_summary(read_json_file(dir + "/summary.json"), res);
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
  auto write_checkpoint = [&](SgdRunStatus status, bool running) {
    if (!cfg.files) return;
    SgdCheckpoint ck;
    ck.seed = seed;
    ck.status = running ? "running" : to_string(status);
    ck.elapsed_seconds = previous_seconds + std::chrono::duration<double>(Clock::now() - start).count();
    ck.state = sgd.state();
    for (const auto& r : res.rows) ck.trajectory.push_back(row_json(r));
    if (sgd.diverged()) ck.divergence = sgd.divergence().reason;
    write_sgd_checkpoint(dir, ck);
    last_checkpoint = sgd.step();
  };

  SgdRunStatus status = SgdRunStatus::Completed;
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
    if (cfg.control->interrupted()) {
      status = SgdRunStatus::Interrupted;
      break;
    }
    if (k >= cfg.steps) break;
    if (cfg.checkpoint_every > 0 && k % cfg.checkpoint_every == 0 && k != last_checkpoint) write_checkpoint(SgdRunStatus::Completed, true);
    std::uint64_t target = cfg.steps;
    if (next_log < cfg.log_steps.size()) target = std::min(target, cfg.log_steps[next_log]);
    if (cfg.checkpoint_every > 0) target = std::min(target, (k / cfg.checkpoint_every + 1) * cfg.checkpoint_every);
    const std::uint64_t todo = std::min(target - k, chunk);
    const auto t0 = Clock::now();
    const std::uint64_t done = sgd.advance(todo);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (done > 0) progress(done);
    if (sgd.diverged()) {
      status = SgdRunStatus::Diverged;
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
  if (!cfg.schedule_note.empty()) notes.push_back(cfg.schedule_note);
  if (status == SgdRunStatus::Diverged) {
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
  if (status == SgdRunStatus::Interrupted) {
    // The state the run reached, which the next logged row would have been far from; it is reported,
    // not added to the trajectory (a resume continues the logged schedule).
    if (!res.rows.empty() && res.rows.back().step == sgd.step())
      res.reached = res.rows.back();
    else if (sgd.coordinates() == SgdCoordinates::Preactivations)
      res.reached = make_row(Eigen::MatrixXd(), sgd.step(), sgd.preactivations());
    else
      res.reached = make_row(final_beta, sgd.step());
  }
  if (cfg.keep_final_weights && !cfg.reduced_only()) res.final_weights = lift_weights(setup, final_beta);
  // Outputs: the trajectory always; final weights unless interrupted (the checkpoint holds the state).
  if (cfg.files) write_file_atomic(dir + "/trajectory.csv", trajectory_csv(res.rows, setup.singular_values));
  if (cfg.files && status != SgdRunStatus::Interrupted) {
    // From --init or a reduced-weights file the full weights (m x d) are never formed: the reduced
    // weights are the output.
    if (!cfg.reduced_only())
      write_weights_csv(dir + "/final_weights.csv",
                        cfg.keep_final_weights ? res.final_weights : lift_weights(setup, final_beta),
                        setup.problem.model.a());
    if (cfg.reduced_only() || cfg.save_reduced)
      write_reduced_weights(dir + "/final_reduced.json", final_beta, setup.reduced.a(), setup.coordinates.basis(),
                            cfg.perpendicular_dropped);
  }
  write_checkpoint(status, false);

  json summary = {{"command", "sgd"},
                  {"status", to_string(status)},
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
  if (final_beta.allFinite()) summary["assumptions_at_end"] = assumptions_json(setup.reduced, final_beta);
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
  if (status == SgdRunStatus::Diverged) {
    summary["divergence"] = {{"step", res.divergence_step},
                             {"reason", res.divergence_reason},
                             {"last_finite_step", res.last_finite_step},
                             {"max_loss", sgd.parameters().max_loss}};
  }
  json figures = json::array();
  if (cfg.figures && !cfg.ensemble && status != SgdRunStatus::Interrupted)
    trajectory_figures(res.rows, setup.singular_values, optimum_sharpness(setup), dir, "step k", true,
                       "label-noise SGD", figures, notes);
  summary["figures"] = figures;
  summary["notes"] = notes;
  if (cfg.files) write_json(dir + "/summary.json", summary);
  read_seed_summary(summary, res);
  return res;
}

}  // namespace

struct LabelNoiseSgdRun::Impl {
  LabelNoiseSgdRunOptions o;
  bool resumed = false;
  bool ran = false;
  std::unique_ptr<OutputDirectory> out_dir;  // locked from the start of a resume, else from run()
  std::optional<DynamicsSetup> setup;
  bool reduced_start = false;
  bool perpendicular_dropped = false;
  bool in_memory = false;  // the problem was given in memory (ProblemArrays)

  void load() {
    reduced_start = !o.random_start && is_reduced_weights_path(o.problem.weights);
    setup.emplace(o.random_start ? random_start_dynamics(o.problem.data, o.problem.activation, o.m, o.init_scale,
                                                         o.init_seed)
                  : reduced_start ? reduced_start_dynamics(o.problem, perpendicular_dropped)
                                  : load_dynamics(o.problem, ManifoldPolicy::Warn));
    if (!o.random_start && !reduced_start) note_perpendicular_part();
  }
  void note_perpendicular_part() {
    const Eigen::MatrixXd& theta = setup->problem.weights.theta;
    perpendicular_dropped = (theta - setup->coordinates.lift_tangent(setup->beta0)).norm() > 1e-12 * theta.norm();
  }
  // A run on a problem in memory with an output folder: its inputs as out/inputs/data.csv and
  // weights.csv (round-trip numbers, so a resume reads the same bits), named in run.json.
  void write_inputs() {
    const std::string inputs = o.out + "/inputs";
    ensure_directory(inputs);
    o.problem.data = inputs + "/data.csv";
    o.problem.weights = inputs + "/weights.csv";
    write_dataset_csv(o.problem.data, setup->problem.data);
    write_weights_csv(o.problem.weights, setup->problem.weights.theta, setup->problem.weights.a);
  }
};

LabelNoiseSgdRun::LabelNoiseSgdRun(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LabelNoiseSgdRun::LabelNoiseSgdRun(LabelNoiseSgdRunOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(options);
  impl_->o.validate();
  impl_->load();
}

LabelNoiseSgdRun::LabelNoiseSgdRun(LabelNoiseSgdRunOptions options, const ProblemArrays& problem)
    : impl_(std::make_unique<Impl>()) {
  LabelNoiseSgdRunOptions& o = impl_->o;
  o = std::move(options);
  if (const std::string why = run_settings_error(o); !why.empty()) throw InputError(why);
  if (o.random_start || !o.problem.data.empty() || !o.problem.weights.empty())
    throw InputError("a label-noise SGD run on a problem in memory starts from its weights Theta: options.problem "
                     "and random_start must be left unset");
  o.problem.activation = problem.activation;
  impl_->in_memory = true;
  impl_->setup.emplace(setup_dynamics(load_problem(problem, ManifoldPolicy::Warn)));
  impl_->note_perpendicular_part();
}

LabelNoiseSgdRun LabelNoiseSgdRun::resume(const std::string& dir, int threads, bool no_figures) {
  auto impl = std::make_unique<Impl>();
  impl->resumed = true;
  OutputDirectoryOptions resume_options;
  resume_options.resume = true;
  resume_options.resume_marker = "run.json";  // a run written before run manifests existed
  impl->out_dir = std::make_unique<OutputDirectory>(dir, "sgd", resume_options);
  const std::string run_path = dir + "/run.json";
  const SgdRunFile file = read_sgd_run_file(run_path);
  LabelNoiseSgdRunOptions& o = impl->o;
  o = file.options;
  o.figures = o.figures && !no_figures;
  o.threads = threads;
  o.out = dir;
  for (int input = 0; input < 2; ++input) {
    if (input == 1 && o.random_start) continue;  // --init: no weights file
    const std::string& path = input == 0 ? o.problem.data : o.problem.weights;
    const std::uint64_t fingerprint = input == 0 ? file.data_fingerprint : file.weights_fingerprint;
    if (!fs::exists(path)) throw InputError(run_path + ": the run's input " + path + " no longer exists");
    if (file_checksum(path) != fingerprint) {
      throw InputError(path + " changed since the run in " + dir + " started; a resumed run must read the same inputs");
    }
  }
  if (!o.random_start && is_reduced_weights_path(o.problem.weights) && file.has_weights_files_fingerprint &&
      reduced_files_fingerprint(o.problem.weights) != file.weights_files_fingerprint) {
    throw InputError("the weight block or basis named by " + o.problem.weights + " changed since the run in " + dir +
                     " started; a resumed run must read the same inputs");
  }
  check_sgd_time_scales(o.learning_rate, o.steps, o.label_noise, o.spelling);
  o.validate();
  impl->load();
  return LabelNoiseSgdRun(std::move(impl));
}

LabelNoiseSgdRun::~LabelNoiseSgdRun() = default;
LabelNoiseSgdRun::LabelNoiseSgdRun(LabelNoiseSgdRun&&) noexcept = default;
LabelNoiseSgdRun& LabelNoiseSgdRun::operator=(LabelNoiseSgdRun&&) noexcept = default;

const LabelNoiseSgdRunOptions& LabelNoiseSgdRun::options() const { return impl_->o; }
const DataDiagnostics& LabelNoiseSgdRun::diagnostics() const { return impl_->setup->problem.diagnostics; }

LabelNoiseSgdRunSummary LabelNoiseSgdRun::run(const RunControl& control) {
  Impl& I = *impl_;
  if (I.ran) throw InputError("a label-noise SGD run object runs once");
  I.ran = true;
  const bool files = !I.o.out.empty();  // false only for a run on a problem in memory
  const LabelNoiseSgdRunOptions& o = I.o;
  DynamicsSetup& setup = *I.setup;
  const std::vector<std::uint64_t>& seeds = o.seeds;
  const bool ensemble = o.ensemble;
  RunConfig cfg;
  cfg.setup = &setup;
  cfg.control = &control;
  cfg.params.learning_rate = o.learning_rate;
  cfg.params.label_noise = o.label_noise;
  cfg.params.noise = o.noise;
  cfg.params.instruction_set = o.instruction_set;
  cfg.params.steps_per_pass = o.steps_per_pass;
  cfg.params.coordinates = o.coordinates;
  cfg.params.batch_size = parse_batch(o.batch, setup.problem.model.n(), o.spelling);
  cfg.params.max_loss = o.max_loss;
  cfg.steps = o.steps;
  cfg.checkpoint_every = o.checkpoint_every;
  cfg.coefficient = limiting_flow_coefficient(o.label_noise, cfg.params.batch_size);
  cfg.rank_one_threshold = o.rank_one_threshold;
  cfg.figures = o.figures && files;
  cfg.files = files;
  cfg.keep_final_weights = I.in_memory;
  cfg.ensemble = ensemble;
  cfg.resume = I.resumed;
  cfg.run_path = o.out + "/run.json";
  cfg.data_path = o.problem.data;
  cfg.weights_path = !o.random_start ? o.problem.weights
                                     : "--init gaussian --m " + std::to_string(o.m) + " --init-scale " +
                                           format_double(o.init_scale) + " --init-seed " + std::to_string(o.init_seed);
  cfg.init = o.random_start;
  cfg.reduced_start = I.reduced_start;
  cfg.perpendicular_dropped = I.perpendicular_dropped;
  cfg.save_reduced = o.save_reduced;
  cfg.log_gradient = o.log_gradient;
  {
    // Validate the parameters once, before any thread or file; the default schedule needs the
    // coordinates the SGD chose. It is recorded in run.json as a number, so a resume logs the same
    // steps whatever the cost model of a later version.
    SgdParameters probe = cfg.params;
    LabelNoiseSgd check(setup.reduced, setup.beta0, probe);
    LoggedRunSizes sizes;
    sizes.n = setup.reduced.n();
    sizes.m = setup.reduced.m();
    sizes.p = setup.coordinates.rank();
    sizes.batch = cfg.params.batch_size;
    sizes.preactivations = check.coordinates() == SgdCoordinates::Preactivations;
    sizes.gradient = o.log_gradient;
    // With log_every the value is unused; run.json records 200 there, as before the default schedule.
    if (I.o.log_points == 0)
      I.o.log_points = I.o.log_every > 0 ? kMaxDefaultLogPoints : default_sgd_log_points(o.steps, sizes);
    // The note depends on run.json's value only, so a resumed run writes the same summary.
    if (o.log_every == 0 && o.log_points < kMaxDefaultLogPoints && o.log_points == default_sgd_log_points(o.steps, sizes)) {
      std::ostringstream note;
      note.precision(3);
      note << "logged " << o.log_points + 1 << " rows (--log-points " << o.log_points
           << ", the default at this size): a logged row costs about " << logged_row_cost(sizes) / sgd_step_cost(sizes)
           << " steps here, and the default keeps logging at about a tenth of the run; --log-points P or --log-every N "
              "log more";
      cfg.schedule_note = note.str();
    }
  }
  cfg.log_steps = log_schedule(o.steps, o.log_every, o.log_points);
  // For the advice after a divergence (the start is released below in single-seed runs).
  const double stability_limit = sgd_stability_limit(setup.reduced, setup.beta0);
  if (!ensemble) cfg.release_start = &setup.beta0;
  if (files && !I.out_dir)
    I.out_dir = std::make_unique<OutputDirectory>(o.out, "sgd", OutputDirectoryOptions::fresh(o.overwrite));
  OutputDirectory* out_dir = I.out_dir.get();
  if (files && I.in_memory) {
    I.write_inputs();
    cfg.data_path = o.problem.data;
    cfg.weights_path = o.problem.weights;
  }
  if (files && !I.resumed) write_json(o.out + "/run.json", sgd_run_json(o));

  LabelNoiseSgdRunSummary S;
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, std::min<int>(o.threads > 0 ? o.threads : hw, static_cast<int>(seeds.size())));
  S.threads = threads;
  S.flow_coefficient = cfg.coefficient;
  std::atomic<std::uint64_t> progress{0};
  std::vector<SgdSeedResult> results(seeds.size());
  std::vector<std::exception_ptr> errors(seeds.size());
  const auto start = Clock::now();
  if (!ensemble) {
    const std::string dir = files ? seed_dir(o.out, seeds[0], false) : std::string();
    results[0] = run_seed(cfg, seeds[0], dir, [&](std::uint64_t d) {
      progress += d;
      control.report(static_cast<double>(progress.load()));
    });
  } else {
    // Each worker pulls the next seed; one watcher reports the progress every 100 ms.
    std::atomic<size_t> next{0};
    auto worker = [&]() {
      for (size_t i = next++; i < seeds.size(); i = next++) {
        try {
          const std::string dir = files ? seed_dir(o.out, seeds[i], true) : std::string();  // created by run_seed
          results[i] = run_seed(cfg, seeds[i], dir, [&](std::uint64_t d) { progress += d; });
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    run_workers_reporting(threads, worker, progress, control);
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  S.wall_seconds = wall;
  const std::uint64_t steps_here = progress.load();
  S.steps_this_process = steps_here;
  int interrupted = 0, diverged = 0;
  for (const auto& r : results) {
    interrupted += r.status == SgdRunStatus::Interrupted;
    diverged += r.status == SgdRunStatus::Diverged;
  }
  S.interrupted = interrupted;
  S.diverged = diverged;
  S.status = interrupted > 0 ? SgdRunStatus::Interrupted : diverged > 0 ? SgdRunStatus::Diverged : SgdRunStatus::Completed;

  if (ensemble) {
    std::vector<std::string> notes;
    if (!cfg.schedule_note.empty()) notes.push_back(cfg.schedule_note);
    json figures = json::array();
    std::vector<std::vector<TrajectoryRow>> runs;
    for (const auto& r : results) runs.push_back(r.rows);
    const SgdEnsembleTable table = sgd_ensemble_table(runs, cfg.log_steps, setup.singular_values);
    if (files) write_file_atomic(o.out + "/ensemble_trajectory.csv", table.csv);
    if (cfg.figures && interrupted == 0)
      trajectory_figures(table.mean, setup.singular_values, optimum_sharpness(setup), o.out, "step k", true,
                         "label-noise SGD, mean of " + std::to_string(seeds.size()) + " seeds", figures, notes);
    json per_seed = json::array();
    for (const auto& r : results) {
      json s = {{"seed", r.seed}, {"status", to_string(r.status)}, {"steps_done", r.steps_done},
                {"steps_per_second", r.steps_per_second}, {"dir", r.dir}};
      if (r.reached) {
        s["final"] = row_json(*r.reached);
        s["final"]["interrupted"] = true;
      } else if (!r.rows.empty()) {
        s["final"] = row_json(r.rows.back());
      }
      if (r.status == SgdRunStatus::Diverged) s["divergence"] = r.divergence_reason;
      per_seed.push_back(s);
    }
    // After an interrupt the seeds stand at different steps: a mean is formed only over states at
    // one step (the states reached, when every seed stopped at the same step), never across steps.
    std::optional<TrajectoryRow> interrupted_mean;
    if (interrupted > 0) {
      bool same_step = diverged == 0;
      for (const auto& r : results) same_step = same_step && r.steps_done == results[0].steps_done;
      if (same_step) {
        std::vector<std::vector<TrajectoryRow>> states(results.size());
        for (size_t i = 0; i < results.size(); ++i)
          if (results[i].reached) states[i] = {*results[i].reached};
          else if (!results[i].rows.empty()) states[i] = {results[i].rows.back()};
        const SgdEnsembleTable at = sgd_ensemble_table(states, {results[0].steps_done}, setup.singular_values);
        if (!at.mean.empty() && at.seeds[0] == static_cast<int>(results.size())) interrupted_mean = at.mean[0];
      }
      if (!interrupted_mean) {
        std::ostringstream why;
        why << "no mean over seeds: the run was interrupted with the seeds at different steps (";
        for (size_t i = 0; i < results.size(); ++i)
          why << (i ? ", " : "") << "seed " << results[i].seed << " " << to_string(results[i].status) << " at step "
              << results[i].steps_done;
        why << "), and states at different steps are not averaged; each seed's state is in per_seed";
        notes.push_back(why.str());
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
    if (files) write_json(o.out + "/summary.json", summary);
    S.ensemble_mean = table.mean;
    S.ensemble_seed_counts = table.seeds;
    S.ensemble_table_csv = table.csv;
    S.interrupted_mean = interrupted_mean;
    for (const auto& f : figures) S.figures.push_back(f.get<std::string>());
    S.notes = notes;
  }
  S.seeds = std::move(results);

  if (interrupted > 0) {
    if (out_dir) out_dir->finish(RunStatus::Interrupted);
  } else if (diverged > 0) {
    std::ostringstream e;
    e.precision(6);
    for (const auto& r : S.seeds)
      if (r.status == SgdRunStatus::Diverged) {
        e << "label-noise SGD diverged" << (ensemble ? " for seed " + std::to_string(r.seed) : std::string()) << ": "
          << r.divergence_reason << ". " << smaller_lr_advice(o.learning_rate, stability_limit)
          << ". The last finite weights (step " << r.last_finite_step << ") are in "
          << (!files ? std::string("the result's final weights")
                     : r.dir + (cfg.reduced_only() ? "/final_reduced.json" : "/final_weights.csv"));
        break;
      }
    if (diverged > 1) e << " (" << diverged << " of " << seeds.size() << " seeds diverged)";
    S.failure = e.str();
    if (out_dir) out_dir->finish(RunStatus::Failed, S.failure);
  } else if (out_dir) {
    out_dir->finish(RunStatus::Completed);
  }
  return S;
}

}  // namespace zeroloss
