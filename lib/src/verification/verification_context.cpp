#include "zeroloss/verification/verification_context.hpp"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/support/interrupt_flag.hpp"
#include "zeroloss/verification/shell_command.hpp"

namespace zeroloss {

using nlohmann::json;

VerificationContext::VerificationContext(json config, std::string out_dir, std::string program,
                                         std::function<void(const std::string&)> progress,
                                         std::shared_ptr<CommandBatchExecutor> batches)
    : config_(std::move(config)),
      out_(std::move(out_dir)),
      program_(std::move(program)),
      progress_(std::move(progress)),
      batches_(batches ? std::move(batches) : std::make_shared<LocalCommandBatchExecutor>()) {
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

std::string VerificationContext::commands_since(size_t first) const {
  return join_commands(
      {commands_.begin() + static_cast<std::ptrdiff_t>(std::min(first, commands_.size())), commands_.end()});
}

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A command run for the report writes into the report's folder: its logs and outputs are recorded
// in the report's run manifest, and a command that writes a folder gets --overwrite (the folder is
// the report's; an earlier attempt's files there are that command's own, listed in its manifest).
std::vector<std::string> child_arguments(const std::vector<std::string>& args, const std::string& log_base) {
  record_output_file(log_base + ".out");
  record_output_file(log_base + ".err");
  const bool folder =
      !args.empty() && (args[0] == "flow" || args[0] == "sgd" || args[0] == "compare" || args[0] == "convexity");
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

int VerificationContext::execute(const std::string& log_name, const std::vector<std::string>& args) {
  throw_if_interrupted(interrupt_, "the report");
  commands_.push_back(zeroloss_command_line(args));
  ++runs_;
  const std::string base = out_ + "/logs/" + log_name;
  const int code =
      run_child_process(program_, child_arguments(args, base), base + ".out", base + ".err", "", interrupt_).exit_code;
  throw_if_interrupted(interrupt_, "the report");  // the exit code of an interrupted command says nothing
  return code;
}

std::vector<int> VerificationContext::try_run_parallel(const std::vector<Command>& commands, int threads,
                                                      const std::vector<double>& cost) {
  if (threads < 1) throw InputError("parallel commands: threads must be >= 1 (got " + std::to_string(threads) + ")");
  if (!cost.empty() && cost.size() != commands.size())
    throw InputError("parallel commands: " + std::to_string(cost.size()) + " costs for " +
                     std::to_string(commands.size()) + " commands");
  throw_if_interrupted(interrupt_, "the report");
  CommandBatch batch;
  batch.program = program_;
  batch.interrupt = interrupt_;
  for (const auto& c : commands) {
    commands_.push_back(zeroloss_command_line(c.args));
    ++runs_;
    const std::string base = out_ + "/logs/" + c.log_name;
    batch.commands.push_back({child_arguments(c.args, base), base + ".out", base + ".err"});
  }
  batch.order.resize(commands.size());
  std::iota(batch.order.begin(), batch.order.end(), size_t{0});
  if (!cost.empty())
    std::stable_sort(batch.order.begin(), batch.order.end(), [&](size_t a, size_t b) { return cost[a] > cost[b]; });
  const CommandBatchResult r = batches_->run(batch, threads);
  throw_if_interrupted(interrupt_, "the report");
  for (size_t k = 0; k < commands.size(); ++k)
    if (!r.errors.at(k).empty()) throw Error(r.errors[k]);
  return r.exit_codes;
}

int VerificationContext::try_run(const std::string& log_name, const std::vector<std::string>& args, std::string* out) {
  const int rc = execute(log_name, args);
  if (out) *out = slurp(out_ + "/logs/" + log_name + ".out");
  return rc;
}

std::string VerificationContext::run(const std::string& log_name, const std::vector<std::string>& args) {
  const std::string base = out_ + "/logs/" + log_name;
  const int rc = execute(log_name, args);
  if (rc != 0) {
    throw CommandFailedError("`" + zeroloss_command_line(args) + "` exited with code " + std::to_string(rc) + ": " +
                             tail_of_file(base + ".err", 3) + "(full output in " + base + ".out/.err)");
  }
  return slurp(base + ".out");
}

json VerificationContext::run_json(const std::string& log_name, const std::vector<std::string>& args) {
  const std::string text = run(log_name, args);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw CommandFailedError("`" + zeroloss_command_line(args) + "` did not print one JSON object (" + e.what() + ")");
  }
}

}  // namespace zeroloss
