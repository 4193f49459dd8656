#include "zeroloss/runs/run_control.hpp"

#include <chrono>
#include <thread>
#include <vector>

namespace zeroloss {

void run_workers_reporting(int threads, const std::function<void()>& worker, const std::atomic<std::uint64_t>& progress,
                           const RunControl& control) {
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  std::atomic<bool> done{false};
  std::thread watcher([&]() {
    while (!done) {
      control.report(static_cast<double>(progress.load()));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  for (auto& t : pool) t.join();
  done = true;
  watcher.join();
}

}  // namespace zeroloss
