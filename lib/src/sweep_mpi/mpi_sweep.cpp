#include "zeroloss/sweep_mpi/mpi_sweep.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/sweep_mpi/mpi_task_queue.hpp"

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
    barrier_without_spinning();
  }
  if (session.rank() != 0) return mine;
  SweepSummary s = write_sweep_results(spec, options);
  s.run = mine.run;
  s.skipped = mine.skipped;
  return s;
}

}  // namespace zeroloss
