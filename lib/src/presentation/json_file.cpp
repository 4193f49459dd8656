#include "zeroloss/presentation/json_file.hpp"

#include <fstream>

#include "zeroloss/errors.hpp"

namespace zeroloss {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": missing (the command that should have written it did not)");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

}  // namespace zeroloss
