#include "common.hpp"

#include <iostream>

#include "option_checks.hpp"
#include "zeroloss/support/errors.hpp"

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

void add_model_option(CLI::App& app, ModelKind& kind) {
  app.add_option_function<std::string>(
         "--model", [&kind](const std::string& name) { kind = parse_model_kind(name); },
         "two-layer (default): the network f(x) = sum_j a_j phi(theta_j . x), weights CSV w1..wd[,a]; "
         "diagonal-linear: f(x) = <u*u - v*v, x> (THEORY 9), weights CSV with header u,v and one row per feature")
      ->check(checks::one_of(model_kind_names()));
}

void warn_diagnostics(const DataDiagnostics& g, const std::string& command) {
  if (!g.blocking()) return;
  for (const std::string& f : g.findings)
    std::cerr << "zeroloss " << command << ": warning: " << f << "\n";
}

void add_overwrite_flag(CLI::App& app, bool& overwrite) {
  app.add_flag("--overwrite", overwrite,
               "Write into an --out folder that holds an earlier zeroloss run: first remove the files that run "
               "recorded in its manifest (.zeroloss-run.json); files zeroloss did not write are kept. Without it "
               "a folder that is not empty is refused (exit 2)");
}

}  // namespace zeroloss::cli
