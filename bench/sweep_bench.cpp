// Scaling of zeroloss sweep on many short tasks: the whole program (launcher, specification, tasks,
// results.csv) on 1 and 2 MPI ranks (mpirun -np R), and on 1 and 2 local threads, wall clock.
//
//   BM_SweepRanks/R      mpirun -np R zeroloss sweep: 96 SGD tasks (n = 4, d = 6, m = 5, 2000000 steps
//                        each, ~0.065 s of work per task on an idle core), a fresh DIR each iteration.
//   BM_SweepThreads/T    the same sweep with the local executor on T threads.
//   BM_SweepFixedRanks/R the fixed cost of a sweep on R ranks: the same command on a finished DIR
//                        (every task skipped): launcher, MPI_Init/Finalize, the specification, the
//                        results written again. BM_SweepFixedThreads/T: the same locally.
//   BM_ReportRanks/R     mpirun -np R zeroloss run --quick (the report's batches of commands over R
//                        ranks; one iteration each, about half a minute).
// Counters: tasks_per_second; user_cpu and system_cpu, the CPU seconds of the command and all its
// processes (launcher and ranks, getrusage RUSAGE_CHILDREN) per iteration. At the end the program
// prints the speed-ups (best wall time of 1 over best of 2 ranks or threads), each worker's line of
// DIR/workers.csv for the best iteration of every sweep (tasks, seconds in tasks, waiting for the
// queue, idle at the end, CPU user/system of its thread, MPI_Init), and the load average before and
// after: the ratio the issue asks for (2 ranks at least 1.8x faster than 1 on many short tasks) is
// meaningful on an idle machine only (docs/sweeps.md, "Scaling").
//
// Every iteration writes a new folder and nothing is removed before the program exits: on an ext4
// file system without a journal (this machine's), inodes freed in the last minute are skipped, one
// by one, whenever a file is created, so removing the last iteration's 1500 files just before the
// next one made its file creations slower (docs/performance.md section 11).
//
// Run: build/bin/sweep_bench [--benchmark_filter=Sweep]   (mpirun found at configure time; as
// root it sets OMPI_ALLOW_RUN_AS_ROOT=1 and OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 itself)

#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

constexpr int kTasks = 96;

fs::path bench_folder() { return fs::temp_directory_path() / ("zeroloss-sweep-bench-" + std::to_string(getpid())); }

const std::string& folder() {
  static const std::string dir = [] {
    const fs::path d = bench_folder();
    fs::create_directories(d);
    std::atexit([] {
      std::error_code e;
      fs::remove_all(bench_folder(), e);
    });
    std::string seeds;
    for (int k = 0; k < kTasks; ++k) seeds += (k ? "," : "") + std::to_string(k);
    std::ofstream(d / "spec.json") << R"({"format": "zeroloss-sweep", "tasks": [
      {"kind": "sgd", "parameters": {"n": 4, "d": 6, "data_seed": 1, "m": 5, "s": 0.5, "eta": 0.005,
       "steps": 2000000, "log_points": 10}, "grid": {"seed": [)" + seeds + "]}}]}";
    return d.string();
  }();
  return dir;
}

// The best iteration of each benchmark: its wall time, CPU times and the sweep's workers.csv.
struct Best {
  double seconds = 0, user = 0, system = 0;
  std::string workers;
};
std::map<std::string, Best>& best_runs() {
  static std::map<std::string, Best> best;
  return best;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); }

// Runs `command` (with OUT replaced by a new folder, or by `reuse` when given) once per iteration,
// keeping the best wall time under `key`; false (and the benchmark skipped) on failure.
bool time_command(benchmark::State& state, const std::string& key, const std::string& command,
                  const std::string& reuse = "") {
  static int made = 0;
  double user = 0, system = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string out = reuse.empty() ? folder() + "/out" + std::to_string(++made) : reuse;
    std::string c = command;
    c.replace(c.find("OUT"), 3, out);
    rusage before{}, after{};
    getrusage(RUSAGE_CHILDREN, &before);
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    if (std::system(c.c_str()) != 0) {
      state.SkipWithError(("failed: " + c).c_str());
      return false;
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.PauseTiming();
    getrusage(RUSAGE_CHILDREN, &after);
    const double u = seconds(after.ru_utime) - seconds(before.ru_utime);
    const double y = seconds(after.ru_stime) - seconds(before.ru_stime);
    user += u;
    system += y;
    auto [it, fresh] = best_runs().emplace(key, Best{});
    if (fresh || s < it->second.seconds) it->second = Best{s, u, y, slurp(fs::path(out) / "workers.csv")};
    state.ResumeTiming();
  }
  state.counters["user_cpu"] = benchmark::Counter(user, benchmark::Counter::kAvgIterations);
  state.counters["system_cpu"] = benchmark::Counter(system, benchmark::Counter::kAvgIterations);
  return true;
}

