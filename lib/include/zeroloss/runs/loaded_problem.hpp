#pragma once
// A two-layer problem read from its files: the data (X, y), the weights Theta (a weights CSV or a
// reduced-weights manifest), the activation phi, validated once before any work.

#include <string>

#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/model/problem_checks.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss {

// The files (and the activation by name) a problem is read from.
struct ProblemFiles {
  std::string data;               // data CSV: column 'y' = labels, other columns = features
  std::string weights;            // weights CSV, or a reduced-weights manifest *.json
  std::string activation = "cubic";
};

struct LoadedProblem {
  Dataset data;
  Weights weights;
  TwoLayerModel model;  // X, y from the data; a from the weights file (column 'a', default 1)
  DataDiagnostics diagnostics;  // what the data imply for M (model/problem_checks.hpp)
};

// What a run does when the data make M empty or J J^T singular everywhere (diagnose_data):
// Require refuses (require_manifold: InputError or SingularPointError); Warn loads anyway (the
// caller reports LoadedProblem::diagnostics).
enum class ManifoldPolicy { Require, Warn };

// The same problem given in memory (e.g. numpy arrays from the Python module).
struct ProblemArrays {
  Eigen::MatrixXd X;      // n x d data (features x1..xd)
  Eigen::VectorXd y;      // n labels
  Eigen::MatrixXd theta;  // m x d weights Theta (row j = theta_j)
  Eigen::VectorXd a;      // m second-layer weights; empty: a = 1 (as a weights file without column 'a')
  std::string activation = "cubic";
};

// Reads and validates everything, including that the model can be evaluated in floating point at
// the weights (require_evaluable) and the data diagnostics under `policy`; throws InputError naming
// the file on any problem. A reduced-weights manifest is read as Theta = beta U^T.
LoadedProblem load_problem(const ProblemFiles& files, ManifoldPolicy policy = ManifoldPolicy::Require);

// The same for a problem in memory: the same checks as the files (data and weights of matching
// sizes, finite numbers, nonzero second layer, require_evaluable, the data diagnostics under
// `policy`), and the same messages with the quantity named instead of the file and line ("data X,
// sample 4, column 'x2'", "weights Theta, neuron 3 (row 3), column 1", "second layer a").
LoadedProblem load_problem(const ProblemArrays& arrays, ManifoldPolicy policy = ManifoldPolicy::Require);

// The weights of a file as Theta (m x d): a weights CSV (read_weights_csv), or a reduced-weights
// manifest (*.json) read as Theta = beta U^T, which forms the m x d matrix (has_second_layer_column
// true: the manifest always holds a). `d` is checked against the file.
Weights read_weights_file(const std::string& path, int d);
// Theta = beta U^T of reduced weights (forms the m x d matrix).
Weights lifted_weights(ReducedWeights reduced);

// The source names of a loaded data set and weights file, for the messages of model/problem_checks.hpp.
ProblemSource problem_source(const Dataset& data, const std::string& data_path, const std::string& weights_path);

}  // namespace zeroloss
