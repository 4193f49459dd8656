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

std::vector<std::string> gather_to_rank0(const std::string& message) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int length = static_cast<int>(message.size());
  std::vector<int> lengths(rank == 0 ? static_cast<std::size_t>(size) : 0);
  MPI_Request request;
  MPI_Igather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &request);
  wait_without_spinning(request);
  std::vector<int> offsets(lengths.size(), 0);
  for (std::size_t r = 1; r < lengths.size(); ++r) offsets[r] = offsets[r - 1] + lengths[r - 1];
  std::vector<char> text(lengths.empty() ? 0 : static_cast<std::size_t>(offsets.back() + lengths.back()));
  MPI_Igatherv(message.data(), length, MPI_CHAR, text.data(), lengths.data(), offsets.data(), MPI_CHAR, 0,
               MPI_COMM_WORLD, &request);
  wait_without_spinning(request);
  std::vector<std::string> all;
  for (std::size_t r = 0; r < lengths.size(); ++r)
    all.emplace_back(text.data() + offsets[r], static_cast<std::size_t>(lengths[r]));
  return all;
}

void barrier_without_spinning() {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  wait_without_spinning(request);
}

}  // namespace zeroloss
