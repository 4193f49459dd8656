#include "common.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>
#include <iostream>

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

LoadedProblem load_problem(const ProblemOptions& o, ManifoldPolicy policy) {
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

void warn_diagnostics(const DataDiagnostics& g, const std::string& command) {
  if (!g.blocking()) return;
  for (const std::string& f : g.findings)
    std::cerr << "zeroloss " << command << ": warning: " << f << "\n";
}

nlohmann::ordered_json number(double x) { return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(nullptr); }

nlohmann::ordered_json vector_json(const Eigen::VectorXd& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (Eigen::Index k = 0; k < v.size(); ++k) a.push_back(number(v(k)));
  return a;
}

std::string g6(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  std::ostringstream s;
  s << std::setprecision(6) << x;
  return s.str();
}

void add_overwrite_flag(CLI::App& app, bool& overwrite) {
  app.add_flag("--overwrite", overwrite,
               "Write into an --out folder that holds an earlier zeroloss run: first remove the files that run "
               "recorded in its manifest (.zeroloss-run.json); files zeroloss did not write are kept. Without it "
               "a folder that is not empty is refused (exit 2)");
}

}  // namespace zeroloss::cli
