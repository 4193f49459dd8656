#include "zeroloss/runs/convexity_settings.hpp"

#include <cmath>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {

void ConvexitySettings::validate() const {
  if (random_scale && !(random_scale->first <= random_scale->second)) {
    throw InputError("--random-scale " + format_double(random_scale->first) + "," + format_double(random_scale->second) +
                     ": expected LO,HI with LO <= HI");
  }
  if (along_flow && (!(*along_flow > 0) || !std::isfinite(*along_flow))) {
    throw InputError("--along-flow: the flow time must be a finite number > 0");
  }
  if (sgd) {
    if (!(sgd->learning_rate > 0) || !std::isfinite(sgd->learning_rate)) {
      throw InputError("--lr must be a finite number > 0");
    }
    if (!(sgd->label_noise > 0) || !std::isfinite(sgd->label_noise)) {
      throw InputError("--label-noise must be > 0 (the flow time s^2 eta^2 k / (4B) would not advance)");
    }
    if (sgd_steps < 1) throw InputError("--steps must be at least 1");
  }
  if ((along_flow || sgd) && trajectory_points && *trajectory_points < 1) {
    throw InputError("--trajectory-points must be at least 1");
  }
}

ConvexityOptions ConvexitySettings::options(long tangent_dimension) const {
  validate();
  const bool matrix_free = tangent_dimension > kDenseSpectrumMaxDimension;
  ConvexityOptions opt = matrix_free ? ConvexityOptions::matrix_free(quick)
                                     : (quick ? ConvexityOptions::quick() : ConvexityOptions::full());
  if (directions) opt.point.directions = *directions;
  if (profile_length) opt.point.profile_length = *profile_length;
  if (profile_points) opt.point.profile_points = *profile_points;
  if (random_points) opt.sampling.random_points = *random_points;
  if (random_scale) {
    opt.sampling.random_scale_min = random_scale->first;
    opt.sampling.random_scale_max = random_scale->second;
  }
  if (geodesic_points) opt.sampling.geodesic_points = *geodesic_points;
  if (max_distance) opt.sampling.max_distance = *max_distance;
  if (negative_tolerance) {
    opt.sampling.negative_tolerance = *negative_tolerance;
    opt.search.negative_tolerance = *negative_tolerance;
  }
  opt.search.eps = eps;
  if (rungs) opt.search.rungs = *rungs;
  if (starts) opt.search.starts = *starts;
  if (stages) opt.search.barrier_stages = *stages;
  if (iterations) opt.search.iterations_per_stage = *iterations;
  if (max_evaluations) opt.search.max_evaluations_per_rung = *max_evaluations;
  opt.run_search = search;
  opt.point.seed = seed;
  opt.sampling.seed = seed + 1;
  opt.search.seed = seed + 2;
  opt.default_anchor = default_anchor;
  opt.figures = figures;
  const int points = trajectory_points ? *trajectory_points : (matrix_free ? (quick ? 10 : 40) : (quick ? 40 : 200));
  opt.trajectory_start = trajectory_start;
  if (along_flow) {
    FlowConvexityOptions f;
    f.flow_time = *along_flow;
    f.points = points;
    f.negative_tolerance = opt.sampling.negative_tolerance;
    f.start_projection = trajectory_projection;
    opt.along_flow = f;
  }
  if (sgd) {
    SgdConvexityOptions g;
    g.sgd = *sgd;
    g.sgd.seed = seed;
    g.steps = sgd_steps;
    g.points = points;
    g.negative_tolerance = opt.sampling.negative_tolerance;
    g.projection = trajectory_projection;
    opt.along_sgd = g;
  }
  return opt;
}

}  // namespace zeroloss
