#include "zeroloss/runs/sgd_flow_comparison_run.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <thread>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"
#include "zeroloss/presentation/trajectory_figures.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"
#include "zeroloss/runs/run_parameters.hpp"
#include "zeroloss/dynamics/sharpness_flow.hpp"

namespace zeroloss {
namespace {
using Clock = std::chrono::steady_clock;

// projected_iterates.csv: eta,seed,step,t,diverged,theta_1_1,...,theta_m_d (full coordinates, row j of
// Theta = neuron j); one row per completed comparison step, and one row with diverged = 1 (the other
// cells 0) per diverged run.
void write_projected_iterates(const std::string& path, const DynamicsSetup& setup, const ComparisonPlan& plan,
                              const std::vector<std::uint64_t>& seeds,
                              const std::vector<std::vector<ComparisonRun>>& runs) {
  const Eigen::Index m = setup.problem.weights.theta.rows(), d = setup.problem.weights.theta.cols();
  write_file_atomic_stream(path, [&](std::ostream& out) {
    out << "eta,seed,step,t,diverged";
    for (Eigen::Index j = 0; j < m; ++j)
      for (Eigen::Index k = 0; k < d; ++k) out << ",theta_" << j + 1 << "_" << k + 1;
    out << "\n";
    for (std::size_t g = 0; g < plan.grids.size(); ++g)
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        const ComparisonRun& r = runs[g][s];
        const std::string head = format_double(plan.grids[g].eta) + "," + std::to_string(seeds[s]) + ",";
        if (r.diverged) {
          out << head << "0,0,1";
          for (Eigen::Index c = 0; c < m * d; ++c) out << ",0";
          out << "\n";
          continue;
        }
        for (std::size_t q = 0; q < r.projected.size(); ++q) {
          const Eigen::MatrixXd theta = lift_weights(setup, r.projected[q]);
          out << head << plan.grids[g].k[q] << "," << format_double(plan.grids[g].t[q]) << ",0";
          for (Eigen::Index j = 0; j < m; ++j)
            for (Eigen::Index k = 0; k < d; ++k) out << "," << format_double(theta(j, k));
          out << "\n";
        }
      }
  });
}

// The runs of `plan` from a projected_iterates.csv (reduced to the setup's coordinates).
std::vector<std::vector<ComparisonRun>> read_projected_iterates(const std::string& path, const DynamicsSetup& setup,
                                                                const ComparisonPlan& plan,
                                                                const std::vector<std::uint64_t>& seeds) {
  const CsvTable table = read_csv(path, CsvHeader::Required);
  const Eigen::Index m = setup.problem.weights.theta.rows(), d = setup.problem.weights.theta.cols();
  if (table.header.size() != static_cast<std::size_t>(5 + m * d))
    throw InputError(path + ": expected " + std::to_string(5 + m * d) + " columns (eta, seed, step, t, diverged and " +
                     std::to_string(m) + " x " + std::to_string(d) + " weights), found " +
                     std::to_string(table.header.size()));
  // (eta, seed) -> step -> row; diverged runs under step 0.
  std::map<std::pair<double, std::uint64_t>, std::map<std::uint64_t, std::size_t>> index;
  for (std::size_t i = 0; i < table.rows.size(); ++i) {
    const auto& row = table.rows[i];
    const auto key = std::make_pair(row[0], static_cast<std::uint64_t>(row[1]));
    index[key][row[4] != 0 ? 0 : static_cast<std::uint64_t>(row[2])] = i;
  }
  std::vector<std::vector<ComparisonRun>> runs(plan.grids.size(), std::vector<ComparisonRun>(seeds.size()));
  for (std::size_t g = 0; g < plan.grids.size(); ++g)
    for (std::size_t s = 0; s < seeds.size(); ++s) {
      const ComparisonGrid& grid = plan.grids[g];
      const auto found = index.find({grid.eta, seeds[s]});
      const std::string what = "eta = " + format_double(grid.eta) + ", seed " + std::to_string(seeds[s]);
      if (found == index.end()) throw InputError(path + ": no rows for " + what + " (written by another plan?)");
      ComparisonRun& r = runs[g][s];
      if (found->second.count(0)) {
        r.diverged = true;
        r.reason = "diverged in the run that wrote " + path;
        continue;
      }
      for (std::uint64_t k : grid.k) {
        const auto at = found->second.find(k);
        if (at == found->second.end())
          throw InputError(path + ": no row for " + what + ", step " + std::to_string(k) + " (written by another plan?)");
        const auto& row = table.rows[at->second];
        Eigen::MatrixXd theta(m, d);
        for (Eigen::Index j = 0; j < m; ++j)
          for (Eigen::Index c = 0; c < d; ++c) theta(j, c) = row[static_cast<std::size_t>(5 + j * d + c)];
        r.projected.push_back(setup.coordinates.reduce(theta));
      }
    }
  return runs;
}

}  // namespace

