// zeroloss compare: label-noise SGD ensembles for several step sizes against the limiting flow
// (THEORY 7), aligned on SGD time t = eta^2 k, with the fitted order p of error ~ eta^p.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "option_checks.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/label_noise_sgd.hpp"
#include "zeroloss/sharpness.hpp"
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

// One step size's comparison grid.
struct EtaPlan {
  double eta = 0;
  std::uint64_t steps = 0;
  std::vector<std::uint64_t> k;  // comparison steps
  std::vector<double> t;         // eta^2 k
};

// One SGD run's measurements at the comparison steps.
struct RunRecord {
  std::string status = "completed";  // or "diverged"
  std::string reason;
  std::vector<double> distance;       // ||Phi(beta_SGD) - beta_flow||
  std::vector<double> gap;            // T(Phi(beta_SGD)) - T(beta_flow)
  std::vector<double> sgd_sharpness;  // T(Phi(beta_SGD))
};

double sharpness_at(const TwoLayerModel& model, const Eigen::MatrixXd& beta) {
  const NetworkEvaluation e = evaluate(model, beta);
  const Eigen::VectorXd a2 = model.a().array().square();
  return model.row_norms_squared().dot(e.dphi.array().square().matrix() * a2) / model.n();
}

std::string short_number(double x, int precision = 6) {
  std::ostringstream s;
  s.precision(precision);
  s << x;
  return s.str();
}

