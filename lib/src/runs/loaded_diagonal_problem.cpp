#include "zeroloss/runs/loaded_diagonal_problem.hpp"

#include <utility>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/formats/reduced_weights.hpp"

namespace zeroloss {

LoadedDiagonalProblem load_diagonal_problem(const ProblemFiles& files) {
  if (is_reduced_weights_path(files.weights))
    throw InputError(files.weights + ": reduced-weights manifests are two-layer weights; the diagonal linear network "
                                     "reads a CSV with header u,v");
  Dataset data = read_dataset_csv(files.data);
  const DiagonalWeights w = read_diagonal_weights_csv(files.weights, static_cast<int>(data.X.cols()));
  auto model = std::make_shared<const DiagonalLinearNetwork>(std::move(data.X), std::move(data.y));
  Eigen::VectorXd theta = model->parameters(w.u, w.v);
  return {std::move(model), std::move(theta)};
}

}  // namespace zeroloss
