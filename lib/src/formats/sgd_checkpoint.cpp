#include "zeroloss/formats/sgd_checkpoint.hpp"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/matrix_csv.hpp"
#include "zeroloss/presentation/json_file.hpp"

namespace zeroloss {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kFormat = "zeroloss-sgd-checkpoint";
const char* const kTimeFormat = "zeroloss-sgd-checkpoint-time";
constexpr int kSealedWithTimeVersion = 3;  // the version that kept elapsed_seconds in the sealed JSON
const char* const kSealKey = "fnv1a64";

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string numbered_header(const std::string& prefix, Eigen::Index count) {
  std::string header;
  for (Eigen::Index k = 0; k < count; ++k) header += (k ? "," : "") + prefix + std::to_string(k + 1);
  return header;
}

std::string in_folder(const std::string& dir, const std::string& file) { return dir.empty() ? file : dir + "/" + file; }

// What to do about a checkpoint that cannot be continued.
const char* const kWhatToDo =
    "continue only from an intact checkpoint: restore the folder from a copy, or start the run again without "
    "--resume (its options are in run.json)";

[[noreturn]] void malformed(const std::string& path, const std::string& what) {
  throw InputError(path + ": malformed checkpoint: " + what + "; " + kWhatToDo);
}

const json& field(const json& j, const char* key, const std::string& where, const std::string& path) {
  if (!j.is_object() || !j.contains(key)) malformed(path, "'" + where + key + "' is missing");
  return j.at(key);
}

std::uint64_t unsigned_field(const json& j, const char* key, const std::string& where, const std::string& path) {
  const json& v = field(j, key, where, path);
  if (!v.is_number_unsigned()) malformed(path, "'" + where + key + "' must be a non-negative integer");
  return v.get<std::uint64_t>();
}

std::string string_field(const json& j, const char* key, const std::string& where, const std::string& path) {
  const json& v = field(j, key, where, path);
  if (!v.is_string()) malformed(path, "'" + where + key + "' must be a string");
  return v.get<std::string>();
}

double number_field(const json& j, const char* key, const std::string& where, const std::string& path) {
  const json& v = field(j, key, where, path);
  if (!v.is_number()) malformed(path, "'" + where + key + "' must be a number");
  return v.get<double>();
}

Xoshiro256pp::State generator_field(const json& j, const char* key, const std::string& where, const std::string& path) {
  const json& v = field(j, key, where, path);
  if (!v.is_array() || v.size() != 4) malformed(path, "'" + where + key + "' must be four unsigned 64-bit words");
  Xoshiro256pp::State s{};
  for (std::size_t k = 0; k < 4; ++k) {
    if (!v[k].is_number_unsigned()) malformed(path, "'" + where + key + "' must be four unsigned 64-bit words");
    s[k] = v[k].get<std::uint64_t>();
  }
  return s;
}

// The block described by `w` (the state's "preactivations" or "weights" entry), verified against
// its recorded checksum; loaded into `into` when `load`.
void read_block(const json& w, const char* key, const std::string& path, const std::string& dir, std::uint64_t step,
                bool load, Eigen::MatrixXd& into) {
  const bool pre = std::string(key) == "preactivations";
  const std::string where = std::string("state.") + key + ".";
  const char* rows_key = pre ? "n" : "m";
  const char* cols_key = pre ? "m" : "p";
  const std::string file = string_field(w, "file", where, path);
  const std::uint64_t rows = unsigned_field(w, rows_key, where, path);
  const std::uint64_t cols = unsigned_field(w, cols_key, where, path);
  const std::string recorded = string_field(w, "fnv1a64", where, path);
  if (file != sgd_checkpoint_block_name(step))
    malformed(path, "the block file '" + file + "' is not " + sgd_checkpoint_block_name(step) +
                        ", the block of the state's step " + std::to_string(step));
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<int>::max());
  if (rows < 1 || cols < 1 || rows > limit || cols > limit)
    malformed(path, "the block's sizes " + std::to_string(rows) + " x " + std::to_string(cols) + " are out of range");
  const std::string c = pre ? "r" : "b";
  const std::string what = (pre ? "the n x m = " : "the m x p = ") + std::to_string(rows) + " x " + std::to_string(cols) +
                           (pre ? " pre-activation block (header r1..r" : " weight block (header b1..b") +
                           std::to_string(cols) + ") of step " + std::to_string(step) + " written with " + path;
  const std::string block = in_folder(dir, file);
  std::error_code ec;
  if (!fs::is_regular_file(block, ec))
    throw InputError(block + ": missing; expected " + what + ". " + kWhatToDo);
  const std::string actual = hex64(file_checksum(block));
  if (actual != recorded)
    throw InputError(block + ": FNV-1a checksum " + actual + " differs from " + recorded + " recorded in " + path +
                     " (the file was truncated or changed); expected " + what + ". " + kWhatToDo);
  if (!load) return;
  // Every number takes at least two bytes ("0,"): a block too small for its recorded size is refused
  // before any allocation.
  const std::uintmax_t bytes = fs::file_size(block, ec);
  if (ec || static_cast<long double>(bytes) < 2.0L * static_cast<long double>(rows) * static_cast<long double>(cols))
    throw InputError(block + ": too short for " + what);
  into = read_matrix_csv(block, c, static_cast<Eigen::Index>(cols), static_cast<Eigen::Index>(rows)).values;
}

