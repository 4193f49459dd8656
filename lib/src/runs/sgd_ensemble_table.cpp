#include "zeroloss/runs/sgd_ensemble_table.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <sstream>
#include <utility>

#include "zeroloss/io/csv.hpp"

namespace zeroloss {

SgdEnsembleTable sgd_ensemble_table(const std::vector<std::vector<TrajectoryRow>>& runs,
                                    const std::vector<std::uint64_t>& schedule, int K) {
  SgdEnsembleTable out;
  std::ostringstream csv;
  csv << "step,t,tau,seeds";
  const std::vector<std::string> scalar = {"loss",      "sharpness", "sharpness_gap",  "dist_R_opt",
                                           "mean_cosine", "grad_norm", "sharpness_on_M", "sharpness_gap_on_M"};
  for (const auto& s : scalar) csv << ',' << s << "_mean," << s << "_std";
  for (int k = 1; k <= K; ++k) csv << ",sv_phi_" << k << "_mean,sv_phi_" << k << "_std";
  for (int k = 1; k <= K; ++k) csv << ",sv_R_" << k << "_mean,sv_R_" << k << "_std";
  csv << '\n';
  for (std::uint64_t step : schedule) {
    std::vector<const TrajectoryRow*> rows;
    for (const auto& r : runs)
      for (const auto& row : r)
        if (row.step == step) rows.push_back(&row);
    if (rows.empty()) continue;
    auto stats = [&](const std::function<std::optional<double>(const TrajectoryRow&)>& get) {
      double sum = 0, sum2 = 0;
      int count = 0;
      for (const auto* r : rows)
        if (auto v = get(*r)) {
          sum += *v;
          sum2 += *v * *v;
          ++count;
        }
      if (count == 0) return std::pair<std::optional<double>, std::optional<double>>{};
      const double mean = sum / count;
      const double var = count > 1 ? std::max(0.0, (sum2 - count * mean * mean) / (count - 1)) : 0.0;
      return std::pair<std::optional<double>, std::optional<double>>{mean, std::sqrt(var)};
    };
    TrajectoryRow m;
    m.step = step;
    m.t = rows[0]->t;
    m.tau = rows[0]->tau;
    csv << step << ',' << format_double(m.t) << ',' << format_double(m.tau) << ',' << rows.size();
    auto put = [&](const std::pair<std::optional<double>, std::optional<double>>& p) {
      csv << ',' << (p.first ? format_double(*p.first) : "") << ',' << (p.second ? format_double(*p.second) : "");
      return p.first;
    };
    m.metrics.loss = put(stats([](const TrajectoryRow& r) { return std::optional<double>(r.metrics.loss); })).value_or(0);
    m.metrics.sharpness =
        put(stats([](const TrajectoryRow& r) { return std::optional<double>(r.metrics.sharpness); })).value_or(0);
    m.metrics.sharpness_gap = put(stats([](const TrajectoryRow& r) { return r.metrics.sharpness_gap; }));
    m.metrics.distance_to_optimum = put(stats([](const TrajectoryRow& r) { return r.metrics.distance_to_optimum; }));
    m.metrics.mean_pairwise_cosine = put(stats([](const TrajectoryRow& r) { return r.metrics.mean_pairwise_cosine; }));
    m.metrics.gradient_norm = put(stats([](const TrajectoryRow& r) { return r.metrics.gradient_norm; }));
    m.metrics.sharpness_on_manifold = put(stats([](const TrajectoryRow& r) { return r.metrics.sharpness_on_manifold; }));
    m.metrics.sharpness_gap_on_manifold =
        put(stats([](const TrajectoryRow& r) { return r.metrics.sharpness_gap_on_manifold; }));
    m.metrics.feature_singular_values.resize(K);
    m.metrics.preactivation_singular_values.resize(K);
    for (int k = 0; k < K; ++k)
      m.metrics.feature_singular_values(k) = put(stats([k](const TrajectoryRow& r) {
                                                   return k < r.metrics.feature_singular_values.size()
                                                              ? std::optional<double>(r.metrics.feature_singular_values(k))
                                                              : std::nullopt;
                                                 })).value_or(0);
    for (int k = 0; k < K; ++k)
      m.metrics.preactivation_singular_values(k) =
          put(stats([k](const TrajectoryRow& r) {
                return k < r.metrics.preactivation_singular_values.size()
                           ? std::optional<double>(r.metrics.preactivation_singular_values(k))
                           : std::nullopt;
              })).value_or(0);
    csv << '\n';
    out.mean.push_back(std::move(m));
    out.seeds.push_back(static_cast<int>(rows.size()));
  }
  out.csv = csv.str();
  return out;
}

}  // namespace zeroloss
