// The spectrum of Hess_M T on the non-trivial tangent part (dimension k = m p - n), in reduced
// coordinates on the benchmarks' random problem (bench_problem.hpp: cubic, a = 1, on M):
//   BM_DenseSpectrum     every eigenvalue from the dense k x k matrix (what `inspect --spectrum dense`
//                        does: SharpnessGeometry::riemannian_hessian_matrix and dense_extremes);
//   BM_LanczosExtremes   the K = 1 smallest and largest from Hessian-vector products
//                        (riemannian_hessian_extremes, `inspect --spectrum lanczos`), with counters
//                        for the products, restarts and the largest residual certificate.
//   BM_LanczosWarmStart  the convexity search's run (K = 2, tolerance 1e-6) at a point near the
//                        minimiser of T at n = p = 100, m = 1000, cold or started from the extremes
//                        at the minimiser (sharpness/hessian_spectrum.hpp, "Warm start").
// Sizes n, p, m; the last argument of BM_LanczosExtremes is the Krylov dimension (0: default). Run: build/bin/hessian_spectrum_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "bench_problem.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"
#include "zeroloss/numerics/ordered_product.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace {

using namespace zeroloss;

void BM_DenseSpectrum(benchmark::State& state) {
  const int n = state.range(0), p = state.range(1), m = state.range(2);
  const bench::RandomProblem pr = bench::random_problem_on_manifold(n, p, m);
  const SharpnessGeometry g(pr.model, pr.beta);
  for (auto _ : state) {
    const RiemannianHessianMatrix h = g.riemannian_hessian_matrix(false);
    Eigen::VectorXd all;
    benchmark::DoNotOptimize(dense_extremes(h.matrix, 1, &all));
  }
  state.counters["k"] = static_cast<double>(m) * p - n;
}

void BM_LanczosExtremes(benchmark::State& state) {
  const int n = state.range(0), p = state.range(1), m = state.range(2);
  const bench::RandomProblem pr = bench::random_problem_on_manifold(n, p, m);
  const SharpnessGeometry g(pr.model, pr.beta);
  LanczosOptions o;
  o.krylov_dimension = static_cast<int>(state.range(3));
  HessianExtremes x;
  for (auto _ : state) {
    x = riemannian_hessian_extremes(g, o);
    benchmark::DoNotOptimize(x);
  }
  state.counters["k"] = static_cast<double>(x.tangent_dimension);
  state.counters["products"] = static_cast<double>(x.matrix_vector_products);
  state.counters["restarts"] = x.iterations;
  state.counters["converged"] = x.converged;
  state.counters["lambda_min"] = x.lambda_min();
  state.counters["lambda_max"] = x.lambda_max();
  state.counters["max_residual"] = std::max(x.smallest_residuals(0), x.largest_residuals(0));
}

// Lanczos at n = p = 100, m = 1000 (k = 99,900, the size of issue 14) at two points: the random point
// on M (point 0) and the closed-form minimizer of T (point 1), for the Krylov dimension ncv and the
// strategy (ends 0: both ends in one run, 1: one run per end). Each configuration runs once, with
// the restarts capped so that a run stops after about 2500 products (reported as not converged).
void BM_LanczosAtSize(benchmark::State& state) {
  const int n = 100, p = 100, m = 1000;
  const int point = static_cast<int>(state.range(0));
  const bench::RandomProblem pr = bench::random_problem_on_manifold(n, p, m);
  Eigen::MatrixXd beta = pr.beta;
  if (point == 1) beta = pr.model.X().fullPivLu().solve(closed_form_preactivations(pr.model).R).transpose();
  const SharpnessGeometry g(pr.model, beta);
  LanczosOptions o;
  o.krylov_dimension = static_cast<int>(state.range(1));
  o.ends = state.range(2) == 0 ? LanczosEnds::Together : LanczosEnds::Separately;
  const int nev = o.ends == LanczosEnds::Together ? 2 : 1;
  o.max_iterations = 2500 / (o.krylov_dimension - nev) + 1;
  HessianExtremes x;
  for (auto _ : state) {
    x = riemannian_hessian_extremes(g, o);
    benchmark::DoNotOptimize(x);
  }
  state.counters["products"] = static_cast<double>(x.matrix_vector_products);
  state.counters["restarts"] = x.iterations;
  state.counters["converged"] = x.converged;
  state.counters["lambda_min"] = x.lambda_min();
  state.counters["lambda_max"] = x.lambda_max();
  state.counters["min_residual"] = x.smallest_residuals(0);
}