std::string steps_text(const std::vector<std::uint64_t>& steps) {
  std::ostringstream s;
  const std::size_t shown = 6;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    if (k == shown && steps.size() > shown + 1) {
      s << ", ... (" << steps.size() << " steps in all), " << steps.back();
      break;
    }
    s << (k ? ", " : "") << steps[k];
  }
  if (steps.empty()) s << "none";
  return s.str();
}

// The time of checkpoint_time.json in `dir`, 0 when it is missing or not such a file: the time
// informs (summary.json's elapsed_seconds_total), it is not part of the state a run continues.
double recorded_elapsed_seconds(const std::string& dir) {
  const std::string path = in_folder(dir, sgd_checkpoint_time_name());
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return 0;
  try {
    const json t = read_json_file(path);
    if (t.is_object() && t.value("format", "") == kTimeFormat && t.contains("elapsed_seconds") &&
        t["elapsed_seconds"].is_number() && t["elapsed_seconds"].get<double>() >= 0)
      return t["elapsed_seconds"].get<double>();
  } catch (const std::exception&) {
  }
  return 0;
}

}  // namespace

std::string sgd_checkpoint_block_name(std::uint64_t step) { return "checkpoint_" + std::to_string(step) + ".csv"; }

bool is_sgd_checkpoint_block_name(const std::string& name) {
  const std::string head = "checkpoint_";
  if (name.compare(0, head.size(), head) != 0) return false;
  std::size_t k = head.size();
  const std::size_t digits = k;
  while (k < name.size() && std::isdigit(static_cast<unsigned char>(name[k]))) ++k;
  if (k == digits) return false;
  const std::string tail = name.substr(k);
  // A block, or a temporary file of one (write_file_atomic names them FILE.tmp.<pid>.<k>).
  return tail == ".csv" || tail.compare(0, 8, ".csv.tmp") == 0;
}

void remove_sgd_checkpoint_blocks(const std::string& dir, const std::string& keep) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name != keep && is_sgd_checkpoint_block_name(name)) {
      std::error_code ignored;
      fs::remove(it->path(), ignored);
    }
  }
}

const char* sgd_checkpoint_time_name() { return "checkpoint_time.json"; }

std::string sgd_checkpoint_seal(const json& checkpoint) {
  json body = checkpoint;
  if (body.is_object()) body.erase(kSealKey);
  const std::string text = body.dump();
  return hex64(fnv1a64(text.data(), text.size()));
}

