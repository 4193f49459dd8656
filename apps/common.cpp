#include "common.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>
#include <iostream>

#include "option_checks.hpp"
#include "zeroloss/errors.hpp"

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
