// Scaling of zeroloss sweep on many short tasks: the whole program (specification read, tasks,
// results.csv) on 1 and 2 MPI ranks (mpirun -np R), and on 1 and 2 local threads, wall clock.
//
//   BM_SweepRanks/R     mpirun -np R zeroloss sweep: 96 SGD tasks (n = 4, d = 6, m = 5, 2000000 steps
//                       each, ~0.17 s of work per task on an idle core), a fresh DIR each iteration.
//   BM_SweepThreads/T   the same sweep with the local executor on T threads.
//   BM_ReportRanks/R    mpirun -np R zeroloss run --quick (the report's batches of commands over R
//                       ranks; one iteration each, about half a minute).
// Counter `tasks_per_second`. At the end the program prints the speed-ups (best wall time of 1
// over best of 2 ranks or threads) and the load average before and after: the ratio the issue asks
// for (2 ranks at least 1.8x faster than 1 on many short tasks) is meaningful on an idle machine
// only (docs/sweeps.md, "Scaling").
//
// Run: build/bin/sweep_bench [--benchmark_filter=Sweep]   (mpirun found at configure time; as
// root it sets OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 itself)

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

constexpr int kTasks = 96;

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

// The best wall time of each benchmark (name -> seconds), for the speed-ups printed at the end.
std::map<std::string, double>& best_seconds() {
  static std::map<std::string, double> best;
  return best;
}

// Runs `command` once per iteration after removing `out`, keeping the best time under `key`; false
// (and the benchmark skipped) on failure.
bool time_command(benchmark::State& state, const std::string& key, const std::string& command, const std::string& out) {
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove_all(out);
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    if (std::system(command.c_str()) != 0) {
      state.SkipWithError(("failed: " + command).c_str());
      return false;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto [it, fresh] = best_seconds().emplace(key, s);
    if (!fresh && s < it->second) it->second = s;
  }
  return true;
}

void run_sweep(benchmark::State& state, const std::string& key, const std::string& launcher, const std::string& options) {
  const std::string out = folder() + "/out";
  const std::string command = launcher + ZEROLOSS_BINARY + std::string(" sweep ") + folder() + "/spec.json --out " +
                              out + " --quiet --no-figures " + options + " >/dev/null";
  if (time_command(state, key, command, out))
    state.counters["tasks_per_second"] = benchmark::Counter(kTasks, benchmark::Counter::kIsIterationInvariantRate);
}

std::string mpi_launcher(int ranks) {
#ifdef ZEROLOSS_MPIEXEC
  return std::string("OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ") + ZEROLOSS_MPIEXEC + " -np " +
         std::to_string(ranks) + " ";
#else
  (void)ranks;
  return "";
#endif
}

void BM_SweepRanks(benchmark::State& state) {
  if (mpi_launcher(1).empty()) return state.SkipWithError("built without MPI");
  run_sweep(state, "sweep ranks " + std::to_string(state.range(0)), mpi_launcher(static_cast<int>(state.range(0))),
            "--threads 1");
}
BENCHMARK(BM_SweepRanks)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_SweepThreads(benchmark::State& state) {
  run_sweep(state, "sweep threads " + std::to_string(state.range(0)), "",
            "--executor threads --threads " + std::to_string(state.range(0)));
}
BENCHMARK(BM_SweepThreads)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_ReportRanks(benchmark::State& state) {
  if (mpi_launcher(1).empty()) return state.SkipWithError("built without MPI");
  const std::string out = folder() + "/report";
  time_command(state, "report ranks " + std::to_string(state.range(0)),
               mpi_launcher(static_cast<int>(state.range(0))) + ZEROLOSS_BINARY + " run --quick --out " + out +
                   " >/dev/null 2>&1",
               out);
}
BENCHMARK(BM_ReportRanks)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void print_speed_up(const char* what, const std::string& one, const std::string& two) {
  const auto& best = best_seconds();
  if (best.count(one) == 0 || best.count(two) == 0) return;
  std::printf("speed-up %-28s %.2fx (best %.2f s -> %.2f s)\n", what, best.at(one) / best.at(two), best.at(one),
              best.at(two));
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::string before = load_average();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_speed_up("sweep, 2 MPI ranks over 1:", "sweep ranks 1", "sweep ranks 2");
  print_speed_up("sweep, 2 threads over 1:", "sweep threads 1", "sweep threads 2");
  print_speed_up("run --quick, 2 ranks over 1:", "report ranks 1", "report ranks 2");
  std::printf("load average (1, 5, 15 min): before %s, after %s\n", before.c_str(), load_average().c_str());
  return 0;
}
