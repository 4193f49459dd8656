// zeroloss sgd: label-noise SGD (THEORY 7). The run is the library's (zeroloss/runs/
// label_noise_sgd_run.hpp; --model diagonal-linear: runs/diagonal_sgd_run.hpp); this file parses
// the options, draws the progress bar, turns SIGINT/SIGTERM into an interruption, and prints.

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/diagonal_sgd_resume_files.hpp"
#include "zeroloss/runs/diagonal_sgd_run.hpp"
#include "zeroloss/runs/label_noise_sgd_run.hpp"

namespace zeroloss::cli {
namespace {

// The options as given: bound to the library's options where the types agree, as text where the
// library takes an enum, a list or the negation.
struct SgdCliOptions {
  LabelNoiseSgdRunOptions run;
  std::string noise = "gaussian";
  std::string instruction_set = "auto";
  std::string coordinates = "auto";
  std::uint64_t seed = 0;
  std::string seeds;
  std::string resume;
  bool no_figures = false;
  std::string init;  // "" (use --weights) or "gaussian"
  bool no_log_gradient = false;
  ModelKind model = ModelKind::TwoLayer;
};

LabelNoiseSgdRunOptions run_options(const SgdCliOptions& c, const std::vector<std::string>& given) {
  auto has = [&](const char* name) { return std::find(given.begin(), given.end(), name) != given.end(); };
  for (const char* name : {"--data", "--lr", "--label-noise", "--steps", "--out"}) {
    if (!has(name)) throw InputError(std::string(name) + " is required (or continue a run with --resume DIR)");
  }
  if (c.init.empty()) {
    if (!has("--weights")) throw InputError("--weights is required (or a random start with --init gaussian --m M, or --resume DIR)");
    for (const char* name : {"--m", "--init-scale", "--init-seed"})
      if (has(name)) throw InputError(std::string(name) + " only applies with --init");
  } else {
    if (c.init != "gaussian") throw InputError("--init " + c.init + ": unknown start; expected gaussian");
    if (has("--weights")) throw InputError("--init and --weights cannot be combined (--init draws the start)");
    if (!has("--m")) throw InputError("--init needs --m M (the number of neurons, M >= 1)");
  }
  LabelNoiseSgdRunOptions o = c.run;
  if (has("--seeds") && has("--seed")) throw InputError("--seed and --seeds cannot be combined (--seeds 0-63 runs an ensemble)");
  o.ensemble = has("--seeds");
  o.seeds = o.ensemble ? parse_seed_list(c.seeds) : std::vector<std::uint64_t>{c.seed};
  o.random_start = !c.init.empty();
  o.noise = parse_noise_kind(c.noise);
  o.instruction_set = c.instruction_set == "baseline" ? SgdInstructionSet::Baseline
                      : c.instruction_set == "avx2"   ? SgdInstructionSet::Avx2
                                                      : SgdInstructionSet::Auto;
  o.coordinates = c.coordinates == "weights"          ? SgdCoordinates::Weights
                  : c.coordinates == "preactivations" ? SgdCoordinates::Preactivations
                                                      : SgdCoordinates::Auto;
  o.figures = !c.no_figures;
  o.log_gradient = !c.no_log_gradient;
  return o;
}

// One line per quantity of a state: loss, T, T - T*, the spectrum of Phi.
void print_state(std::ostream& msg, const TrajectoryRow& f) {
  msg << f.metrics.loss << ", T " << f.metrics.sharpness;
  if (f.metrics.sharpness_gap) msg << ", T - T* " << *f.metrics.sharpness_gap;
}

void print_single(std::ostream& msg, const LabelNoiseSgdRunOptions& o, const LabelNoiseSgdRunSummary& S) {
  const SgdSeedResult& r = S.seeds[0];
  const double eta2 = o.learning_rate * o.learning_rate;
  msg << "label-noise SGD, seed " << r.seed << ": " << r.steps_done << " of " << o.steps << " steps (t = eta^2 k = "
      << eta2 * static_cast<double>(r.steps_done) << ", flow time tau = "
      << S.flow_coefficient * eta2 * static_cast<double>(r.steps_done) << ")";
  if (S.steps_this_process >= 10000) msg << ", " << static_cast<double>(S.steps_this_process) / S.wall_seconds << " steps/s";
  msg << "\n";
  if (r.final_state) {
    const TrajectoryRow& f = *r.final_state;
    if (r.final_is_interrupt_state)
      msg << "state at the interrupt (step " << f.step << "): loss ";
    else
      msg << "final: loss ";
    print_state(msg, f);
    if (f.metrics.sharpness_gap_on_manifold) msg << " (at the projection onto M: " << *f.metrics.sharpness_gap_on_manifold << ")";
    msg << ", singular values of Phi:";
    for (Eigen::Index k = 0; k < f.metrics.feature_singular_values.size(); ++k) msg << ' ' << f.metrics.feature_singular_values(k);
    msg << "\n";
    if (r.assumptions_checked && !r.assumptions_hold)
      msg << "outside THEORY's assumptions at the end point: " << r.assumptions_description << "\n";
    if (r.status == SgdRunStatus::Completed && r.rank_one_feature_step)
      msg << "rank one (sigma_2/sigma_1 of Phi <= " << o.rank_one_threshold << ") from step " << *r.rank_one_feature_step
          << " on\n";
  }
  for (const auto& f : r.figures) msg << "figure: " << f << "\n";
  for (const auto& n : r.notes) msg << "note: " << n << "\n";
}

void print_ensemble(std::ostream& msg, const LabelNoiseSgdRunOptions& o, const LabelNoiseSgdRunSummary& S) {
  msg << "label-noise SGD ensemble: " << o.seeds.size() << " seeds x " << o.steps << " steps on " << S.threads
      << " threads, " << static_cast<double>(S.steps_this_process) / std::max(S.wall_seconds, 1e-12) << " steps/s in all\n";
  if (S.interrupted > 0) {
    for (const auto& r : S.seeds) {
      const TrajectoryRow* f = r.reached ? &*r.reached : (r.rows.empty() ? nullptr : &r.rows.back());
      msg << "seed " << r.seed << ", " << to_string(r.status) << " at step " << r.steps_done;
      if (f) {
        msg << (r.reached ? " (state at the interrupt)" : " (last logged row, step " + std::to_string(f->step) + ")")
            << ": loss ";
        print_state(msg, *f);
      }
      msg << "\n";
    }
  }
  const TrajectoryRow* shown = S.interrupted > 0 ? (S.interrupted_mean ? &*S.interrupted_mean : nullptr)
                                                 : (S.ensemble_mean.empty() ? nullptr : &S.ensemble_mean.back());
  if (shown) {
    const TrajectoryRow& f = *shown;
    msg << "mean at step " << f.step << (S.interrupted > 0 ? " (states at the interrupt, all seeds)" : "") << ": loss ";
    print_state(msg, f);
    msg << ", mean singular values of Phi:";
    for (Eigen::Index k = 0; k < f.metrics.feature_singular_values.size(); ++k) msg << ' ' << f.metrics.feature_singular_values(k);
    msg << "\n";
  }
  for (const auto& f : S.figures) msg << "figure: " << f << "\n";
  for (const auto& n : S.notes) msg << "note: " << n << "\n";
}

// --model diagonal-linear: GenericLabelNoiseSgd on (u, v), one seed or an ensemble, with checkpoints
// and resume. Options of the two-layer kernel, its reduced coordinates and starts do not apply and
// are refused by name.
void run_diagonal_sgd(const SgdCliOptions& c, const std::vector<std::string>& given) {
  auto has = [&](const char* name) { return std::find(given.begin(), given.end(), name) != given.end(); };
  for (const char* name : {"--activation", "--instruction-set", "--steps-per-pass", "--coordinates", "--init", "--m",
                           "--init-scale", "--init-seed", "--save-reduced", "--no-log-gradient", "--rank-one-threshold",
                           "--max-loss", "--no-figures"})
    if (has(name))
      throw InputError(std::string(name) + " does not apply to --model diagonal-linear: it belongs to the two-layer "
                       "network's kernel, coordinates, starts or figures (the diagonal network runs the generic step; "
                       "docs/commands/sgd.md)");
  DiagonalSgdRunOptions o;
  install_interrupt_handlers();
  RunControl control;
  control.interrupt = &interrupt_flag();
  std::optional<ProgressBar> bar;
  DiagonalSgdRunSummary S;
  if (!c.resume.empty()) {
    for (const auto& name : given)
      if (name != "--resume" && name != "--model" && name != "--threads")
        throw InputError("--resume takes every run option from " + c.resume + "/run.json; " + name +
                         " cannot be combined with it (only --threads can)");
    o = read_diagonal_sgd_run_file(c.resume);
    bar.emplace(o.ensemble.empty() ? "sgd" : "sgd x" + std::to_string(o.ensemble.size()),
                static_cast<double>(o.steps) * static_cast<double>(std::max<std::size_t>(1, o.ensemble.size())), "steps");
    control.progress = [&bar](double done) { bar->update(done); };
    S = resume_diagonal_label_noise_sgd(c.resume, control, nullptr, c.run.threads);
  } else {
    for (const char* name : {"--data", "--weights", "--lr", "--label-noise", "--steps", "--out"})
      if (!has(name)) throw InputError(std::string(name) + " is required (or continue a run with --resume DIR)");
    o.data = c.run.problem.data;
    o.weights = c.run.problem.weights;
    o.learning_rate = c.run.learning_rate;
    o.label_noise = c.run.label_noise;
    o.noise = parse_noise_kind(c.noise);
    o.batch = c.run.batch;
    o.steps = c.run.steps;
    if (has("--seeds") && has("--seed")) throw InputError("--seed and --seeds cannot be combined (--seeds 0-63 runs an ensemble)");
    o.seed = c.seed;
    if (has("--seeds")) o.ensemble = parse_seed_list(c.seeds);
    o.threads = c.run.threads;
    o.log_every = c.run.log_every;
    if (c.run.log_points > 0) o.log_points = c.run.log_points;  // else the diagonal run's 200
    o.checkpoint_every = c.run.checkpoint_every;
    o.out = c.run.out;
    o.overwrite = c.run.overwrite;
    bar.emplace(o.ensemble.empty() ? "sgd" : "sgd x" + std::to_string(o.ensemble.size()),
                static_cast<double>(o.steps) * static_cast<double>(std::max<std::size_t>(1, o.ensemble.size())), "steps");
    control.progress = [&bar](double done) { bar->update(done); };
    S = run_diagonal_label_noise_sgd(o, control);
  }
  bar->finish();
  std::ostringstream msg;
  msg.precision(6);
  if (o.ensemble.empty()) {
    const DiagonalSgdSeedResult& r = S.seeds.front();
    const DiagonalSgdRow& f = r.rows.back();
    msg << "label-noise SGD on the " << S.model_description << ", seed " << r.seed << ": " << r.steps_done << " of "
        << o.steps << " steps (t = eta^2 k = " << f.t << ", flow time tau = " << f.tau << ")\n"
        << (r.status == SgdRunStatus::Completed ? "final" : "state reached") << ": loss " << f.loss << ", T "
        << f.sharpness << ", (4/n) sum_k c_k |w_k| " << f.weighted_l1_bound << "\n";
  } else {
    int completed = 0;
    for (const auto& r : S.seeds) completed += r.status == SgdRunStatus::Completed;
    msg << "label-noise SGD on the " << S.model_description << ", " << S.seeds.size() << " seeds on " << S.threads
        << " threads: " << completed << " completed\n";
    if (!S.ensemble_mean.empty()) {
      const DiagonalSgdEnsembleRow& f = S.ensemble_mean.back();
      msg << "mean over " << f.seeds << " seeds at step " << f.step << " (tau = " << f.tau << "): loss " << f.loss_mean
          << ", T " << f.sharpness_mean << " (sd " << f.sharpness_std << "), (4/n) sum_k c_k |w_k| "
          << f.weighted_l1_bound_mean << "\n";
    }
  }
  msg << "outputs in " << o.out << "\n";
  std::cout << msg.str() << std::flush;
  if (S.status == SgdRunStatus::Interrupted) {
    std::cerr << "zeroloss sgd: interrupted by " << signal_name(interrupt_signal()) << "; checkpoint written ("
              << o.out << (o.ensemble.empty() ? "" : "/seed_*") << "/checkpoint.json); continue with: zeroloss sgd --resume "
              << o.out << "\n";
    exit_by_signal(interrupt_signal());
  }
  if (S.status == SgdRunStatus::Diverged) throw ConvergenceError(S.failure);
}

void run_sgd(const SgdCliOptions& c, const std::vector<std::string>& given) {
  if (c.model == ModelKind::DiagonalLinear || (!c.resume.empty() && holds_diagonal_sgd_run(c.resume)))
    return run_diagonal_sgd(c, given);
  std::optional<LabelNoiseSgdRun> run;
  if (!c.resume.empty()) {
    for (const auto& name : given) {
      if (name != "--resume" && name != "--threads" && name != "--no-figures") {
        throw InputError("--resume takes every run option from " + c.resume + "/run.json; " + name +
                         " cannot be combined with it (only --threads and --no-figures can)");
      }
    }
    run.emplace(LabelNoiseSgdRun::resume(c.resume, c.run.threads, c.no_figures));
  } else {
    run.emplace(run_options(c, given));
  }
  // sgd is well defined off M: data that make M empty or J J^T singular everywhere are reported, not refused.
  warn_diagnostics(run->diagnostics(), "sgd");
  const LabelNoiseSgdRunOptions& o = run->options();
  install_interrupt_handlers();
  const double total = static_cast<double>(o.steps) * static_cast<double>(o.seeds.size());
  ProgressBar bar(o.ensemble ? "sgd x" + std::to_string(o.seeds.size()) : "sgd", total, "steps");
  RunControl control;
  control.progress = [&bar](double done) { bar.update(done); };
  control.interrupt = &interrupt_flag();
  const LabelNoiseSgdRunSummary S = run->run(control);
  bar.finish();

  std::ostringstream msg;
  msg.precision(6);
  if (o.ensemble)
    print_ensemble(msg, o, S);
  else
    print_single(msg, o, S);
  msg << "outputs in " << o.out << "\n";
  std::cout << msg.str() << std::flush;
  if (S.status == SgdRunStatus::Interrupted) {
    const int sig = interrupt_signal();
    std::cerr << "zeroloss sgd: interrupted by " << signal_name(sig) << "; checkpoint written ("
              << (o.ensemble ? o.out + "/seed_*/checkpoint.json" : o.out + "/checkpoint.json")
              << "); continue with: zeroloss sgd --resume " << o.out << "\n";
    exit_by_signal(sig);
  }
  if (S.status == SgdRunStatus::Diverged) throw ConvergenceError(S.failure);
}

CommandRegistration reg({"sgd", "label-noise SGD (THEORY 7) in reduced coordinates: trajectories, checkpoints, ensembles",
                         [](CLI::App& app) {
  auto o = std::make_shared<SgdCliOptions>();
  add_model_option(app, o->model);
  app.add_option("--data", o->run.problem.data, "[required unless --resume] Data CSV: header row, column 'y' = labels, other columns = features")
      ->check(checks::existing_file("--data"));
  app.add_option("--weights", o->run.problem.weights,
                 "[required unless --resume or --init] Starting weights W0: a CSV (one row per neuron, optional "
                 "column 'a' = fixed second layer, default 1), or a reduced-weights manifest *.json (written by "
                 "--init / --save-reduced): the run then stays in reduced coordinates (no m x d matrix; the data "
                 "rows must span the saved basis) and writes DIR/final_reduced.json instead of final_weights.csv")
      ->check(checks::existing_file("--weights"));
  app.add_option("--activation", o->run.problem.activation, "Activation: " + Activation::known_names())
      ->capture_default_str()
      ->check(checks::activation_name());
  app.add_option("--lr", o->run.learning_rate, "[required unless --resume] Learning rate eta > 0 (SGD time t = eta^2 k after k steps; eta^2 K must "
                 "be a finite number > 0)")
      ->check(checks::positive_number());
  app.add_option("--label-noise", o->run.label_noise,
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
  app.add_option("--steps-per-pass", o->run.steps_per_pass,
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
  app.add_option("--batch", o->run.batch,
                 "Batch size B (B distinct samples drawn uniformly each step) or 'full' (all n samples, no "
                 "sampling: with --label-noise 0 this is gradient descent on L); 1 <= B <= n")
      ->capture_default_str()
      ->check(checks::batch_size());
  app.add_option("--steps", o->run.steps, "[required unless --resume] Number of SGD steps K >= 1")
      ->check(checks::positive_integer<std::uint64_t>());
  app.add_option("--seed", o->seed, "Random seed, an integer >= 0 (same seed, same bits)")
      ->capture_default_str()
      ->check(checks::non_negative_integer<std::uint64_t>());
  app.add_option("--seeds", o->seeds,
                 "Run an ensemble: a list like 0-63 or 1,4,7-9; each seed in DIR/seed_<s>/, in parallel threads; "
                 "each seed's result is independent of the thread count")
      ->check(checks::seed_list());
  app.add_option("--threads", o->run.threads, "Threads N >= 1 for --seeds (default: all cores)")
      ->check(checks::positive_integer<int>());
  auto* every = app.add_option("--log-every", o->run.log_every, "Log every N >= 1 steps (and the last step)")
                    ->check(checks::positive_integer<std::uint64_t>());
  auto* points = app.add_option("--log-points", o->run.log_points,
                                "Log P+1 evenly spaced steps 0..K (P >= 1; default: logging about a tenth of the run, "
                                "at most 200, see docs/commands/sgd.md)")
                     ->check(checks::positive_integer<int>());
  every->excludes(points);
  app.add_option("--out", o->run.out,
                 "[required unless --resume] Output directory: final_weights.csv (or final_reduced.json + .csv + "
                 "_basis.csv), trajectory.csv, summary.json, checkpoint.json + checkpoint_<step>.csv, run.json, "
                 "figures (SVG, when gnuplot is installed)");
  app.add_option("--checkpoint-every", o->run.checkpoint_every,
                 "Write a checkpoint every N steps: DIR/checkpoint.json (step, RNG states, trajectory so far) and "
                 "the state block in DIR/checkpoint_<step>.csv (the n x m pre-activations R or the m x p weights, "
                 "see --coordinates; block first, JSON second, both atomic); SIGINT/SIGTERM always write one "
                 "before exiting; N >= 0, 0 = only at the end and on a signal")
      ->capture_default_str()
      ->check(checks::non_negative_integer<std::uint64_t>());
  add_overwrite_flag(app, o->run.overwrite);
  app.add_option("--resume", o->resume,
                 "Continue the run in DIR from its checkpoint (options come from DIR/run.json); the result is bit "
                 "for bit that of an uninterrupted run");
  app.add_option("--max-loss", o->run.max_loss,
                 "Divergence bound on the loss L (default 1e6 * max(1, L(W0), mean y^2)); a step whose batch shows "
                 "L beyond it, or a non-finite output, stops the run; L > 0")
      ->check(checks::positive_number());
  app.add_option("--rank-one-threshold", o->run.rank_one_threshold,
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
  app.add_option("--m", o->run.m, "Number of neurons M >= 1 of the --init start")->check(checks::positive_integer<int>());
  app.add_option("--init-scale", o->run.init_scale, "Scale s > 0 of the --init start")
      ->capture_default_str()
      ->check(checks::positive_number());
  app.add_option("--init-seed", o->run.init_seed, "Seed of the --init start (independent of --seed/--seeds: an ensemble "
                                              "shares one start); an integer >= 0")
      ->capture_default_str()
      ->check(checks::non_negative_integer<std::uint64_t>());
  app.add_flag("--no-log-gradient", o->no_log_gradient,
               "Leave the grad_norm column of trajectory.csv empty: the Riemannian gradient at each logged point "
               "evaluates the geometry again (O(n m) memory, about 80 MB at n = 100, m = 10^4)");
  app.add_flag("--save-reduced", o->run.save_reduced,
               "Also write the final reduced weights: DIR/final_reduced.json (manifest), final_reduced.csv (m x p "
               "block beta with column a), final_reduced_basis.csv (U, d x p); commands that read --weights accept "
               "the .json (Theta = beta U^T). See docs/formats.md");
  app.footer(
      "Step (THEORY 7), batch I of B distinct samples, noise xi_i with mean 0 and variance s^2:\n"
      "  Theta <- Theta - (eta/B) sum_{i in I} (f_i - y_i - xi_i) grad f_i\n"
      "run in reduced coordinates (O(m p) per step). Time scales: t = eta^2 k, flow time tau = s^2/(4B) t.\n"
      "Exit codes: 0 done, 2 bad input, 5 diverged (the last finite weights are in DIR/final_weights.csv, or\n"
      "DIR/final_reduced.json for runs from --init or a reduced-weights file);\n"
      "SIGINT/SIGTERM write DIR/checkpoint.json and end the process by that signal. See docs/commands/sgd.md.\n"
      "--model diagonal-linear: the same step on (u, v) (THEORY 9) from a u,v --weights CSV; trajectory.csv has\n"
      "step, t, tau, loss, T and the weighted-l1 bound; final_weights.csv is a u,v CSV; --seeds, --threads,\n"
      "--checkpoint-every and --resume as above (checkpoint.json holds the whole state; docs/formats.md).");
  return std::function<void()>([o, &app]() {
    std::vector<std::string> given;
    for (const CLI::Option* opt : app.get_options())
      if (opt->count() > 0) given.push_back(opt->get_name());
    run_sgd(*o, given);
  });
}, 40});

}  // namespace
}  // namespace zeroloss::cli
