// Micro-benchmarks of the manifold geometry in reduced coordinates: Riemannian gradient, Riemannian
// Hessian-vector product, Newton projection from 1e-3 away, one logged trajectory point (all
// metrics of `zeroloss sgd`'s trajectory.csv, 1e-3 away from M), and the fixed-order products
// those points spend most of their time in. Sizes: n samples, m neurons, p = rank X.
// Run: build/bin/geometry_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include "zeroloss/random/portable_distributions.hpp"

#include "bench_problem.hpp"
#include "zeroloss/numerics/ordered_product.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"

namespace {

using namespace zeroloss;

using Problem = zeroloss::bench::RandomProblem;

Problem make_problem(int n, int p, int m) { return zeroloss::bench::random_problem_on_manifold(n, p, m); }

void BM_RiemannianGradient(benchmark::State& state) {
  const int n = state.range(0), p = state.range(1), m = state.range(2);
  Problem pr = make_problem(n, p, m);
  for (auto _ : state) {
    SharpnessGeometry g(pr.model, pr.beta);
    benchmark::DoNotOptimize(g.riemannian_gradient());
  }
  state.counters["n"] = n;
  state.counters["p"] = p;
  state.counters["m"] = m;
}

void BM_RiemannianHessianVector(benchmark::State& state) {
  const int n = state.range(0), p = state.range(1), m = state.range(2);
  Problem pr = make_problem(n, p, m);
  SharpnessGeometry g(pr.model, pr.beta);
  const Eigen::MatrixXd v = g.jacobian().tangent_projection(Eigen::MatrixXd::Ones(m, p));
  g.multipliers();
  for (auto _ : state) benchmark::DoNotOptimize(g.riemannian_hessian_apply(v));
}

// A point 1e-3 (Frobenius) away from M in a random direction.
Eigen::MatrixXd off_manifold(const Problem& pr) {
  std::mt19937_64 rng(7);
  zeroloss::StandardNormal g;
  Eigen::MatrixXd dir(pr.beta.rows(), pr.beta.cols());
  for (Eigen::Index j = 0; j < dir.rows(); ++j)
    for (Eigen::Index k = 0; k < dir.cols(); ++k) dir(j, k) = g(rng);
  return pr.beta + 1e-3 * dir / dir.norm();
}

void BM_NewtonProjection(benchmark::State& state) {
  const int n = state.range(0), p = state.range(1), m = state.range(2);
  Problem pr = make_problem(n, p, m);
  const Eigen::MatrixXd start = off_manifold(pr);
  int iterations = 0;
  for (auto _ : state) {
    auto r = project_newton(pr.model, start);
    iterations = r.summary.iterations;
    benchmark::DoNotOptimize(r.theta);
  }
  state.counters["newton_steps"] = iterations;
}

// One row of trajectory.csv with the defaults of `zeroloss sgd` (gradient norm and the sharpness at
// the Newton projection on).
void BM_TrajectoryLogPoint(benchmark::State& state) {
  const int n = state.range(0), p = state.range(1), m = state.range(2);
  Problem pr = make_problem(n, p, m);
  const Eigen::MatrixXd point = off_manifold(pr);
  for (auto _ : state) benchmark::DoNotOptimize(compute_trajectory_metrics(pr.model, point, nullptr, true, true));
}

// The n x n x m products that dominate a logged point (n = 100, m = 1000): the constraint and
// spectrum Gram matrices A A^T (A n x m) and K W (K n x n, W n x m), by numerics/ordered_product.hpp's
// fixed-order kernels (label: the instruction set) against Eigen's products in this build (baseline
// x86-64, SSE2). Counter GMACs: multiply-adds per second / 1e9 (n^2 m / 2 for the Gram matrix,
// whose upper triangle is a copy).
void product_counters(benchmark::State& state, double macs) {
  state.counters["GMACs"] = benchmark::Counter(macs * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void BM_GramOrdered(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1);
  const auto set = static_cast<InstructionSet>(state.range(2));
  const Eigen::MatrixXd A = Eigen::MatrixXd::Random(n, m);
  Eigen::MatrixXd G(n, n);
  for (auto _ : state) {
    ordered_gram(A, G, set);
    benchmark::DoNotOptimize(G.data());
  }
  product_counters(state, 0.5 * n * n * m);
  state.SetLabel(to_string(set));
}

void BM_GramEigen(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1);
  const Eigen::MatrixXd A = Eigen::MatrixXd::Random(n, m);
  Eigen::MatrixXd G(n, n);
  for (auto _ : state) {
    G.setZero();
    G.selfadjointView<Eigen::Lower>().rankUpdate(A);
    benchmark::DoNotOptimize(G.data());
  }
  product_counters(state, 0.5 * n * n * m);
}

void BM_ProductOrdered(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1);
  const auto set = static_cast<InstructionSet>(state.range(2));
  const Eigen::MatrixXd K = Eigen::MatrixXd::Random(n, n), W = Eigen::MatrixXd::Random(n, m);
  Eigen::MatrixXd C(n, m);
  for (auto _ : state) {
    ordered_product(K, W, C, ProductUpdate::Assign, set);
    benchmark::DoNotOptimize(C.data());
  }
  product_counters(state, 1.0 * n * n * m);
  state.SetLabel(to_string(set));
}

