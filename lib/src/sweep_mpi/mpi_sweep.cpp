#include "zeroloss/sweep_mpi/mpi_sweep.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/sweep_mpi/mpi_task_queue.hpp"

namespace zeroloss {

bool started_by_mpi_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

namespace {

// Every rank on this node, by OpenMPI's launcher's account.
bool every_rank_on_this_node() {
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
  return local != nullptr && world != nullptr && std::string(local) == world;
}

std::string worker_line(const SweepWorkerRecord& w) {
  return nlohmann::json{{"worker", w.worker}, {"tasks", w.tasks}, {"task", w.task_seconds}, {"queue", w.queue_seconds},
                        {"end", w.end_seconds}, {"user", w.user_seconds}, {"system", w.system_seconds},
                        {"startup", w.startup_seconds}}
      .dump();
}

SweepWorkerRecord worker_from_line(const std::string& line) {
  const nlohmann::json j = nlohmann::json::parse(line);
  SweepWorkerRecord w;
  w.worker = j.at("worker").get<std::string>();
  w.tasks = j.at("tasks").get<std::size_t>();
  w.task_seconds = j.at("task").get<double>();
  w.queue_seconds = j.at("queue").get<double>();
  w.end_seconds = j.at("end").get<double>();
  w.user_seconds = j.at("user").get<double>();
  w.system_seconds = j.at("system").get<double>();
  w.startup_seconds = j.at("startup").get<double>();
  return w;
}

}  // namespace

MpiSession::MpiSession() {
  if (every_rank_on_this_node() && std::getenv("OMPI_MCA_pml") == nullptr) ::setenv("OMPI_MCA_pml", "ob1", 0);
  int provided = 0;
  const auto t0 = std::chrono::steady_clock::now();
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  init_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

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
  refusal = broadcast_from_rank0(refusal);
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
    barrier_without_spinning();  // before MPI_Win_free, which would wait for the others by spinning
  }
  // Each rank's records, one JSON line per worker.
  std::string lines;
  for (SweepWorkerRecord& w : mine.workers) {
    w.startup_seconds = session.init_seconds();
    lines += worker_line(w) + "\n";
  }
  const std::vector<std::string> every_rank = gather_to_rank0(lines);
  if (session.rank() != 0) return mine;
  std::vector<SweepWorkerRecord> workers;
  for (const std::string& text : every_rank) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) workers.push_back(worker_from_line(line));
  }
  SweepSummary s = write_sweep_results(spec, options, workers);
  s.run = mine.run;
  s.skipped = mine.skipped;
  s.workers = workers;
  return s;
}

}  // namespace zeroloss
