#pragma once
// How the caller of a long run follows and stops it: a progress callback and an interruption flag,
// both owned by the caller (the command line draws a progress bar and sets the flag from its signal
// handler).

#include <atomic>
#include <cstdint>
#include <functional>

namespace zeroloss {

struct RunControl {
  // Called with the work done so far in this process (SGD: steps over all seeds; flow: the time t
  // reached), from one thread at a time. May be empty.
  std::function<void(double done)> progress;
  // When it becomes true the run stops at its next check (SGD: between chunks of steps, after
  // writing a checkpoint; flow: at the next logged sample) and reports status interrupted. May be null.
  const std::atomic<bool>* interrupt = nullptr;
  // Called once, before the first progress report, with the total those reports count towards, by
  // runs that know it only once under way (compare: the SGD steps over all step sizes and seeds, after
  // the flow). May be empty.
  std::function<void(double total)> start;

  bool interrupted() const { return interrupt != nullptr && interrupt->load(std::memory_order_relaxed); }
  void begin(double total) const {
    if (start) start(total);
  }
  void report(double done) const {
    if (progress) progress(done);
  }
};

// Runs `worker` on `threads` threads (each returns when the shared work is done) and, until all have
// returned, reports `progress` to `control` every 100 ms from one watcher thread.
void run_workers_reporting(int threads, const std::function<void()>& worker, const std::atomic<std::uint64_t>& progress,
                           const RunControl& control);

}  // namespace zeroloss
