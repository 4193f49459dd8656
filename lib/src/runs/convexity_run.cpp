#include "zeroloss/runs/convexity_run.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include "zeroloss/io/dataset.hpp"
#include "zeroloss/diagnostics/model_convexity_geometry.hpp"
#include "zeroloss/dynamics/label_noise_dynamics.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/interrupt_flag.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/presentation/convexity_outputs.hpp"
#include "zeroloss/model/problem_checks.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"
#include "zeroloss/runs/run_parameters.hpp"
#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss {
namespace {

using Progress = std::function<void(const std::string&)>;

// Every weights file of one run describes the same network: m rows, and the same column 'a' when given.
void check_same_second_layer(const Eigen::VectorXd& a, const Weights& w, const std::string& path) {
  if (w.theta.rows() != a.size()) {
    throw InputError(path + ": " + std::to_string(w.theta.rows()) + " neurons, but the network has m = " +
                     std::to_string(a.size()));
  }
  if (w.has_second_layer_column && w.a != a) {
    throw InputError(path + ": its column 'a' differs from the network's second layer; every weights file of one "
                           "run must describe the same network");
  }
}

// Opens the folder, analyzes, writes the outputs (search points through `writer`).
ConvexityRunSummary analyze_into(const ConvexityRunOptions& o, ConvexityOptions options, std::string problem,
                                 const std::function<ConvexityResult(const ConvexityOptions&)>& analyze,
                                 const ConvexityPointWriter& writer) {
  OutputDirectory out_dir(o.out, "convexity", OutputDirectoryOptions::fresh(o.overwrite));
  ConvexityRunSummary S;
  options.interrupt = o.interrupt;
  options = interrupt_every_part(std::move(options));
  try {
    S.result = analyze(options);
  } catch (const InterruptedError&) {
    out_dir.finish(RunStatus::Interrupted);  // nothing but the manifest was written
    throw;
  }
  ConvexityOutputFiles written = write_convexity_outputs_with(o.out, S.result, options, writer);
  out_dir.finish(RunStatus::Completed);
  S.files = std::move(written.files);
  S.figures = std::move(written.figures);
  S.figure_notes = std::move(written.figure_notes);
  S.options = std::move(options);
  S.problem = std::move(problem);
  return S;
}

// Points are u,v CSV files; the trajectories run the generic flow and SGD (ModelLabelNoiseDynamics).
ConvexityRunSummary run_diagonal(const ConvexityRunOptions& o, const Progress& progress) {
  Dataset data = read_dataset_csv(o.problem.data);
  const int d = static_cast<int>(data.X.cols());
  auto model = std::make_shared<const DiagonalLinearNetwork>(std::move(data.X), std::move(data.y));
  const auto read = [&](const std::string& path) -> Eigen::MatrixXd {
    const DiagonalWeights w = read_diagonal_weights_csv(path, d);
    return model->parameters(w.u, w.v);
  };
  ConvexitySettings st = o.settings;
  if (st.sgd) {
    check_sgd_time_scales(st.sgd->learning_rate, st.sgd_steps, st.sgd->label_noise);
    st.sgd->batch_size = parse_batch(o.sgd_batch, model->num_samples());
  }
  if (!o.trajectory_start.empty()) st.trajectory_start = read(o.trajectory_start);
  ConvexityOptions opt = st.options(static_cast<long>(model->num_parameters()) - model->num_samples());
  for (std::size_t k = 0; k < o.trajectory_weights.size(); ++k) {
    const std::string& path = o.trajectory_weights[k];
    opt.sampling.external.push_back({std::filesystem::path(path).stem().string(), static_cast<double>(k), read(path)});
  }
  const ModelConvexityGeometry geometry = diagonal_linear_convexity_geometry(model);
  const ModelLabelNoiseDynamics dynamics(model);
  const Eigen::MatrixXd point = o.problem.weights.empty() ? Eigen::MatrixXd(0, 0) : read(o.problem.weights);
  const std::optional<Eigen::MatrixXd> anchor =
      o.anchor.empty() ? std::nullopt : std::optional<Eigen::MatrixXd>(read(o.anchor));
  return analyze_into(
      o, std::move(opt),
      model->description() + " (tangent space of dimension 2d - n = " + std::to_string(geometry.tangent_dimension()) +
          ")",
      [&](const ConvexityOptions& options) {
        const TrajectoryRunner trajectories = [&](const Eigen::MatrixXd& start, const Progress& say) {
          return convexity_along_trajectories(geometry, dynamics, start, options.along_flow, options.along_sgd, say);
        };
        return analyze_convexity(geometry, point, anchor, options, progress, trajectories);
      },
      [&model](const std::string& stem, const Eigen::MatrixXd& theta) {
        write_diagonal_weights_csv(stem + ".csv", model->u(theta.col(0)), model->v(theta.col(0)));
        return std::vector<std::string>{stem + ".csv"};
      });
}

// The coordinates of a two-layer run: Theta (m x d), or, when any weights file is a reduced-weights
// manifest, beta = Theta U in the data's basis U (THEORY 4), so that no m x d matrix is formed. Every
// number convexity reports depends on Theta only through X Theta^T = Z beta^T (Z = X U), so the
// reduced run analyses the same points.
struct RunCoordinates {
  std::optional<ReducedCoordinates> reduced;  // set for a reduced run
  // A file had a part orthogonal to the data that the reduced run does not keep: a manifest whose
  // "perpendicular" is "dropped", or a weights CSV with Theta != Theta U U^T (beyond rounding).
  bool perpendicular_dropped = false;
};

// A weights file in the run's coordinates (`theta` holds beta in a reduced run): a manifest is read
// without forming Theta (beta_in_basis), a weights CSV is reduced as Theta U.
Weights read_point(const std::string& path, const std::string& data_path, int d, RunCoordinates& c) {
  if (!is_reduced_weights_path(path)) {
    Weights w = read_weights_csv(path, d);
    if (!c.reduced) return w;
    const Eigen::MatrixXd& U = c.reduced->basis();
    Eigen::MatrixXd beta = c.reduced->reduce(w.theta);
    const double perpendicular = (w.theta - beta * U.transpose()).norm();
    if (perpendicular > 1e-12 * std::max(1.0, w.theta.norm())) c.perpendicular_dropped = true;
    w.theta = std::move(beta);
    return w;
  }
  ReducedWeights saved = read_reduced_weights(path, d);
  c.perpendicular_dropped = c.perpendicular_dropped || saved.perpendicular_dropped;
  Weights w;
  w.theta = beta_in_basis(std::move(saved.beta), saved.basis, c.reduced->basis(), path, data_path);
  w.a = std::move(saved.a);
  w.has_second_layer_column = true;
  return w;
}

// Search points of a reduced run: reduced-weights manifests that share one basis file
// (search_points/basis.csv, written with the first point).
ConvexityPointWriter reduced_point_writer(const ReducedCoordinates& rc, const Eigen::VectorXd& a, bool dropped) {
  auto basis_written = std::make_shared<bool>(false);
  return [&rc, &a, dropped, basis_written](const std::string& stem, const Eigen::MatrixXd& beta) {
    const std::filesystem::path basis = std::filesystem::path(stem).parent_path() / "basis.csv";
    std::vector<std::string> files;
    if (!*basis_written) {
      write_reduced_basis(basis.string(), rc.basis());
      files.push_back(basis.string());
      *basis_written = true;
    }
    write_reduced_weights_sharing_basis(stem + ".json", beta, a, rc.basis(), "basis.csv", dropped);
    files.push_back(stem + ".csv");
    files.push_back(stem + ".json");
    return files;
  };
}

}  // namespace

