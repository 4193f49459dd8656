// Micro-benchmarks of label-noise SGD (THEORY 7) in reduced coordinates, against the machine's
// limit for the same data movement.
//
//   BM_SgdStep/m/p        one SGD step (cubic phi, B = 1, Gaussian label noise), reduced dimension p,
//                         m neurons: ns per step.
//   BM_ReadModifyWrite/m/p  the limit: one read-modify-write pass over an m x p block of doubles,
//                         flat (b <- b - c for all m p entries, vectorised). A step must at least
//                         stream the m x p weights once, read and write, so no step can be faster.
//   BM_SgdVsLimit/m/p     both in the same benchmark (interleaved chunks, so machine load affects both
//                         alike); counter `ratio` = time of a step / time of a read-modify-write pass.
//   BM_SgdVsLimitBaseline/m/p  the same with the baseline (SSE2) kernel forced (SgdParameters::
//                         instruction_set), against the same limit.
//   BM_SgdVsLimitWeights/m/p  the same with the state in weight coordinates forced (SgdParameters::
//                         coordinates; the default here is pre-activation coordinates, n = p).
//   BM_SgdEnsemble/m/p/threads  independent seeds, one LabelNoiseSgd per thread: `steps_per_second`
//                         summed over threads (wall clock); 2 threads should give ~2x one thread.
//
// Counters: `bytes_streamed` = 16 m p per step or pass (8 bytes read + 8 written per weight);
// `bytes_per_second` = the same as a rate. Sizes: m p from 1e3 to 1e6, and the paper's Figure 1 size
// (m = 10, p = 3). n = p samples (linearly independent, the paper's setting), so Z is square and
// the run keeps the n x m pre-activations (as many numbers as the m x p weights) unless forced.
//
// Run: build/bin/sgd_bench [--benchmark_filter=SgdVsLimit] [--benchmark_repetitions=3]

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench_problem.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"

namespace {

using namespace zeroloss;
using Clock = std::chrono::steady_clock;

struct Problem {
  TwoLayerModel model;
  Eigen::MatrixXd beta;
  SgdParameters params;
};

// The shared benchmark problem (bench_problem.hpp) with n = p samples, so Z is square and of full
// rank; eta small enough (0.05 / m) to stay stable for any number of benchmark steps, label noise
// s = 0.03 (the paper's Figure 1 value).
Problem make_problem(int m, int p, std::uint64_t seed = 0,
                     SgdInstructionSet instruction_set = SgdInstructionSet::Auto,
                     SgdCoordinates coordinates = SgdCoordinates::Auto, int steps_per_pass = 0) {
  auto base = zeroloss::bench::random_problem_on_manifold(p, p, m);
  SgdParameters params;
  params.learning_rate = 0.05 / m;
  params.label_noise = 0.03;
  params.batch_size = 1;
  params.seed = seed;
  params.instruction_set = instruction_set;
  params.coordinates = coordinates;
  params.steps_per_pass = steps_per_pass;
  return Problem{std::move(base.model), std::move(base.beta), params};
}

// Steps per advance() call: advance() checks the weights once per call (a copy of the block, the
// last finite weights), so chunks are long enough to make that negligible, as in `zeroloss sgd`
// (which advances in chunks of >= 256 steps).
std::uint64_t chunk_steps(int m, int p) {
  const double mp = static_cast<double>(m) * p;
  return static_cast<std::uint64_t>(std::max(256.0, std::min(65536.0, 4e7 / mp)));
}

// A 64-byte aligned block of doubles (so the limit does not depend on where malloc puts it).
struct AlignedBlock {
  explicit AlignedBlock(std::size_t count, double value)
      : data(static_cast<double*>(std::aligned_alloc(64, ((count * sizeof(double) + 63) / 64) * 64)), &std::free) {
    for (std::size_t i = 0; i < count; ++i) data.get()[i] = value;
  }
  std::unique_ptr<double, void (*)(void*)> data;
};

// The limit kernel: one read-modify-write pass over the block as one flat array, b <- b - c for all
// m p doubles (contiguous, vectorised, no per-row overhead): every weight read once and written once
// with the least arithmetic. The rows' structure is ignored on purpose, so no step can beat it by
// organising its rows better than this kernel does.
[[gnu::target_clones("avx2", "default")]] void read_modify_write(AlignedBlock& block, std::size_t count, double c) {
  double* __restrict b = block.data.get();
  for (std::size_t i = 0; i < count; ++i) b[i] -= c;
  benchmark::ClobberMemory();
}

void set_counters(benchmark::State& state, int m, int p, double steps) {
  state.counters["m"] = m;
  state.counters["p"] = p;
  state.counters["bytes_streamed"] = 16.0 * m * p;
  state.counters["bytes_per_second"] =
      benchmark::Counter(16.0 * m * p * steps, benchmark::Counter::kIsRate, benchmark::Counter::kIs1024);
}

// Advances sgd in chunks for as long as the benchmark asks; counters: m, p and bytes per second.
void time_steps(benchmark::State& state, LabelNoiseSgd& sgd, int m, int p) {
  const std::uint64_t chunk = chunk_steps(m, p);
  while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(chunk))) {
    if (sgd.advance(chunk) != chunk) {
      state.SkipWithError(sgd.divergence().reason.c_str());
      break;
    }
  }
  set_counters(state, m, p, static_cast<double>(state.iterations()));
}

