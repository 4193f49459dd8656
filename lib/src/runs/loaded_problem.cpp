#include "zeroloss/runs/loaded_problem.hpp"

#include <utility>

#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

// The checks shared by files and arrays once the numbers are read: the model (finite X, y, a, a_j
// != 0), the evaluation at Theta, the data diagnostics under `policy`.
LoadedProblem validated_problem(Dataset data, Weights w, const Activation& phi, const ProblemSource& source,
                                bool theta_has_columns, ManifoldPolicy policy) {
  TwoLayerModel model(data.X, data.y, w.a, phi);
  require_evaluable(model, w.theta, source, theta_has_columns);
  DataDiagnostics diagnostics = diagnose_data(model, source);
  if (policy == ManifoldPolicy::Require) require_manifold(diagnostics, source);
  return LoadedProblem{std::move(data), std::move(w), std::move(model), std::move(diagnostics)};
}

}  // namespace

LoadedProblem load_problem(const ProblemFiles& o, ManifoldPolicy policy) {
  Activation phi = Activation::from_name(o.activation);
  Dataset data = read_dataset_csv(o.data);
  Weights w = read_weights_file(o.weights, static_cast<int>(data.X.cols()));
  const ProblemSource source = problem_source(data, o.data, o.weights);
  const bool from_csv = !is_reduced_weights_path(o.weights);
  return validated_problem(std::move(data), std::move(w), phi, source, from_csv, policy);
}

LoadedProblem load_problem(const ProblemArrays& arrays, ManifoldPolicy policy) {
  Activation phi = Activation::from_name(arrays.activation);
  const Eigen::Index d = arrays.X.cols(), m = arrays.theta.rows();
  // What read_dataset_csv and read_weights_csv check, for arrays (TwoLayerModel checks the rest:
  // X not empty, one label per row, finite numbers, a_j != 0).
  if (m < 1) throw InputError("weights Theta: no rows; expected one row per neuron (m >= 1)");
  if (arrays.theta.cols() != d) {
    throw InputError("weights Theta: " + std::to_string(arrays.theta.cols()) +
                     " weight columns per neuron, but the data X has d = " + std::to_string(d) +
                     " features; expected one column per feature");
  }
  if (arrays.a.size() != 0 && arrays.a.size() != m) {
    throw InputError("second layer a: " + std::to_string(arrays.a.size()) + " weights for m = " + std::to_string(m) +
                     " neurons (rows of Theta); expected one per neuron");
  }
  Dataset data;
  data.X = arrays.X;
  data.y = arrays.y;
  for (Eigen::Index k = 0; k < d; ++k) data.feature_names.push_back("x" + std::to_string(k + 1));
  Weights w;
  w.theta = arrays.theta;
  w.has_second_layer_column = arrays.a.size() != 0;
  w.a = w.has_second_layer_column ? arrays.a : Eigen::VectorXd::Ones(m);
  const ProblemSource source = problem_source(data, "data X", "weights Theta");
  return validated_problem(std::move(data), std::move(w), phi, source, true, policy);
}

Weights read_weights_file(const std::string& path, int d) {
  if (!is_reduced_weights_path(path)) return read_weights_csv(path, d);
  // A reduced-weights manifest (zeroloss sgd --save-reduced / --init): Theta = beta U^T.
  return lifted_weights(read_reduced_weights(path, d));
}

Weights lifted_weights(ReducedWeights reduced) {
  Weights w;
  w.theta.noalias() = reduced.beta * reduced.basis.transpose();
  w.a = std::move(reduced.a);
  w.has_second_layer_column = true;
  return w;
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
