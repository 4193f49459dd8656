#include "zeroloss/runs/sgd_flow_comparison.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

std::string short_number(double x, int precision = 6) {
  std::ostringstream s;
  s.precision(precision);
  s << x;
  return s.str();
}

}  // namespace

const char* sgd_flow_time_scale_name(SgdFlowTimeScale scale) {
  return scale == SgdFlowTimeScale::EtaSteps ? "eta-k" : "eta-squared-k";
}

SgdFlowTimeScale parse_sgd_flow_time_scale(const std::string& name) {
  if (name == "eta-squared-k") return SgdFlowTimeScale::EtaSquaredSteps;
  if (name == "eta-k") return SgdFlowTimeScale::EtaSteps;
  throw InputError("unknown time scale '" + name + "' (expected eta-squared-k or eta-k)");
}

double reference_flow_time(SgdFlowTimeScale scale, double eta, std::uint64_t k) {
  const double steps = static_cast<double>(k);
  return scale == SgdFlowTimeScale::EtaSteps ? eta * steps : eta * eta * steps;
}

void SgdFlowComparisonOptions::validate() const {
  if (!(label_noise > 0) || !std::isfinite(label_noise)) throw InputError("--label-noise must be > 0");
  if (!(flow_coefficient_scale > 0) || !std::isfinite(flow_coefficient_scale))
    throw InputError("--flow-coefficient-scale must be a finite number > 0");
  if (!(time > 0) || !std::isfinite(time)) throw InputError("--time must be > 0");
  if (points < 1) throw InputError("--points must be at least 1");
  if (seeds.empty()) throw InputError("--seeds: need at least one seed");
  for (double eta : learning_rates) {
    if (!(eta > 0) || !std::isfinite(eta)) {
      throw InputError("--lr-list: every step size must be a finite number > 0, got " + format_double(eta));
    }
  }
}

ComparisonPlan plan_sgd_flow_comparison(const SgdFlowComparisonOptions& o) {
  o.validate();
  ComparisonPlan plan;
  plan.limiting_coefficient = limiting_flow_coefficient(o.label_noise, o.batch_size);
  plan.coefficient = o.flow_coefficient_scale * plan.limiting_coefficient;
  std::vector<double> etas = o.learning_rates;
  std::sort(etas.begin(), etas.end(), std::greater<double>());
  for (double eta : etas) {
    ComparisonGrid p;
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
      p.flow_t.push_back(reference_flow_time(o.time_scale, eta, k));
    }
    if (p.k.empty()) {
      throw InputError("--lr-list: eta = " + format_double(eta) + " is too large for --time " + format_double(o.time) +
                       " (fewer than one step: T / eta^2 < 0.5)");
    }
    p.steps = p.k.back();
    plan.t_end = std::max(plan.t_end, p.t.back());
    plan.flow_t_end = std::max(plan.flow_t_end, p.flow_t.back());
    plan.sample_times.insert(plan.sample_times.end(), p.flow_t.begin(), p.flow_t.end());
    plan.grids.push_back(std::move(p));
  }
  for (int q = 1; q <= 100; ++q) plan.sample_times.push_back(plan.flow_t_end * q / 100);
  return plan;
}

ComparisonRun run_projected_sgd(const LabelNoiseDynamics& dynamics, const Eigen::MatrixXd& x0, const ComparisonGrid& grid,
                                const SgdFlowComparisonOptions& options, std::uint64_t seed,
                                const ComparisonProjection& project, std::atomic<std::uint64_t>& steps_done,
                                const std::function<bool()>& interrupted) {
  ComparisonRun rec;
  SgdParameters sp;
  sp.learning_rate = grid.eta;
  sp.label_noise = options.label_noise;
  sp.noise = options.noise;
  sp.batch_size = options.batch_size;
  sp.seed = seed;
  const std::unique_ptr<LabelNoiseSgdPath> sgd = dynamics.label_noise_sgd(x0, sp);
  for (std::size_t q = 0; q < grid.k.size(); ++q) {
    while (sgd->step() < grid.k[q]) {
      if (interrupted && interrupted()) return rec;
      const std::uint64_t todo = std::min<std::uint64_t>(grid.k[q] - sgd->step(), 1ULL << 20);
      steps_done += sgd->advance(todo);
      if (sgd->diverged()) break;
    }
    if (sgd->diverged()) {
      rec.diverged = true;
      rec.reason = sgd->divergence_reason();
      break;
    }
    rec.projected.push_back(project(sgd->weights(), "the SGD iterate (eta = " + short_number(grid.eta) + ", seed " +
                                                        std::to_string(seed) + ", step " + std::to_string(sgd->step()) +
                                                        ")"));
  }
  return rec;
}