std::string write_sgd_checkpoint(const std::string& dir, const SgdCheckpoint& ck) {
  const SgdState& st = ck.state;
  const std::string block = sgd_checkpoint_block_name(st.step);
  const bool pre = st.preactivations.size() > 0;
  const Eigen::MatrixXd& M = pre ? st.preactivations : st.beta;
  // After a divergence the current state may be non-finite: it is written as such (nan, inf) and
  // never loaded back (read_sgd_checkpoint loads the block of running and interrupted runs only).
  const std::uint64_t checksum = write_numbers_csv(in_folder(dir, block), numbered_header(pre ? "r" : "b", M.cols()),
                                                   M.rows(), M.cols(),
                                                   [&](Eigen::Index j, Eigen::Index k) { return M(j, k); });
  json block_json = pre ? json{{"file", block}, {"n", M.rows()}, {"m", M.cols()}, {"fnv1a64", hex64(checksum)}}
                        : json{{"file", block}, {"m", M.rows()}, {"p", M.cols()}, {"fnv1a64", hex64(checksum)}};
  json state = {{"step", st.step},
                {pre ? "preactivations" : "weights", std::move(block_json)},
                {"index_generator", std::vector<std::uint64_t>(st.index_generator.begin(), st.index_generator.end())},
                {"noise_generator",
                 {{"state", std::vector<std::uint64_t>(st.noise_generator.generator_before_fill.begin(),
                                                       st.noise_generator.generator_before_fill.end())},
                  {"position", st.noise_generator.position}}},
                {"next_batch", st.next_batch},
                {"next_noise", st.next_noise}};
  json j = {{"format", kFormat},
            {"version", kSgdCheckpointVersion},
            {"seed", ck.seed},
            {"status", ck.status},
            {"state", std::move(state)},
            {"trajectory", ck.trajectory}};
  if (!ck.divergence.empty()) j["divergence"] = ck.divergence;
  j[kSealKey] = sgd_checkpoint_seal(j);
  const std::string path = in_folder(dir, "checkpoint.json");
  write_file_atomic(path, j.dump(2) + "\n");  // then the JSON that names the block
  remove_sgd_checkpoint_blocks(dir.empty() ? "." : dir, block);
  const json time = {{"format", kTimeFormat}, {"step", st.step}, {"elapsed_seconds", ck.elapsed_seconds}};
  write_file_atomic(in_folder(dir, sgd_checkpoint_time_name()), time.dump(2) + "\n");
  return path;
}

SgdCheckpoint read_sgd_checkpoint(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw InputError(path + ": missing; there is no checkpoint to continue from (the run stopped before its first "
                            "checkpoint, or the file was removed); start the run again without --resume");
  JsonReading reading;
  reading.advice = kWhatToDo;
  const json j = read_json_file(path, reading);
  if (!j.is_object() || !j.contains("format") || j.at("format") != kFormat)
    throw InputError(path + ": not a zeroloss sgd checkpoint (expected \"format\": \"" + kFormat + "\"); " + kWhatToDo);
  const json& version = field(j, "version", "", path);
  if (!version.is_number_integer() ||
      (version.get<long long>() != kSgdCheckpointVersion && version.get<long long>() != kSealedWithTimeVersion)) {
    const std::string v = version.dump();
    if (version == 1 || version == 2)
      throw InputError(path + ": a version " + v + " checkpoint, written by an earlier zeroloss: it carries no "
                              "checksum over all its fields, so it cannot be verified and is not continued; finish "
                              "the run with the zeroloss that wrote it, or start it again without --resume");
    throw InputError(path + ": checkpoint version " + v + " is not known to this zeroloss (it reads versions 3 and " +
                     std::to_string(kSgdCheckpointVersion) + "); " + kWhatToDo);
  }
  const json& seal = field(j, kSealKey, "", path);
  if (!seal.is_string()) malformed(path, std::string("'") + kSealKey + "' must be a string");
  const std::string actual = sgd_checkpoint_seal(j);
  if (seal.get<std::string>() != actual)
    throw InputError(path + ": the checkpoint does not verify (FNV-1a checksum of its fields " + actual +
                     ", recorded " + seal.get<std::string>() +
                     "): it was changed or damaged after zeroloss wrote it, and continuing from it would not give the "
                     "run it claims to be; " + kWhatToDo);

  SgdCheckpoint ck;
  ck.seed = unsigned_field(j, "seed", "", path);
  ck.status = string_field(j, "status", "", path);
  if (ck.status != "running" && ck.status != "interrupted" && ck.status != "completed" && ck.status != "diverged")
    malformed(path, "unknown status '" + ck.status + "' (expected running, interrupted, completed or diverged)");
  if (version == kSealedWithTimeVersion) ck.elapsed_seconds = number_field(j, "elapsed_seconds", "", path);
  else ck.elapsed_seconds = recorded_elapsed_seconds(fs::path(path).parent_path().string());
  if (j.contains("divergence")) ck.divergence = string_field(j, "divergence", "", path);
  const json& st = field(j, "state", "", path);
  if (!st.is_object()) malformed(path, "'state' must be an object");
  SgdState& s = ck.state;
  s.step = unsigned_field(st, "step", "state.", path);
  s.index_generator = generator_field(st, "index_generator", "state.", path);
  const json& ng = field(st, "noise_generator", "state.", path);
  s.noise_generator.generator_before_fill = generator_field(ng, "state", "state.noise_generator.", path);
  const json& position = field(ng, "position", "state.noise_generator.", path);
  if (!position.is_number_integer() || position.get<long long>() < 0 ||
      position.get<long long>() > std::numeric_limits<int>::max())
    malformed(path, "'state.noise_generator.position' must be a non-negative integer");
  s.noise_generator.position = position.get<int>();
  const json& batch = field(st, "next_batch", "state.", path);
  const json& noise = field(st, "next_noise", "state.", path);
  if (!batch.is_array() || !noise.is_array() || batch.size() != noise.size())
    malformed(path, "'state.next_batch' and 'state.next_noise' must be arrays of the same length");
  for (const auto& b : batch) {
    if (!b.is_number_integer() || b.get<long long>() < 0 || b.get<long long>() > std::numeric_limits<int>::max())
      malformed(path, "'state.next_batch' must hold sample indices (non-negative integers)");
    s.next_batch.push_back(b.get<int>());
  }
  for (const auto& x : noise) {
    if (!x.is_number()) malformed(path, "'state.next_noise' must hold numbers");
    s.next_noise.push_back(x.get<double>());
  }
  const json& rows = field(j, "trajectory", "", path);
  if (!rows.is_array()) malformed(path, "'trajectory' must be an array");
  bool first = true;
  std::uint64_t previous = 0;
  for (const auto& r : rows) {
    const std::uint64_t k = unsigned_field(r, "step", "trajectory[].", path);
    if ((!first && k <= previous) || k > s.step)
      malformed(path, "the trajectory's steps must increase and end at or before the state's step " +
                          std::to_string(s.step) + " (row of step " + std::to_string(k) + ")");
    first = false;
    previous = k;
  }
  ck.trajectory = rows;
  const bool has_pre = st.contains("preactivations"), has_weights = st.contains("weights");
  if (has_pre == has_weights) malformed(path, "the state must name exactly one block ('preactivations' or 'weights')");
  const bool load = ck.status == "running" || ck.status == "interrupted";
  const std::string dir = fs::path(path).parent_path().string();
  if (has_pre)
    read_block(st.at("preactivations"), "preactivations", path, dir, s.step, load, s.preactivations);
  else
    read_block(st.at("weights"), "weights", path, dir, s.step, load, s.beta);
  return ck;
}