// Threads (numerics/ordered_product.hpp's setting; the results have the same bits on any number) at
// n = p = 100, m = 1000: riemannian_hessian_extremes at point 0 (the random point on M, restarts
// capped at about 2500 products as in BM_LanczosAtSize) or point 1 (the closed-form minimiser,
// converges); counter products_per_s: Hessian-vector products per second of wall time, the Lanczos
// basis operations and the certificates included (the raw n p m products: geometry_bench's
// BM_ProductThreaded).
void BM_LanczosThreads(benchmark::State& state) {
  const int n = 100, p = 100, m = 1000;
  const bench::RandomProblem pr = bench::random_problem_on_manifold(n, p, m);
  Eigen::MatrixXd beta = pr.beta;
  if (state.range(0) == 1) beta = pr.model.X().fullPivLu().solve(closed_form_preactivations(pr.model).R).transpose();
  const SharpnessGeometry g(pr.model, beta);
  LanczosOptions o;
  o.max_iterations = 2500 / (default_krylov_dimension(1, o.ends) - 1) + 1;
  set_product_threads(static_cast<int>(state.range(1)));
  HessianExtremes x;
  for (auto _ : state) {
    x = riemannian_hessian_extremes(g, o);
    benchmark::DoNotOptimize(x);
  }
  set_product_threads(0);
  state.counters["threads"] = x.threads;
  state.counters["products"] = static_cast<double>(x.matrix_vector_products);
  state.counters["converged"] = x.converged;
  state.counters["products_per_s"] =
      benchmark::Counter(static_cast<double>(x.matrix_vector_products) * state.iterations(), benchmark::Counter::kIsRate);
}

// The search's Lanczos run (ConvexitySpectrum's tolerance 1e-6 and restart cap 200, K = 2: lambda_min
// and lambda_2 for the gap test) at n = p = 100, m = 1000, at x2 = the projection onto M of
// x1 + 10^-e ||x1|| w (x1 the closed-form minimiser of T, w a uniform unit tangent direction; e the
// second argument), cold (warm = 0) or started from the run at x1 (warm = 1). Counter products:
// Hessian-vector products of the run at x2, certificates included.
void BM_LanczosWarmStart(benchmark::State& state) {
  const int n = 100, p = 100, m = 1000;
  const bench::RandomProblem pr = bench::random_problem_on_manifold(n, p, m);
  const TwoLayerConvexityGeometry G(pr.model);
  const Eigen::MatrixXd x1 = pr.model.X().fullPivLu().solve(closed_form_preactivations(pr.model).R).transpose();
  std::mt19937_64 rng(1);
  const Eigen::MatrixXd w = random_tangent_direction(G, x1, rng);
  const Eigen::MatrixXd x2 = G.project(x1 + std::pow(10.0, -static_cast<double>(state.range(1))) * x1.norm() * w,
                                       ProjectionOptions{}).first;
  LanczosOptions o = ConvexitySpectrum{}.lanczos;
  o.eigenvalues = 2;
  const LanczosWarmStart start = warm_start_from(G.hessian_extremes(x1, SpectrumMethod::Lanczos, o));
  const LanczosWarmStart* warm = state.range(0) == 1 ? &start : nullptr;
  HessianExtremes x;
  for (auto _ : state) {
    x = G.hessian_extremes(x2, SpectrumMethod::Lanczos, o, nullptr, warm);
    benchmark::DoNotOptimize(x);
  }
  state.counters["products"] = static_cast<double>(x.matrix_vector_products);
  state.counters["converged"] = x.converged;
  state.counters["lambda_min"] = x.lambda_min();
  state.counters["lambda_2"] = x.smallest(1);
  state.counters["min_residual"] = x.smallest_residuals(0);
}

// Both paths where both run (k = 480, 980, 1480), then Lanczos alone at n = 100, p = 100 (d >= 100),
// m = 1000: k = 99,900, the size of issue 14.
BENCHMARK(BM_DenseSpectrum)->Args({20, 20, 25})->Args({20, 20, 50})->Args({20, 20, 75})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LanczosExtremes)
    ->ArgsProduct({{20}, {20}, {25, 50, 75}, {24, 48, 64, 96}})
    ->Args({100, 100, 1000, 0})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LanczosThreads)
    ->ArgsProduct({{1, 0}, {1, 2}})
    ->ArgNames({"point", "threads"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_LanczosWarmStart)
    ->ArgsProduct({{0, 1}, {6, 3}})
    ->ArgNames({"warm", "e"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_LanczosAtSize)
    ->ArgsProduct({{0, 1}, {24, 48, 96, 160}, {0, 1}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
