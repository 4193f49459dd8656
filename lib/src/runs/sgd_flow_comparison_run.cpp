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
#include "zeroloss/dynamics/label_noise_dynamics.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"

namespace zeroloss {
namespace {
using Clock = std::chrono::steady_clock;

// What the run needs from the model, in its working coordinates: the two-layer network's reduced
// weights (with its SGD kernel, the closed-form optimum and the rank-one metrics of the flow), or the
// diagonal network's parameter column (the generic flow and SGD).
struct ComparisonModel {
  std::shared_ptr<const LabelNoiseDynamics> dynamics;
  Eigen::MatrixXd x0;  // W0
  std::string name;    // the activation, or the model's name
  int singular_values = 0;
  std::optional<double> optimal_sharpness;
  // Onto M (`what` names the point in errors; estimate_error: Phi_GF's limit-error estimate).
  std::function<Eigen::MatrixXd(const Eigen::MatrixXd& x, const std::string& what, bool estimate_error)> project;
  // A row of flow_trajectory.csv at a state of the flow.
  std::function<TrajectoryRow(const LabelNoiseFlowState&)> flow_row;
  // projected_iterates.csv: the columns of a point, its cells (caller's coordinates) and back.
  std::vector<std::string> columns;
  std::string columns_description;
  std::function<std::vector<double>(const Eigen::MatrixXd& x)> cells;
  std::function<Eigen::MatrixXd(const std::vector<double>& row, std::size_t first)> point;
};

ComparisonModel two_layer_comparison_model(const ProblemFiles& files, ProjectionMethod method) {
  auto setup = std::make_shared<const DynamicsSetup>(load_dynamics(files));
  ComparisonModel c;
  const TwoLayerModel& model = setup->reduced;
  c.dynamics = std::make_shared<const TwoLayerLabelNoiseDynamics>(model);
  c.x0 = setup->beta0;
  c.name = model.activation().name();
  c.singular_values = setup->singular_values;
  if (setup->optimum) c.optimal_sharpness = setup->optimum->sharpness;
  c.project = [setup, method](const Eigen::MatrixXd& x, const std::string& what, bool estimate_error) {
    return project_onto_manifold(*setup, x, method, what, estimate_error).theta;
  };
  c.flow_row = [setup](const LabelNoiseFlowState& s) {
    TrajectoryRow row;
    row.step = s.accepted;
    row.t = s.t;
    row.tau = s.tau;
    row.metrics = compute_trajectory_metrics(setup->reduced, *s.x, setup->optimum ? &*setup->optimum : nullptr,
                                             false, true);
    row.metrics.gradient_norm = s.gradient_norm;
    return row;
  };
  // Full coordinates, row j of Theta = neuron j.
  const Eigen::Index m = setup->problem.weights.theta.rows(), d = setup->problem.weights.theta.cols();
  for (Eigen::Index j = 0; j < m; ++j)
    for (Eigen::Index k = 0; k < d; ++k) c.columns.push_back("theta_" + std::to_string(j + 1) + "_" + std::to_string(k + 1));
  c.columns_description = std::to_string(m) + " x " + std::to_string(d) + " weights";
  c.cells = [setup, m, d](const Eigen::MatrixXd& x) {
    const Eigen::MatrixXd theta = lift_weights(*setup, x);
    std::vector<double> out;
    for (Eigen::Index j = 0; j < m; ++j)
      for (Eigen::Index k = 0; k < d; ++k) out.push_back(theta(j, k));
    return out;
  };
  c.point = [setup, m, d](const std::vector<double>& row, std::size_t first) {
    Eigen::MatrixXd theta(m, d);
    for (Eigen::Index j = 0; j < m; ++j)
      for (Eigen::Index k = 0; k < d; ++k) theta(j, k) = row[first + static_cast<std::size_t>(j * d + k)];
    return Eigen::MatrixXd(setup->coordinates.reduce(theta));
  };
  return c;
}

ComparisonModel diagonal_comparison_model(const ProblemFiles& files, ProjectionMethod method) {
  const LoadedDiagonalProblem problem = load_diagonal_problem(files);
  const std::shared_ptr<const DiagonalLinearNetwork> model = problem.model;
  ComparisonModel c;
  const auto dynamics = std::make_shared<const ModelLabelNoiseDynamics>(model);
  c.dynamics = dynamics;
  c.x0 = problem.theta;
  c.name = to_string(ModelKind::DiagonalLinear);
  c.project = [dynamics, method](const Eigen::MatrixXd& x, const std::string& what, bool estimate_error) {
    ProjectionOptions po;
    po.estimate_limit_error = estimate_error;
    try {
      return dynamics->project(x, method, po).first;
    } catch (const ConvergenceError& e) {
      throw ConvergenceError(what + " could not be projected onto M: " + e.what());
    }
  };
  c.flow_row = [dynamics](const LabelNoiseFlowState& s) {
    TrajectoryRow row;
    row.step = s.accepted;
    row.t = s.t;
    row.tau = s.tau;
    row.metrics.loss = dynamics->loss(*s.x);
    row.metrics.sharpness = s.sharpness;
    row.metrics.sharpness_on_manifold = s.sharpness;
    row.metrics.gradient_norm = s.gradient_norm;
    return row;
  };
  const int d = model->dimension();
  for (const char* name : {"u_", "v_"})
    for (int k = 1; k <= d; ++k) c.columns.push_back(name + std::to_string(k));
  c.columns_description = "u_1..u_" + std::to_string(d) + ", v_1..v_" + std::to_string(d);
  c.cells = [](const Eigen::MatrixXd& x) { return std::vector<double>(x.data(), x.data() + x.size()); };
  c.point = [d](const std::vector<double>& row, std::size_t first) {
    Eigen::MatrixXd x(2 * d, 1);
    for (int k = 0; k < 2 * d; ++k) x(k, 0) = row[first + static_cast<std::size_t>(k)];
    return x;
  };
  return c;
}

// projected_iterates.csv: eta,seed,step,t,diverged, then the point's columns (ComparisonModel); one row
// per completed comparison step, and one row with diverged = 1 (the other cells 0) per diverged run.
void write_projected_iterates(const std::string& path, const ComparisonModel& cm, const ComparisonPlan& plan,
                              const std::vector<std::uint64_t>& seeds,
                              const std::vector<std::vector<ComparisonRun>>& runs) {
  write_file_atomic_stream(path, [&](std::ostream& out) {
    out << "eta,seed,step,t,diverged";
    for (const std::string& c : cm.columns) out << "," << c;
    out << "\n";
    for (std::size_t g = 0; g < plan.grids.size(); ++g)
      for (std::size_t s = 0; s < seeds.size(); ++s) {
        const ComparisonRun& r = runs[g][s];
        const std::string head = format_double(plan.grids[g].eta) + "," + std::to_string(seeds[s]) + ",";
        if (r.diverged) {
          out << head << "0,0,1";
          for (std::size_t c = 0; c < cm.columns.size(); ++c) out << ",0";
          out << "\n";
          continue;
        }
        for (std::size_t q = 0; q < r.projected.size(); ++q) {
          out << head << plan.grids[g].k[q] << "," << format_double(plan.grids[g].t[q]) << ",0";
          for (double v : cm.cells(r.projected[q])) out << "," << format_double(v);
          out << "\n";
        }
      }
  });
}

// The runs of `plan` from a projected_iterates.csv (in the model's working coordinates).
std::vector<std::vector<ComparisonRun>> read_projected_iterates(const std::string& path, const ComparisonModel& cm,
                                                                const ComparisonPlan& plan,
                                                                const std::vector<std::uint64_t>& seeds) {
  const CsvTable table = read_csv(path, CsvHeader::Required);
  if (table.header.size() != 5 + cm.columns.size())
    throw InputError(path + ": expected " + std::to_string(5 + cm.columns.size()) +
                     " columns (eta, seed, step, t, diverged and " + cm.columns_description + "), found " +
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
        r.projected.push_back(cm.point(table.rows[at->second], 5));
      }
    }
  return runs;
}

}  // namespace

