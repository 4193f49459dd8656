#pragma once
// What the MPI executors share (zeroloss_mpi only): the task queue over the ranks, rank 0's text
// broadcast to every rank, and a wait that does not spin.

#include <mpi.h>

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/sweep/sweep_run.hpp"

namespace zeroloss {

// The shared counter: a window of one long on rank 0; next() is an atomic fetch-and-add (passive
// target, so rank 0 need not take part while it computes). Construction and destruction are
// collective (every rank of MPI_COMM_WORLD). Serialised within a rank by a mutex.
class MpiCounterQueue : public SweepTaskQueue {
 public:
  MpiCounterQueue(int rank, std::size_t size);
  ~MpiCounterQueue() override;
  MpiCounterQueue(const MpiCounterQueue&) = delete;
  MpiCounterQueue& operator=(const MpiCounterQueue&) = delete;
  std::optional<std::size_t> next() override;

 private:
  std::size_t size_;
  long* base_ = nullptr;
  MPI_Win window_;
  std::mutex mutex_;
};

// Completes `request`, polling with short sleeps instead of MPI's busy wait, so that a rank that
// waits (for rank 0's next batch, for the last command of a batch) leaves its core to the ranks and
// child processes that compute.
void wait_without_spinning(MPI_Request& request);

// Rank 0's `message` on every rank (collective; the other ranks' argument is ignored), waited for
// with wait_without_spinning.
std::string broadcast_from_rank0(const std::string& message);

// Every rank's `message` on rank 0, in rank order (collective; an empty vector on the other
// ranks), waited for with wait_without_spinning. Rank 0 returns when every rank has sent; the
// others as soon as theirs is on its way.
std::vector<std::string> gather_to_rank0(const std::string& message);

// MPI_Barrier waited for with wait_without_spinning.
void barrier_without_spinning();

}  // namespace zeroloss
