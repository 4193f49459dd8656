#include "zeroloss/runs/loaded_problem.hpp"

#include <utility>

#include "zeroloss/formats/reduced_weights.hpp"

namespace zeroloss {

LoadedProblem load_problem(const ProblemFiles& o, ManifoldPolicy policy) {
  Activation phi = Activation::from_name(o.activation);
  Dataset data = read_dataset_csv(o.data);
  Weights w;
  if (is_reduced_weights_path(o.weights)) {
    // A reduced-weights manifest (zeroloss sgd --save-reduced / --init): Theta = beta U^T.
    ReducedWeights r = read_reduced_weights(o.weights, static_cast<int>(data.X.cols()));
    w.theta.noalias() = r.beta * r.basis.transpose();
    w.a = std::move(r.a);
    w.has_second_layer_column = true;
  } else {
    w = read_weights_csv(o.weights, static_cast<int>(data.X.cols()));
  }
  TwoLayerModel model(data.X, data.y, w.a, phi);
  const ProblemSource source = problem_source(data, o.data, o.weights);
  require_evaluable(model, w.theta, source, !is_reduced_weights_path(o.weights));
  DataDiagnostics diagnostics = diagnose_data(model, source);
  if (policy == ManifoldPolicy::Require) require_manifold(diagnostics, source);
  return LoadedProblem{std::move(data), std::move(w), std::move(model), std::move(diagnostics)};
}

ProblemSource problem_source(const Dataset& data, const std::string& data_path, const std::string& weights_path) {
  ProblemSource s;
  s.data = data_path;
  s.weights = weights_path;
  s.data_lines = data.line_numbers;
  s.feature_names = data.feature_names;
  return s;
}

}  // namespace zeroloss