ComparisonRun run_projected_sgd(const TwoLayerModel& reduced, const Eigen::MatrixXd& beta0, const ComparisonGrid& grid,
                                const SgdFlowComparisonOptions& options, std::uint64_t seed,
                                const ComparisonProjection& project, std::atomic<std::uint64_t>& steps_done,
                                const std::function<bool()>& interrupted) {
  return run_projected_sgd(TwoLayerLabelNoiseDynamics(reduced), beta0, grid, options, seed, project, steps_done,
                           interrupted);
}

void measure_against_flow(const TwoLayerModel& reduced, const ComparisonGrid& grid, const ComparisonFlow& flow,
                          ComparisonRun& run) {
  measure_against_flow(TwoLayerLabelNoiseDynamics(reduced), grid, flow, run);
}

void measure_against_flow(const LabelNoiseDynamics& dynamics, const ComparisonGrid& grid, const ComparisonFlow& flow,
                          ComparisonRun& run) {
  run.distance.clear();
  run.gap.clear();
  run.sgd_sharpness.clear();
  for (std::size_t q = 0; q < run.projected.size(); ++q) {
    const Eigen::MatrixXd& ref = flow.states.at(grid.flow_t[q]);
    const double T_sgd = dynamics.sharpness(run.projected[q]);
    run.distance.push_back((run.projected[q] - ref).norm());
    run.sgd_sharpness.push_back(T_sgd);
    run.gap.push_back(T_sgd - flow.sharpness.at(grid.flow_t[q]));
  }
}

PathEnsemble path_ensemble(const std::vector<const Eigen::MatrixXd*>& paths) {
  if (paths.empty()) throw InputError("path ensemble: no paths");
  PathEnsemble e;
  e.mean = Eigen::MatrixXd::Zero(paths[0]->rows(), paths[0]->cols());
  for (const auto* p : paths) e.mean += *p;
  e.mean /= static_cast<double>(paths.size());
  if (paths.size() > 1) {
    double ss = 0;
    for (const auto* p : paths) ss += (*p - e.mean).squaredNorm();
    e.fluctuation = std::sqrt(ss / static_cast<double>(paths.size() - 1));
  }
  return e;
}

