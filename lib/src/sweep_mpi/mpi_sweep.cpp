#include "zeroloss/sweep_mpi/mpi_sweep.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <vector>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

bool started_by_mpi_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

MpiSession::MpiSession() {
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

namespace {

// The shared counter: a window of one long on rank 0; next() is an atomic fetch-and-add (passive
// target, so rank 0 need not take part while it computes). Serialised within a rank by a mutex.
class MpiCounterQueue : public SweepTaskQueue {
 public:
  MpiCounterQueue(int rank, std::size_t size) : size_(size) {
    MPI_Win_allocate(rank == 0 ? static_cast<MPI_Aint>(sizeof(long)) : 0, sizeof(long), MPI_INFO_NULL,
                     MPI_COMM_WORLD, &base_, &window_);
    if (rank == 0) *base_ = 0;
    MPI_Barrier(MPI_COMM_WORLD);
  }
  ~MpiCounterQueue() override { MPI_Win_free(&window_); }
  std::optional<std::size_t> next() override {
    std::lock_guard<std::mutex> lock(mutex_);
    const long one = 1;
    long index = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, window_);
    MPI_Fetch_and_op(&one, &index, MPI_LONG, 0, 0, MPI_SUM, window_);
    MPI_Win_unlock(0, window_);
    if (index < 0 || static_cast<std::size_t>(index) >= size_) return std::nullopt;
    return static_cast<std::size_t>(index);
  }

 private:
  std::size_t size_;
  long* base_ = nullptr;
  MPI_Win window_;
  std::mutex mutex_;
};

// Rank 0's message (empty: fine) broadcast to every rank.
std::string broadcast_message(const std::string& message) {
  int length = static_cast<int>(message.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<char> text(message.begin(), message.end());
  text.resize(static_cast<std::size_t>(length));
  if (length > 0) MPI_Bcast(text.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
  return std::string(text.begin(), text.end());
}

}  // namespace

SweepSummary run_sweep_on_mpi_ranks(const MpiSession& session, const SweepSpecification& spec, const SweepOptions& options) {
  std::string refusal;
  if (session.rank() == 0) {
    try {
      prepare_sweep_folder(spec, options);
    } catch (const std::exception& e) {
      refusal = e.what();
      if (refusal.empty()) refusal = "the sweep folder could not be prepared";
    }
  }
  refusal = broadcast_message(refusal);
  if (!refusal.empty()) throw InputError(refusal);

  SweepSummary mine;
  {
    MpiCounterQueue queue(session.rank(), spec.tasks.size());
    try {
      mine = run_sweep_tasks(spec, options, queue, std::max(1, options.threads), "rank " + std::to_string(session.rank()));
    } catch (const std::exception& e) {
      std::cerr << "zeroloss sweep: rank " << session.rank() << ": " << e.what() << std::endl;
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  if (session.rank() != 0) return mine;
  SweepSummary s = write_sweep_results(spec, options);
  s.run = mine.run;
  s.skipped = mine.skipped;
  return s;
}

}  // namespace zeroloss
