#pragma once
// What `zeroloss check` prints: one JSON object with every measured number (--json; see
// docs/commands/check.md) or a heading and print_derivative_check's table.

#include <nlohmann/json.hpp>

#include <iosfwd>
#include <optional>
#include <string>

#include "zeroloss/diagnostics/derivative_check.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss {

// What the checks ran on: the JSON's "function" and "model" (the interface models) or "activation"
// (the two-layer network), and the table's heading.
struct DerivativeCheckSubject {
  std::string function;
  std::optional<std::string> model;
  std::string activation;
  std::string heading;
};
DerivativeCheckSubject sharpness_check_subject(const TwoLayerModel& model);
DerivativeCheckSubject sharpness_check_subject(const DiagonalLinearNetwork& model);

// The JSON; the seed and slope tolerance are the result's options, `injected` the deliberate error
// (null in the JSON when none).
nlohmann::ordered_json derivative_check_json(const DerivativeCheckResult& r, const DerivativeCheckSubject& subject,
                                             const InjectedError& injected);
// The heading, a warning line when an error was injected, the table.
void print_derivative_check_report(std::ostream& out, const DerivativeCheckResult& r,
                                   const DerivativeCheckSubject& subject, const InjectedError& injected);
// The checks that ran and failed, e.g. "hessian Taylor slope, symmetry" (empty when all passed).
std::string failed_check_names(const DerivativeCheckResult& r);

}  // namespace zeroloss
