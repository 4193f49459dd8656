#include "zeroloss/support/number_text.hpp"
#include "zeroloss/diagnostics/trajectory_convexity.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/interrupt_flag.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"
#include "zeroloss/dynamics/label_noise_time_scale.hpp"

namespace zeroloss {

const char* to_string(TrajectorySource source) { return source == TrajectorySource::Sgd ? "sgd" : "flow"; }
namespace {

using Clock = std::chrono::steady_clock;

void say(const TrajectoryProgress& progress, const std::string& message) {
  if (progress) progress(message);
}

// The measurements at a point x on M (working coordinates). With `previous` (the measurement at the
// previous logged state, Lanczos only) the run starts warm from that state's eigenvectors
// (sharpness/hessian_spectrum.hpp, "Warm start": the same certificates as a cold run); on return
// `previous` holds this state's warm start for the next one, and the point keeps none.
TrajectoryConvexityPoint measure(const ConvexityGeometry& G, const Eigen::Ref<const Eigen::MatrixXd>& x,
                                 double negative_tolerance,
                                 std::shared_ptr<const LanczosWarmStart>* previous = nullptr) {
  ConvexityMeasurement m = G.measure(x, previous ? previous->get() : nullptr);
  if (previous) *previous = std::move(m.warm_start);
  m.warm_start.reset();
  TrajectoryConvexityPoint p;
  p.sharpness = m.sharpness;
  p.grad_norm = m.grad_norm;
  p.lambda_min = m.lambda_min;
  p.lambda_max = m.lambda_max;
  p.negative = p.lambda_min < -negative_tolerance * std::max(std::abs(m.lambda_min), std::abs(m.lambda_max));
  p.measurement = m;
  return p;
}

// Narrows the flow's onset bracket (see TrajectoryConvexity::refined_low): integrates from the last
// negative state across the bracket, records the last negative fine sample, and repeats.
void refine_onset(const ConvexityGeometry& G, const LabelNoiseDynamics& D, TrajectoryConvexity& out,
                  const FlowConvexityOptions& o) {
  std::size_t k = 0;
  while (out.points[k].tau != *out.onset.last_negative_tau) ++k;
  Eigen::MatrixXd beta = G.reduce(out.points[k].theta);
  double low = *out.onset.last_negative_tau, high = *out.onset.tau;
  try {
    for (int pass = 0; pass < o.refine_passes; ++pass) {
      if (interrupt_requested(o.interrupt)) return;  // the caller throws
      FlowOptions fo = o.flow;
      fo.coefficient = 1.0;
      fo.t_end = high - low;
      fo.sample_times.clear();
      for (int q = 1; q <= o.refine_samples; ++q) fo.sample_times.push_back(fo.t_end * q / o.refine_samples);
      std::vector<std::pair<double, bool>> fine;  // (tau offset, negative)
      Eigen::MatrixXd last_negative_beta = beta;
      double last_negative = 0;
      D.integrate_flow(beta, fo, [&](const LabelNoiseFlowState& s) {
        if (s.t == 0) return true;
        if (interrupt_requested(o.interrupt)) return false;
        const bool negative = measure(G, *s.x, o.negative_tolerance).negative;
        fine.emplace_back(s.t, negative);
        if (negative) {
          last_negative = s.t;
          last_negative_beta = *s.x;
        }
        return true;
      });
      // The first fine sample after the last negative one (the end of the bracket if none is later).
      double next = fo.t_end;
      for (const auto& [t, negative] : fine) {
        if (t > last_negative) {
          next = t;
          break;
        }
      }
      if (!fine.empty() && fine.back().second) {
        out.refine_note = "the re-integrated flow is still negative at the end of the bracket (tau = " + short_number(high, 4) +
                          "): the logged onset stands";
        return;
      }
      high = low + next;
      low = low + last_negative;
      beta = last_negative_beta;
    }
    out.refined_low = low;
    out.refined_high = high;
  } catch (const Error& e) {
    out.refine_note = std::string("onset refinement failed: ") + e.what();
  }
}

}  // namespace

ConvexityOnset convexity_onset(const std::vector<TrajectoryConvexityPoint>& points) {
  ConvexityOnset o;
  if (points.empty()) return o;
  std::optional<std::size_t> last_negative;
  for (std::size_t k = 0; k < points.size(); ++k) {
    if (points[k].negative) {
      ++o.negative_points;
      last_negative = k;
    }
  }
  o.convex_throughout = !last_negative;
  o.convex_at_end = !points.back().negative;
  if (!last_negative) {
    o.tau = points.front().tau;
    o.grad_norm_at_onset = points.front().grad_norm;
  } else {
    o.last_negative_tau = points[*last_negative].tau;
    o.grad_norm_at_last_negative = points[*last_negative].grad_norm;
    if (*last_negative + 1 < points.size()) {
      o.tau = points[*last_negative + 1].tau;
      o.grad_norm_at_onset = points[*last_negative + 1].grad_norm;
    }
  }
  return o;
}

TrajectoryConvexity flow_convexity(const ConvexityGeometry& G, const LabelNoiseDynamics& D,
                                   const Eigen::Ref<const Eigen::MatrixXd>& theta0, const FlowConvexityOptions& o,
                                   const TrajectoryProgress& progress) {
  if (!(o.flow_time > 0) || !std::isfinite(o.flow_time) || o.points < 1 || !(o.negative_tolerance >= 0)) {
    throw InputError("flow convexity options: need a finite flow time > 0 (got " + short_number(o.flow_time, 4) +
                     "), points >= 1 (got " + std::to_string(o.points) + ") and negative_tolerance >= 0");
  }
  G.check_point(theta0, "flow start");
  const auto t0 = Clock::now();
  G.require_tangent_directions();
  TrajectoryConvexity out;
  out.source = TrajectorySource::Flow;
  Eigen::MatrixXd beta = G.reduce(theta0);
  const double residual0 = D.max_residual(beta);
  if (residual0 <= kProjectedStartTolerance * G.label_scale()) {
    out.start_note = "the start is on M (max_i |f_i - y_i| = " + short_number(residual0, 3) + ")";
  } else {
    say(progress, "flow: projecting the start onto M (" + std::string(to_string(o.start_projection)) + ")");
    std::pair<Eigen::MatrixXd, double> pr;
    try {
      pr = D.project(beta, o.start_projection, o.projection);
    } catch (const ConvergenceError& e) {
      out.start_note = "the start (max_i |f_i - y_i| = " + short_number(residual0, 3) + ") could not be projected onto M";
      out.termination = std::string("not run: ") + e.what();
    } catch (const SingularPointError& e) {
      out.start_note = "the start (max_i |f_i - y_i| = " + short_number(residual0, 3) + ") could not be projected onto M";
      out.termination = std::string("not run: ") + e.what();
    }
    if (!out.termination.empty()) {
      out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      return out;
    }
    out.start_projection_distance = pr.second;
    out.start_note = "the start (max_i |f_i - y_i| = " + short_number(residual0, 3) + ") projected onto M with " +
                     std::string(to_string(o.start_projection)) + ", moved " + short_number(pr.second, 3);
    beta = std::move(pr.first);
  }

  FlowOptions fo = o.flow;
  fo.coefficient = 1.0;
  fo.t_end = o.flow_time;
  fo.sample_times.clear();
  for (int q = 1; q <= o.points; ++q) fo.sample_times.push_back(o.flow_time * q / o.points);
  say(progress, "flow: integrating d Theta/d tau = -grad_M T to tau = " + short_number(o.flow_time, 4) + ", " +
                    std::to_string(o.points) + " logged states");
  std::shared_ptr<const LanczosWarmStart> previous;  // consecutive logged states are close: warm starts
  const auto observer = [&](const LabelNoiseFlowState& s) {
    if (interrupt_requested(o.interrupt)) return false;
    TrajectoryConvexityPoint p = measure(G, *s.x, o.negative_tolerance, &previous);
    p.source = TrajectorySource::Flow;
    p.step = s.accepted;
    p.tau = s.tau;
    p.theta = G.lift(*s.x, theta0);
    out.points.push_back(std::move(p));
    return true;
  };
  try {
    const FlowSummary r = D.integrate_flow(beta, fo, observer);
    out.completed = r.completed;
    out.termination = r.termination + " (" + std::to_string(r.accepted) + " accepted, " +
                      std::to_string(r.rejected) + " rejected steps)";
    out.tau_end = r.tau_reached;
  } catch (const SingularPointError& e) {
    out.termination = std::string("stopped: ") + e.what();
  } catch (const ConvergenceError& e) {
    out.termination = std::string("stopped: ") + e.what();
  }
  throw_if_interrupted(o.interrupt, "convexity along the flow");
  if (!out.completed && !out.points.empty()) out.tau_end = out.points.back().tau;
  out.onset = convexity_onset(out.points);
  if (out.onset.tau && out.onset.last_negative_tau && o.refine_passes > 0 && o.refine_samples >= 2) {
    refine_onset(G, D, out, o);
    throw_if_interrupted(o.interrupt, "convexity along the flow (onset refinement)");
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

TrajectoryConvexity flow_convexity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                   const FlowConvexityOptions& options, const TrajectoryProgress& progress) {
  const TwoLayerConvexityGeometry geometry(model);
  return flow_convexity(geometry, TwoLayerLabelNoiseDynamics(geometry.reduced_model()), theta0, options, progress);
}

TrajectoryConvexity sgd_convexity(const ConvexityGeometry& G, const LabelNoiseDynamics& D,
                                  const Eigen::Ref<const Eigen::MatrixXd>& theta0, const SgdConvexityOptions& o,
                                  const TrajectoryProgress& progress) {
  if (o.steps < 1 || o.points < 1 || !(o.negative_tolerance >= 0)) {
    throw InputError("SGD convexity options: need steps >= 1 (got " + std::to_string(o.steps) + "), points >= 1 (got " +
                     std::to_string(o.points) + ") and negative_tolerance >= 0");
  }
  if (!(o.sgd.label_noise > 0)) {
    throw InputError("SGD convexity: the label noise s must be > 0 (got " + short_number(o.sgd.label_noise, 4) +
                     "): the flow time s^2 eta^2 k / (4 B) would not advance");
  }
  G.check_point(theta0, "SGD start");
  const auto t0 = Clock::now();
  G.require_tangent_directions();
  TrajectoryConvexity out;
  out.source = TrajectorySource::Sgd;
  const std::unique_ptr<LabelNoiseSgdPath> sgd = D.label_noise_sgd(G.reduce(theta0), o.sgd);
  out.start_note = "SGD from the start itself (eta = " + short_number(o.sgd.learning_rate, 4) + ", s = " + short_number(o.sgd.label_noise, 4) +
                   ", B = " + std::to_string(o.sgd.batch_size) + ", seed " + std::to_string(o.sgd.seed) +
                   "); each logged iterate projected onto M with " + to_string(o.projection);
  // Logged steps round(q K / P), q = 0..P, without repeats.
  std::vector<std::uint64_t> log_steps;
  for (int q = 0; q <= o.points; ++q) {
    const auto k = static_cast<std::uint64_t>(std::llround(static_cast<long double>(o.steps) * q / o.points));
    if (log_steps.empty() || k != log_steps.back()) log_steps.push_back(k);
  }
  const double tau_per_step = flow_time_per_step(o.sgd.label_noise, o.sgd.batch_size, o.sgd.learning_rate);
  say(progress, "sgd: " + std::to_string(o.steps) + " label-noise SGD steps (flow time " +
                    short_number(tau_per_step * static_cast<double>(o.steps), 4) + "), " +
                    std::to_string(log_steps.size()) + " logged iterates projected with " + to_string(o.projection));
  std::shared_ptr<const LanczosWarmStart> previous;  // the last logged iterate's, for a warm start
  for (std::uint64_t k : log_steps) {
    throw_if_interrupted(o.interrupt, "convexity along label-noise SGD");
    if (k > sgd->step()) sgd->advance(k - sgd->step());
    if (sgd->diverged()) {
      out.termination = "diverged at step " + std::to_string(sgd->divergence_step()) + ": " + sgd->divergence_reason();
      break;
    }
    const double tau = sgd->flow_time();
    const Eigen::MatrixXd w = sgd->weights();
    try {
      const std::pair<Eigen::MatrixXd, double> pr = D.project(w, o.projection, o.projection_options);
      TrajectoryConvexityPoint p = measure(G, pr.first, o.negative_tolerance, &previous);
      p.source = TrajectorySource::Sgd;
      p.step = k;
      p.tau = tau;
      p.projection_distance = pr.second;
      p.iterate_loss = D.loss(w);
      p.theta = G.lift(pr.first, theta0);
      out.points.push_back(std::move(p));
    } catch (const SingularPointError& e) {
      out.failures.push_back({k, tau, std::string("projection onto M: ") + e.what()});
    } catch (const ConvergenceError& e) {
      out.failures.push_back({k, tau, std::string("projection onto M: ") + e.what()});
    }
  }
  if (out.termination.empty()) {
    out.completed = true;
    out.termination = "reached step " + std::to_string(sgd->step()) + " (flow time " + short_number(sgd->flow_time(), 4) + ")";
  }
  out.tau_end = sgd->flow_time();
  out.onset = convexity_onset(out.points);
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

TrajectoryConvexity sgd_convexity(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                  const SgdConvexityOptions& options, const TrajectoryProgress& progress) {
  const TwoLayerConvexityGeometry geometry(model);
  return sgd_convexity(geometry, TwoLayerLabelNoiseDynamics(geometry.reduced_model()), theta0, options, progress);
}

std::vector<TrajectoryConvexity> convexity_along_trajectories(const ConvexityGeometry& geometry,
                                                              const LabelNoiseDynamics& dynamics,
                                                              const Eigen::Ref<const Eigen::MatrixXd>& start,
                                                              const std::optional<FlowConvexityOptions>& flow,
                                                              const std::optional<SgdConvexityOptions>& sgd,
                                                              const TrajectoryProgress& progress) {
  std::vector<TrajectoryConvexity> out;
  if (flow) out.push_back(flow_convexity(geometry, dynamics, start, *flow, progress));
  if (sgd) out.push_back(sgd_convexity(geometry, dynamics, start, *sgd, progress));
  return out;
}

std::string trajectory_convexity_csv(const std::vector<TrajectoryConvexity>& trajectories) {
  const auto& F = format_double;
  std::ostringstream s;
  s << "source,step,tau,grad_norm,lambda_min,lambda_max,T,negative,projection_distance,iterate_loss\n";
  for (const auto& tr : trajectories) {
    for (const auto& p : tr.points) {
      s << to_string(p.source) << ',' << p.step << ',' << F(p.tau) << ',' << F(p.grad_norm) << ',' << F(p.lambda_min) << ','
        << F(p.lambda_max) << ',' << F(p.sharpness) << ',' << (p.negative ? 1 : 0) << ',' << F(p.projection_distance)
        << ',' << F(p.iterate_loss) << '\n';
    }
  }
  return s.str();
}

}  // namespace zeroloss