// The sweep's command, with OUT for the folder.
std::string sweep_command(const std::string& launcher, const std::string& options) {
  return launcher + ZEROLOSS_BINARY + std::string(" sweep ") + folder() + "/spec.json --out OUT --quiet --no-figures " +
         options + " >/dev/null";
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

// The launcher and options of the sweep on `n` ranks or threads.
std::string sweep_command(bool ranks, int n) {
  return ranks ? sweep_command(mpi_launcher(n), "--threads 1")
               : sweep_command("", "--executor threads --threads " + std::to_string(n));
}

void run_sweep(benchmark::State& state, bool ranks) {
  if (ranks && mpi_launcher(1).empty()) return state.SkipWithError("built without MPI");
  const int n = static_cast<int>(state.range(0));
  if (time_command(state, std::string("sweep ") + (ranks ? "ranks " : "threads ") + std::to_string(n),
                   sweep_command(ranks, n)))
    state.counters["tasks_per_second"] = benchmark::Counter(kTasks, benchmark::Counter::kIsIterationInvariantRate);
}

// The same command on a folder where every task has finished.
void run_fixed_cost(benchmark::State& state, bool ranks) {
  if (ranks && mpi_launcher(1).empty()) return state.SkipWithError("built without MPI");
  const int n = static_cast<int>(state.range(0));
  const std::string finished = folder() + "/finished";
  static bool made = false;
  if (!made) {
    std::string c = sweep_command(false, 2);
    c.replace(c.find("OUT"), 3, finished);
    if (std::system(c.c_str()) != 0) return state.SkipWithError(("failed: " + c).c_str());
    made = true;
  }
  time_command(state, std::string("fixed ") + (ranks ? "ranks " : "threads ") + std::to_string(n),
               sweep_command(ranks, n), finished);
}

void BM_SweepRanks(benchmark::State& state) { run_sweep(state, true); }
BENCHMARK(BM_SweepRanks)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_SweepThreads(benchmark::State& state) { run_sweep(state, false); }
BENCHMARK(BM_SweepThreads)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_SweepFixedRanks(benchmark::State& state) { run_fixed_cost(state, true); }
BENCHMARK(BM_SweepFixedRanks)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_SweepFixedThreads(benchmark::State& state) { run_fixed_cost(state, false); }
BENCHMARK(BM_SweepFixedThreads)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_ReportRanks(benchmark::State& state) {
  if (mpi_launcher(1).empty()) return state.SkipWithError("built without MPI");
  time_command(state, "report ranks " + std::to_string(state.range(0)),
               mpi_launcher(static_cast<int>(state.range(0))) + ZEROLOSS_BINARY + " run --quick --out OUT >/dev/null 2>&1");
}
BENCHMARK(BM_ReportRanks)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void print_speed_up(const char* what, const std::string& one, const std::string& two) {
  const auto& best = best_runs();
  if (best.count(one) == 0 || best.count(two) == 0) return;
  std::printf("speed-up %-28s %.2fx (best %.2f s -> %.2f s)\n", what, best.at(one).seconds / best.at(two).seconds,
              best.at(one).seconds, best.at(two).seconds);
}

// The best iteration of every sweep: wall and CPU times, and its workers.
void print_best_runs() {
  for (const auto& [key, b] : best_runs()) {
    std::printf("%-18s wall %6.2f s   CPU of all its processes: user %6.2f s, system %5.2f s\n", key.c_str(), b.seconds,
                b.user, b.system);
    std::istringstream in(b.workers);
    for (std::string line; std::getline(in, line);) std::printf("    %s\n", line.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const std::string before = load_average();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\nbest iteration of each (workers.csv: seconds in tasks, waiting for the queue, idle at the end, "
              "CPU of the worker's thread, MPI_Init):\n");
  print_best_runs();
  std::printf("\n");
  print_speed_up("sweep, 2 MPI ranks over 1:", "sweep ranks 1", "sweep ranks 2");
  print_speed_up("sweep, 2 threads over 1:", "sweep threads 1", "sweep threads 2");
  print_speed_up("run --quick, 2 ranks over 1:", "report ranks 1", "report ranks 2");
  std::printf("load average (1, 5, 15 min): before %s, after %s\n", before.c_str(), load_average().c_str());
  return 0;
}