struct Stats {
  int count = 0;
  double mean = 0, std = 0, min = 0, max = 0;
};
Stats stats(const std::vector<double>& v) {
  Stats s;
  s.count = static_cast<int>(v.size());
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  for (double x : v) s.mean += x;
  s.mean /= s.count;
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.std = s.count > 1 ? std::sqrt(ss / (s.count - 1)) : 0.0;
  return s;
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
  const int n = model.n();
  if (!(o.label_noise > 0) || !std::isfinite(o.label_noise)) throw InputError("--label-noise must be > 0");
  if (!(o.time > 0) || !std::isfinite(o.time)) throw InputError("--time must be > 0");
  if (o.points < 1) throw InputError("--points must be at least 1");
  const int B = parse_batch(o.batch, n);
  const double C = limiting_flow_coefficient(o.label_noise, B);
  const NoiseKind noise = parse_noise_kind(o.noise);
  std::vector<double> etas = parse_positive_list(o.lr_list, "--lr-list");
  std::sort(etas.begin(), etas.end(), std::greater<double>());
  const std::vector<std::uint64_t> seeds = compare_seeds(o.seeds);
  if (o.projection.empty()) o.projection = default_projection_method();

  // Comparison grid: t_q = q T / Q, k_q = round(t_q / eta^2), compared at the exact t = eta^2 k_q.
  std::vector<EtaPlan> plans;
  std::vector<double> sample_times;
  double t_end = 0;
  for (double eta : etas) {
    EtaPlan p;
    p.eta = eta;
    const double steps_needed = o.time / (eta * eta);
    if (!(steps_needed < 9.2e18)) {
      throw InputError("--lr-list: eta = " + format_double(eta) + " with --time " + format_double(o.time) +
                       " needs T / eta^2 = " + format_double(steps_needed) +
                       " steps (more than a 64-bit step count holds); expected a larger eta or a shorter --time");
    }
    for (int q = 1; q <= o.points; ++q) {
      const auto k = static_cast<std::uint64_t>(std::llround(o.time * q / o.points / (eta * eta)));
      if (k == 0 || (!p.k.empty() && k == p.k.back())) continue;
      p.k.push_back(k);
      p.t.push_back(eta * eta * static_cast<double>(k));
    }
    if (p.k.empty()) {
      throw InputError("--lr-list: eta = " + format_double(eta) + " is too large for --time " + format_double(o.time) +
                       " (fewer than one step: T / eta^2 < 0.5)");
    }
    p.steps = p.k.back();
    t_end = std::max(t_end, p.t.back());
    sample_times.insert(sample_times.end(), p.t.begin(), p.t.end());
    plans.push_back(std::move(p));
  }
  for (int q = 1; q <= 100; ++q) sample_times.push_back(t_end * q / 100);

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
  fo.sample_times = sample_times;
  std::map<double, Eigen::MatrixXd> flow_at;
  std::map<double, double> flow_T;
  std::vector<TrajectoryRow> flow_rows;
  OutputDirectory out_dir(o.out, "compare", OutputDirectoryOptions::fresh(o.overwrite));
  install_interrupt_handlers();
  const auto t0 = Clock::now();
  const FlowResult flow = integrate_sharpness_flow(model, start, fo, [&](const FlowSample& s) {
    flow_at[s.t] = *s.beta;
    flow_T[s.t] = s.sharpness;
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
  struct Task {
    size_t plan, seed;
  };
  std::vector<Task> tasks;
  for (size_t p = 0; p < plans.size(); ++p)
    for (size_t s = 0; s < seeds.size(); ++s) tasks.push_back({p, s});
  std::vector<RunRecord> records(tasks.size());
  std::vector<std::exception_ptr> errors(tasks.size());
  double total_steps = 0;
  for (const auto& t : tasks) total_steps += static_cast<double>(plans[t.plan].steps);
  std::atomic<std::uint64_t> progress{0};
  std::atomic<size_t> next{0};
  const auto t1 = Clock::now();
  auto worker = [&]() {
    for (size_t i = next++; i < tasks.size(); i = next++) {
      const EtaPlan& plan = plans[tasks[i].plan];
      RunRecord& rec = records[i];
      try {
        SgdParameters sp;
        sp.learning_rate = plan.eta;
        sp.label_noise = o.label_noise;
        sp.noise = noise;
        sp.batch_size = B;
        sp.seed = seeds[tasks[i].seed];
        LabelNoiseSgd sgd(model, setup.beta0, sp);
        for (size_t q = 0; q < plan.k.size(); ++q) {
          while (sgd.step() < plan.k[q]) {
            if (interrupt_signal() != 0) return;
            const std::uint64_t todo = std::min<std::uint64_t>(plan.k[q] - sgd.step(), 1ULL << 20);
            progress += sgd.advance(todo);
            if (sgd.diverged()) break;
          }
          if (sgd.diverged()) {
            rec.status = "diverged";
            rec.reason = sgd.divergence().reason;
            break;
          }
          const Eigen::MatrixXd projected =
              project_onto_manifold(setup, sgd.weights(), o.projection,
                                    "the SGD iterate (eta = " + short_number(plan.eta) + ", seed " +
                                        std::to_string(sp.seed) + ", step " + std::to_string(sgd.step()) + ")",
                                    /*estimate_error=*/false)
                  .theta;
          const Eigen::MatrixXd& ref = flow_at.at(plan.t[q]);
          const double T_sgd = sharpness_at(model, projected);
          rec.distance.push_back((projected - ref).norm());
          rec.sgd_sharpness.push_back(T_sgd);
          rec.gap.push_back(T_sgd - flow_T.at(plan.t[q]));
        }
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::max(1, std::min<int>(o.threads > 0 ? o.threads : hw, static_cast<int>(tasks.size())));
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

  // Aggregate per step size and comparison time.
  std::ostringstream csv, per_eta_csv;
  csv << "eta,step,t,tau,seeds,dist_mean,dist_std,dist_min,dist_max,T_gap_mean,T_gap_std,T_sgd_mean,T_flow\n";
  per_eta_csv << "eta,steps,seeds,diverged,final_dist_mean,final_dist_std,max_dist_mean,max_dist_std,final_T_gap_mean,"
                 "final_T_gap_std\n";
  json per_eta = json::array();
  std::vector<double> fit_eta, fit_err;
  std::vector<std::string> notes;
  json figures = json::array();
  PlotSpec dist_fig, sharp_fig, gap_fig;
  gap_fig.title = "T - T* along the flow and along SGD (projected, mean over seeds)";
  gap_fig.x_label = "flow time tau = C t";
  gap_fig.y_label = "T - T*";
  gap_fig.log_y = true;
  dist_fig.title = "||Phi(Theta_SGD) - Theta_flow|| against SGD time (mean over seeds)";
  dist_fig.x_label = "t = eta^2 k";
  dist_fig.y_label = "distance";
  dist_fig.log_y = true;
  sharp_fig.title = "sharpness T along the flow and along SGD (projected, mean over seeds)";
  sharp_fig.x_label = "flow time tau = C t";
  sharp_fig.y_label = "T";
  {
    PlotSeries f{"flow", {}, {}, PlotStyle::Lines, "black", false};
    for (const auto& r : flow_rows) {
      f.x.push_back(r.tau);
      f.y.push_back(r.metrics.sharpness);
    }
    sharp_fig.series.push_back(f);
    if (setup.optimum) {
      PlotSeries g{"flow", {}, {}, PlotStyle::Lines, "black", false};
      for (const auto& r : flow_rows) {
        g.x.push_back(r.tau);
        g.y.push_back(r.metrics.sharpness - setup.optimum->sharpness);
      }
      gap_fig.series.push_back(g);
    }
  }
  std::ostringstream table;
  table << std::setw(9) << "eta" << std::setw(12) << "steps" << std::setw(7) << "seeds" << "  "
        << std::setw(26) << "dist at t_end (mean+-std)" << "  " << std::setw(12) << "max_t dist" << "  "
        << std::setw(26) << "T gap at t_end (mean+-std)" << "\n";
  for (size_t p = 0; p < plans.size(); ++p) {
    const EtaPlan& plan = plans[p];
    std::vector<const RunRecord*> ok;
    int diverged = 0;
    for (size_t i = 0; i < tasks.size(); ++i)
      if (tasks[i].plan == p) {
        if (records[i].status == "completed")
          ok.push_back(&records[i]);
        else
          ++diverged;
      }
    PlotSeries ds{"eta = " + short_number(plan.eta), {}, {}, PlotStyle::LinesPoints, plot_color(static_cast<int>(p)), false};
    PlotSeries ts{"SGD eta = " + short_number(plan.eta), {}, {}, PlotStyle::Points, plot_color(static_cast<int>(p)), false};
    PlotSeries gs = ts;
    json rows = json::array();
    for (size_t q = 0; q < plan.k.size(); ++q) {
      std::vector<double> d, g, T;
      for (const auto* r : ok) {
        d.push_back(r->distance[q]);
        g.push_back(r->gap[q]);
        T.push_back(r->sgd_sharpness[q]);
      }
      if (d.empty()) continue;
      const Stats sd = stats(d), sg = stats(g), sT = stats(T);
      csv << format_double(plan.eta) << ',' << plan.k[q] << ',' << format_double(plan.t[q]) << ','
          << format_double(C * plan.t[q]) << ',' << sd.count << ',' << format_double(sd.mean) << ','
          << format_double(sd.std) << ',' << format_double(sd.min) << ',' << format_double(sd.max) << ','
          << format_double(sg.mean) << ',' << format_double(sg.std) << ',' << format_double(sT.mean) << ','
          << format_double(flow_T.at(plan.t[q])) << '\n';
      ds.x.push_back(plan.t[q]);
      ds.y.push_back(sd.mean);
      ts.x.push_back(C * plan.t[q]);
      ts.y.push_back(sT.mean);
      if (setup.optimum) {
        gs.x.push_back(C * plan.t[q]);
        gs.y.push_back(sT.mean - setup.optimum->sharpness);
      }
    }
    dist_fig.series.push_back(ds);
    sharp_fig.series.push_back(ts);
    if (setup.optimum) gap_fig.series.push_back(gs);
    json e = {{"eta", plan.eta}, {"steps", plan.steps}, {"seeds", ok.size()}, {"diverged", diverged}};
    if (!ok.empty()) {
      std::vector<double> final_d, max_d, final_g;
      for (const auto* r : ok) {
        final_d.push_back(r->distance.back());
        max_d.push_back(*std::max_element(r->distance.begin(), r->distance.end()));
        final_g.push_back(r->gap.back());
      }
      const Stats fd = stats(final_d), md = stats(max_d), fg = stats(final_g);
      e["final_dist_mean"] = fd.mean;
      e["final_dist_std"] = fd.std;
      e["max_dist_mean"] = md.mean;
      e["max_dist_std"] = md.std;
      e["final_T_gap_mean"] = fg.mean;
      e["final_T_gap_std"] = fg.std;
      per_eta_csv << format_double(plan.eta) << ',' << plan.steps << ',' << ok.size() << ',' << diverged << ','
                  << format_double(fd.mean) << ',' << format_double(fd.std) << ',' << format_double(md.mean) << ','
                  << format_double(md.std) << ',' << format_double(fg.mean) << ',' << format_double(fg.std) << '\n';
      if (fd.mean > 0) {
        fit_eta.push_back(plan.eta);
        fit_err.push_back(fd.mean);
      }
      std::ostringstream a, b;
      a.precision(3);
      b.precision(3);
      a << fd.mean << " +- " << fd.std;
      b << fg.mean << " +- " << fg.std;
      table << std::setw(9) << plan.eta << std::setw(12) << plan.steps << std::setw(7) << ok.size() << "  "
            << std::setw(26) << a.str() << "  " << std::setw(12) << std::setprecision(3) << md.mean << "  "
            << std::setw(26) << b.str() << "\n";
    } else {
      per_eta_csv << format_double(plan.eta) << ',' << plan.steps << ",0," << diverged << ",,,,,,\n";
      table << std::setw(9) << plan.eta << std::setw(12) << plan.steps << std::setw(7) << 0
            << "  all seeds diverged\n";
    }
    if (diverged > 0) {
      std::string reason;
      for (size_t i = 0; i < tasks.size(); ++i)
        if (tasks[i].plan == p && records[i].status == "diverged") {
          reason = records[i].reason;
          break;
        }
      notes.push_back(std::to_string(diverged) + " of " + std::to_string(seeds.size()) + " seeds diverged at eta = " +
                      short_number(plan.eta) + " (" + reason + "); they are left out of the statistics");
    }
    per_eta.push_back(e);
  }
  write_file_atomic(o.out + "/compare.csv", csv.str());
  write_file_atomic(o.out + "/compare_summary.csv", per_eta_csv.str());

  json fit = nullptr;
  std::ostringstream fit_line;
  fit_line.precision(4);
  if (fit_eta.size() >= 2) {
    const PowerLawFit pf = fit_power_law(fit_eta, fit_err);
    fit = line_fit_json(pf.line);
    fit["exponent_p"] = pf.exponent;
    fit["prefactor"] = pf.prefactor;
    fit["error_measure"] = "mean over seeds of ||Phi(Theta_SGD) - Theta_flow|| at the last comparison time";
    fit_line << "fitted order: error ~ C eta^p with p = " << pf.exponent;
    if (pf.line.slope_ci_low)
      fit_line << ", " << 100 * pf.line.confidence << "% interval [" << *pf.line.slope_ci_low << ", "
               << *pf.line.slope_ci_high << "] (Student t, " << pf.line.points - 2 << (pf.line.points == 3 ? " degree" : " degrees") << " of freedom)";
    else
      fit_line << " (two step sizes: no interval; give three or more)";
    fit_line << ", R^2 = " << pf.line.r_squared;
    PlotSpec ef;
    ef.title = "error against step size at t = " + short_number(t_end) + " (log-log), fitted slope p = " +
               short_number(pf.exponent, 4);
    ef.x_label = "eta";
    ef.y_label = "mean ||Phi(Theta_SGD) - Theta_flow||";
    ef.log_x = ef.log_y = true;
    ef.key = "top left";
    PlotSeries pts{"measured (mean over seeds)", fit_eta, fit_err, PlotStyle::Points, "#d62728", false};
    PlotSeries line{"fit C eta^p", {}, {}, PlotStyle::Lines, "black", true};
    const double lo = *std::min_element(fit_eta.begin(), fit_eta.end());
    const double hi = *std::max_element(fit_eta.begin(), fit_eta.end());
    for (int k = 0; k <= 20; ++k) {
      const double x = lo * std::pow(hi / lo, k / 20.0);
      line.x.push_back(x);
      line.y.push_back(pf.prefactor * std::pow(x, pf.exponent));
    }
    ef.series = {pts, line};
    if (!o.no_figures) draw_figure(ef, o.out + "/error_vs_eta.svg", figures, notes);
  } else {
    fit_line << "fitted order: not available (needs at least two step sizes with a positive error)";
  }
  if (!o.no_figures) {
    draw_figure(dist_fig, o.out + "/distance_vs_t.svg", figures, notes);
    draw_figure(sharp_fig, o.out + "/sharpness_vs_tau.svg", figures, notes);
    if (setup.optimum) draw_figure(gap_fig, o.out + "/sharpness_gap_vs_tau.svg", figures, notes);
  }

  json summary = {{"command", "compare"},
                  {"data", o.problem.data},
                  {"weights", o.problem.weights},
                  {"parameters",
                   {{"activation", model.activation().name()},
                    {"label_noise", o.label_noise},
                    {"noise", o.noise},
                    {"batch_size", B},
                    {"flow_coefficient", C},
                    {"time", o.time},
                    {"lr_list", etas},
                    {"seeds", seeds},
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
  write_json(o.out + "/summary.json", summary);
  out_dir.finish(RunStatus::Completed);

  std::ostringstream msg;
  msg.precision(6);
  msg << "label-noise SGD vs the limiting flow (C = S^2/(4B) = " << C << "), compared at t = eta^2 k up to t = " << t_end
      << " (tau = " << C * t_end << "); " << start_note << "; SGD iterates projected with " << o.projection << "\n";
  msg << table.str();
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
