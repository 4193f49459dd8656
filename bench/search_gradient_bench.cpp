// One gradient of lambda_min(Hess_M T) in the adversarial convexity search's retraction chart
// (diagnostics/search_chart.hpp), on the benchmarks' random problem (bench_problem.hpp: cubic, a = 1,
// on M, reduced coordinates), at a chart point c != 0 (every evaluation projects):
//   BM_SearchGradient/n/p/m/0   the eigenvector route: the smallest eigenpair at x(c) (one dense
//                               Hessian and tridiagonalisation) and 2 k evaluations of the frozen
//                               eigenvector's Rayleigh quotient and of ||grad_M T||;
//   BM_SearchGradient/n/p/m/1   the old route: central differences of the dense lambda_min, 2 k
//                               dense k x k Hessians and eigenvalue solves (the eigenvalue at x(c)
//                               comes with the objective's value and is not timed).
// The tangent dimension is k = m rank(Z) - n (counter "k"); "max_difference" is the largest difference
// between the two routes' gradients (computed once, outside the timing).
// Run: build/bin/search_gradient_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include "bench_problem.hpp"
#include "zeroloss/diagnostics/search_chart.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"

namespace {

using namespace zeroloss;

void BM_SearchGradient(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), p = static_cast<int>(state.range(1)),
            m = static_cast<int>(state.range(2));
  const bool old_route = state.range(3) != 0;
  const bench::RandomProblem pr = bench::random_problem_on_manifold(n, p, m);
  const TwoLayerConvexityGeometry G(pr.model);  // Z has full column rank p: reduced = working
  SearchChart chart;
  chart.center = G.reduce(pr.beta);
  chart.basis = G.tangent_basis(chart.center);
  const Eigen::Index k = chart.basis.cols();
  const Eigen::VectorXd c = Eigen::VectorXd::Constant(k, 0.01 / std::sqrt(static_cast<double>(k)));
  ChartGradientOptions o;
  o.step = 1e-6 * std::max(1.0, chart.center.norm());
  const Eigen::MatrixXd x = chart.point(G, c, o.projection);
  const double g = G.riemannian_gradient(x).norm();
  o.method = old_route ? CurvatureGradient::EigenvalueDifferences : CurvatureGradient::Eigenvector;
  const SmallestEigenpair pair = smallest_eigenpair(G, x);
  ChartGradient d;
  for (auto _ : state) {
    // The old route needs only lambda_min at x(c), which the objective's value already has.
    d = chart_gradient(G, chart, c, g, old_route ? pair : smallest_eigenpair(G, x), o);
    benchmark::DoNotOptimize(d);
  }
  ChartGradientOptions other = o;
  other.method = old_route ? CurvatureGradient::Eigenvector : CurvatureGradient::EigenvalueDifferences;
  const ChartGradient e = chart_gradient(G, chart, c, g, pair, other);
  state.counters["k"] = static_cast<double>(k);
  state.counters["eigenvector_route"] = d.method == CurvatureGradient::Eigenvector;
  state.counters["max_difference"] = (d.lambda_min - e.lambda_min).cwiseAbs().maxCoeff();
  state.counters["max_gradient"] = d.lambda_min.cwiseAbs().maxCoeff();
}

// n = p = 5 (rank Z = 5) and m = 5, 21, 81: k = 5 m - 5 = 20, 100, 400.
BENCHMARK(BM_SearchGradient)
    ->Args({5, 5, 5, 0})
    ->Args({5, 5, 5, 1})
    ->Args({5, 5, 21, 0})
    ->Args({5, 5, 21, 1})
    ->Args({5, 5, 81, 0})
    ->Args({5, 5, 81, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
