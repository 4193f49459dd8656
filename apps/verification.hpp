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
  // out/<relative>, with the directory created.
  std::string dir(const std::string& relative) const;
  void progress(const std::string& message) const;

  // Runs `zeroloss args...` with stdout in out/logs/<log_name>.out and stderr in
  // out/logs/<log_name>.err. Throws CommandFailedError (with the tail of stderr) when the command
  // exits non-zero. Returns the captured stdout.
  std::string run(const std::string& log_name, const std::vector<std::string>& args);
  // Same, but returns the exit code instead of throwing (stdout into *out when given).
  int try_run(const std::string& log_name, const std::vector<std::string>& args, std::string* out = nullptr);
  // run() for commands with --json: parses their stdout.
  nlohmann::json run_json(const std::string& log_name, const std::vector<std::string>& args);

  // Every command run so far, in order, as a user would type it.
  const std::vector<std::string>& commands() const { return commands_; }

 private:
  nlohmann::json config_;
  std::string out_;
  std::function<void(const std::string&)> progress_;
  std::vector<std::string> commands_;
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
// mixed signs; `index` selects the seed. Returns its path.
std::string write_random_start(VerificationContext& ctx, const std::string& data_csv, int m, int index,
                               bool mixed_second_layer, const std::string& relative_path);

}  // namespace zeroloss::cli