SampleStatistics sample_statistics(const std::vector<double>& v) {
  SampleStatistics s;
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

SgdFlowComparisonSummary summarize_sgd_flow_comparison(const ComparisonPlan& plan,
                                                       const std::vector<std::vector<ComparisonRun>>& runs,
                                                       const ComparisonFlow& flow) {
  if (runs.size() != plan.grids.size()) throw InputError("comparison summary: one list of runs per step size expected");
  SgdFlowComparisonSummary out;
  for (std::size_t p = 0; p < plan.grids.size(); ++p) {
    const ComparisonGrid& grid = plan.grids[p];
    std::vector<const ComparisonRun*> ok;
    ComparisonPerEta e;
    e.eta = grid.eta;
    e.steps = grid.steps;
    for (const ComparisonRun& r : runs[p]) {
      if (!r.diverged) {
        ok.push_back(&r);
      } else {
        if (e.diverged == 0) e.divergence_reason = r.reason;
        ++e.diverged;
      }
    }
    e.completed = static_cast<int>(ok.size());
    for (std::size_t q = 0; q < grid.k.size(); ++q) {
      std::vector<double> d, g, T;
      std::vector<const Eigen::MatrixXd*> paths;
      for (const auto* r : ok) {
        d.push_back(r->distance[q]);
        g.push_back(r->gap[q]);
        T.push_back(r->sgd_sharpness[q]);
        if (q < r->projected.size()) paths.push_back(&r->projected[q]);
      }
      if (d.empty()) continue;
      ComparisonRow row;
      row.eta = grid.eta;
      row.step = grid.k[q];
      row.t = grid.t[q];
      row.flow_t = grid.flow_t[q];
      row.tau = plan.coefficient * grid.flow_t[q];
      row.distance = sample_statistics(d);
      row.gap = sample_statistics(g);
      row.sgd_sharpness = sample_statistics(T);
      row.flow_sharpness = flow.sharpness.at(grid.flow_t[q]);
      if (paths.size() == ok.size()) {
        const PathEnsemble ens = path_ensemble(paths);
        row.bias = (ens.mean - flow.states.at(grid.flow_t[q])).norm();
        row.fluctuation = ens.fluctuation;
      }
      out.rows.push_back(row);
      e.path_bias += row.bias * row.bias / static_cast<double>(grid.k.size());
      e.path_fluctuation += row.fluctuation * row.fluctuation / static_cast<double>(grid.k.size());
      if (q + 1 == grid.k.size()) {
        e.final_bias = row.bias;
        e.final_fluctuation = row.fluctuation;
      }
    }
    e.path_bias = std::sqrt(e.path_bias);
    e.path_fluctuation = std::sqrt(e.path_fluctuation);
    if (!ok.empty()) {
      std::vector<double> final_d, max_d, final_g;
      for (const auto* r : ok) {
        final_d.push_back(r->distance.back());
        max_d.push_back(*std::max_element(r->distance.begin(), r->distance.end()));
        final_g.push_back(r->gap.back());
      }
      e.final_distance = sample_statistics(final_d);
      e.max_distance = sample_statistics(max_d);
      e.final_gap = sample_statistics(final_g);
      if (e.final_distance.mean > 0) {
        out.fit_eta.push_back(grid.eta);
        out.fit_error.push_back(e.final_distance.mean);
      }
      if (e.path_bias > 0) {
        out.bias_eta.push_back(grid.eta);
        out.bias.push_back(e.path_bias);
      }
      if (e.path_fluctuation > 0) {
        out.fluctuation_eta.push_back(grid.eta);
        out.fluctuation.push_back(e.path_fluctuation);
      }
    }
    out.per_eta.push_back(e);
  }
  if (out.fit_eta.size() >= 2) out.fit = fit_power_law(out.fit_eta, out.fit_error);
  if (out.bias_eta.size() >= 2) out.bias_fit = fit_power_law(out.bias_eta, out.bias);
  if (out.fluctuation_eta.size() >= 2) out.fluctuation_fit = fit_power_law(out.fluctuation_eta, out.fluctuation);
  return out;
}

namespace {

// The flow with coefficient c from `start`, sampled at `times` (ascending, > 0): states and
// dTheta_c/dc = -t grad_M T there.
struct CoefficientFlow {
  std::vector<Eigen::MatrixXd> states, derivative;
};

CoefficientFlow flow_with_coefficient(const LabelNoiseDynamics& dynamics, const Eigen::MatrixXd& start,
                                      const std::vector<double>& times, double c, FlowOptions o) {
  o.coefficient = c;
  o.t_end = times.back();
  o.sample_times = times;
  o.until_gradient = 0;
  std::map<double, Eigen::MatrixXd> at;
  const FlowSummary summary = dynamics.integrate_flow(start, o, [&](const LabelNoiseFlowState& s) {
    at[s.t] = *s.x;
    return true;
  });
  if (!summary.completed)
    throw ConvergenceError("fitting the flow coefficient: the flow with c = " + short_number(c) +
                           " did not reach t = " + short_number(o.t_end) + " (" + summary.termination + ")");
  CoefficientFlow f;
  for (double t : times) {
    const auto it = at.find(t);
    if (it == at.end()) throw ConvergenceError("fitting the flow coefficient: the flow skipped t = " + short_number(t));
    f.states.push_back(it->second);
    // dTheta_c/dc = t (-grad_M T) = t times the velocity of the flow with coefficient 1.
    f.derivative.push_back(t * (-1.0 * dynamics.riemannian_gradient(it->second)));
  }
  return f;
}

// The delta-method standard error from the per-seed values z and the Student-t interval about e.estimate.
void set_interval(CoefficientEstimate& e, const std::vector<double>& z) {
  e.standard_error = sample_statistics(z).std / std::sqrt(static_cast<double>(z.size()));
  const boost::math::students_t dist(static_cast<double>(z.size() - 1));
  const double tq = boost::math::quantile(boost::math::complement(dist, (1.0 - e.confidence) / 2.0));
  e.ci_low = e.estimate - tq * e.standard_error;
  e.ci_high = e.estimate + tq * e.standard_error;
}

double residual_sum_of_squares(const std::vector<Eigen::MatrixXd>& mean, const CoefficientFlow& f) {
  double rss = 0;
  for (std::size_t q = 0; q < mean.size(); ++q) rss += (mean[q] - f.states[q]).squaredNorm();
  return rss;
}

}  // namespace

FlowCoefficientFit fit_flow_coefficient(const TwoLayerModel& reduced, const Eigen::MatrixXd& start,
                                        const ComparisonPlan& plan,
                                        const std::vector<std::vector<ComparisonRun>>& runs, const FlowOptions& flow,
                                        double confidence) {
  return fit_flow_coefficient(TwoLayerLabelNoiseDynamics(reduced), start, plan, runs, flow, confidence);
}

FlowCoefficientFit fit_flow_coefficient(const LabelNoiseDynamics& dynamics, const Eigen::MatrixXd& start,
                                        const ComparisonPlan& plan,
                                        const std::vector<std::vector<ComparisonRun>>& runs, const FlowOptions& flow,
                                        double confidence) {
  if (runs.size() != plan.grids.size()) throw InputError("flow coefficient fit: one list of runs per step size expected");
  FlowCoefficientFit out;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::vector<double>> z_of;  // per fitted step size: z_s by seed index (NaN: not completed)
  for (std::size_t g = 0; g < plan.grids.size(); ++g) {
    const ComparisonGrid& grid = plan.grids[g];
    const std::size_t Q = grid.k.size();
    std::vector<const ComparisonRun*> ok;
    for (const ComparisonRun& r : runs[g])
      if (!r.diverged && r.projected.size() == Q) ok.push_back(&r);
    if (ok.size() < 2) continue;
    std::vector<Eigen::MatrixXd> mean(Q);
    for (std::size_t q = 0; q < Q; ++q) {
      std::vector<const Eigen::MatrixXd*> paths;
      for (const auto* r : ok) paths.push_back(&r->projected[q]);
      mean[q] = path_ensemble(paths).mean;
    }
    CoefficientEstimate e;
    e.eta = grid.eta;
    e.seeds = static_cast<int>(ok.size());
    e.confidence = confidence;
    double c = plan.limiting_coefficient;
    CoefficientFlow f = flow_with_coefficient(dynamics, start, grid.flow_t, c, flow);
    double rss = residual_sum_of_squares(mean, f);
    for (e.iterations = 1; e.iterations <= 50; ++e.iterations) {
      double num = 0, den = 0;
      for (std::size_t q = 0; q < Q; ++q) {
        num += ((mean[q] - f.states[q]).array() * f.derivative[q].array()).sum();
        den += f.derivative[q].squaredNorm();
      }
      if (!(den > 0)) break;
      double step = num / den;
      // Keep c > 0 and accept only a step that does not increase the residual.
      while (c + step <= 0) step /= 2;
      bool accepted = false;
      for (int halving = 0; halving < 10 && !accepted; ++halving) {
        CoefficientFlow trial = flow_with_coefficient(dynamics, start, grid.flow_t, c + step, flow);
        const double trial_rss = residual_sum_of_squares(mean, trial);
        if (trial_rss <= rss) {
          c += step;
          f = std::move(trial);
          rss = trial_rss;
          accepted = true;
        } else {
          step /= 2;
        }
      }
      // No step lowers the residual any more (the minimum to rounding), or the step is negligible.
      if (!accepted || std::abs(step) <= 1e-7 * c) {
        e.converged = true;
        break;
      }
    }
    // Delta method over the seeds, with the derivative at the minimiser.
    double den = 0;
    for (std::size_t q = 0; q < Q; ++q) den += f.derivative[q].squaredNorm();
    std::vector<double> z, by_seed(runs[g].size(), nan);
    for (std::size_t s = 0; s < runs[g].size(); ++s) {
      const ComparisonRun& r = runs[g][s];
      if (r.diverged || r.projected.size() != Q) continue;
      double num = 0;
      for (std::size_t q = 0; q < Q; ++q) num += ((r.projected[q] - mean[q]).array() * f.derivative[q].array()).sum();
      by_seed[s] = num / den;
      z.push_back(by_seed[s]);
    }
    e.estimate = c;
    set_interval(e, z);
    out.per_eta.push_back(e);
    z_of.push_back(std::move(by_seed));
  }
  const std::size_t fitted = out.per_eta.size();
  if (fitted >= 2) {
    const CoefficientEstimate &small = out.per_eta[fitted - 1], &next = out.per_eta[fitted - 2];
    const double w1 = next.eta / (next.eta - small.eta), w2 = -small.eta / (next.eta - small.eta);
    std::vector<double> y;
    const std::vector<double>&z1 = z_of[fitted - 1], &z2 = z_of[fitted - 2];
    for (std::size_t s = 0; s < std::min(z1.size(), z2.size()); ++s)
      if (std::isfinite(z1[s]) && std::isfinite(z2[s])) y.push_back(w1 * z1[s] + w2 * z2[s]);
    if (y.size() >= 2) {
      CoefficientEstimate e;
      e.eta = 0;
      e.seeds = static_cast<int>(y.size());
      e.confidence = confidence;
      e.iterations = small.iterations + next.iterations;
      e.converged = small.converged && next.converged;
      e.estimate = w1 * small.estimate + w2 * next.estimate;
      set_interval(e, y);
      e.allowance = std::abs(small.estimate - e.estimate);
      e.ci_low -= e.allowance;
      e.ci_high += e.allowance;
      out.extrapolated = e;
    }
  }
  return out;
}

}  // namespace zeroloss
