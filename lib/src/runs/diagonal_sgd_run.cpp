#include "zeroloss/runs/diagonal_sgd_run.hpp"

#include <nlohmann/json.hpp>

#include <boost/math/statistics/univariate_statistics.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <limits>
#include <memory>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/dynamics/generic_label_noise_sgd.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/presentation/diagonal_sgd_resume_files.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"
#include "zeroloss/runs/run_parameters.hpp"

namespace zeroloss {

bool DiagonalSgdRunOptions::is_valid(std::string* error) const {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (data.empty()) return fail("--data: a data file is required");
  if (weights.empty()) return fail("--weights: a u,v weights file is required");
  if (const std::string why = sgd_schedule_error(steps, learning_rate, label_noise, log_every, log_points); !why.empty())
    return fail(why);
  if (out.empty()) return fail("--out: an output folder is required");
  for (std::size_t i = 0; i < ensemble.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (ensemble[i] == ensemble[j]) return fail("--seeds: seed " + std::to_string(ensemble[i]) + " is listed twice");
  if (checkpoint_every > steps)
    return fail("--checkpoint-every " + std::to_string(checkpoint_every) + " is larger than --steps " +
                std::to_string(steps) + "; expected 0 (end and interrupt only) or at most the step count");
  return true;
}

void DiagonalSgdRunOptions::validate() const {
  std::string why;
  if (!is_valid(&why)) throw InputError(why);
}

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string trajectory_text(const std::vector<DiagonalSgdRow>& rows) {
  std::ostringstream csv;
  csv << "step,t,tau,loss,sharpness,weighted_l1_bound\n";
  for (const auto& r : rows)
    csv << r.step << ',' << format_double(r.t) << ',' << format_double(r.tau) << ',' << format_double(r.loss) << ','
        << format_double(r.sharpness) << ',' << format_double(r.weighted_l1_bound) << '\n';
  return csv.str();
}

std::string seed_folder(const DiagonalSgdRunOptions& o, std::uint64_t seed) {
  return o.ensemble.empty() ? o.out : o.out + "/seed_" + std::to_string(seed);
}

struct SeedWork {
  const DiagonalSgdRunOptions* o = nullptr;
  const LoadedDiagonalProblem* problem = nullptr;
  SgdParameters params;  // without the seed
  std::vector<std::uint64_t> schedule;
  const RunControl* control = nullptr;
};

// One seed in its folder: from the start, or from `checkpoint`; writes the seed's files. `advanced`
// receives the steps taken since its last call.
DiagonalSgdSeedResult run_seed(const SeedWork& w, std::uint64_t seed, const std::optional<DiagonalSgdCheckpoint>& checkpoint,
                               const std::function<void(std::uint64_t)>& advanced) {
  const DiagonalSgdRunOptions& o = *w.o;
  const std::shared_ptr<const DiagonalLinearNetwork>& model = w.problem->model;
  const int n = model->num_samples();
  SgdParameters params = w.params;
  params.seed = seed;
  GenericLabelNoiseSgd sgd(model, w.problem->theta, params);
  const std::vector<std::uint64_t>& schedule = w.schedule;
  DiagonalSgdSeedResult S;
  S.seed = seed;
  S.dir = seed_folder(o, seed);
  std::filesystem::create_directories(S.dir);
  std::size_t next_log = 0;
  if (checkpoint) {
    sgd.restore(checkpoint->state);
    S.rows = checkpoint->rows;
    while (next_log < schedule.size() && !S.rows.empty() && schedule[next_log] <= S.rows.back().step) ++next_log;
  }
  auto save_checkpoint = [&](DiagonalSgdCheckpointStatus status) {
    write_diagonal_sgd_checkpoint(S.dir, {seed, status, sgd.state(), S.rows});
  };

  const Eigen::VectorXd& c = model->column_norms_squared();
  auto row = [&]() {
    const Eigen::VectorXd& theta = sgd.parameters();
    const auto point = model->evaluate(theta);
    DiagonalSgdRow r;
    r.step = sgd.step();
    r.t = sgd.time();
    r.tau = sgd.flow_time();
    r.loss = (point->outputs() - model->labels()).squaredNorm() / (2.0 * n);
    r.sharpness = point->sharpness();
    r.weighted_l1_bound = 4.0 / n * c.dot(model->linear_weights(theta).cwiseAbs());
    return r;
  };
  const auto start = Clock::now();
  const std::uint64_t chunk = 4096;  // between checks of the interruption flag
  for (;;) {
    const std::uint64_t k = sgd.step();
    if (next_log < schedule.size() && schedule[next_log] == k) {
      S.rows.push_back(row());
      ++next_log;
    }
    if (k >= o.steps) break;
    if (w.control->interrupted()) {
      S.status = SgdRunStatus::Interrupted;
      save_checkpoint(DiagonalSgdCheckpointStatus::Interrupted);
      break;
    }
    if (o.checkpoint_every > 0 && k > 0 && k % o.checkpoint_every == 0 && !(checkpoint && k == checkpoint->state.step))
      save_checkpoint(DiagonalSgdCheckpointStatus::Running);
    std::uint64_t target = next_log < schedule.size() ? std::min(o.steps, schedule[next_log]) : o.steps;
    if (o.checkpoint_every > 0) target = std::min(target, (k / o.checkpoint_every + 1) * o.checkpoint_every);
    const std::uint64_t todo = std::min(target - k, chunk);
    try {
      sgd.advance(todo);
    } catch (const ConvergenceError& e) {
      S.status = SgdRunStatus::Diverged;
      S.failure = std::string("label-noise SGD diverged: ") + e.what() + ". " +
                  smaller_lr_advice(o.learning_rate, std::numeric_limits<double>::infinity()) +
                  ". The last finite weights (step " + std::to_string(sgd.step()) + ") are in " + S.dir +
                  "/final_weights.csv";
      break;
    }
    advanced(todo);
  }
  S.steps_done = sgd.step();
  if (S.status == SgdRunStatus::Completed) save_checkpoint(DiagonalSgdCheckpointStatus::Completed);
  if (S.status == SgdRunStatus::Diverged) save_checkpoint(DiagonalSgdCheckpointStatus::Diverged);
  // The state reached, when it is not the last logged row.
  if (S.rows.empty() || S.rows.back().step != sgd.step()) S.rows.push_back(row());
  S.u = model->u(sgd.parameters());
  S.v = model->v(sgd.parameters());
  write_file_atomic(S.dir + "/trajectory.csv", trajectory_text(S.rows));
  write_diagonal_weights_csv(S.dir + "/final_weights.csv", S.u, S.v);
  const DiagonalSgdRow& last = S.rows.back();
  json summary = {{"command", "sgd"},
                  {"model", to_string(ModelKind::DiagonalLinear)},
                  {"status", to_string(S.status)},
                  {"data", o.data},
                  {"weights", o.weights},
                  {"problem", {{"n", n}, {"d", model->dimension()}}},
                  {"parameters",
                   {{"learning_rate", o.learning_rate},
                    {"label_noise", o.label_noise},
                    {"noise", noise_kind_name(o.noise)},
                    {"batch_size", params.batch_size},
                    {"full_batch", params.batch_size == n},
                    {"steps", o.steps},
                    {"seed", seed},
                    {"flow_coefficient", limiting_flow_coefficient(o.label_noise, params.batch_size)},
                    {"flow_time_per_step", flow_time_per_step(o.label_noise, params.batch_size, o.learning_rate)}}},
                  {"steps_done", S.steps_done},
                  {"t", last.t},
                  {"tau", last.tau},
                  {"final",
                   {{"step", last.step},
                    {"loss", last.loss},
                    {"sharpness", last.sharpness},
                    {"weighted_l1_bound", last.weighted_l1_bound}}},
                  {"performance", {{"wall_seconds_this_process", std::chrono::duration<double>(Clock::now() - start).count()}}}};
  if (S.status == SgdRunStatus::Diverged) summary["divergence"] = S.failure;
  write_json(S.dir + "/summary.json", summary);
  return S;
}

// A seed that finished in an earlier process, read back from its checkpoint.
DiagonalSgdSeedResult finished_seed(const DiagonalSgdRunOptions& o, const DiagonalLinearNetwork& model,
                                    const DiagonalSgdCheckpoint& ck) {
  DiagonalSgdSeedResult r;
  r.seed = ck.seed;
  r.dir = seed_folder(o, ck.seed);
  r.status = ck.status == DiagonalSgdCheckpointStatus::Completed ? SgdRunStatus::Completed : SgdRunStatus::Diverged;
  r.steps_done = ck.state.step;
  r.rows = ck.rows;
  r.u = model.u(ck.state.theta);
  r.v = model.v(ck.state.theta);
  if (r.status == SgdRunStatus::Diverged)
    r.failure = "seed " + std::to_string(ck.seed) + " diverged after step " + std::to_string(ck.state.step) +
                " in an earlier process (" + r.dir + "/summary.json)";
  return r;
}

std::vector<DiagonalSgdEnsembleRow> ensemble_rows(const std::vector<DiagonalSgdSeedResult>& seeds,
                                                  const std::vector<std::uint64_t>& schedule) {
  std::vector<DiagonalSgdEnsembleRow> out;
  for (std::uint64_t step : schedule) {
    std::vector<double> loss, sharpness, bound;
    const DiagonalSgdRow* first = nullptr;
    for (const auto& s : seeds)
      for (const auto& r : s.rows)
        if (r.step == step) {  // the state reached at an interrupt is never a logged step: not averaged
          if (!first) first = &r;
          loss.push_back(r.loss);
          sharpness.push_back(r.sharpness);
          bound.push_back(r.weighted_l1_bound);
          break;
        }
    if (loss.empty()) continue;
    DiagonalSgdEnsembleRow e;
    e.step = step;
    e.t = first->t;
    e.tau = first->tau;
    e.seeds = static_cast<int>(loss.size());
    auto mean_std = [](const std::vector<double>& x, double* mean, double* sd) {
      const auto [m, var] = boost::math::statistics::mean_and_sample_variance(x);
      *mean = m;
      *sd = x.size() > 1 ? std::sqrt(var) : 0.0;
    };
    mean_std(loss, &e.loss_mean, &e.loss_std);
    mean_std(sharpness, &e.sharpness_mean, &e.sharpness_std);
    mean_std(bound, &e.weighted_l1_bound_mean, &e.weighted_l1_bound_std);
    out.push_back(e);
  }
  return out;
}

std::string ensemble_text(const std::vector<DiagonalSgdEnsembleRow>& rows) {
  std::ostringstream csv;
  csv << "step,t,tau,seeds,loss_mean,loss_std,sharpness_mean,sharpness_std,weighted_l1_bound_mean,"
         "weighted_l1_bound_std\n";
  for (const auto& r : rows)
    csv << r.step << ',' << format_double(r.t) << ',' << format_double(r.tau) << ',' << r.seeds << ','
        << format_double(r.loss_mean) << ',' << format_double(r.loss_std) << ',' << format_double(r.sharpness_mean)
        << ',' << format_double(r.sharpness_std) << ',' << format_double(r.weighted_l1_bound_mean) << ','
        << format_double(r.weighted_l1_bound_std) << '\n';
  return csv.str();
}

// Every seed of the run in the open folder `out_dir`; `resumed`: continue from the seeds' checkpoints.
DiagonalSgdRunSummary run_in_folder(const DiagonalSgdRunOptions& o, const RunControl& control, OutputDirectory& out_dir,
                                    bool resumed) {
  const LoadedDiagonalProblem problem = load_diagonal_problem({o.data, o.weights});
  const DiagonalLinearNetwork& model = *problem.model;
  SeedWork w;
  w.o = &o;
  w.problem = &problem;
  w.params.learning_rate = o.learning_rate;
  w.params.label_noise = o.label_noise;
  w.params.noise = o.noise;
  w.params.batch_size = parse_batch(o.batch, model.num_samples());
  w.schedule = log_schedule(o.steps, o.log_every, o.log_points);
  w.control = &control;
  const std::vector<std::uint64_t> seeds = o.ensemble.empty() ? std::vector<std::uint64_t>{o.seed} : o.ensemble;

  // What each seed continues from; seeds that finished earlier are read back, not run.
  std::vector<std::optional<DiagonalSgdCheckpoint>> from(seeds.size());
  std::vector<DiagonalSgdSeedResult> results(seeds.size());
  std::vector<std::size_t> to_run;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    const std::string dir = seed_folder(o, seeds[i]);
    if (resumed && std::filesystem::exists(dir + "/checkpoint.json")) {
      from[i] = read_diagonal_sgd_checkpoint(dir, seeds[i], model.dimension());
      if (from[i]->status == DiagonalSgdCheckpointStatus::Completed ||
          from[i]->status == DiagonalSgdCheckpointStatus::Diverged) {
        results[i] = finished_seed(o, model, *from[i]);
        continue;
      }
    }
    to_run.push_back(i);
  }
  if (resumed && to_run.empty())
    throw InputError(o.ensemble.empty()
                         ? o.out + "/checkpoint.json: the run " + to_string(from[0]->status) + " at step " +
                               std::to_string(from[0]->state.step) + "; there is nothing to resume"
                         : o.out + ": every seed of the ensemble completed or diverged (seed_<s>/checkpoint.json); "
                               "there is nothing to resume");

  DiagonalSgdRunSummary S;
  S.model_description = model.description();
  S.batch_size = w.params.batch_size;
  S.flow_coefficient = limiting_flow_coefficient(o.label_noise, w.params.batch_size);
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  S.threads = std::max(1, std::min<int>(o.threads > 0 ? o.threads : hw, static_cast<int>(to_run.size())));
  std::atomic<std::uint64_t> progress{0};
  const auto start = Clock::now();
  if (o.ensemble.empty()) {
    results[0] = run_seed(w, seeds[0], from[0], [&](std::uint64_t d) {
      progress += d;
      control.report(static_cast<double>(progress.load()));
    });
  } else {
    std::vector<std::exception_ptr> errors(seeds.size());
    std::atomic<std::size_t> next{0};
    auto worker = [&]() {
      for (std::size_t k = next++; k < to_run.size(); k = next++) {
        const std::size_t i = to_run[k];
        try {
          results[i] = run_seed(w, seeds[i], from[i], [&](std::uint64_t d) { progress += d; });
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    run_workers_reporting(S.threads, worker, progress, control);
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  S.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  S.seeds = std::move(results);
  int interrupted = 0, diverged = 0;
  for (const auto& r : S.seeds) {
    interrupted += r.status == SgdRunStatus::Interrupted;
    if (r.status == SgdRunStatus::Diverged && diverged++ == 0) S.failure = r.failure;
  }
  S.status = interrupted > 0 ? SgdRunStatus::Interrupted : diverged > 0 ? SgdRunStatus::Diverged : SgdRunStatus::Completed;

  if (!o.ensemble.empty()) {
    S.ensemble_mean = ensemble_rows(S.seeds, w.schedule);
    write_file_atomic(o.out + "/ensemble_trajectory.csv", ensemble_text(S.ensemble_mean));
    json per_seed = json::array();
    for (const auto& r : S.seeds) {
      json j = {{"seed", r.seed}, {"status", to_string(r.status)}, {"steps_done", r.steps_done}, {"dir", r.dir}};
      if (!r.failure.empty()) j["divergence"] = r.failure;
      per_seed.push_back(j);
    }
    json summary = {{"command", "sgd"},
                    {"model", to_string(ModelKind::DiagonalLinear)},
                    {"status", to_string(S.status)},
                    {"data", o.data},
                    {"weights", o.weights},
                    {"problem", {{"n", model.num_samples()}, {"d", model.dimension()}}},
                    {"parameters",
                     {{"learning_rate", o.learning_rate},
                      {"label_noise", o.label_noise},
                      {"noise", noise_kind_name(o.noise)},
                      {"batch_size", S.batch_size},
                      {"steps", o.steps},
                      {"seeds", seeds},
                      {"flow_coefficient", S.flow_coefficient}}},
                    {"per_seed", per_seed},
                    {"performance", {{"threads", S.threads}, {"wall_seconds_this_process", S.wall_seconds}}}};
    if (!S.ensemble_mean.empty()) {
      const DiagonalSgdEnsembleRow& f = S.ensemble_mean.back();
      summary["final_mean"] = {{"step", f.step},
                               {"seeds", f.seeds},
                               {"loss", f.loss_mean},
                               {"sharpness", f.sharpness_mean},
                               {"weighted_l1_bound", f.weighted_l1_bound_mean}};
    }
    if (diverged > 0) summary["divergence"] = S.failure;
    write_json(o.out + "/summary.json", summary);
  }
  if (S.status == SgdRunStatus::Interrupted)
    out_dir.finish(RunStatus::Interrupted);
  else if (S.status == SgdRunStatus::Diverged)
    out_dir.finish(RunStatus::Failed, S.failure);
  else
    out_dir.finish(RunStatus::Completed);
  return S;
}

}  // namespace

DiagonalSgdRunSummary run_diagonal_label_noise_sgd(const DiagonalSgdRunOptions& o, const RunControl& control) {
  o.validate();
  load_diagonal_problem({o.data, o.weights});  // input errors before the folder is touched
  OutputDirectory out_dir(o.out, "sgd", OutputDirectoryOptions::fresh(o.overwrite));
  write_json(o.out + "/run.json", diagonal_sgd_run_json(o));
  return run_in_folder(o, control, out_dir, false);
}

DiagonalSgdRunSummary resume_diagonal_label_noise_sgd(const std::string& dir, const RunControl& control,
                                                      DiagonalSgdRunOptions* options_out, int threads) {
  OutputDirectoryOptions resume;
  resume.resume = true;
  OutputDirectory out_dir(dir, "sgd", resume);
  DiagonalSgdRunOptions o = read_diagonal_sgd_run_file(dir);
  o.threads = threads;
  o.validate();
  if (options_out) *options_out = o;
  return run_in_folder(o, control, out_dir, true);
}

}  // namespace zeroloss
