// Micro-benchmarks of the manifold geometry in reduced coordinates: Riemannian gradient, Riemannian
// Hessian-vector product, Newton projection from 1e-3 away, one logged trajectory point (all
// metrics of `zeroloss sgd`'s trajectory.csv, 1e-3 away from M). Sizes: n samples, m neurons, p = rank X.
// Run: build/bin/geometry_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <random>

#include "bench_problem.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/sharpness.hpp"
#include "zeroloss/trajectory_metrics.hpp"

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
  std::normal_distribution<double> g(0.0, 1.0);
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
