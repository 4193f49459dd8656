#include "zeroloss/presentation/dynamics_json.hpp"

#include <vector>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {

void write_json(const std::string& path, const nlohmann::json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

namespace {
std::vector<double> to_vector(const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }
Eigen::VectorXd to_eigen(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}
std::optional<double> optional_from(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<double>();
}
}  // namespace

nlohmann::json metrics_json(const TrajectoryMetrics& m) {
  return {{"loss", m.loss},
          {"sharpness", m.sharpness},
          {"sharpness_gap", optional_json(m.sharpness_gap)},
          {"dist_R_opt", optional_json(m.distance_to_optimum)},
          {"mean_cosine", optional_json(m.mean_pairwise_cosine)},
          {"grad_norm", optional_json(m.gradient_norm)},
          {"sharpness_on_M", optional_json(m.sharpness_on_manifold)},
          {"sharpness_gap_on_M", optional_json(m.sharpness_gap_on_manifold)},
          {"feature_singular_values", to_vector(m.feature_singular_values)},
          {"preactivation_singular_values", to_vector(m.preactivation_singular_values)},
          {"feature_rank", numerical_rank(m.feature_singular_values)},
          {"preactivation_rank", numerical_rank(m.preactivation_singular_values)}};
}

nlohmann::json row_json(const TrajectoryRow& row) {
  nlohmann::json j = metrics_json(row.metrics);
  j["step"] = row.step;
  j["t"] = row.t;
  j["tau"] = row.tau;
  return j;
}

TrajectoryRow row_from_json(const nlohmann::json& j) {
  TrajectoryRow r;
  r.step = j.at("step").get<std::uint64_t>();
  r.t = j.at("t").get<double>();
  r.tau = j.at("tau").get<double>();
  r.metrics.loss = j.at("loss").get<double>();
  r.metrics.sharpness = j.at("sharpness").get<double>();
  r.metrics.sharpness_gap = optional_from(j.at("sharpness_gap"));
  r.metrics.distance_to_optimum = optional_from(j.at("dist_R_opt"));
  r.metrics.mean_pairwise_cosine = optional_from(j.at("mean_cosine"));
  r.metrics.gradient_norm = optional_from(j.at("grad_norm"));
  r.metrics.sharpness_on_manifold = optional_from(j.at("sharpness_on_M"));
  r.metrics.sharpness_gap_on_manifold = optional_from(j.at("sharpness_gap_on_M"));
  r.metrics.feature_singular_values = to_eigen(j.at("feature_singular_values").get<std::vector<double>>());
  r.metrics.preactivation_singular_values = to_eigen(j.at("preactivation_singular_values").get<std::vector<double>>());
  return r;
}

nlohmann::json line_fit_json(const LinearFit& f) {
  return {{"points", f.points},
          {"slope", f.slope},
          {"intercept", f.intercept},
          {"r_squared", f.r_squared},
          {"slope_stderr", optional_json(f.slope_stderr)},
          {"slope_ci_low", optional_json(f.slope_ci_low)},
          {"slope_ci_high", optional_json(f.slope_ci_high)},
          {"confidence", f.confidence}};
}

nlohmann::json fit_json(const ExponentialTailFit& f) {
  nlohmann::json j = {
      {"applicable", f.applicable}, {"fitted", f.fitted}, {"exponential", f.exponential}, {"verdict", f.verdict}};
  if (f.fitted) {
    j["rate_mu"] = f.rate;
    j["rate_ci_low"] = optional_json(f.rate_ci_low);
    j["rate_ci_high"] = optional_json(f.rate_ci_high);
    j["amplitude"] = f.amplitude;
    j["r_squared"] = f.r_squared;
    j["points"] = f.points;
    j["tau_start"] = f.x_start;
    j["tau_end"] = f.x_end;
    j["first_half_rate"] = f.first_half_rate;
    j["second_half_rate"] = f.second_half_rate;
  }
  return j;
}

nlohmann::json assumptions_json(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta) {
  // The pre-activations R = Z beta^T written straight into the vector of points (no second n x m copy).
  std::vector<double> points(static_cast<std::size_t>(model.n()) * static_cast<std::size_t>(beta.rows()));
  Eigen::Map<Eigen::MatrixXd>(points.data(), model.n(), beta.rows()).noalias() = model.X() * beta.transpose();
  const Activation& phi = model.activation();
  const AssumptionReport a = check_assumptions(phi, points);
  return {{"holds", a.holds()},
          {"min_first_derivative", a.min_first_derivative},
          {"argmin_first_derivative", a.argmin_first_derivative},
          {"min_third_derivative", a.min_third_derivative},
          {"argmin_third_derivative", a.argmin_third_derivative},
          {"description", a.describe(phi.name())}};
}

nlohmann::json diagnostics_json(const DataDiagnostics& g) {
  auto pairs = [](const std::vector<RowPair>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const RowPair& p : v) a.push_back({{"first", p.first + 1}, {"second", p.second + 1}, {"factor", p.factor}});
    return a;
  };
  auto samples = [](const std::vector<int>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (int i : v) a.push_back(i + 1);
    return a;
  };
  return {{"n", g.n},
          {"d", g.d},
          {"m", g.m},
          {"rank", g.rank},
          {"rank_tolerance", g.rank_tolerance},
          {"sigma_max", g.sigma_max},
          {"sigma_min", g.sigma_min},
          {"identical_rows_same_label", pairs(g.identical_same_label)},
          {"identical_rows_conflicting_labels", pairs(g.identical_conflicting)},
          {"mirrored_rows_consistent", pairs(g.mirrored_consistent)},
          {"mirrored_rows_conflicting", pairs(g.mirrored_conflicting)},
          {"parallel_rows", pairs(g.parallel)},
          {"zero_rows_consistent", samples(g.zero_rows_consistent)},
          {"zero_rows_conflicting", samples(g.zero_rows_conflicting)},
          {"manifold_empty", g.empty_manifold},
          {"jjt_singular_everywhere", g.singular_everywhere},
          {"findings", g.findings}};
}

}  // namespace zeroloss
