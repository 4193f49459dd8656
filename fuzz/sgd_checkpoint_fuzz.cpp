// Checkpoints of label-noise SGD runs (zeroloss/formats/sgd_checkpoint.hpp: read_sgd_checkpoint). The input
// is a mode byte, then two parts separated by a NUL byte: checkpoint.json and the block file. The
// block is written under the name the reader expects, checkpoint_<state.step>.csv, when the JSON
// parses and has such a step (else checkpoint_0.csv).
//
// The JSON is sealed by a checksum over all its fields, and names its block's checksum, so most
// mutations are refused by the seal check. When the mode byte is odd the harness first makes the
// mutated input verify (the block's recorded checksum set to that of the block part, the seal
// recomputed with sgd_checkpoint_seal), so the fuzzer also reaches the field checks and the block
// reader behind them.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_reader.hpp"
#include "zeroloss/io/matrix_csv.hpp"
#include "zeroloss/formats/sgd_checkpoint.hpp"

namespace {

using nlohmann::json;

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

const json* state_block(const json& j) {
  if (!j.is_object() || !j.contains("state") || !j["state"].is_object()) return nullptr;
  const json& st = j["state"];
  for (const char* key : {"preactivations", "weights"})
    if (st.contains(key)) return &st[key];
  return nullptr;
}

}  // namespace

void zeroloss::fuzz::read_input(const Input& input) {
  const std::string_view bytes = input.bytes();
  const bool reseal = !bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 1u);
  const Input body(reinterpret_cast<const std::uint8_t*>(bytes.data()) + (bytes.empty() ? 0 : 1),
                   bytes.empty() ? 0 : bytes.size() - 1, input.path(""));
  const auto parts = body.parts(2);
  std::string text(parts[0]);
  std::string block_name = sgd_checkpoint_block_name(0);
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    if (j.is_object() && j.contains("state") && j["state"].is_object() && j["state"].contains("step") &&
        j["state"]["step"].is_number_unsigned())
      block_name = sgd_checkpoint_block_name(j["state"]["step"].get<std::uint64_t>());
    if (reseal && j.is_object()) {
      json sealed = j;
      if (const json* b = state_block(j); b && b->is_object()) {
        json& target = sealed["state"][sealed["state"].contains("preactivations") ? "preactivations" : "weights"];
        target["fnv1a64"] = hex64(fnv1a64(parts[1].data(), parts[1].size()));
      }
      sealed["fnv1a64"] = sgd_checkpoint_seal(sealed);
      text = sealed.dump();
    }
  }
  const std::string path = input.write("checkpoint.json", text);
  input.write(block_name, parts[1]);
  const SgdCheckpoint ck = read_sgd_checkpoint(path);
  // read_sgd_checkpoint's documented result.
  const SgdState& s = ck.state;
  const bool load = ck.status == "running" || ck.status == "interrupted";
  if (!load && ck.status != "completed" && ck.status != "diverged") __builtin_trap();
  if (load ? (s.preactivations.size() > 0) == (s.beta.size() > 0) : (s.preactivations.size() > 0 || s.beta.size() > 0))
    __builtin_trap();
  if (!s.preactivations.allFinite() || !s.beta.allFinite()) __builtin_trap();
  if (s.next_batch.size() != s.next_noise.size() || !ck.trajectory.is_array()) __builtin_trap();
  bool first = true;
  std::uint64_t previous = 0;
  for (const auto& row : ck.trajectory) {
    if (!row.is_object() || !row.contains("step") || !row["step"].is_number_unsigned()) __builtin_trap();
    const std::uint64_t k = row["step"].get<std::uint64_t>();
    if ((!first && k <= previous) || k > s.step) __builtin_trap();
    first = false;
    previous = k;
  }
}