SgdFlowComparisonRunSummary run_sgd_flow_comparison(const SgdFlowComparisonRunOptions& o, const RunControl& control) {
  const DynamicsSetup setup = load_dynamics(o.problem);
  const TwoLayerModel& model = setup.reduced;
  SgdFlowComparisonRunSummary S;
  SgdFlowComparisonOptions& co = S.comparison;
  co.label_noise = o.label_noise;
  co.time = o.time;
  co.points = o.points;
  co.batch_size = parse_batch(o.batch, model.n());
  co.noise = o.noise;
  co.learning_rates = o.learning_rates;
  co.seeds = o.seeds;
  co.flow_coefficient_scale = o.flow_coefficient_scale;
  co.time_scale = o.time_scale;
  S.activation = model.activation().name();
  S.plan = plan_sgd_flow_comparison(co);
  const ComparisonPlan& plan = S.plan;
  const ProjectionMethod projection = o.projection;

  // The flow, once, from Phi(W0).
  const double ymax = std::max(1.0, model.y().cwiseAbs().maxCoeff());
  Eigen::MatrixXd start = setup.beta0;
  if (max_residual(model, start) > kProjectedStartTolerance * ymax) {
    start = project_onto_manifold(setup, start, projection).theta;
    S.start_on_manifold = false;
  }
  FlowOptions fo;
  fo.coefficient = plan.coefficient;
  fo.t_end = plan.flow_t_end;
  fo.rtol = o.rtol;
  fo.atol = o.atol;
  fo.stepper = o.integrator;
  fo.sample_times = plan.sample_times;
  ComparisonFlow flow_states;
  std::vector<TrajectoryRow> flow_rows;
  OutputDirectory out_dir(o.out, "compare", OutputDirectoryOptions::fresh(o.overwrite));
  const auto t0 = Clock::now();
  S.flow = integrate_sharpness_flow(model, start, fo, [&](const FlowSample& s) {
             flow_states.states[s.t] = *s.beta;
             flow_states.sharpness[s.t] = s.sharpness;
             TrajectoryRow row;
             row.step = s.accepted;
             row.t = s.t;
             row.tau = s.tau;
             row.metrics = compute_trajectory_metrics(model, *s.beta, setup.optimum ? &*setup.optimum : nullptr,
                                                      false, true);
             row.metrics.gradient_norm = s.gradient_norm;
             flow_rows.push_back(std::move(row));
             return !control.interrupted();
           }).summary;
  if (control.interrupted()) {
    out_dir.finish(RunStatus::Interrupted);
    S.status = SgdFlowComparisonRunStatus::Interrupted;
    return S;
  }
  S.flow_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto write = [&](const std::string& name, const std::string& text) {
    write_file_atomic(o.out + "/" + name, text);
    S.files.push_back(o.out + "/" + name);
  };
  write("flow_trajectory.csv", trajectory_csv(flow_rows, setup.singular_values));

  // SGD ensembles: one task per (step size, seed), pulled by the workers; one watcher reports the
  // progress every 100 ms. Or the ensembles of an earlier run, from its file.
  const std::size_t seeds = co.seeds.size(), tasks = plan.grids.size() * seeds;
  std::vector<std::vector<ComparisonRun>> runs(plan.grids.size(), std::vector<ComparisonRun>(seeds));
  const auto t1 = Clock::now();
  if (o.sgd_iterates.empty()) {
    std::vector<std::exception_ptr> errors(tasks);
    for (const auto& g : plan.grids) S.sgd_steps += static_cast<double>(g.steps) * static_cast<double>(seeds);
    std::atomic<std::uint64_t> progress{0};
    std::atomic<std::size_t> next{0};
    const ComparisonProjection project = [&](const Eigen::MatrixXd& beta, const std::string& what) {
      return project_onto_manifold(setup, beta, projection, what, /*estimate_error=*/false).theta;
    };
    const auto interrupted = [&control] { return control.interrupted(); };
    auto worker = [&]() {
      for (std::size_t i = next++; i < tasks; i = next++) {
        try {
          runs[i / seeds][i % seeds] = run_projected_sgd(model, setup.beta0, plan.grids[i / seeds], co,
                                                         co.seeds[i % seeds], project, progress, interrupted);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    S.threads = std::max(1, std::min<int>(o.threads > 0 ? o.threads : hw, static_cast<int>(tasks)));
    control.begin(S.sgd_steps);
    run_workers_reporting(S.threads, worker, progress, control);
    if (control.interrupted()) {
      out_dir.finish(RunStatus::Interrupted);
      S.status = SgdFlowComparisonRunStatus::Interrupted;
      return S;
    }
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    write_projected_iterates(o.out + "/projected_iterates.csv", setup, plan, co.seeds, runs);
  } else {
    runs = read_projected_iterates(o.sgd_iterates, setup, plan, co.seeds);
    S.threads = 0;
  }
  S.sgd_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  for (std::size_t g = 0; g < plan.grids.size(); ++g)
    for (ComparisonRun& r : runs[g])
      if (!r.diverged) measure_against_flow(model, plan.grids[g], flow_states, r);
  S.result = summarize_sgd_flow_comparison(plan, runs, flow_states);
  S.coefficient_fit = fit_flow_coefficient(model, start, plan, runs, fo);
  write("compare.csv", comparison_rows_csv(S.result));
  write("compare_summary.csv", comparison_per_eta_csv(S.result));
  write("bias_fluctuation.csv", bias_fluctuation_csv(S.result));
  if (o.sgd_iterates.empty()) S.files.push_back(o.out + "/projected_iterates.csv");

  for (const ComparisonPerEta& e : S.result.per_eta)
    if (e.diverged > 0) S.notes.push_back(comparison_divergence_note(e, seeds));
  if (o.figures) {
    std::vector<double> flow_tau, flow_T;
    for (const auto& r : flow_rows) {
      flow_tau.push_back(r.tau);
      flow_T.push_back(r.metrics.sharpness);
    }
    const std::optional<double> T_star =
        setup.optimum ? std::optional<double>(setup.optimum->sharpness) : std::nullopt;
    nlohmann::json figures = nlohmann::json::array();
    for (const auto& [name, spec] : comparison_figures(plan, S.result, flow_tau, flow_T, T_star, plot_color))
      draw_figure(spec, o.out + "/" + name, figures, S.notes);
    for (const auto& f : figures) S.figures.push_back(f.get<std::string>());
  }
  write_json(o.out + "/flow_tracking.json", flow_tracking_json(o, S));
  S.files.push_back(o.out + "/flow_tracking.json");
  write_json(o.out + "/summary.json", comparison_summary_json(o, S));
  S.files.push_back(o.out + "/summary.json");
  out_dir.finish(RunStatus::Completed);
  return S;
}

}  // namespace zeroloss
