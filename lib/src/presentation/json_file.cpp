#include "zeroloss/presentation/json_file.hpp"

#include <fstream>
#include <sstream>
#include <vector>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

// The path of object keys the parser is inside, "a.b.c", maintained from its callback events.
struct KeyPath {
  std::vector<std::string> outer;  // keys of the enclosing objects ("" for an array element or the top)
  std::string last;                // the key most recently read in the current object
  std::string current() const {
    std::string s;
    for (const auto& p : outer) s += (s.empty() || p.empty() ? "" : ".") + p;
    if (!last.empty()) s += (s.empty() ? "" : ".") + last;
    return s;
  }
};

// The whole file as text; false when it cannot be opened or read.
bool slurp(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return false;
  *text = buffer.str();
  return true;
}

}  // namespace

nlohmann::json parse_json_text(const std::string& text, const std::string& source, const JsonReading& reading) {
  using json = nlohmann::json;
  KeyPath keys;
  json::parser_callback_t track = [&keys](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys.outer.push_back(keys.last);
        keys.last.clear();
        break;
      case json::parse_event_t::object_end:
        if (!keys.outer.empty()) {
          keys.last = keys.outer.back();
          keys.outer.pop_back();
        }
        break;
      case json::parse_event_t::key: keys.last = parsed.get<std::string>(); break;
      default: break;
    }
    return true;
  };
  try {
    return json::parse(text, track);
  } catch (const json::exception& e) {
    // parse_error (syntax, with line and column) or out_of_range 406 (a number beyond a double).
    const std::string key = keys.current();
    throw InputError(source + ": " + reading.malformed + (key.empty() ? "" : " at key '" + key + "'") + " (" + e.what() +
                     ")" + (reading.advice.empty() ? "" : "; " + reading.advice));
  }
}

nlohmann::json read_json_file(const std::string& path, const JsonReading& reading) {
  std::string text;
  if (!slurp(path, &text)) throw InputError(path + ": " + reading.when_missing);
  return parse_json_text(text, path, reading);
}

std::optional<nlohmann::json> read_json_file_if_valid(const std::string& path) {
  std::string text;
  if (!slurp(path, &text)) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace zeroloss
