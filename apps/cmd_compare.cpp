// zeroloss compare: label-noise SGD ensembles for several step sizes against the limiting flow
// (THEORY 7), aligned on SGD time t = eta^2 k, with the fitted order p of error ~ eta^p.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"
#include "zeroloss/runs/sgd_flow_comparison.hpp"
#include "zeroloss/sharpness_flow.hpp"

namespace zeroloss::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct CompareOptions {
  ProblemOptions problem;
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
};

std::string short_number(double x, int precision = 6) {
  std::ostringstream s;
  s.precision(precision);
  s << x;
  return s.str();
}

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

void run_compare(CompareOptions o) {
  DynamicsSetup setup = load_dynamics(o.problem);
  const TwoLayerModel& model = setup.reduced;
  SgdFlowComparisonOptions co;
  co.label_noise = o.label_noise;
  co.time = o.time;
  co.points = o.points;
  co.batch_size = parse_batch(o.batch, model.n());
  co.noise = parse_noise_kind(o.noise);
  co.learning_rates = parse_positive_list(o.lr_list, "--lr-list");
  co.seeds = compare_seeds(o.seeds);
  const ComparisonPlan plan = plan_sgd_flow_comparison(co);
  const double C = plan.coefficient, t_end = plan.t_end;
  std::vector<double> etas;
  for (const auto& g : plan.grids) etas.push_back(g.eta);
  if (o.projection.empty()) o.projection = default_projection_method();

  // The flow, once, from Phi(W0).
  const double ymax = std::max(1.0, model.y().cwiseAbs().maxCoeff());
  Eigen::MatrixXd start = setup.beta0;
  std::string start_note = "W0 is on M";
  if (max_residual(model, start) > 1e-10 * ymax) {
    start = project_onto_manifold(setup, start, o.projection).theta;
    start_note = "W0 projected onto M (" + o.projection + ")";
  }
  FlowOptions fo;
  fo.coefficient = C;
  fo.t_end = t_end;
  fo.rtol = o.rtol;
  fo.atol = o.atol;
  fo.stepper = parse_flow_stepper(o.integrator);
  fo.sample_times = plan.sample_times;
  ComparisonFlow flow_states;
  std::vector<TrajectoryRow> flow_rows;
  OutputDirectory out_dir(o.out, "compare", OutputDirectoryOptions::fresh(o.overwrite));
  install_interrupt_handlers();
  const auto t0 = Clock::now();
  const FlowResult flow = integrate_sharpness_flow(model, start, fo, [&](const FlowSample& s) {
    flow_states.states[s.t] = *s.beta;
    flow_states.sharpness[s.t] = s.sharpness;
    TrajectoryRow row;
    row.step = s.accepted;
    row.t = s.t;
    row.tau = s.tau;
    row.metrics = compute_trajectory_metrics(model, *s.beta, setup.optimum ? &*setup.optimum : nullptr, false, true);
    row.metrics.gradient_norm = s.gradient_norm;
    flow_rows.push_back(std::move(row));
    return interrupt_signal() == 0;
  });
  if (interrupt_signal() != 0) {
    std::cerr << "zeroloss compare: interrupted by " << signal_name(interrupt_signal()) << "; no outputs written\n";
    out_dir.finish(RunStatus::Interrupted);
    exit_by_signal(interrupt_signal());
  }
  const double flow_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  write_file_atomic(o.out + "/flow_trajectory.csv", trajectory_csv(flow_rows, setup.singular_values));

  // SGD ensembles: one task per (step size, seed).
  const std::size_t S = co.seeds.size(), tasks = plan.grids.size() * S;
  std::vector<std::vector<ComparisonRun>> runs(plan.grids.size(), std::vector<ComparisonRun>(S));
  std::vector<std::exception_ptr> errors(tasks);
  double total_steps = 0;
  for (const auto& g : plan.grids) total_steps += static_cast<double>(g.steps) * static_cast<double>(S);
  std::atomic<std::uint64_t> progress{0};
  std::atomic<size_t> next{0};
  const auto t1 = Clock::now();
  const ComparisonProjection project = [&](const Eigen::MatrixXd& beta, const std::string& what) {
    return project_onto_manifold(setup, beta, o.projection, what, /*estimate_error=*/false).theta;
  };
  auto worker = [&]() {
    for (size_t i = next++; i < tasks; i = next++) {
      try {
        runs[i / S][i % S] = run_sgd_against_flow(model, setup.beta0, plan.grids[i / S], co, co.seeds[i % S], flow_states,
                                                  project, progress, [] { return interrupt_signal() != 0; });
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, std::min<int>(o.threads > 0 ? o.threads : hw, static_cast<int>(tasks)));
  ProgressBar bar("compare", total_steps, "steps");
  run_workers_with_progress(threads, worker, bar, progress);
  bar.finish();
  if (interrupt_signal() != 0) {
    std::cerr << "zeroloss compare: interrupted by " << signal_name(interrupt_signal())
              << "; only " << o.out << "/flow_trajectory.csv was written\n";
    out_dir.finish(RunStatus::Interrupted);
    exit_by_signal(interrupt_signal());
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  const double sgd_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  const SgdFlowComparisonSummary summary = summarize_sgd_flow_comparison(plan, runs, flow_states);
  write_file_atomic(o.out + "/compare.csv", comparison_rows_csv(summary));
  write_file_atomic(o.out + "/compare_summary.csv", comparison_per_eta_csv(summary));

  // summary.json and the figures.
  json per_eta = json::array();
  std::vector<std::string> notes;
  json figures = json::array();
  for (const ComparisonPerEta& e : summary.per_eta) {
    json j = {{"eta", e.eta}, {"steps", e.steps}, {"seeds", e.completed}, {"diverged", e.diverged}};
    if (e.completed > 0) {
      j["final_dist_mean"] = e.final_distance.mean;
      j["final_dist_std"] = e.final_distance.std;
      j["max_dist_mean"] = e.max_distance.mean;
      j["max_dist_std"] = e.max_distance.std;
      j["final_T_gap_mean"] = e.final_gap.mean;
      j["final_T_gap_std"] = e.final_gap.std;
    }
    if (e.diverged > 0) {
      notes.push_back(std::to_string(e.diverged) + " of " + std::to_string(S) + " seeds diverged at eta = " +
                      short_number(e.eta) + " (" + e.divergence_reason + "); they are left out of the statistics");
    }
    per_eta.push_back(j);
  }
  json fit = nullptr;
  std::ostringstream fit_line;
  fit_line.precision(4);
  if (summary.fit) {
    const PowerLawFit& pf = *summary.fit;
    fit = line_fit_json(pf.line);
    fit["exponent_p"] = pf.exponent;
    fit["prefactor"] = pf.prefactor;
    fit["error_measure"] = "mean over seeds of ||Phi(Theta_SGD) - Theta_flow|| at the last comparison time";
    fit_line << "fitted order: error ~ C eta^p with p = " << pf.exponent;
    if (pf.line.slope_ci_low)
      fit_line << ", " << 100 * pf.line.confidence << "% interval [" << *pf.line.slope_ci_low << ", "
               << *pf.line.slope_ci_high << "] (Student t, " << pf.line.points - 2
               << (pf.line.points == 3 ? " degree" : " degrees") << " of freedom)";
    else
      fit_line << " (two step sizes: no interval; give three or more)";
    fit_line << ", R^2 = " << pf.line.r_squared;
  } else {
    fit_line << "fitted order: not available (needs at least two step sizes with a positive error)";
  }
  if (!o.no_figures) {
    std::vector<double> flow_tau, flow_T;
    for (const auto& r : flow_rows) {
      flow_tau.push_back(r.tau);
      flow_T.push_back(r.metrics.sharpness);
    }
    const std::optional<double> T_star =
        setup.optimum ? std::optional<double>(setup.optimum->sharpness) : std::nullopt;
    for (const auto& [name, spec] : comparison_figures(plan, summary, flow_tau, flow_T, T_star, plot_color))
      draw_figure(spec, o.out + "/" + name, figures, notes);
  }

  const json summary_json = {{"command", "compare"},
                             {"data", o.problem.data},
                             {"weights", o.problem.weights},
                             {"parameters",
                              {{"activation", model.activation().name()},
                               {"label_noise", o.label_noise},
                               {"noise", o.noise},
                               {"batch_size", co.batch_size},
                               {"flow_coefficient", C},
                               {"time", o.time},
                               {"lr_list", etas},
                               {"seeds", co.seeds},
                               {"points", o.points},
                               {"projection", o.projection},
                               {"integrator", o.integrator},
                               {"rtol", o.rtol},
                               {"atol", o.atol}}},
                             {"start", start_note},
                             {"flow",
                              {{"t_end", flow.summary.t_reached},
                               {"accepted_steps", flow.summary.accepted},
                               {"rejected_steps", flow.summary.rejected},
                               {"max_constraint_drift", flow.summary.max_constraint_drift},
                               {"final_sharpness", flow.summary.final_sharpness},
                               {"final_grad_norm", flow.summary.final_gradient_norm},
                               {"seconds", flow_seconds}}},
                             {"sgd", {{"threads", threads}, {"seconds", sgd_seconds}, {"steps", total_steps}}},
                             {"per_eta", per_eta},
                             {"order_fit", fit},
                             {"figures", figures},
                             {"notes", notes}};
  write_json(o.out + "/summary.json", summary_json);
  out_dir.finish(RunStatus::Completed);

  std::ostringstream msg;
  msg.precision(6);
  msg << "label-noise SGD vs the limiting flow (C = S^2/(4B) = " << C << "), compared at t = eta^2 k up to t = " << t_end
      << " (tau = " << C * t_end << "); " << start_note << "; SGD iterates projected with " << o.projection << "\n";
  msg << comparison_table_text(summary);
  msg << fit_line.str() << "\n";
  msg << "flow: " << flow.summary.accepted << " accepted / " << flow.summary.rejected << " rejected steps, T at t_end "
      << flow.summary.final_sharpness << "; SGD: " << total_steps << " steps on " << threads << " threads in "
      << sgd_seconds << " s\n";
  for (const auto& f : figures) msg << "figure: " << f.get<std::string>() << "\n";
  for (const auto& nt : notes) msg << "note: " << nt << "\n";
  msg << "outputs in " << o.out << " (compare.csv, compare_summary.csv, flow_trajectory.csv, summary.json)\n";
  std::cout << msg.str() << std::flush;
}

CommandRegistration reg({"compare", "label-noise SGD ensembles for several step sizes against the limiting flow",
                         [](CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  add_problem_options(app, o->problem);
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
                 "Map Phi onto M for W0 and the SGD iterates (default " + default_projection_method() + ")")
      ->check(checks::one_of(projection_methods()));
  app.add_option("--out", o->out,
                 "Output directory: compare.csv, compare_summary.csv, flow_trajectory.csv, summary.json, figures")
      ->required();
  add_overwrite_flag(app, o->overwrite);
  app.add_flag("--no-figures", o->no_figures, "Do not draw SVG figures");
  app.footer(
      "Runs the limiting flow once (C = S^2/(4B), from W0 or its projection) and, for every eta in --lr-list,\n"
      "N SGD runs from W0; at t_q = eta^2 k_q it projects each SGD iterate onto M and reports the distance to\n"
      "the flow and the T gap (mean, spread), then fits error ~ C eta^p over the step sizes with a Student-t\n"
      "interval. See docs/commands/compare.md.");
  return std::function<void()>([o]() { run_compare(*o); });
}, 42});

}  // namespace
}  // namespace zeroloss::cli
