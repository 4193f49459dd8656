#pragma once
// The execution of a sweep (docs/sweeps.md): tasks drawn from a queue by workers (threads of one
// process, or MPI ranks through zeroloss/sweep_mpi), each writing DIR/tasks/<id>/ and its
// result.json; then DIR/results.csv, DIR/summary.json, DIR/timings.csv and DIR/sharpness.svg
// assembled in task order from those files. The bytes of results.csv, summary.json and of every
// task's outputs do not depend on the executor, the number of workers or on interruptions (the run
// folders' manifests .zeroloss-run.json, which hold a pid and clock times, aside); times go to
// DIR/timings/, DIR/timings.csv and DIR/workers.csv.

#include <atomic>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/sweep/sweep_specification.hpp"

namespace zeroloss {

struct SweepOptions {
  std::string out;  // DIR
  int threads = 0;  // local executor: worker threads (0 = all cores)
  bool figures = true;  // DIR/sharpness.svg (when gnuplot is available)
  // Called after each task this process runs or skips (status "skipped" for a task finished
  // earlier), from one worker at a time. May be empty.
  std::function<void(const SweepTask& task, const std::string& status, double seconds)> task_finished;
  bool is_valid(std::string* error) const;  // an output folder, threads >= 0
  void validate() const;                    // InputError with is_valid's message
};

// Hands out task indices, each exactly once over all workers, in increasing order (dynamic
// scheduling: a worker asks when it is free). Implementations are thread-safe.
class SweepTaskQueue {
 public:
  virtual ~SweepTaskQueue() = default;
  virtual std::optional<std::size_t> next() = 0;
};

// The local queue: one atomic counter over 0..size-1.
class CountingTaskQueue : public SweepTaskQueue {
 public:
  explicit CountingTaskQueue(std::size_t size) : size_(size) {}
  std::optional<std::size_t> next() override;

 private:
  std::size_t size_;
  std::atomic<std::size_t> next_{0};
};

// What one worker did (a row of DIR/workers.csv: timing information, not a result). Times are wall
// seconds of the worker's own process; `end_seconds` counts from the moment its executor started
// handing out tasks (under MPI every rank starts from the same collective), so the workers' idle
// time at the end is the largest end_seconds minus its own.
struct SweepWorkerRecord {
  std::string worker;           // "thread 1", "rank 2" (as in timings.csv)
  std::size_t tasks = 0;        // tasks it ran (skipped ones not counted)
  double task_seconds = 0;      // inside those tasks
  double queue_seconds = 0;     // waiting for the queue's next index (MPI: the fetch-and-add on rank 0)
  double end_seconds = 0;       // when the queue told it that no task was left
  double user_seconds = 0, system_seconds = 0;  // CPU time of its thread (getrusage) when it ended
  double startup_seconds = 0;   // MPI: MPI_Init of its process (0 for local threads)
};

struct SweepSummary {
  std::size_t tasks = 0;
  std::size_t completed = 0, failed = 0;  // failed: any status other than completed
  std::size_t skipped = 0;                // finished by an earlier process (resume), this process's count
  std::size_t run = 0;                    // run (or resumed) by this process
  std::string results;                    // DIR/results.csv
  std::vector<SweepWorkerRecord> workers; // this process's workers (MPI, rank 0: every rank's)
};

// Creates DIR and DIR/tasks, records the specification in DIR/specification.json, or, when DIR
// holds a sweep already, checks that it is the same specification (InputError naming DIR
// otherwise): rerunning with the same DIR resumes. Call once (on one rank) before any task runs.
void prepare_sweep_folder(const SweepSpecification& spec, const SweepOptions& options);

// Runs tasks from `queue` on `workers` threads until it is empty; `worker_name` labels this
// process's workers in the timings ("thread", "rank 2"). A task already finished (its result.json
// exists) is skipped; an interrupted SGD task resumes from its checkpoints, an interrupted flow
// starts again. A task that throws is recorded as failed with the message; the others go on.
// Returns the counts of this process (run, skipped) and its workers' records.
SweepSummary run_sweep_tasks(const SweepSpecification& spec, const SweepOptions& options, SweepTaskQueue& queue,
                             int workers, const std::string& worker_name);

// After every task has finished: writes results.csv, summary.json, timings.csv and the figure from
// the tasks' files (InputError if a task has no result), and workers.csv from `workers` (the
// records of the workers that ran this time; none: no workers.csv written).
SweepSummary write_sweep_results(const SweepSpecification& spec, const SweepOptions& options,
                                 const std::vector<SweepWorkerRecord>& workers = {});

// The rows of workers.csv (header included) with each worker's idle time at the end.
std::string sweep_workers_csv(const std::vector<SweepWorkerRecord>& workers);

// The local executor: prepare, run every task on options.threads threads, write the results.
SweepSummary run_sweep(const SweepSpecification& spec, const SweepOptions& options);

}  // namespace zeroloss
