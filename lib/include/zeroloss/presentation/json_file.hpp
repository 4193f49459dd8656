#pragma once
// Reading a JSON document from a file (a command's summary.json, a saved verdict).

#include <nlohmann/json.hpp>

#include <string>

namespace zeroloss {

// The JSON value in the file `path`. Throws InputError naming the file when it is missing ("the
// command that should have written it did not") or not valid JSON (with the parser's position).
nlohmann::json read_json_file(const std::string& path);

}  // namespace zeroloss
