#include "zeroloss/runs/convexity_run.hpp"

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
      [&model](const std::string& path, const Eigen::MatrixXd& theta) {
        write_diagonal_weights_csv(path, model->u(theta.col(0)), model->v(theta.col(0)));
      });
}

// A weights file as Theta: a weights CSV, or a reduced-weights manifest lifted to beta U^T.
Weights read_point(const std::string& path, int d) {
  if (!is_reduced_weights_path(path)) return read_weights_csv(path, d);
  return lifted_weights(read_reduced_weights(path, d));
}

}  // namespace

ConvexityRunSummary run_convexity(const ConvexityRunOptions& o, const Progress& progress) {
  if (o.model == ModelKind::DiagonalLinear) return run_diagonal(o, progress);
  const Dataset data = read_dataset_csv(o.problem.data);
  const int d = static_cast<int>(data.X.cols());
  const int p = ReducedCoordinates(data.X).rank();
  std::optional<Weights> point, anchor, start;
  if (!o.problem.weights.empty()) point = read_point(o.problem.weights, d);
  if (!o.anchor.empty()) anchor = read_point(o.anchor, d);
  if (!o.trajectory_start.empty()) start = read_point(o.trajectory_start, d);
  if (!point && !anchor && !start) throw InputError("convexity needs a point, an anchor or a trajectory start");
  const Eigen::VectorXd a = point ? point->a : (anchor ? anchor->a : start->a);
  if (anchor) check_same_second_layer(a, *anchor, o.anchor);
  if (start) check_same_second_layer(a, *start, o.trajectory_start);
  const TwoLayerModel model(data.X, data.y, a, Activation::from_name(o.problem.activation));
  // Every weights file evaluable in floating point, then the data diagnostics (model/problem_checks.hpp).
  if (point) require_evaluable(model, point->theta, problem_source(data, o.problem.data, o.problem.weights));
  if (anchor) require_evaluable(model, anchor->theta, problem_source(data, o.problem.data, o.anchor));
  if (start) require_evaluable(model, start->theta, problem_source(data, o.problem.data, o.trajectory_start));
  std::vector<ExternalPoint> external;
  for (std::size_t k = 0; k < o.trajectory_weights.size(); ++k) {
    const std::string& path = o.trajectory_weights[k];
    const Weights w = read_point(path, d);
    check_same_second_layer(a, w, path);
    require_evaluable(model, w.theta, problem_source(data, o.problem.data, path));
    external.push_back({std::filesystem::path(path).stem().string(), static_cast<double>(k), w.theta});
  }
  {
    const ProblemSource source = problem_source(data, o.problem.data, o.problem.weights);
    require_manifold(diagnose_data(model, source), source);
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
  problem << model.activation().name() << ", n = " << model.n() << ", d = " << model.d() << ", m = " << model.m()
          << " (p = rank X = " << p << "; non-trivial tangent part of dimension " << model.m() * p - model.n() << ")";
  return analyze_into(
      o, std::move(opt), problem.str(),
      [&](const ConvexityOptions& options) {
        return analyze_convexity(model, point ? point->theta : Eigen::MatrixXd(0, 0),
                                 anchor ? std::optional<Eigen::MatrixXd>(anchor->theta) : std::nullopt, options,
                                 progress);
      },
      [&a](const std::string& path, const Eigen::MatrixXd& theta) { write_weights_csv(path, theta, a); });
}

}  // namespace zeroloss
