#pragma once
// What the claims of the verification report share while they gather evidence: the configuration,
// the report's folder, the program they run, and the record of every command in the order it ran
// (the "reproduce" blocks of the report).

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/sweep/command_batch.hpp"

namespace zeroloss {

// A zeroloss command run by the report exited non-zero, or did not print what it promised.
class CommandFailedError : public Error {
 public:
  using Error::Error;
};

class VerificationContext {
 public:
  // `config` is a resolved configuration (verification/verification_config.hpp); `out_dir` the report's folder
  // (created, with out_dir/logs); `program` the zeroloss executable that runs the commands (its
  // command lines are recorded as "zeroloss ..." whatever its path); `progress` receives one line
  // per long step (may be empty). `batches` runs try_run_parallel's batches
  // (sweep/command_batch.hpp: the MPI ranks under mpirun); null: local threads.
  VerificationContext(nlohmann::json config, std::string out_dir, std::string program,
                      std::function<void(const std::string&)> progress,
                      std::shared_ptr<CommandBatchExecutor> batches = nullptr);

  // The interrupt flag (may be null, the default): once it is true, no further command starts, the
  // running ones are sent SIGINT (run_child_process), and run, try_run, run_json and try_run_parallel
  // throw InterruptedError instead of returning.
  void set_interrupt(const std::atomic<bool>* interrupt) { interrupt_ = interrupt; }
  const std::atomic<bool>* interrupt() const { return interrupt_; }

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

  // One command of a batch (try_run_parallel).
  struct Command {
    std::string log_name;
    std::vector<std::string> args;
  };
  // try_run for independent commands, at most `threads` (>= 1) at a time: all are recorded in the
  // given order first, then run in parallel child processes, longer first when `cost` (one number
  // per command) is given, by the context's batch executor (under MPI: over the ranks, one command
  // per rank at a time, whatever `threads`). Returns the exit codes in the given order; throws
  // Error when a command could not be started.
  std::vector<int> try_run_parallel(const std::vector<Command>& commands, int threads,
                                    const std::vector<double>& cost = {});

  // Every command run so far, in order, as a user would type it, with the recorded `mkdir -p` and
  // file creations (record_file) in between.
  const std::vector<std::string>& commands() const { return commands_; }
  // The commands from index `first` (a begin_block()) on, joined with " && ".
  std::string commands_since(size_t first) const;
  // The number of zeroloss commands run so far.
  size_t runs() const { return runs_; }

 private:
  // Records and runs the command; returns its exit code.
  int execute(const std::string& log_name, const std::vector<std::string>& args);

  nlohmann::json config_;
  std::string out_;
  std::string program_;
  std::function<void(const std::string&)> progress_;
  std::shared_ptr<CommandBatchExecutor> batches_;
  std::vector<std::string> commands_;
  std::vector<std::string> block_dirs_;  // folders already recorded with mkdir -p in this block
  size_t runs_ = 0;
  const std::atomic<bool>* interrupt_ = nullptr;
};

}  // namespace zeroloss
