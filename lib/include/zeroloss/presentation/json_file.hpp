#pragma once
// The one JSON reader of the library: every JSON document zeroloss reads (a command's
// summary.json, a checkpoint, a run manifest, a reduced-weights manifest, a verification
// configuration, a saved verdict) is parsed here, so malformed input always gets the same message:
//
//   <source>: not valid JSON at key 'a.b' (<parser message with line and column>); <advice>
//
// "at key" names the innermost object key being read when the parser stopped (omitted at the top
// level); the phrase "not valid JSON" and the trailing advice are the caller's to choose. A number
// that does not fit a double (1e400) counts as malformed.

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace zeroloss {

struct JsonReading {
  std::string malformed = "not valid JSON";  // what the message calls malformed input
  std::string advice;                        // appended after "; " when not empty
  std::string when_missing = "cannot open file for reading";  // read_json_file: the file cannot be opened
};

// Parses `text`, which came from `source` (a file name or a description of the text). Throws
// InputError as above when `text` is not one JSON value.
nlohmann::json parse_json_text(const std::string& text, const std::string& source, const JsonReading& reading = {});

// The JSON value in the file `path`. Throws InputError "<path>: <when_missing>" when the file cannot
// be opened or read, and as parse_json_text when it is malformed.
nlohmann::json read_json_file(const std::string& path, const JsonReading& reading = {});

// The JSON value in the file `path`, or nothing when the file is missing, unreadable or malformed:
// for files whose absence or damage is a state the caller handles (a run manifest of a run that was
// killed while writing it).
std::optional<nlohmann::json> read_json_file_if_valid(const std::string& path);

}  // namespace zeroloss
