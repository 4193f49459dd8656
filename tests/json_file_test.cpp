// The one JSON reader (presentation/json_file.hpp): malformed text names the source, the key being
// read and the parser's line and column; the readers routed through it keep their own wording.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/formats/sgd_checkpoint.hpp"
#include "zeroloss/verification/verification_config.hpp"

namespace zeroloss {
namespace {

class JsonReader : public test::FolderTest {
 protected:
  JsonReader() : FolderTest("json-file-") {}
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(JsonReader, MalformedTextNamesFileKeyLineAndColumn) {
  const std::string path = file("bad.json", "{\n  \"outer\": {\"inner\": [1, 2,, 3]}\n}\n");
  const std::string m = message_of([&] { read_json_file(path); });
  EXPECT_TRUE(contains(m, path + ": not valid JSON at key 'outer.inner' (")) << m;
  EXPECT_TRUE(contains(m, "line 2, column ")) << m;
}

TEST_F(JsonReader, TopLevelErrorHasNoKeyAndAdviceIsAppended) {
  const std::string path = file("bad.json", "[1, 2");
  JsonReading reading;
  reading.malformed = "broken thing";
  reading.advice = "do this instead";
  const std::string m = message_of([&] { read_json_file(path, reading); });
  EXPECT_TRUE(contains(m, path + ": broken thing (")) << m;
  EXPECT_FALSE(contains(m, "at key")) << m;
  EXPECT_EQ(m.substr(m.size() - std::string("; do this instead").size()), "; do this instead") << m;
}

TEST_F(JsonReader, NumberBeyondADoubleIsMalformed) {
  const std::string m = message_of([&] { parse_json_text("{\"a\": {\"b\": 1e400}}", "text"); });
  EXPECT_TRUE(contains(m, "text: not valid JSON at key 'a.b'")) << m;
}

TEST_F(JsonReader, KeyPathReturnsToTheOuterObject) {
  // After {"a": {"b": 1}} closes, the next key is at the top level again.
  const std::string m = message_of([&] { parse_json_text("{\"a\": {\"b\": 1}, \"c\": tru}", "text"); });
  EXPECT_TRUE(contains(m, "at key 'c'")) << m;
}

TEST_F(JsonReader, MissingFileUsesTheCallersWords) {
  JsonReading reading;
  reading.when_missing = "no such manifest";
  EXPECT_EQ(message_of([&] { read_json_file(path("none.json"), reading); }), path("none.json") + ": no such manifest");
  EXPECT_EQ(message_of([&] { read_json_file(path("none.json")); }), path("none.json") + ": cannot open file for reading");
}

TEST_F(JsonReader, IfValidGivesNothingForMissingOrMalformed) {
  EXPECT_FALSE(read_json_file_if_valid(path("none.json")).has_value());
  EXPECT_FALSE(read_json_file_if_valid(file("bad.json", "{\"a\": ")).has_value());
  EXPECT_FALSE(read_json_file_if_valid(file("huge.json", "[1e400]")).has_value());
  const auto good = read_json_file_if_valid(file("good.json", "{\"a\": [1, 2]}"));
  ASSERT_TRUE(good.has_value());
  EXPECT_EQ((*good)["a"][1], 2);
}

TEST_F(JsonReader, ReadersKeepTheirWording) {
  const std::string bad = file("bad.json", "{\"format\": \"x\",\n \"m\": }");
  const std::string ck = message_of([&] { read_sgd_checkpoint(bad); });
  EXPECT_TRUE(contains(ck, bad + ": not valid JSON at key 'm' (")) << ck;
  EXPECT_TRUE(contains(ck, "); ")) << ck;  // the checkpoint's advice follows
  const std::string rw = message_of([&] { read_reduced_weights(bad, -1); });
  EXPECT_TRUE(contains(rw, bad + ": malformed reduced-weights manifest at key 'm' (")) << rw;
  const std::string cfg = message_of([&] { read_verification_config(bad, false); });
  EXPECT_TRUE(contains(cfg, bad + ": not a valid configuration at key 'm' (")) << cfg;
  EXPECT_TRUE(contains(message_of([&] { read_reduced_weights(path("none.json"), -1); }),
                       ": cannot open the reduced-weights manifest"));
}

}  // namespace
}  // namespace zeroloss
