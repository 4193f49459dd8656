#pragma once
// The verification report (`zeroloss run`): each claim of the paper is checked by running real
// zeroloss commands as child processes (so the command printed next to a verdict is exactly what
// produced its evidence), reading their documented JSON/CSV outputs, and deciding the verdict from
// thresholds in the configuration. Nothing is hard-coded: change the configuration and the verdicts
// follow (tests do exactly that).

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "zeroloss/report_document.hpp"

namespace zeroloss::cli {

class VerificationContext {
 public:
  VerificationContext(nlohmann::json config, std::string out_dir, std::function<void(const std::string&)> progress);

  const nlohmann::json& config() const { return config_; }
  const std::string& out() const { return out_; }
  // out/<relative>, with the directory created; also recorded as `mkdir -p` in the current block
  // (once per block), so that a reproduce block creates the folders its commands write into.
  std::string dir(const std::string& relative);
  // Starts the reproduce block of a claim: returns the index in commands() where it begins.
  size_t begin_block();
  // Records, as a shell command, the creation of a file the report wrote itself (a random start, a
  // hand-made data set): `printf '%s\n' 'line 1' ... > path`, byte for byte the file's content, so a
  // reproduce block never reads a file that none of its commands creates. Not counted in runs().
  void record_file(const std::string& path);
  void progress(const std::string& message) const;

  // Runs `zeroloss args...` with stdout in out/logs/<log_name>.out and stderr in
  // out/logs/<log_name>.err. Throws CommandFailedError (with the tail of stderr) when the command
  // exits non-zero. Returns the captured stdout.
  std::string run(const std::string& log_name, const std::vector<std::string>& args);
  // Same, but returns the exit code instead of throwing (stdout into *out when given).
  int try_run(const std::string& log_name, const std::vector<std::string>& args, std::string* out = nullptr);
  // run() for commands with --json: parses their stdout.
  nlohmann::json run_json(const std::string& log_name, const std::vector<std::string>& args);

  // Every command run so far, in order, as a user would type it, with the recorded `mkdir -p` and
  // file creations (record_file) in between.
  const std::vector<std::string>& commands() const { return commands_; }
  // The number of zeroloss commands run so far.
  size_t runs() const { return runs_; }

 private:
  nlohmann::json config_;
  std::string out_;
  std::function<void(const std::string&)> progress_;
  std::vector<std::string> commands_;
  std::vector<std::string> block_dirs_;  // folders already recorded with mkdir -p in this block
  size_t runs_ = 0;
};

// A zeroloss command run by the report failed.
class CommandFailedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Helpers shared by the claims.
nlohmann::json read_json_file(const std::string& path);
// Column `name` of a CSV with a header (empty cells become NaN).
std::vector<double> read_csv_column(const std::string& path, const std::string& name);
std::string fmt(double x, int precision = 4);
// j[key] if present, else null (never the undefined behaviour of operator[] on a const json).
nlohmann::json value_or_null(const nlohmann::json& j, const std::string& key);
// A shell word: `word` itself when it needs no quoting, else in single quotes.
std::string shell_quote(const std::string& word);
// Joins commands with " && " for the report's "reproduce" cell.
std::string join_commands(const std::vector<std::string>& commands);

// The claims. Each returns a complete verdict; an error while checking becomes status Fail with the
// error in the evidence (never a made-up number).
Verdict check_global_minimum(VerificationContext& ctx);
Verdict check_flow_rate(VerificationContext& ctx);
Verdict check_sgd_tracks_flow(VerificationContext& ctx);
Verdict check_rank_one_sgd(VerificationContext& ctx);
Verdict check_local_convexity(VerificationContext& ctx);
Verdict check_outside_assumptions(VerificationContext& ctx);

// Writes out/problem/data.csv (and returns its path) from the configuration's "problem" section.
std::string write_problem_data(VerificationContext& ctx);
// Writes a random start (weights CSV) for the problem: theta ~ N(0, s^2/mean||x_i||^2), a = 1 or
// mixed signs; `index` selects the seed. Returns its path. The file is recorded in the reproduce
// block (VerificationContext::record_file).
std::string write_random_start(VerificationContext& ctx, const std::string& data_csv, int m, int index,
                               bool mixed_second_layer, const std::string& relative_path);

}  // namespace zeroloss::cli