void BM_ProductEigen(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1);
  const Eigen::MatrixXd K = Eigen::MatrixXd::Random(n, n), W = Eigen::MatrixXd::Random(n, m);
  Eigen::MatrixXd C(n, m);
  for (auto _ : state) {
    C.noalias() = K * W;
    benchmark::DoNotOptimize(C.data());
  }
  product_counters(state, 1.0 * n * n * m);
}

// The Lanczos operator's products (sharpness/hessian_spectrum.cpp: Z V^T and Z^T S, M = L = n = p)
// by ordered_product_threaded with the threshold forced to 0, on 1, 2 or 3 threads (each entry the
// same bits): where two threads start paying off, and the gain at n = p = 100, m = 1000.
void BM_ProductThreaded(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1), threads = state.range(2);
  const Eigen::MatrixXd K = Eigen::MatrixXd::Random(n, n), W = Eigen::MatrixXd::Random(n, m);
  Eigen::MatrixXd C(n, m);
  set_product_threads(threads);
  set_threaded_product_min_work(0);
  for (auto _ : state) {
    ordered_product_threaded(K, W, C);
    benchmark::DoNotOptimize(C.data());
  }
  set_product_threads(0);
  set_threaded_product_min_work(-1);
  product_counters(state, 1.0 * n * n * m);
  state.counters["MACs"] = 1.0 * n * n * m;
}

void ordered_sizes(benchmark::internal::Benchmark* b) {
  for (auto set : {InstructionSet::Baseline, InstructionSet::Avx2}) {
    if (set == InstructionSet::Avx2 && !cpu_has_avx2()) continue;
    for (int m : {1000, 10000}) b->Args({100, m, static_cast<int>(set)});
  }
  b->ArgNames({"n", "m", "set"})->Unit(benchmark::kMicrosecond);
}
void eigen_sizes(benchmark::internal::Benchmark* b) {
  for (int m : {1000, 10000}) b->Args({100, m});
  b->ArgNames({"n", "m"})->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_GramOrdered)->Apply(ordered_sizes);
BENCHMARK(BM_GramEigen)->Apply(eigen_sizes);
BENCHMARK(BM_ProductOrdered)->Apply(ordered_sizes);
BENCHMARK(BM_ProductEigen)->Apply(eigen_sizes);
BENCHMARK(BM_ProductThreaded)
    ->ArgsProduct({{20}, {25, 50, 100, 250, 1000}, {1, 2}})
    ->ArgsProduct({{100}, {12, 25, 50, 100, 250, 1000}, {1, 2, 3}})
    ->ArgNames({"n", "m", "threads"})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The Figure 1 size, a middle size, n = p = 100 with m = 1000, and sweeps around it that show the
// cost O(n m p + n^2 m + n^3): doubling m (2000, 4000) should double the time; doubling n and p
// together (200 x 200) should cost about 4x at this m (the n m p and n^2 m terms).
void sizes(benchmark::internal::Benchmark* b) {
  b->Args({3, 3, 10})->Args({10, 50, 100})->Args({100, 100, 1000});
  b->Args({100, 100, 2000})->Args({100, 100, 4000})->Args({200, 200, 1000});
  b->ArgNames({"n", "p", "m"})->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_RiemannianGradient)->Apply(sizes);
BENCHMARK(BM_RiemannianHessianVector)->Apply(sizes);
BENCHMARK(BM_NewtonProjection)->Apply(sizes);
BENCHMARK(BM_TrajectoryLogPoint)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
