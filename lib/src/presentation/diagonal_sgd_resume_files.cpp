#include "zeroloss/presentation/diagonal_sgd_resume_files.hpp"

#include <filesystem>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/matrix_csv.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/sgd_run_file.hpp"
#include "zeroloss/formats/sgd_checkpoint.hpp"

namespace zeroloss {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kRunFormat = "zeroloss-diagonal-sgd-run";
constexpr const char* kCheckpointFormat = "zeroloss-diagonal-sgd-checkpoint";
constexpr const char* kSealKey = "fnv1a64";

std::vector<std::uint64_t> words(const Xoshiro256pp::State& s) { return {s.begin(), s.end()}; }

Xoshiro256pp::State generator_state(const json& j, const std::string& path, const char* key) {
  const auto w = j.get<std::vector<std::uint64_t>>();
  if (w.size() != 4) throw InputError(path + ": malformed checkpoint (" + key + " must hold 4 words)");
  return {w[0], w[1], w[2], w[3]};
}

DiagonalSgdCheckpointStatus status_from_name(const std::string& name, const std::string& path) {
  for (auto s : {DiagonalSgdCheckpointStatus::Running, DiagonalSgdCheckpointStatus::Interrupted,
                 DiagonalSgdCheckpointStatus::Completed, DiagonalSgdCheckpointStatus::Diverged})
    if (name == to_string(s)) return s;
  throw InputError(path + ": malformed checkpoint (status '" + name +
                   "' is not running, interrupted, completed or diverged)");
}

}  // namespace

const char* to_string(DiagonalSgdCheckpointStatus status) {
  switch (status) {
    case DiagonalSgdCheckpointStatus::Running: return "running";
    case DiagonalSgdCheckpointStatus::Interrupted: return "interrupted";
    case DiagonalSgdCheckpointStatus::Completed: return "completed";
    case DiagonalSgdCheckpointStatus::Diverged: return "diverged";
  }
  return "unknown";
}

json diagonal_sgd_run_json(const DiagonalSgdRunOptions& o) {
  return {{"format", kRunFormat},
          {"version", 1},
          {"data", fs::absolute(o.data).string()},
          {"weights", fs::absolute(o.weights).string()},
          {"data_fingerprint", file_checksum(o.data)},
          {"weights_fingerprint", file_checksum(o.weights)},
          {"lr", o.learning_rate},
          {"label_noise", o.label_noise},
          {"noise", noise_kind_name(o.noise)},
          {"batch", o.batch},
          {"steps", o.steps},
          {"seed", o.seed},
          {"ensemble", o.ensemble},
          {"log_every", o.log_every},
          {"log_points", o.log_points},
          {"checkpoint_every", o.checkpoint_every}};
}

bool holds_diagonal_sgd_run(const std::string& dir) {
  const std::string path = dir + "/run.json";
  if (!fs::exists(path)) return false;
  try {
    return read_json_file(path).value("format", "") == kRunFormat;
  } catch (const std::exception&) {
    return false;
  }
}

DiagonalSgdRunOptions read_diagonal_sgd_run_file(const std::string& dir) {
  const std::string path = dir + "/run.json";
  if (!fs::exists(path)) throw InputError(path + ": no run file here; --resume needs the folder of an sgd run");
  const json run = read_json_file(path);
  if (run.value("format", "") != kRunFormat) throw InputError(path + ": not a diagonal-network sgd run file");
  DiagonalSgdRunOptions o;
  std::uint64_t data_sum = 0, weights_sum = 0;
  try {
    if (run.at("version").get<int>() != 1)
      throw InputError(path + ": run file version " + run.at("version").dump() + "; this zeroloss reads version 1");
    o.data = run_input_path(run.at("data").get<std::string>(), path);
    o.weights = run_input_path(run.at("weights").get<std::string>(), path);
    data_sum = run.at("data_fingerprint").get<std::uint64_t>();
    weights_sum = run.at("weights_fingerprint").get<std::uint64_t>();
    o.learning_rate = run.at("lr").get<double>();
    o.label_noise = run.at("label_noise").get<double>();
    o.noise = parse_noise_kind(run.at("noise").get<std::string>());
    o.batch = run.at("batch").get<std::string>();
    o.steps = run.at("steps").get<std::uint64_t>();
    o.seed = run.at("seed").get<std::uint64_t>();
    o.ensemble = run.at("ensemble").get<std::vector<std::uint64_t>>();
    o.log_every = run.at("log_every").get<std::uint64_t>();
    o.log_points = run.at("log_points").get<int>();
    o.checkpoint_every = run.at("checkpoint_every").get<std::uint64_t>();
  } catch (const json::exception& e) {
    throw InputError(path + ": malformed run file (" + e.what() + ")");
  }
  for (const auto& [input, sum] : {std::pair{o.data, data_sum}, std::pair{o.weights, weights_sum}}) {
    if (!fs::exists(input)) throw InputError(path + ": the run's input " + input + " no longer exists");
    if (file_checksum(input) != sum)
      throw InputError(input + " changed since the run in " + dir + " started; a resumed run must read the same inputs");
  }
  o.out = dir;
  return o;
}

