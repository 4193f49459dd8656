#pragma once
// Command batches over MPI ranks (zeroloss_mpi only; docs/sweeps.md, "zeroloss run on MPI ranks").
// Rank 0 drives (the verification report's claims, in order) and installs an
// MpiCommandBatchExecutor; every other rank calls serve_command_batches and waits. At each batch
// rank 0 broadcasts it, every rank draws command indices from one MpiCounterQueue (dynamic, in
// the batch's order: longest first), runs one command at a time as a child process, and the exit
// codes are reduced onto rank 0. When rank 0 is done (or fails), the executor's finish() (also its
// destructor) releases the serving ranks. The ranks share the file system where the commands write.

#include <vector>

#include "zeroloss/sweep/command_batch.hpp"
#include "zeroloss/sweep_mpi/mpi_sweep.hpp"

namespace zeroloss {

class MpiCommandBatchExecutor : public CommandBatchExecutor {
 public:
  explicit MpiCommandBatchExecutor(const MpiSession& session);  // on rank 0 only (InputError otherwise)
  ~MpiCommandBatchExecutor() override;                          // finish()
  MpiCommandBatchExecutor(const MpiCommandBatchExecutor&) = delete;
  MpiCommandBatchExecutor& operator=(const MpiCommandBatchExecutor&) = delete;
  // Collective with the serving ranks. `threads` is ignored: each rank runs one command at a time
  // (start one rank per core). A command that could not be started on another rank is reported by
  // that rank on its stderr and here as an error naming the rank.
  CommandBatchResult run(const CommandBatch& batch, int threads) override;
  // Tells the serving ranks that no batch follows (once; later calls do nothing).
  void finish();
  // How many commands each rank has run so far (index: rank).
  const std::vector<long>& commands_per_rank() const { return per_rank_; }

 private:
  std::vector<long> per_rank_;
  bool finished_ = false;
};

// On every rank but 0: runs rank 0's batches until its finish(). InputError on rank 0.
void serve_command_batches(const MpiSession& session);

}  // namespace zeroloss