void BM_SgdStep(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0)), p = static_cast<int>(state.range(1));
  Problem pr = make_problem(m, p);
  LabelNoiseSgd sgd(pr.model, pr.beta, pr.params);
  time_steps(state, sgd, m, p);
}

// Steps per pass over R (SgdParameters::steps_per_pass; the same bits for every value), third
// argument; label: what ran.
void BM_SgdStepsPerPass(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0)), p = static_cast<int>(state.range(1));
  Problem pr = make_problem(m, p, 0, SgdInstructionSet::Auto, SgdCoordinates::Auto, static_cast<int>(state.range(2)));
  LabelNoiseSgd sgd(pr.model, pr.beta, pr.params);
  time_steps(state, sgd, m, p);
  state.SetLabel(std::string(to_string(sgd.instruction_set())) + ", " + std::to_string(sgd.steps_per_pass()) +
                 " steps per pass");
}

void BM_ReadModifyWrite(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0)), p = static_cast<int>(state.range(1));
  AlignedBlock block(static_cast<std::size_t>(m) * p, 0.5);
  for (auto _ : state) read_modify_write(block, static_cast<std::size_t>(m) * p, 1e-12);
  benchmark::DoNotOptimize(block.data.get());
  set_counters(state, m, p, static_cast<double>(state.iterations()));
}

// Both in one benchmark: alternate a chunk of SGD steps and the same number of read-modify-write
// passes, timing each with the wall clock; report SGD ns/step, limit ns/pass and their ratio.
void sgd_vs_limit(benchmark::State& state, SgdInstructionSet instruction_set,
                  SgdCoordinates coordinates = SgdCoordinates::Auto) {
  const int m = static_cast<int>(state.range(0)), p = static_cast<int>(state.range(1));
  Problem pr = make_problem(m, p, 0, instruction_set, coordinates);
  LabelNoiseSgd sgd(pr.model, pr.beta, pr.params);
  state.SetLabel(std::string(to_string(sgd.instruction_set())) + "," + to_string(sgd.coordinates()) + "," +
                 std::to_string(sgd.steps_per_pass()) + " steps/pass");
  AlignedBlock block(static_cast<std::size_t>(m) * p, 0.5);
  const std::uint64_t chunk = chunk_steps(m, p);
  double sgd_seconds = 0, limit_seconds = 0, steps = 0;
  while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(chunk))) {
    const auto t0 = Clock::now();
    if (sgd.advance(chunk) != chunk) {
      state.SkipWithError(sgd.divergence().reason.c_str());
      break;
    }
    const auto t1 = Clock::now();
    for (std::uint64_t k = 0; k < chunk; ++k) read_modify_write(block, static_cast<std::size_t>(m) * p, 1e-12);
    const auto t2 = Clock::now();
    sgd_seconds += std::chrono::duration<double>(t1 - t0).count();
    limit_seconds += std::chrono::duration<double>(t2 - t1).count();
    steps += static_cast<double>(chunk);
  }
  benchmark::DoNotOptimize(block.data.get());
  if (steps > 0) {
    state.counters["sgd_ns_per_step"] = 1e9 * sgd_seconds / steps;
    state.counters["limit_ns_per_pass"] = 1e9 * limit_seconds / steps;
    state.counters["ratio"] = sgd_seconds / limit_seconds;
  }
  state.counters["m"] = m;
  state.counters["p"] = p;
  state.counters["bytes_streamed"] = 16.0 * m * p;
}