SgdFlowComparisonRunSummary run_sgd_flow_comparison(const SgdFlowComparisonRunOptions& o, const RunControl& control) {
  const ComparisonModel cm = o.model == ModelKind::DiagonalLinear ? diagonal_comparison_model(o.problem, o.projection)
                                                                  : two_layer_comparison_model(o.problem, o.projection);
  const LabelNoiseDynamics& dynamics = *cm.dynamics;
  SgdFlowComparisonRunSummary S;
  SgdFlowComparisonOptions& co = S.comparison;
  co.label_noise = o.label_noise;
  co.time = o.time;
  co.points = o.points;
  co.batch_size = parse_batch(o.batch, dynamics.num_samples());
  co.noise = o.noise;
  co.learning_rates = o.learning_rates;
  co.seeds = o.seeds;
  co.flow_coefficient_scale = o.flow_coefficient_scale;
  co.time_scale = o.time_scale;
  S.activation = cm.name;
  S.plan = plan_sgd_flow_comparison(co);
  const ComparisonPlan& plan = S.plan;

  // The flow, once, from Phi(W0).
  Eigen::MatrixXd start = cm.x0;
  if (dynamics.max_residual(start) > kProjectedStartTolerance * dynamics.label_scale()) {
    start = cm.project(start, "W0", true);
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
  S.flow = dynamics.integrate_flow(start, fo, [&](const LabelNoiseFlowState& s) {
    flow_states.states[s.t] = *s.x;
    flow_states.sharpness[s.t] = s.sharpness;
    flow_rows.push_back(cm.flow_row(s));
    return !control.interrupted();
  });
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
  write("flow_trajectory.csv", trajectory_csv(flow_rows, cm.singular_values));

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
    const ComparisonProjection project = [&](const Eigen::MatrixXd& x, const std::string& what) {
      return cm.project(x, what, /*estimate_error=*/false);
    };
    const auto interrupted = [&control] { return control.interrupted(); };
    auto worker = [&]() {
      for (std::size_t i = next++; i < tasks; i = next++) {
        try {
          runs[i / seeds][i % seeds] = run_projected_sgd(dynamics, cm.x0, plan.grids[i / seeds], co,
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
    write_projected_iterates(o.out + "/projected_iterates.csv", cm, plan, co.seeds, runs);
  } else {
    runs = read_projected_iterates(o.sgd_iterates, cm, plan, co.seeds);
    S.threads = 0;
  }
  S.sgd_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  for (std::size_t g = 0; g < plan.grids.size(); ++g)
    for (ComparisonRun& r : runs[g])
      if (!r.diverged) measure_against_flow(dynamics, plan.grids[g], flow_states, r);
  S.result = summarize_sgd_flow_comparison(plan, runs, flow_states);
  S.coefficient_fit = fit_flow_coefficient(dynamics, start, plan, runs, fo);
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
    const std::optional<double> T_star = cm.optimal_sharpness;
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
