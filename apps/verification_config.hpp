#pragma once
// Configuration of the verification report (`zeroloss run`): an embedded default (printed by
// `zeroloss run --print-config`), a user file merged over it key by key, and the `--quick` overrides.
// Unknown keys and wrong types are errors that name the key, never silently ignored.

#include <nlohmann/json.hpp>

#include <string>

namespace zeroloss::cli {

// The default configuration, including its "quick" section (the overrides --quick applies).
nlohmann::json default_verification_config();

// Merges `user` (read from `source`, for messages) over the defaults, then applies the quick
// overrides when `quick` is set, and validates every value. Throws InputError naming the key.
nlohmann::json resolve_verification_config(const nlohmann::json& user, const std::string& source, bool quick);

// Reads a JSON file; throws InputError with the file name and the parser's line and column.
nlohmann::json read_config_file(const std::string& path);

}  // namespace zeroloss::cli
