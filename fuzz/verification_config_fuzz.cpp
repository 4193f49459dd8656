// Configurations of the verification report (zeroloss/verification/verification_config.hpp:
// read_verification_config), resolved both without and with --quick.
// The whole input is the file config.json.
#include <cmath>
#include <optional>

#include <nlohmann/json.hpp>

#include "fuzz_reader.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/verification/verification_config.hpp"

namespace {

// Every key of `def` is in `val` with the default's JSON type (numbers: integers stay integers),
// recursively: read_verification_config's documented result.
bool complete(const nlohmann::json& def, const nlohmann::json& val) {
  if (def.is_object()) {
    if (!val.is_object()) return false;
    for (auto it = def.begin(); it != def.end(); ++it)
      if (!val.contains(it.key()) || !complete(it.value(), val[it.key()])) return false;
    return true;
  }
  if (def.is_number_integer()) return val.is_number_integer();
  if (def.is_number()) return val.is_number() && std::isfinite(val.get<double>());
  return def.type() == val.type();
}

}  // namespace

void zeroloss::fuzz::read_input(const Input& input) {
  const std::string path = input.write("config.json", input.bytes());
  static const nlohmann::json defaults = [] {
    nlohmann::json d = default_verification_config();
    d.erase("quick");
    return d;
  }();
  // Both resolutions are validated whichever is asked for: they are refused or accepted together.
  std::optional<InputError> refused[2];
  for (const bool quick : {false, true}) {
    try {
      const nlohmann::json config = read_verification_config(path, quick);
      if (!complete(defaults, config) || config.value("mode", "") != (quick ? "quick" : "full")) __builtin_trap();
    } catch (const InputError& e) {
      refused[quick].emplace(e);
    }
  }
  if (refused[0].has_value() != refused[1].has_value()) __builtin_trap();
  if (refused[1]) throw *refused[1];
}
