#include "zeroloss/presentation/sgd_run_file.hpp"

#include <filesystem>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/matrix_csv.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/formats/reduced_weights.hpp"

namespace zeroloss {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

SgdCoordinates coordinates_from_name(const std::string& name, const std::string& path) {
  for (SgdCoordinates c : {SgdCoordinates::Auto, SgdCoordinates::Weights, SgdCoordinates::Preactivations})
    if (name == to_string(c)) return c;
  throw InputError(path + ": malformed run file (coordinates '" + name + "' is not auto, weights or preactivations)");
}

}  // namespace

std::string run_input_path(const std::string& recorded, const std::string& run_file) {
  if (recorded.empty() || fs::path(recorded).is_absolute()) return recorded;
  return (fs::path(run_file).parent_path() / recorded).lexically_normal().string();
}

std::uint64_t reduced_files_fingerprint(const std::string& manifest) {
  try {
    const json j = read_json_file(manifest);
    const fs::path folder = fs::path(manifest).parent_path();
    const std::uint64_t sums[2] = {file_checksum((folder / j.at("weights").get<std::string>()).string()),
                                   file_checksum((folder / j.at("basis").get<std::string>()).string())};
    return fnv1a64(reinterpret_cast<const char*>(sums), sizeof sums);
  } catch (const std::exception&) {
    return 0;
  }
}

json sgd_run_json(const LabelNoiseSgdRunOptions& o) {
  const bool from_file = !o.random_start;
  return {{"format", "zeroloss-sgd-run"},
          {"version", 1},
          {"data", fs::absolute(o.problem.data).string()},
          {"weights", from_file ? fs::absolute(o.problem.weights).string() : std::string()},
          {"activation", o.problem.activation},
          {"data_fingerprint", file_checksum(o.problem.data)},
          {"weights_fingerprint", from_file ? file_checksum(o.problem.weights) : 0},
          {"weights_files_fingerprint",
           from_file && is_reduced_weights_path(o.problem.weights) ? reduced_files_fingerprint(o.problem.weights) : 0},
          {"init", o.random_start ? "gaussian" : ""},
          {"m", o.m},
          {"init_scale", o.init_scale},
          {"init_seed", o.init_seed},
          {"save_reduced", o.save_reduced},
          {"no_log_gradient", !o.log_gradient},
          {"lr", o.learning_rate},
          {"label_noise", o.label_noise},
          {"noise", noise_kind_name(o.noise)},
          {"coordinates", to_string(o.coordinates)},
          {"batch", o.batch},
          {"steps", o.steps},
          {"seeds", o.seeds},
          {"ensemble", o.ensemble},
          {"log_every", o.log_every},
          {"log_points", o.log_points},
          {"checkpoint_every", o.checkpoint_every},
          {"max_loss", o.max_loss},
          {"no_figures", !o.figures},
          {"rank_one_threshold", o.rank_one_threshold}};
}

SgdRunFile read_sgd_run_file(const std::string& path) {
  const json run = read_json_file(path);
  if (run.value("format", "") != "zeroloss-sgd-run") throw InputError(path + ": not a zeroloss sgd run file");
  SgdRunFile f;
  LabelNoiseSgdRunOptions& o = f.options;
  try {
    o.problem.data = run_input_path(run.at("data").get<std::string>(), path);
    o.problem.weights = run_input_path(run.at("weights").get<std::string>(), path);
    o.problem.activation = run.at("activation").get<std::string>();
    o.learning_rate = run.at("lr").get<double>();
    o.label_noise = run.at("label_noise").get<double>();
    o.noise = parse_noise_kind(run.at("noise").get<std::string>());
    o.coordinates = coordinates_from_name(run.value("coordinates", std::string("auto")), path);  // before: auto
    o.batch = run.at("batch").get<std::string>();
    o.steps = run.at("steps").get<std::uint64_t>();
    o.seeds = run.at("seeds").get<std::vector<std::uint64_t>>();
    o.ensemble = run.at("ensemble").get<bool>();
    o.log_every = run.at("log_every").get<std::uint64_t>();
    o.log_points = run.at("log_points").get<int>();
    o.checkpoint_every = run.at("checkpoint_every").get<std::uint64_t>();
    o.max_loss = run.at("max_loss").get<double>();
    o.figures = !run.at("no_figures").get<bool>();
    o.rank_one_threshold = run.at("rank_one_threshold").get<double>();
    const std::string init = run.value("init", std::string());
    if (!init.empty() && init != "gaussian") throw InputError(path + ": malformed run file (init '" + init + "')");
    o.random_start = !init.empty();
    o.m = run.value("m", 0);
    o.init_scale = run.value("init_scale", 1.0);
    o.init_seed = run.value("init_seed", std::uint64_t{0});
    o.save_reduced = run.value("save_reduced", false);
    o.log_gradient = !run.value("no_log_gradient", false);
    f.data_fingerprint = run.at("data_fingerprint").get<std::uint64_t>();
    if (!o.random_start) f.weights_fingerprint = run.at("weights_fingerprint").get<std::uint64_t>();
    f.has_weights_files_fingerprint = run.contains("weights_files_fingerprint");
    if (f.has_weights_files_fingerprint)
      f.weights_files_fingerprint = run.at("weights_files_fingerprint").get<std::uint64_t>();
  } catch (const json::exception& e) {
    throw InputError(path + ": malformed run file (" + e.what() + ")");
  }
  return f;
}

}  // namespace zeroloss
