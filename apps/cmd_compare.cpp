// zeroloss compare: label-noise SGD ensembles for several step sizes against the limiting flow
// (THEORY 7), aligned on SGD time t = eta^2 k, with the fitted order p of error ~ eta^p.

#include <iostream>
#include <memory>
#include <optional>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"
#include "zeroloss/runs/sgd_flow_comparison_run.hpp"

namespace zeroloss::cli {
namespace {

struct CompareOptions {
  ProblemOptions problem;
  ModelKind model = ModelKind::TwoLayer;
  double label_noise = 0;
  std::string noise = "gaussian";
  std::string batch = "1";
  std::string lr_list;
  double time = 0;
  std::string seeds = "8";
  int points = 10;
  int threads = 0;
  double rtol = 1e-10, atol = 1e-13;
  std::string integrator = "rkf78";
  std::string projection;
  std::string out;
  bool overwrite = false;
  bool no_figures = false;
  double flow_coefficient_scale = 1;
  std::string time_scale = "eta-squared-k";
  std::string sgd_iterates;
};

// --seeds: a count N (seeds 0..N-1) or a list.
std::vector<std::uint64_t> compare_seeds(const std::string& text) {
  if (text.find_first_of("-,") == std::string::npos) {
    const auto one = parse_seed_list(text);  // validates the number
    if (one[0] < 1) throw InputError("--seeds " + text + ": need at least one seed");
    std::vector<std::uint64_t> s(one[0]);
    for (std::uint64_t k = 0; k < one[0]; ++k) s[k] = k;
    return s;
  }
  return parse_seed_list(text);
}

void run_compare(const CompareOptions& c) {
  SgdFlowComparisonRunOptions o;
  o.problem = c.problem;
  o.model = c.model;
  o.label_noise = c.label_noise;
  o.noise = parse_noise_kind(c.noise);
  o.batch = c.batch;
  o.learning_rates = parse_positive_list(c.lr_list, "--lr-list");
  o.time = c.time;
  o.seeds = compare_seeds(c.seeds);
  o.points = c.points;
  o.threads = c.threads;
  o.rtol = c.rtol;
  o.atol = c.atol;
  o.integrator = parse_flow_stepper(c.integrator);
  o.projection = c.projection.empty() ? kDefaultStartProjection : parse_projection_method(c.projection);
  o.flow_coefficient_scale = c.flow_coefficient_scale;
  o.time_scale = parse_sgd_flow_time_scale(c.time_scale);
  o.sgd_iterates = c.sgd_iterates;
  o.figures = !c.no_figures;
  o.out = c.out;
  o.overwrite = c.overwrite;
  install_interrupt_handlers();
  std::optional<ProgressBar> bar;  // over the SGD steps, from when their total is known
  RunControl control;
  control.start = [&bar](double total) { bar.emplace("compare", total, "steps"); };
  control.progress = [&bar](double done) { bar->update(done); };
  control.interrupt = &interrupt_flag();
  const SgdFlowComparisonRunSummary S = run_sgd_flow_comparison(o, control);
  if (bar) bar->finish();
  if (S.status == SgdFlowComparisonRunStatus::Interrupted) {
    std::cerr << "zeroloss compare: interrupted by " << signal_name(interrupt_signal())
              << (S.files.empty() ? "; no outputs written\n" : "; only " + S.files[0] + " was written\n");
    exit_by_signal(interrupt_signal());
  }
  std::cout << comparison_report_text(o, S) << std::flush;
}

CommandRegistration reg({"compare", "label-noise SGD ensembles for several step sizes against the limiting flow",
                         [](CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  add_problem_options(app, o->problem);
  add_model_option(app, o->model);
  app.add_option("--label-noise", o->label_noise, "Label-noise scale S > 0")
      ->required()
      ->check(checks::positive_number());
  app.add_option("--noise", o->noise, "gaussian or rademacher")
      ->capture_default_str()
      ->check(checks::one_of({"gaussian", "rademacher"}));
  app.add_option("--batch", o->batch, "Batch size B (1 <= B <= n) or 'full'; the flow coefficient is C = S^2/(4B)")
      ->capture_default_str()
      ->check(checks::batch_size());
  app.add_option("--lr-list", o->lr_list,
                 "Step sizes, comma-separated (e.g. 0.04,0.02,0.01,0.005): each > 0, no repeats, at least two "
                 "(the order fit needs two distinct step sizes)")
      ->required()
      ->check(checks::step_size_list(2));
  app.add_option("--time", o->time,
                 "Compare up to SGD time t = eta^2 k = T_END > 0 (flow time tau = C T_END); eta needs T_END/eta^2 steps")
      ->required()
      ->check(checks::positive_number());
  app.add_option("--seeds", o->seeds, "Seeds per step size: a count N >= 1 (seeds 0..N-1) or a list like 0-63")
      ->capture_default_str()
      ->check(checks::seed_count_or_list());
  app.add_option("--points", o->points, "Comparison times t_q = q T_END / Q, q = 1..Q (Q >= 1)")
      ->capture_default_str()
      ->check(checks::positive_integer<int>());
  app.add_option("--threads", o->threads, "Threads N >= 1 for the SGD runs (default: all cores)")
      ->check(checks::positive_integer<int>());
  app.add_option("--rtol", o->rtol, "Flow integrator relative tolerance (> 0)")
      ->capture_default_str()
      ->check(checks::positive_number());
  app.add_option("--atol", o->atol, "Flow integrator absolute tolerance (> 0)")
      ->capture_default_str()
      ->check(checks::positive_number());
  app.add_option("--integrator", o->integrator, "rkf78, dopri5 or rosenbrock4 (see zeroloss flow --help)")
      ->capture_default_str()
      ->check(checks::one_of({"rkf78", "dopri5", "rosenbrock4"}));
  app.add_option("--projection", o->projection,
                 "Map Phi onto M for W0 and the SGD iterates (default " + std::string(to_string(kDefaultStartProjection)) + ")")
      ->check(checks::one_of(projection_method_names()));
  app.add_option("--flow-coefficient-scale", o->flow_coefficient_scale,
                 "Diagnostic: the reference flow runs with coefficient F S^2/(4B) (F > 0; 1 is the theory)")
      ->capture_default_str()
      ->check(checks::positive_number());
  app.add_option("--time-scale", o->time_scale,
                 "Diagnostic: the reference flow's time at SGD step k, eta-squared-k (the theory) or eta-k")
      ->capture_default_str()
      ->check(checks::one_of({"eta-squared-k", "eta-k"}));
  app.add_option("--sgd-iterates", o->sgd_iterates,
                 "Reuse the SGD ensembles of an earlier compare run (its projected_iterates.csv, same data, weights "
                 "and SGD options) instead of running SGD")
      ->check(checks::existing_file("--sgd-iterates"));
  app.add_option("--out", o->out,
                 "Output directory: compare.csv, compare_summary.csv, flow_trajectory.csv, summary.json, figures")
      ->required();
  add_overwrite_flag(app, o->overwrite);
  app.add_flag("--no-figures", o->no_figures, "Do not draw SVG figures");
  app.footer(
      "Runs the limiting flow once (C = S^2/(4B), from W0 or its projection) and, for every eta in --lr-list,\n"
      "N SGD runs from W0; at t_q = eta^2 k_q it projects each SGD iterate onto M and reports the distance to\n"
      "the flow and the T gap (mean, spread), then fits error ~ C eta^p over the step sizes with a Student-t\n"
      "interval, splits the error into the bias (mean path to flow) and the fluctuation, and fits the flow\n"
      "coefficient c that best matches the mean path. See docs/commands/compare.md.");
  return std::function<void()>([o]() { run_compare(*o); });
}, 42});

}  // namespace
}  // namespace zeroloss::cli
