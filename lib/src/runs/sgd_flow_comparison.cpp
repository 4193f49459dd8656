#include "zeroloss/runs/sgd_flow_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/label_noise_sgd.hpp"

namespace zeroloss {
namespace {

std::string short_number(double x, int precision = 6) {
  std::ostringstream s;
  s.precision(precision);
  s << x;
  return s.str();
}

// T = (1/n) sum_i ||x_i||^2 sum_j a_j^2 phi'(r_ij)^2 (THEORY 3).
double sharpness_at(const TwoLayerModel& model, const Eigen::MatrixXd& beta) {
  const NetworkEvaluation e = evaluate(model, beta);
  const Eigen::VectorXd a2 = model.a().array().square();
  return model.row_norms_squared().dot(e.dphi.array().square().matrix() * a2) / model.n();
}

}  // namespace

void SgdFlowComparisonOptions::validate() const {
  if (!(label_noise > 0) || !std::isfinite(label_noise)) throw InputError("--label-noise must be > 0");
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
  plan.coefficient = limiting_flow_coefficient(o.label_noise, o.batch_size);
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
    }
    if (p.k.empty()) {
      throw InputError("--lr-list: eta = " + format_double(eta) + " is too large for --time " + format_double(o.time) +
                       " (fewer than one step: T / eta^2 < 0.5)");
    }
    p.steps = p.k.back();
    plan.t_end = std::max(plan.t_end, p.t.back());
    plan.sample_times.insert(plan.sample_times.end(), p.t.begin(), p.t.end());
    plan.grids.push_back(std::move(p));
  }
  for (int q = 1; q <= 100; ++q) plan.sample_times.push_back(plan.t_end * q / 100);
  return plan;
}

ComparisonRun run_sgd_against_flow(const TwoLayerModel& reduced, const Eigen::MatrixXd& beta0,
                                   const ComparisonGrid& grid, const SgdFlowComparisonOptions& options,
                                   std::uint64_t seed, const ComparisonFlow& flow, const ComparisonProjection& project,
                                   std::atomic<std::uint64_t>& steps_done, const std::function<bool()>& interrupted) {
  ComparisonRun rec;
  SgdParameters sp;
  sp.learning_rate = grid.eta;
  sp.label_noise = options.label_noise;
  sp.noise = options.noise;
  sp.batch_size = options.batch_size;
  sp.seed = seed;
  LabelNoiseSgd sgd(reduced, beta0, sp);
  for (std::size_t q = 0; q < grid.k.size(); ++q) {
    while (sgd.step() < grid.k[q]) {
      if (interrupted && interrupted()) return rec;
      const std::uint64_t todo = std::min<std::uint64_t>(grid.k[q] - sgd.step(), 1ULL << 20);
      steps_done += sgd.advance(todo);
      if (sgd.diverged()) break;
    }
    if (sgd.diverged()) {
      rec.diverged = true;
      rec.reason = sgd.divergence().reason;
      break;
    }
    const Eigen::MatrixXd projected =
        project(sgd.weights(), "the SGD iterate (eta = " + short_number(grid.eta) + ", seed " +
                                   std::to_string(seed) + ", step " + std::to_string(sgd.step()) + ")");
    const Eigen::MatrixXd& ref = flow.states.at(grid.t[q]);
    const double T_sgd = sharpness_at(reduced, projected);
    rec.distance.push_back((projected - ref).norm());
    rec.sgd_sharpness.push_back(T_sgd);
    rec.gap.push_back(T_sgd - flow.sharpness.at(grid.t[q]));
  }
  return rec;
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
      for (const auto* r : ok) {
        d.push_back(r->distance[q]);
        g.push_back(r->gap[q]);
        T.push_back(r->sgd_sharpness[q]);
      }
      if (d.empty()) continue;
      ComparisonRow row;
      row.eta = grid.eta;
      row.step = grid.k[q];
      row.t = grid.t[q];
      row.tau = plan.coefficient * grid.t[q];
      row.distance = sample_statistics(d);
      row.gap = sample_statistics(g);
      row.sgd_sharpness = sample_statistics(T);
      row.flow_sharpness = flow.sharpness.at(grid.t[q]);
      out.rows.push_back(row);
    }
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
    }
    out.per_eta.push_back(e);
  }
  if (out.fit_eta.size() >= 2) out.fit = fit_power_law(out.fit_eta, out.fit_error);
  return out;
}

}  // namespace zeroloss
