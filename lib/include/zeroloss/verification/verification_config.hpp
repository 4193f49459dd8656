#pragma once
// Configuration of the verification report (`zeroloss run`): an embedded default (printed by
// `zeroloss run --print-config`), a user file merged over it key by key, and the `--quick` overrides.
//
// Contract: a configuration returned by resolve/parse/read_verification_config is complete (every
// key of the default present, with the default's JSON type) and every value is in range for the
// commands the report runs, so the claims may read it without further checks. Anything else throws
// InputError before any work, naming the file and the key (e.g. "my.json: key 'flow_rate.log_points'
// must be an integer >= 1 (got 0)"): unknown keys, wrong types, numbers out of range or that do not
// fit a double (1e400), unknown activations, generators, claims or presets. Values given in the
// user's "quick" section are validated whether or not --quick is set.

#include <nlohmann/json.hpp>

#include <string>

namespace zeroloss {

// The default configuration, including its "quick" section (the overrides --quick applies).
nlohmann::json default_verification_config();

// Merges `user` (from `source`, named in messages) over the defaults, then applies the quick
// overrides when `quick` is set, validates every value and sets "mode" to "quick" or "full".
// A null `user` means the defaults alone.
nlohmann::json resolve_verification_config(const nlohmann::json& user, const std::string& source, bool quick);

// Parses `text` as JSON (errors name `source`, the line and column, and the key being read) and
// resolves it as above.
nlohmann::json parse_verification_config(const std::string& text, const std::string& source, bool quick);

// Reads the configuration file `path` and resolves it; an empty path means the defaults alone.
nlohmann::json read_verification_config(const std::string& path, bool quick);

}  // namespace zeroloss