void check_sgd_checkpoint(const SgdCheckpoint& ck, const std::string& path, const SgdCheckpointExpectation& e) {
  const std::string other = "; the folder holds the checkpoint of another run: start this run again without --resume";
  if (ck.seed != e.seed)
    throw InputError(path + ": a checkpoint of seed " + std::to_string(ck.seed) + ", not of seed " +
                     std::to_string(e.seed) + " of this run" + other);
  const SgdState& s = ck.state;
  if (s.preactivations.size() > 0 && (s.preactivations.rows() != e.n || s.preactivations.cols() != e.m))
    throw InputError(path + ": the checkpoint holds a " + std::to_string(s.preactivations.rows()) + " x " +
                     std::to_string(s.preactivations.cols()) + " block; expected the n x m = " + std::to_string(e.n) +
                     " x " + std::to_string(e.m) + " pre-activation block (header r1..r" + std::to_string(e.m) +
                     ") of step " + std::to_string(s.step) + other);
  if (s.beta.size() > 0 && (s.beta.rows() != e.m || s.beta.cols() != e.p))
    throw InputError(path + ": the checkpoint holds a " + std::to_string(s.beta.rows()) + " x " +
                     std::to_string(s.beta.cols()) + " block; expected the m x p = " + std::to_string(e.m) + " x " +
                     std::to_string(e.p) + " weight block (header b1..b" + std::to_string(e.p) + ") of step " +
                     std::to_string(s.step) + other);
  if (s.step > e.steps)
    throw InputError(path + ": the checkpoint is at step " + std::to_string(s.step) + ", beyond the run's " +
                     std::to_string(e.steps) + " steps" + other);
  if (ck.status == "diverged") return;  // its rows end at the last finite step, which need not be logged
  std::vector<std::uint64_t> have, want;
  for (const auto& r : ck.trajectory) have.push_back(r.at("step").get<std::uint64_t>());
  for (std::uint64_t k : e.log_steps)
    if (k <= s.step) want.push_back(k);
  if (ck.status == "completed" && s.step != e.steps)
    throw InputError(path + ": a completed checkpoint at step " + std::to_string(s.step) + ", but the run has " +
                     std::to_string(e.steps) + " steps" + other);
  if (have != want)
    throw InputError(path + ": the trajectory holds rows at steps " + steps_text(have) + ", but the run logs steps " +
                     steps_text(want) + " up to the checkpoint's step " + std::to_string(s.step) +
                     other);
}

}  // namespace zeroloss
