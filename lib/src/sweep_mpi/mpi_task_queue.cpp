#include "zeroloss/sweep_mpi/mpi_task_queue.hpp"

#include <chrono>
#include <thread>
#include <vector>

namespace zeroloss {

MpiCounterQueue::MpiCounterQueue(int rank, std::size_t size) : size_(size) {
  MPI_Win_allocate(rank == 0 ? static_cast<MPI_Aint>(sizeof(long)) : 0, sizeof(long), MPI_INFO_NULL, MPI_COMM_WORLD,
                   &base_, &window_);
  if (rank == 0) *base_ = 0;
  MPI_Barrier(MPI_COMM_WORLD);
}

MpiCounterQueue::~MpiCounterQueue() { MPI_Win_free(&window_); }

std::optional<std::size_t> MpiCounterQueue::next() {
  std::lock_guard<std::mutex> lock(mutex_);
  const long one = 1;
  long index = 0;
  MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, window_);
  MPI_Fetch_and_op(&one, &index, MPI_LONG, 0, 0, MPI_SUM, window_);
  MPI_Win_unlock(0, window_);
  if (index < 0 || static_cast<std::size_t>(index) >= size_) return std::nullopt;
  return static_cast<std::size_t>(index);
}

void wait_without_spinning(MPI_Request& request) {
  int done = 0;
  for (MPI_Test(&request, &done, MPI_STATUS_IGNORE); !done; MPI_Test(&request, &done, MPI_STATUS_IGNORE))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

std::string broadcast_from_rank0(const std::string& message) {
  unsigned long long length = message.size();
  MPI_Request request;
  MPI_Ibcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD, &request);
  wait_without_spinning(request);
  std::vector<char> text(message.begin(), message.end());
  text.resize(static_cast<std::size_t>(length));
  if (length > 0) {
    MPI_Ibcast(text.data(), static_cast<int>(length), MPI_CHAR, 0, MPI_COMM_WORLD, &request);
    wait_without_spinning(request);
  }
  return std::string(text.begin(), text.end());
}

void barrier_without_spinning() {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  wait_without_spinning(request);
}

}  // namespace zeroloss
