#pragma once
// The MPI executor of a sweep (docs/sweeps.md), in the optional target zeroloss_mpi (built when MPI
// is found; only the program links it). Every rank draws task indices from one counter held by rank
// 0 (MPI_Fetch_and_op on a one-sided window: dynamic scheduling, a rank asks when it is free, rank 0
// works too), runs them with the engine of sweep_run.hpp into the shared folder DIR, and rank 0
// writes results.csv and the summary once every rank has finished. DIR must be on a file system
// all ranks see (as /home or /scratch on a cluster).

#include <string>

#include "zeroloss/sweep/sweep_run.hpp"

namespace zeroloss {

// True when an MPI launcher started this process (mpirun/mpiexec of OpenMPI, MPICH's Hydra, srun:
// OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK is set).
bool started_by_mpi_launcher();

// MPI_Init on construction, MPI_Finalize on destruction (one per process). When OpenMPI's
// launcher placed every rank on this node (OMPI_COMM_WORLD_LOCAL_SIZE = OMPI_COMM_WORLD_SIZE) and
// the user chose no point-to-point layer (no OMPI_MCA_pml in the environment), the session asks
// for OpenMPI's shared-memory path (OMPI_MCA_pml=ob1, whose vader transport carries every message
// on one node): the sweep's messages are a few bytes per task, and the default selection first
// initialises the network layers (libfabric, UCX), which costs a quarter of a second of MPI_Init
// on a workstation (docs/performance.md section 11). Across nodes nothing is changed.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  double init_seconds() const { return init_seconds_; }  // wall time of MPI_Init

 private:
  int rank_ = 0, size_ = 1;
  double init_seconds_ = 0;
};

// Runs the sweep over the ranks of `session` (collective: every rank calls it with the same
// specification and options; options.threads workers per rank, 0 meaning 1). Rank 0 prepares DIR
// first (a refusal there, such as another specification in DIR, is thrown on every rank with the
// same message, nothing run). Rank 0 gathers every rank's worker records (workers.csv) once they
// have run out of tasks, and writes the results. A failure outside a task (a file that cannot be written) aborts all
// ranks with MPI_Abort after printing it, since the others would wait for that rank forever. The
// summary's counts of run and skipped tasks are this rank's; the totals are rank 0's.
SweepSummary run_sweep_on_mpi_ranks(const MpiSession& session, const SweepSpecification& spec, const SweepOptions& options);

}  // namespace zeroloss
