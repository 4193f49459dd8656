// zeroloss sweep: many independent tasks from a specification, on threads or on MPI ranks, with the
// same bytes (docs/commands/sweep.md). The engine is the library's (zeroloss/sweep/); this file
// parses, chooses the executor and prints.

#include <iostream>
#include <memory>
#include <string>

#include "command.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/sweep/sweep_run.hpp"
#ifdef ZEROLOSS_WITH_MPI
#include "zeroloss/sweep_mpi/mpi_sweep.hpp"
#endif

namespace zeroloss::cli {
namespace {

struct SweepCliOptions {
  std::string spec, executor = "auto";
  SweepOptions sweep;
  bool example = false, no_figures = false, quiet = false;
};

void run_sweep_command(const SweepCliOptions& c) {
  if (c.example) {
    std::cout << example_sweep_specification() << std::flush;
    return;
  }
  if (c.spec.empty()) throw InputError("SPEC: a specification file is required (zeroloss sweep --example prints one)");
  const SweepSpecification spec = read_sweep_specification(c.spec);
  SweepOptions o = c.sweep;
  o.figures = !c.no_figures;
  o.validate();
  if (!c.quiet)
    o.task_finished = [](const SweepTask& t, const std::string& status, double seconds) {
      std::cout << "task " << t.id << " " << to_string(t.kind) << ": " << status
                << (status == "skipped" ? "" : " (" + std::to_string(seconds) + " s)") << std::endl;
    };
#ifdef ZEROLOSS_WITH_MPI
  if (c.executor == "mpi" || (c.executor == "auto" && started_by_mpi_launcher())) {
    MpiSession session;
    const SweepSummary s = run_sweep_on_mpi_ranks(session, spec, o);
    if (session.rank() == 0)
      std::cout << s.tasks << " tasks on " << session.size() << " ranks: " << s.completed << " completed, " << s.failed
                << " not completed; results in " << s.results << std::endl;
    return;
  }
#else
  if (c.executor == "mpi") throw InputError("--executor mpi: this zeroloss was built without MPI (install OpenMPI, reconfigure)");
#endif
  const SweepSummary s = run_sweep(spec, o);
  std::cout << s.tasks << " tasks (" << s.run << " run, " << s.skipped << " finished earlier): " << s.completed
            << " completed, " << s.failed << " not completed; results in " << s.results << std::endl;
}

CommandRegistration reg({"sweep", "many independent runs from a specification, on threads or MPI ranks (docs/sweeps.md)",
                         [](CLI::App& app) {
  auto o = std::make_shared<SweepCliOptions>();
  app.add_option("SPEC", o->spec, "Sweep specification (JSON; zeroloss sweep --example prints one)");
  app.add_option("--out", o->sweep.out, "Sweep folder; rerunning with the same folder resumes");
  app.add_option("--threads", o->sweep.threads, "Worker threads (0 = all cores; under MPI per rank, 0 = 1)");
  app.add_option("--executor", o->executor, "auto (MPI when started by mpirun/srun), threads or mpi")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "threads", "mpi"}));
  app.add_flag("--example", o->example, "Print a small valid specification and exit");
  app.add_flag("--no-figures", o->no_figures, "Do not draw sharpness.svg");
  app.add_flag("--quiet", o->quiet, "Do not print a line per task");
  return [o] { run_sweep_command(*o); };
}, 95});

}  // namespace
}  // namespace zeroloss::cli