void BM_SgdVsLimit(benchmark::State& state) { sgd_vs_limit(state, SgdInstructionSet::Auto); }
// The same with the baseline (SSE2) kernel forced: what a processor without AVX2 gets.
void BM_SgdVsLimitBaseline(benchmark::State& state) { sgd_vs_limit(state, SgdInstructionSet::Baseline); }
// The same with the state in weight coordinates (what runs when n > p or Z is ill-conditioned).
void BM_SgdVsLimitWeights(benchmark::State& state) {
  sgd_vs_limit(state, SgdInstructionSet::Auto, SgdCoordinates::Weights);
}

// Ensembles: each thread runs its own seed (as `zeroloss sgd --seeds` does). Reported rate is
// steps per wall-clock second over all threads.
void BM_SgdEnsemble(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0)), p = static_cast<int>(state.range(1));
  Problem pr = make_problem(m, p, static_cast<std::uint64_t>(state.thread_index()));
  LabelNoiseSgd sgd(pr.model, pr.beta, pr.params);
  const std::uint64_t chunk = chunk_steps(m, p);
  while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(chunk))) {
    if (sgd.advance(chunk) != chunk) {
      state.SkipWithError(sgd.divergence().reason.c_str());
      break;
    }
  }
  state.counters["steps_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// m p = 1e3 ... 1e6 with p = 10 and p = 100 (and p = 1000 at 1e6), the Figure 1 size (10 x 3), and
// one size beyond the last-level cache (1e7).
void grid(benchmark::internal::Benchmark* b) {
  b->Args({10, 3});
  b->Args({100, 10})->Args({10, 100});
  b->Args({1000, 10})->Args({100, 100});
  b->Args({10000, 10})->Args({1000, 100});
  b->Args({100000, 10})->Args({10000, 100})->Args({1000, 1000});
  b->Args({100000, 100});  // 1e7 doubles, 80 MB: beyond the 32 MB L3, memory-bound
  b->ArgNames({"m", "p"});
}

BENCHMARK(BM_SgdStep)->Apply(grid)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_ReadModifyWrite)->Apply(grid)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_SgdStepsPerPass)
    ->ArgsProduct({{100, 1000, 10000}, {20, 100}, {1, 2, 4, 8}})
    ->ArgNames({"m", "p", "steps_per_pass"})
    ->Unit(benchmark::kNanosecond);
BENCHMARK(BM_SgdVsLimit)->Apply(grid)->Unit(benchmark::kNanosecond)->UseRealTime();
BENCHMARK(BM_SgdVsLimitBaseline)->Apply(grid)->Unit(benchmark::kNanosecond)->UseRealTime();
BENCHMARK(BM_SgdVsLimitWeights)->Apply(grid)->Unit(benchmark::kNanosecond)->UseRealTime();
BENCHMARK(BM_SgdEnsemble)
    ->Args({10, 3})
    ->Args({1000, 100})
    ->ArgNames({"m", "p"})
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
