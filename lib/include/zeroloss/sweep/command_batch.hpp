#pragma once
// The sweep engine's task kind `command`: a batch of independent child commands (a program and its
// arguments, stdout and stderr to files), run through the same task queues as a sweep's tasks
// (sweep_run.hpp: a counter of task indices, local or on MPI ranks). The verification report's
// batches (VerificationContext::try_run_parallel) are such batches, so `mpirun -np N zeroloss run`
// spreads them over N ranks (docs/sweeps.md). A command's outputs depend only on its arguments, so
// which worker runs it changes nothing but its timing.

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "zeroloss/sweep/sweep_run.hpp"

namespace zeroloss {

struct ChildCommand {
  std::vector<std::string> args;  // argv[1..] of the program
  std::string stdout_path, stderr_path;
};

struct CommandBatch {
  std::string program;                 // the executable (no PATH search)
  std::vector<ChildCommand> commands;  // in the caller's order
  // The order in which the queue's indices map to commands (a permutation of 0..size-1: index q
  // runs commands[order[q]]; longest first when the caller knows the costs). Empty: given order.
  std::vector<std::size_t> order;
  // When it becomes true no further command is started (those left get kNotStarted and the error
  // "interrupted") and the running ones are interrupted (run_child_process). May be null.
  const std::atomic<bool>* interrupt = nullptr;
  bool is_valid(std::string* error) const;  // order a permutation of the commands
};

// What each command gave, in the caller's order: its exit code (run_child_process's: 128 + signal
// when killed), or, when it could not be started, kNotStarted and the message in `errors`.
struct CommandBatchResult {
  static constexpr int kNotStarted = -1;
  std::vector<int> exit_codes;
  std::vector<std::string> errors;  // empty string: started
};

// Runs the commands whose queue indices `queue` hands to this process, on `workers` (>= 1) threads;
// writes their entries of `result` (sized to the batch by the caller; entries of commands run
// elsewhere are left as they are). The commands themselves never throw here: a command that
// cannot be started is recorded in result.errors.
void run_command_tasks(const CommandBatch& batch, SweepTaskQueue& queue, int workers, CommandBatchResult& result);

// Runs a whole batch and returns every command's result; implementations: the local one below and
// the MPI one (sweep_mpi/mpi_command_batch.hpp).
class CommandBatchExecutor {
 public:
  virtual ~CommandBatchExecutor() = default;
  // `threads` (>= 1) is the caller's wish for local parallelism; an executor may use another
  // count (the MPI executor runs one command per rank at a time).
  virtual CommandBatchResult run(const CommandBatch& batch, int threads) = 0;
};

// Local threads drawing from one counter (sweep_run.hpp's CountingTaskQueue).
class LocalCommandBatchExecutor : public CommandBatchExecutor {
 public:
  CommandBatchResult run(const CommandBatch& batch, int threads) override;
};

}  // namespace zeroloss
