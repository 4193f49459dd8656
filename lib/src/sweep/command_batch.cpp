#include "zeroloss/sweep/command_batch.hpp"

#include <algorithm>
#include <numeric>
#include <thread>

#include "zeroloss/io/child_process.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {

bool CommandBatch::is_valid(std::string* error) const {
  std::string e;
  if (!order.empty()) {
    std::vector<std::size_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::size_t> identity(commands.size());
    std::iota(identity.begin(), identity.end(), std::size_t{0});
    if (sorted != identity)
      e = "command batch: the order is not a permutation of the " + std::to_string(commands.size()) + " commands";
  }
  if (program.empty() && !commands.empty()) e = "command batch: no program";
  if (error != nullptr) *error = e;
  return e.empty();
}

void run_command_tasks(const CommandBatch& batch, SweepTaskQueue& queue, int workers, CommandBatchResult& result) {
  std::string error;
  if (!batch.is_valid(&error)) throw InputError(error);
  if (workers < 1) throw InputError("command batch: workers must be >= 1 (got " + std::to_string(workers) + ")");
  if (result.exit_codes.size() != batch.commands.size() || result.errors.size() != batch.commands.size())
    throw InputError("command batch: the result is not sized to the batch");
  const auto worker = [&]() {
    for (std::optional<std::size_t> q = queue.next(); q; q = queue.next()) {
      const std::size_t k = batch.order.empty() ? *q : batch.order.at(*q);
      const ChildCommand& c = batch.commands[k];
      if (batch.interrupt != nullptr && batch.interrupt->load(std::memory_order_relaxed)) {
        result.exit_codes[k] = CommandBatchResult::kNotStarted;
        result.errors[k] = "interrupted";
        continue;
      }
      try {
        result.exit_codes[k] =
            run_child_process(batch.program, c.args, c.stdout_path, c.stderr_path, "", batch.interrupt).exit_code;
      } catch (const std::exception& e) {
        result.exit_codes[k] = CommandBatchResult::kNotStarted;
        result.errors[k] = e.what();
        if (result.errors[k].empty()) result.errors[k] = "could not be started";
      }
    }
  };
  std::vector<std::thread> pool;
  const std::size_t n = std::min(static_cast<std::size_t>(workers), batch.commands.size());
  for (std::size_t k = 1; k < n; ++k) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

CommandBatchResult LocalCommandBatchExecutor::run(const CommandBatch& batch, int threads) {
  CommandBatchResult r;
  r.exit_codes.assign(batch.commands.size(), 0);
  r.errors.assign(batch.commands.size(), "");
  CountingTaskQueue queue(batch.commands.size());
  run_command_tasks(batch, queue, threads, r);
  return r;
}

}  // namespace zeroloss
