#include "zeroloss/verification/stationary_point_census.hpp"

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>
#include <thread>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/model/two_layer_random_start.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/numerics/singular_values.hpp"

namespace zeroloss {

namespace {

const double kScaleFactors[] = {1.0, 0.5, 2.0};

StationaryPointCensusEntry search_from(const std::shared_ptr<const TwoLayerNetwork>& reduced, int k,
                                       const StationaryPointCensusOptions& o) {
  const TwoLayerModel& net = reduced->network();
  const int m = net.m();
  StationaryPointCensusEntry e;
  e.start = k;
  e.scale = o.init_scale * kScaleFactors[k % 3];
  e.groups = m;
  Weights w = random_two_layer_start(net.X(), m, e.scale, false, o.seed * 1000 + static_cast<std::uint64_t>(k));
  if (k % 2 == 1 && m > 1) {
    e.groups = 1 + (k / 2) % (m - 1);
    for (int j = e.groups; j < m; ++j) w.theta.row(j) = w.theta.row(j % e.groups);
  }
  e.summary = find_stationary_point(reduced, reduced->parameters(w.theta), o.search);
  if (e.summary.converged()) {
    OutsideAssumptionsThresholds t;
    t.zero_eigenvalue = o.zero_eigenvalue;
    const Eigen::VectorXd& l = e.summary.hessian_eigenvalues;
    e.inertia = hessian_inertia(std::vector<double>(l.data(), l.data() + l.size()), t);
  }
  return e;
}

}  // namespace

std::vector<StationaryPointCensusEntry> stationary_point_census(const TwoLayerModel& model,
                                                                const StationaryPointCensusOptions& options,
                                                                int threads) {
  const ReducedCoordinates rc(model.X());
  const auto reduced = std::make_shared<const TwoLayerNetwork>(rc.reduce(model));
  std::vector<StationaryPointCensusEntry> out(static_cast<size_t>(std::max(0, options.starts)));
  std::atomic<int> next{0};
  std::vector<std::exception_ptr> errors(out.size());
  auto worker = [&]() {
    for (int k = next++; k < options.starts; k = next++) {
      try {
        out[static_cast<size_t>(k)] = search_from(reduced, k, options);
      } catch (...) {
        errors[static_cast<size_t>(k)] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

std::string stationary_point_census_csv(const std::vector<StationaryPointCensusEntry>& entries, double sharpness_star) {
  std::ostringstream s;
  s << "start,groups,scale,termination,iterations,sharpness,relative_gap,grad_norm,euclidean_grad_norm,lambda_min,"
       "negative,zero,positive\n";
  for (const auto& e : entries) {
    const auto& r = e.summary;
    const bool have = r.termination != StationaryPointTermination::Failed;
    s << e.start << "," << e.groups << "," << format_double(e.scale) << "," << to_string(r.termination) << ","
      << r.iterations << ",";
    if (have) {
      s << format_double(r.sharpness) << ","
        << (std::isnan(sharpness_star) ? std::string()
                                       : format_double(std::abs(r.sharpness - sharpness_star) / std::abs(sharpness_star)))
        << "," << format_double(r.gradient_norm) << "," << format_double(r.euclidean_gradient_norm) << ","
        << (r.hessian_eigenvalues.size() ? format_double(r.hessian_eigenvalues(0)) : std::string()) << ",";
    } else {
      s << ",,,,,";
    }
    if (r.converged())
      s << e.inertia.negative << "," << e.inertia.zero << "," << e.inertia.positive << "\n";
    else
      s << ",,\n";
  }
  return s.str();
}

std::vector<StationaryEnd> converged_stationary_points(const TwoLayerModel& model,
                                                       const std::vector<StationaryPointCensusEntry>& entries) {
  const ReducedCoordinates rc(model.X());
  const Eigen::MatrixXd Z = model.X() * rc.basis();
  std::vector<StationaryEnd> out;
  for (const auto& e : entries) {
    if (!e.summary.converged()) continue;
    const Eigen::Index m = model.m(), p = Z.cols();
    const Eigen::MatrixXd beta = Eigen::Map<const Eigen::MatrixXd>(e.summary.theta.data(), p, m).transpose();
    const Eigen::VectorXd sv = singular_values(Z * beta.transpose());
    out.push_back({e.summary.sharpness, e.inertia, sv.size() > 1 && sv(0) > 0 ? sv(1) / sv(0) : 0.0});
  }
  return out;
}

}  // namespace zeroloss
