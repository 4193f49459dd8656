#include "verification.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "common.hpp"
#include "subprocess.hpp"
#include "zeroloss/csv.hpp"
#include "zeroloss/dataset.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss::cli {

using nlohmann::json;

VerificationContext::VerificationContext(json config, std::string out_dir,
                                         std::function<void(const std::string&)> progress)
    : config_(std::move(config)), out_(std::move(out_dir)), progress_(std::move(progress)) {
  ensure_directory(out_);
  ensure_directory(out_ + "/logs");
}

std::string VerificationContext::dir(const std::string& relative) {
  const std::string d = out_ + "/" + relative;
  ensure_directory(d);
  if (std::find(block_dirs_.begin(), block_dirs_.end(), d) == block_dirs_.end()) {
    block_dirs_.push_back(d);
    commands_.push_back("mkdir -p " + shell_quote(d));
  }
  return d;
}

size_t VerificationContext::begin_block() {
  block_dirs_.clear();
  return commands_.size();
}

void VerificationContext::record_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": missing (the report was to record how it was made)");
  std::string cmd = "printf '%s\\n'";
  std::string line;
  while (std::getline(in, line)) cmd += " " + shell_quote(line);
  commands_.push_back(cmd + " > " + shell_quote(path));
}

void VerificationContext::progress(const std::string& message) const {
  if (progress_) progress_(message);
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

namespace {
// A command run for the report writes into the report's folder: its logs and outputs are recorded
// in the report's run manifest, and a command that writes a folder gets --overwrite (the folder is
// the report's; an earlier attempt's files there are that command's own, listed in its manifest).
std::vector<std::string> child_arguments(const std::vector<std::string>& args, const std::string& log_base) {
  record_output_file(log_base + ".out");
  record_output_file(log_base + ".err");
  const bool folder = !args.empty() && (args[0] == "flow" || args[0] == "sgd" || args[0] == "compare" ||
                                        args[0] == "convexity");
  for (std::size_t k = 0; k + 1 < args.size(); ++k) {
    if (args[k] == "--out" && folder)
      record_output_subrun(args[k + 1]);
    else if (args[k] == "--out" || args[k] == "--weights-out")
      record_output_file(args[k + 1]);
  }
  std::vector<std::string> with = args;
  if (folder) with.push_back("--overwrite");
  return with;
}
}  // namespace

int VerificationContext::try_run(const std::string& log_name, const std::vector<std::string>& args, std::string* out) {
  commands_.push_back(command_line(args));
  ++runs_;
  const std::string base = out_ + "/logs/" + log_name;
  const int rc = run_self(child_arguments(args, base), base + ".out", base + ".err").exit_code;
  if (out) *out = slurp(base + ".out");
  return rc;
}

std::string VerificationContext::run(const std::string& log_name, const std::vector<std::string>& args) {
  const std::string base = out_ + "/logs/" + log_name;
  commands_.push_back(command_line(args));
  ++runs_;
  const ChildResult r = run_self(child_arguments(args, base), base + ".out", base + ".err");
  if (r.exit_code != 0) {
    throw CommandFailedError("`" + command_line(args) + "` exited with code " + std::to_string(r.exit_code) + ": " +
                             tail_of_file(base + ".err", 3) + "(full output in " + base + ".out/.err)");
  }
  return slurp(base + ".out");
}

json VerificationContext::run_json(const std::string& log_name, const std::vector<std::string>& args) {
  const std::string text = run(log_name, args);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw CommandFailedError("`" + command_line(args) + "` did not print one JSON object (" + e.what() + ")");
  }
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": missing (the command that should have written it did not)");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw InputError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

std::vector<double> read_csv_column(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": missing");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) header.push_back(cell);
  }
  int col = -1;
  for (size_t k = 0; k < header.size(); ++k)
    if (header[k] == name) col = static_cast<int>(k);
  if (col < 0) throw InputError(path + ": no column '" + name + "'");
  std::vector<double> out;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string cell;
    int k = 0;
    double v = std::numeric_limits<double>::quiet_NaN();
    while (std::getline(ss, cell, ',')) {
      if (k == col) {
        if (!cell.empty()) v = std::strtod(cell.c_str(), nullptr);
        break;
      }
      ++k;
    }
    out.push_back(v);
  }
  return out;
}

json value_or_null(const json& j, const std::string& key) {
  if (j.is_object() && j.contains(key)) return j.at(key);
  return nullptr;
}

std::string fmt(double x, int precision) {
  std::ostringstream s;
  s.precision(precision);
  s << x;
  return s.str();
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_of(" \t\"'$&|;<>()*?!\\`#~{}[]") == std::string::npos) return word;
  std::string s = "'";
  for (char c : word) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return s + "'";
}

std::string join_commands(const std::vector<std::string>& commands) {
  std::string s;
  for (size_t k = 0; k < commands.size(); ++k) s += (k ? " && " : "") + commands[k];
  return s;
}

std::string write_problem_data(VerificationContext& ctx) {
  const json& p = ctx.config()["problem"];
  const std::string path = ctx.dir("problem") + "/data.csv";
  ctx.run("problem_data", {"data", "--generator", p["generator"].get<std::string>(), "--n",
                           std::to_string(p["n"].get<int>()), "--d", std::to_string(p["d"].get<int>()),
                           "--label-scale", format_double(p["label_scale"].get<double>()), "--seed",
                           std::to_string(p["data_seed"].get<int>()), "--out", path});
  return path;
}

std::string write_random_start(VerificationContext& ctx, const std::string& data_csv, int m, int index,
                               bool mixed_second_layer, const std::string& relative_path) {
  const Dataset data = read_dataset_csv(data_csv);
  const double scale = ctx.config()["problem"]["init_scale"].get<double>();
  const std::uint64_t seed = static_cast<std::uint64_t>(ctx.config()["seed"].get<int>()) * 1000003ULL + 7919ULL * index;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.5, 1.5);
  const double mean_norm2 = data.X.rowwise().squaredNorm().mean();
  Eigen::MatrixXd theta(m, data.X.cols());
  for (int j = 0; j < m; ++j)
    for (Eigen::Index k = 0; k < data.X.cols(); ++k) theta(j, k) = scale * normal(rng) / std::sqrt(mean_norm2);
  // The second layer is part of the problem, not of the start: the same for every index.
  Eigen::VectorXd a = Eigen::VectorXd::Ones(m);
  if (mixed_second_layer) {
    std::mt19937_64 layer_rng(static_cast<std::uint64_t>(ctx.config()["seed"].get<int>()) * 1000003ULL + 1ULL);
    for (int j = 0; j < m; ++j) a(j) = (j % 2 ? -1.0 : 1.0) * uniform(layer_rng);
  }
  const std::string path = ctx.out() + "/" + relative_path;
  write_weights_csv(path, theta, a);
  ctx.record_file(path);
  return path;
}

}  // namespace zeroloss::cli
