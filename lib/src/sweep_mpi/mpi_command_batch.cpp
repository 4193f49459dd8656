#include "zeroloss/sweep_mpi/mpi_command_batch.hpp"

#include <mpi.h>

#include <climits>
#include <iostream>

#include <nlohmann/json.hpp>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/sweep_mpi/mpi_task_queue.hpp"

namespace zeroloss {

namespace {

using nlohmann::json;

// A batch as the text rank 0 broadcasts (never empty: the empty text means "no more batches").
std::string batch_text(const CommandBatch& b) {
  json commands = json::array();
  for (const ChildCommand& c : b.commands) commands.push_back({{"args", c.args}, {"out", c.stdout_path}, {"err", c.stderr_path}});
  return json{{"program", b.program}, {"commands", commands}, {"order", b.order}}.dump();
}

CommandBatch batch_from_text(const std::string& text) {
  const json j = json::parse(text);
  CommandBatch b;
  b.program = j.at("program").get<std::string>();
  for (const json& c : j.at("commands"))
    b.commands.push_back({c.at("args").get<std::vector<std::string>>(), c.at("out").get<std::string>(),
                          c.at("err").get<std::string>()});
  b.order = j.at("order").get<std::vector<std::size_t>>();
  return b;
}

constexpr int kRunElsewhere = INT_MIN;  // below every exit code and kNotStarted

// Every rank's part of one batch (collective): draws from a fresh counter, runs its commands, and
// reduces the exit codes onto rank 0 (each command was run by exactly one rank: the maximum over the
// ranks is its code). Another rank's start failure is printed there and marked kNotStarted. On rank
// 0, `per_rank` (one entry per rank) counts the commands each rank ran.
CommandBatchResult run_batch_on_this_rank(int rank, const CommandBatch& batch, std::vector<long>* per_rank) {
  const std::size_t n = batch.commands.size();
  CommandBatchResult mine;
  mine.exit_codes.assign(n, kRunElsewhere);
  mine.errors.assign(n, "");
  {
    MpiCounterQueue queue(rank, n);
    run_command_tasks(batch, queue, 1, mine);
  }
  if (rank != 0)
    for (std::size_t k = 0; k < n; ++k)
      if (!mine.errors[k].empty()) std::cerr << "zeroloss: rank " << rank << ": " << mine.errors[k] << std::endl;
  CommandBatchResult all;
  all.exit_codes.assign(n, kRunElsewhere);
  all.errors = mine.errors;
  long ran_here = 0;
  for (int code : mine.exit_codes) ran_here += code != kRunElsewhere ? 1 : 0;
  std::vector<long> counts(per_rank != nullptr ? per_rank->size() : 0);
  MPI_Request request;
  MPI_Igather(&ran_here, 1, MPI_LONG, counts.data(), 1, MPI_LONG, 0, MPI_COMM_WORLD, &request);
  wait_without_spinning(request);
  if (per_rank != nullptr)
    for (std::size_t r = 0; r < counts.size(); ++r) (*per_rank)[r] += counts[r];
  MPI_Ireduce(mine.exit_codes.data(), all.exit_codes.data(), static_cast<int>(n), MPI_INT, MPI_MAX, 0, MPI_COMM_WORLD,
              &request);
  wait_without_spinning(request);
  if (rank == 0)
    for (std::size_t k = 0; k < n; ++k) {
      if (all.exit_codes[k] == kRunElsewhere)
        throw Error("command batch: no rank ran command " + std::to_string(k) + " of " + std::to_string(n));
      if (all.exit_codes[k] == CommandBatchResult::kNotStarted && all.errors[k].empty())
        all.errors[k] = "`" + batch.program + "` could not be started on another MPI rank (see that rank's message above)";
    }
  return all;
}

}  // namespace

MpiCommandBatchExecutor::MpiCommandBatchExecutor(const MpiSession& session)
    : per_rank_(static_cast<std::size_t>(session.size()), 0) {
  if (session.rank() != 0) throw InputError("the MPI command batch executor runs on rank 0 (the other ranks serve)");
}

MpiCommandBatchExecutor::~MpiCommandBatchExecutor() { finish(); }

void MpiCommandBatchExecutor::finish() {
  if (finished_) return;
  finished_ = true;
  (void)broadcast_from_rank0("");
}

CommandBatchResult MpiCommandBatchExecutor::run(const CommandBatch& batch, int threads) {
  (void)threads;
  std::string error;
  if (!batch.is_valid(&error)) throw InputError(error);
  if (finished_) throw InputError("command batch: the MPI executor has finished (the serving ranks are gone)");
  if (batch.commands.empty()) return {};
  (void)broadcast_from_rank0(batch_text(batch));
  return run_batch_on_this_rank(0, batch, &per_rank_);
}

void serve_command_batches(const MpiSession& session) {
  if (session.rank() == 0) throw InputError("serve_command_batches: rank 0 drives the batches, it does not serve");
  for (std::string text = broadcast_from_rank0(""); !text.empty(); text = broadcast_from_rank0(""))
    (void)run_batch_on_this_rank(session.rank(), batch_from_text(text), nullptr);
}

}  // namespace zeroloss
