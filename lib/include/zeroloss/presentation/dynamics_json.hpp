#pragma once
// JSON of the dynamics runs (summary.json, checkpoint trajectories; docs/formats.md): files read
// and written whole, and the objects of trajectory rows, rate fits, THEORY's assumptions and the
// data diagnostics.

#include <nlohmann/json.hpp>

#include <Eigen/Dense>

#include <optional>
#include <string>

#include "zeroloss/model/network.hpp"
#include "zeroloss/model/problem_checks.hpp"
#include "zeroloss/numerics/rate_fit.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"

namespace zeroloss {

// Writes j.dump(2) and a newline atomically (io/csv.hpp's write_file_atomic).
void write_json(const std::string& path, const nlohmann::json& j);
// A number, or null when empty.
nlohmann::json optional_json(const std::optional<double>& v);

// The metrics of one state (keys loss, sharpness, sharpness_gap, dist_R_opt, mean_cosine, grad_norm,
// sharpness_on_M, sharpness_gap_on_M, the two spectra and their numerical ranks); row_json adds
// step, t, tau. row_from_json reads a row_json object back (json exceptions on a malformed one).
nlohmann::json metrics_json(const TrajectoryMetrics& m);
nlohmann::json row_json(const TrajectoryRow& row);
TrajectoryRow row_from_json(const nlohmann::json& j);

nlohmann::json fit_json(const ExponentialTailFit& f);
nlohmann::json line_fit_json(const LinearFit& f);

// THEORY's assumptions (phi' > 0, phi''' > 0) checked at the pre-activations R = Z beta^T of the
// (reduced) model at beta: which fails and where (check_assumptions of model/activation.hpp).
nlohmann::json assumptions_json(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta);

// The data diagnostics (summary.json "data_diagnostics"); samples are numbered from 1.
nlohmann::json diagnostics_json(const DataDiagnostics& diagnostics);

}  // namespace zeroloss
