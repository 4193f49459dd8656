// Scaling of zeroloss sweep on many short tasks: the whole program (specification read, tasks,
// results.csv) on 1 and 2 MPI ranks (mpirun -np R), and on 1 and 2 local threads, wall clock.
//
//   BM_SweepRanks/R     mpirun -np R zeroloss sweep: 24 SGD tasks (n = 4, d = 6, m = 5, 2000000 steps
//                       each, ~0.17 s of work per task on an idle core), a fresh DIR each iteration.
//   BM_SweepThreads/T   the same sweep with the local executor on T threads.
// Counter `tasks_per_second`. The ratio R=2 / R=1 is the speed-up docs/sweeps.md reports (on a
// 2-core machine it is bounded by 2 and by the launcher's start-up time).
//
// Run: build/bin/sweep_bench [--benchmark_repetitions=3]   (mpirun found at configure time; as
// root it sets OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 itself)

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

constexpr int kTasks = 24;

const std::string& folder() {
  static const std::string dir = [] {
    const fs::path d = fs::temp_directory_path() / ("zeroloss-sweep-bench-" + std::to_string(getpid()));
    fs::create_directories(d);
    std::atexit([] { std::error_code e; fs::remove_all(fs::temp_directory_path() / ("zeroloss-sweep-bench-" + std::to_string(getpid())), e); });
    std::ofstream(d / "spec.json") << R"({"format": "zeroloss-sweep", "tasks": [
      {"kind": "sgd", "parameters": {"n": 4, "d": 6, "data_seed": 1, "m": 5, "s": 0.5, "eta": 0.005,
       "steps": 2000000, "log_points": 10}, "grid": {"seed": [)" +
                                           [] {
                                             std::string s;
                                             for (int k = 0; k < kTasks; ++k) s += (k ? "," : "") + std::to_string(k);
                                             return s;
                                           }() +
                                           "]}}]}";
    return d.string();
  }();
  return dir;
}

void run_sweep(benchmark::State& state, const std::string& launcher, const std::string& options) {
  const std::string out = folder() + "/out";
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(out);
    state.ResumeTiming();
    const std::string command = launcher + ZEROLOSS_BINARY + std::string(" sweep ") + folder() + "/spec.json --out " +
                                out + " --quiet --no-figures " + options + " >/dev/null";
    if (std::system(command.c_str()) != 0) {
      state.SkipWithError(("failed: " + command).c_str());
      return;
    }
  }
  state.counters["tasks_per_second"] = benchmark::Counter(kTasks, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SweepRanks(benchmark::State& state) {
#ifdef ZEROLOSS_MPIEXEC
  const std::string launcher = std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") +
                               ZEROLOSS_MPIEXEC + " -np " + std::to_string(state.range(0)) + " ";
  run_sweep(state, launcher, "--threads 1");
#else
  state.SkipWithError("built without MPI");
#endif
}
BENCHMARK(BM_SweepRanks)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_SweepThreads(benchmark::State& state) {
  run_sweep(state, "", "--executor threads --threads " + std::to_string(state.range(0)));
}
BENCHMARK(BM_SweepThreads)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
