#include "common.hpp"

#include <filesystem>

#include "option_checks.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/reduced_weights.hpp"

namespace zeroloss::cli {

void add_problem_options(CLI::App& app, ProblemOptions& o, bool weights_required) {
  app.add_option("--data", o.data, "Data CSV: header row, column 'y' = labels, other columns = features")
      ->required()
      ->check(checks::existing_file("--data"));
  auto* w = app.add_option("--weights", o.weights,
                           "Weights CSV: one row per neuron (d numbers), optional header, optional column 'a' "
                           "(fixed second-layer weight, default 1); or a reduced-weights manifest *.json written by "
                           "zeroloss sgd (--save-reduced, --init), read as Theta = beta U^T");
  w->check(checks::existing_file("--weights"));
  if (weights_required) w->required();
  app.add_option("--activation", o.activation, "Activation: " + Activation::known_names())
      ->capture_default_str()
      ->check(checks::activation_name());
}

LoadedProblem load_problem(const ProblemOptions& o) {
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
  return LoadedProblem{std::move(data), std::move(w), std::move(model)};
}

void add_overwrite_flag(CLI::App& app, bool& overwrite) {
  app.add_flag("--overwrite", overwrite,
               "Write into an --out folder that holds an earlier zeroloss run: first remove the files that run "
               "recorded in its manifest (.zeroloss-run.json); files zeroloss did not write are kept. Without it "
               "a folder that is not empty is refused (exit 2)");
}

void ensure_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    throw InputError(dir + ": cannot create output directory (" + ec.message() + ")");
  }
}

}  // namespace zeroloss::cli
