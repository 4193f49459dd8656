#pragma once
// The models the toolkit ships, for the programs that choose one by name (`--model`).

#include <string>
#include <vector>

namespace zeroloss {

enum class ModelKind {
  TwoLayer,        // model/two_layer_network.hpp (THEORY 1)
  DiagonalLinear,  // model/diagonal_linear_network.hpp (THEORY 9)
};

// "two-layer", "diagonal-linear".
const char* to_string(ModelKind kind);
// The inverse of to_string; throws InputError listing the names otherwise.
ModelKind parse_model_kind(const std::string& name);
// The names, in enum order.
const std::vector<std::string>& model_kind_names();

}  // namespace zeroloss
