// Riemannian L-BFGS minimizing T on the two-layer network's M: the two-layer entry point
// (manifold/riemannian_lbfgs_two_layer.hpp: full weights, reduced, lifted) and the generic one it
// runs (manifold/riemannian_lbfgs.hpp on TwoLayerNetwork(reduced): ModelManifold, Newton matrix
// J(u) J(x)^T, T from ModelPoint), from the same start on M: the difference is the reduction and the
// lift. Counters: L-BFGS iterations, objective evaluations and the minimum found (T).
// Sizes: n samples, p = rank X, m neurons (P = m p parameters; the manifold's dense objects are P x P).
// Run: build/bin/manifold_lbfgs_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>

#include "bench_problem.hpp"
#include "zeroloss/manifold/riemannian_lbfgs_two_layer.hpp"
#include "zeroloss/manifold/riemannian_lbfgs.hpp"
#include "zeroloss/model/two_layer_network.hpp"

namespace {

using namespace zeroloss;

void report(benchmark::State& state, const ManifoldMinimizationSummary& s) {
  state.counters["iterations"] = s.iterations;
  state.counters["evaluations"] = s.evaluations;
  state.counters["T"] = s.final_value;
  state.counters["converged"] = s.converged;
}

// The two-layer entry point: weights in full coordinates, reduced, the generic path, lifted.
void BM_LbfgsTwoLayer(benchmark::State& state) {
  const int n = state.range(0), p = state.range(1), m = state.range(2);
  const bench::RandomProblem pr = bench::random_problem_on_manifold(n, p, m);
  ManifoldMinimizationSummary s;
  for (auto _ : state) s = minimize_sharpness_on_manifold(pr.model, pr.beta).summary;
  report(state, s);
}

// The generic entry point on TwoLayerNetwork(reduced), the parameter column given.
void BM_LbfgsGeneric(benchmark::State& state) {
  const int n = state.range(0), p = state.range(1), m = state.range(2);
  const bench::RandomProblem pr = bench::random_problem_on_manifold(n, p, m);
  const auto network = std::make_shared<const TwoLayerNetwork>(pr.model);
  const Eigen::VectorXd x0 = network->parameters(pr.beta);
  ParameterMinimization r;
  for (auto _ : state) r = minimize_sharpness_on_manifold(network, x0);
  report(state, r.summary);
}

// The golden case's size (P = 12), a mid size (P = 200) and n > p (no closed form, P = 200).
void sizes(benchmark::internal::Benchmark* b) {
  b->Args({3, 3, 4})->Args({10, 10, 20})->Args({20, 10, 20});
  b->ArgNames({"n", "p", "m"})->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_LbfgsTwoLayer)->Apply(sizes);
BENCHMARK(BM_LbfgsGeneric)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