void write_diagonal_sgd_checkpoint(const std::string& dir, const DiagonalSgdCheckpoint& ck) {
  json rows = json::array();
  for (const auto& r : ck.rows) rows.push_back({r.step, r.t, r.tau, r.loss, r.sharpness, r.weighted_l1_bound});
  const GenericLabelNoiseSgd::State& st = ck.state;
  json j = {{"format", kCheckpointFormat},
            {"version", 1},
            {"seed", ck.seed},
            {"status", to_string(ck.status)},
            {"step", st.step},
            {"theta", std::vector<double>(st.theta.data(), st.theta.data() + st.theta.size())},
            {"index_generator", words(st.index_generator)},
            {"noise_generator", {{"state", words(st.noise.generator_before_fill)}, {"position", st.noise.position}}},
            {"trajectory", rows}};
  j[kSealKey] = sgd_checkpoint_seal(j);
  write_json(dir + "/checkpoint.json", j);
}

DiagonalSgdCheckpoint read_diagonal_sgd_checkpoint(const std::string& dir, std::uint64_t seed, int dimension) {
  const std::string path = dir + "/checkpoint.json";
  if (!fs::exists(path))
    throw InputError(path + ": no checkpoint; the run stopped before writing one (start it again without --resume)");
  const json j = read_json_file(path);
  if (!j.is_object() || j.value("format", "") != kCheckpointFormat)
    throw InputError(path + ": not a diagonal-network sgd checkpoint");
  if (!j.contains(kSealKey) || j.at(kSealKey) != sgd_checkpoint_seal(j))
    throw InputError(path + ": the checkpoint's seal does not verify (the file was changed or damaged after it was "
                     "written); start the run again without --resume");
  DiagonalSgdCheckpoint ck;
  try {
    if (j.at("version").get<int>() != 1)
      throw InputError(path + ": checkpoint version " + j.at("version").dump() + "; this zeroloss reads version 1");
    ck.seed = j.at("seed").get<std::uint64_t>();
    ck.status = status_from_name(j.at("status").get<std::string>(), path);
    ck.state.step = j.at("step").get<std::uint64_t>();
    const auto theta = j.at("theta").get<std::vector<double>>();
    ck.state.theta = Eigen::Map<const Eigen::VectorXd>(theta.data(), static_cast<Eigen::Index>(theta.size()));
    ck.state.index_generator = generator_state(j.at("index_generator"), path, "index_generator");
    ck.state.noise.generator_before_fill = generator_state(j.at("noise_generator").at("state"), path, "noise_generator");
    ck.state.noise.position = j.at("noise_generator").at("position").get<int>();
    for (const auto& r : j.at("trajectory")) {
      if (!r.is_array() || r.size() != 6) throw InputError(path + ": malformed checkpoint (a trajectory row must hold 6 numbers)");
      DiagonalSgdRow row;
      row.step = r[0].get<std::uint64_t>();
      row.t = r[1].get<double>();
      row.tau = r[2].get<double>();
      row.loss = r[3].get<double>();
      row.sharpness = r[4].get<double>();
      row.weighted_l1_bound = r[5].get<double>();
      if ((!ck.rows.empty() && row.step <= ck.rows.back().step) || row.step > ck.state.step)
        throw InputError(path + ": malformed checkpoint (trajectory steps must increase and end at most at step " +
                         std::to_string(ck.state.step) + ")");
      ck.rows.push_back(row);
    }
  } catch (const json::exception& e) {
    throw InputError(path + ": malformed checkpoint (" + e.what() + ")");
  }
  if (ck.seed != seed)
    throw InputError(path + ": the checkpoint is of seed " + std::to_string(ck.seed) + ", the run's seed is " +
                     std::to_string(seed));
  if (ck.state.theta.size() != 2 * static_cast<Eigen::Index>(dimension))
    throw InputError(path + ": the checkpoint holds " + std::to_string(ck.state.theta.size()) +
                     " parameters; the run's model has 2 d = " + std::to_string(2 * dimension));
  return ck;
}

}  // namespace zeroloss
