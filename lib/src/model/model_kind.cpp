#include "zeroloss/model/model_kind.hpp"

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

const char* to_string(ModelKind kind) {
  switch (kind) {
    case ModelKind::TwoLayer: return "two-layer";
    case ModelKind::DiagonalLinear: return "diagonal-linear";
  }
  return "?";
}

const std::vector<std::string>& model_kind_names() {
  static const std::vector<std::string> names{to_string(ModelKind::TwoLayer), to_string(ModelKind::DiagonalLinear)};
  return names;
}

ModelKind parse_model_kind(const std::string& name) {
  if (name == to_string(ModelKind::TwoLayer)) return ModelKind::TwoLayer;
  if (name == to_string(ModelKind::DiagonalLinear)) return ModelKind::DiagonalLinear;
  throw InputError("unknown model '" + name + "'; expected two-layer or diagonal-linear");
}

}  // namespace zeroloss