ConvexityRunSummary run_convexity(const ConvexityRunOptions& o, const Progress& progress) {
  if (o.model == ModelKind::DiagonalLinear) return run_diagonal(o, progress);
  const Dataset data = read_dataset_csv(o.problem.data);
  const int d = static_cast<int>(data.X.cols());
  RunCoordinates coords;
  {
    bool any_manifest = false;
    for (const std::string* path : {&o.problem.weights, &o.anchor, &o.trajectory_start})
      any_manifest = any_manifest || is_reduced_weights_path(*path);
    for (const std::string& path : o.trajectory_weights) any_manifest = any_manifest || is_reduced_weights_path(path);
    if (any_manifest) coords.reduced.emplace(data.X);
  }
  const int p = coords.reduced ? coords.reduced->rank() : ReducedCoordinates(data.X).rank();
  std::optional<Weights> point, anchor, start;
  if (!o.problem.weights.empty()) point = read_point(o.problem.weights, o.problem.data, d, coords);
  if (!o.anchor.empty()) anchor = read_point(o.anchor, o.problem.data, d, coords);
  if (!o.trajectory_start.empty()) start = read_point(o.trajectory_start, o.problem.data, d, coords);
  if (!point && !anchor && !start) throw InputError("convexity needs a point, an anchor or a trajectory start");
  const Eigen::VectorXd a = point ? point->a : (anchor ? anchor->a : start->a);
  if (anchor) check_same_second_layer(a, *anchor, o.anchor);
  if (start) check_same_second_layer(a, *start, o.trajectory_start);
  const TwoLayerModel full(data.X, data.y, a, Activation::from_name(o.problem.activation));
  // A reduced run analyses the model with X replaced by Z = X U (THEORY 4).
  const TwoLayerModel model = coords.reduced ? coords.reduced->reduce(full) : full;
  // Every weights file evaluable in floating point, then the data diagnostics (model/problem_checks.hpp).
  if (point) require_evaluable(model, point->theta, problem_source(data, o.problem.data, o.problem.weights));
  if (anchor) require_evaluable(model, anchor->theta, problem_source(data, o.problem.data, o.anchor));
  if (start) require_evaluable(model, start->theta, problem_source(data, o.problem.data, o.trajectory_start));
  std::vector<ExternalPoint> external;
  for (std::size_t k = 0; k < o.trajectory_weights.size(); ++k) {
    const std::string& path = o.trajectory_weights[k];
    Weights w = read_point(path, o.problem.data, d, coords);
    check_same_second_layer(a, w, path);
    require_evaluable(model, w.theta, problem_source(data, o.problem.data, path));
    external.push_back({std::filesystem::path(path).stem().string(), static_cast<double>(k), std::move(w.theta)});
  }
  {
    const ProblemSource source = problem_source(data, o.problem.data, o.problem.weights);
    require_manifold(diagnose_data(full, source), source);
  }
  ConvexitySettings st = o.settings;
  if (st.sgd) {
    check_sgd_time_scales(st.sgd->learning_rate, st.sgd_steps, st.sgd->label_noise);
    st.sgd->batch_size = parse_batch(o.sgd_batch, model.n());
  }
  if (start) st.trajectory_start = start->theta;
  ConvexityOptions opt = st.options(static_cast<long>(model.m()) * p - model.n());
  opt.sampling.external = std::move(external);
  std::ostringstream problem;
  problem << model.activation().name() << ", n = " << model.n() << ", d = " << d << ", m = " << model.m()
          << " (p = rank X = " << p << "; non-trivial tangent part of dimension " << model.m() * p - model.n() << ")";
  if (coords.reduced) {
    problem << "; reduced coordinates: beta = Theta U (m x p), no m x d matrix formed; the part of Theta orthogonal "
               "to span{x_i} is "
            << (coords.perpendicular_dropped ? "dropped" : "zero") << " (no number depends on it)";
  }
  return analyze_into(
      o, std::move(opt), problem.str(),
      [&](const ConvexityOptions& options) {
        return analyze_convexity(model, point ? point->theta : Eigen::MatrixXd(0, 0),
                                 anchor ? std::optional<Eigen::MatrixXd>(anchor->theta) : std::nullopt, options,
                                 progress);
      },
      coords.reduced ? reduced_point_writer(*coords.reduced, a, coords.perpendicular_dropped)
                     : ConvexityPointWriter([&a](const std::string& stem, const Eigen::MatrixXd& theta) {
                         write_weights_csv(stem + ".csv", theta, a);
                         return std::vector<std::string>{stem + ".csv"};
                       }));
}

}  // namespace zeroloss
