// One logged trajectory point of `zeroloss sgd` and `zeroloss flow` at the state of a real run, and
// what it costs against one SGD step (the ratio the default logging schedule is built on,
// runs/log_schedule_cost.hpp).
//
// The state: the run of docs/performance.md section 2 scaled to n samples and m neurons (Gaussian
// rows of dimension d = 10 n, |x_i| about 1, labels N(0, 1), a random start with pre-activations of
// scale 0.5, cubic phi), reduced coordinates (p = n), after 20 000 label-noise SGD steps with
// eta = 1e-4, s = 0.03 in pre-activation coordinates: near M (loss about 4e-5 at n = 100, m = 1000),
// so the Newton projection takes its usual 2 to 3 steps and both spectra take the Gram route.
//
//   BM_LoggedPointSgd        a row of `sgd` (pre-activations, grad_norm and sharpness_on_M);
//                            arg 3 = 0 leaves out grad_norm (--no-log-gradient)
//   BM_LoggedPointFlow       a row of `flow` (weights, sharpness_on_M; the flow supplies grad_norm)
//   BM_LoggedPointParts      the pieces of a row one by one (label: which), for where the time goes
//   BM_SgdStepAtState        one SGD step from that state (chunks of 256 steps)
//
// Run: build/bin/trajectory_log_bench [--benchmark_filter=...]

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <tuple>

#include "zeroloss/diagnostics/trajectory_metrics.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/numerics/ordered_product.hpp"
#include "zeroloss/numerics/singular_values.hpp"
#include "zeroloss/random/portable_distributions.hpp"

namespace {

using namespace zeroloss;

struct RunState {
  TwoLayerModel reduced;   // Z = X U (n x n)
  Eigen::MatrixXd R;       // pre-activations after the steps (n x m)
  Eigen::MatrixXd beta;    // the same state as weights (m x p)
  SgdParameters params;
};

// The state after `steps` SGD steps (cached per size: building it costs seconds at m = 10^4).
const RunState& run_state(int n, int m, std::uint64_t steps = 20000) {
  static std::map<std::tuple<int, int, std::uint64_t>, std::unique_ptr<RunState>> cache;
  auto& slot = cache[{n, m, steps}];
  if (slot) return *slot;
  const int d = 10 * n;
  std::mt19937_64 rng(1);
  StandardNormal g;
  Eigen::MatrixXd X(n, d), theta(m, d);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) X(i, k) = g(rng) / std::sqrt(static_cast<double>(d));
  for (int i = 0; i < n; ++i) y(i) = g(rng);
  for (int j = 0; j < m; ++j)
    for (int k = 0; k < d; ++k) theta(j, k) = 0.5 * g(rng);
  const TwoLayerModel model(X, y, Eigen::VectorXd::Ones(m), Activation::cubic());
  const ReducedCoordinates rc(model.X());
  TwoLayerModel reduced = rc.reduce(model);
  const Eigen::MatrixXd beta0 = rc.reduce(theta);
  SgdParameters params;
  params.learning_rate = 1e-4;
  params.label_noise = 0.03;
  params.coordinates = SgdCoordinates::Preactivations;
  LabelNoiseSgd sgd(reduced, beta0, params);
  sgd.advance(steps);
  slot = std::make_unique<RunState>(RunState{reduced, sgd.preactivations(), sgd.weights(), params});
  return *slot;
}

void BM_LoggedPointSgd(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1);
  const bool gradient = state.range(2) != 0;
  const RunState& s = run_state(n, m);
  const Eigen::MatrixXd none;
  for (auto _ : state) {
    Eigen::MatrixXd R = s.R;  // the run hands over a copy of its state too
    benchmark::DoNotOptimize(compute_trajectory_metrics(s.reduced, none, std::move(R), nullptr, gradient, true));
  }
}

void BM_LoggedPointFlow(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1);
  const RunState& s = run_state(n, m);
  for (auto _ : state) benchmark::DoNotOptimize(compute_trajectory_metrics(s.reduced, s.beta, nullptr, false, true));
}

// The pieces of a logged row, each as the row computes it (numerics/ordered_product.hpp's fixed-order
// products, numerics/singular_values.hpp), at the run's state.
enum Part { kActivation, kSpectrumGram, kSpectrumEigen, kGramOfDerivative, kDataGramTimes, kCosineTriangular };

void BM_LoggedPointParts(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1);
  const auto part = static_cast<Part>(state.range(2));
  const RunState& s = run_state(n, m);
  Eigen::MatrixXd phi, dphi, d2phi, G(n, n), out(n, m);
  s.reduced.activation().derivatives_of(s.R, &phi, &dphi, &d2phi);
  ordered_gram(phi, G);
  const Eigen::MatrixXd K = s.reduced.gram();
  Eigen::MatrixXd L = K.llt().matrixL();
  const char* labels[] = {"phi, phi', phi'' of R",        "Gram matrix Phi Phi^T",
                          "eigenvalues of an n x n Gram", "Gram matrix D D^T",
                          "K W (n x n times n x m)",      "L^-1 R (triangular)"};
  state.SetLabel(labels[part]);
  for (auto _ : state) {
    switch (part) {
      case kActivation: s.reduced.activation().derivatives_of(s.R, &phi, &dphi, &d2phi); break;
      case kSpectrumGram: ordered_gram(phi, G); break;
      case kSpectrumEigen: benchmark::DoNotOptimize(Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(G, Eigen::EigenvaluesOnly).eigenvalues()); break;
      case kGramOfDerivative: ordered_gram(dphi, G); break;
      case kDataGramTimes: ordered_product(K, dphi, out, ProductUpdate::Assign); break;
      case kCosineTriangular: ordered_lower_triangular_product(L, s.R, out); break;
    }
    benchmark::DoNotOptimize(G.data());
    benchmark::DoNotOptimize(out.data());
  }
}

void BM_SgdStepAtState(benchmark::State& state) {
  const int n = state.range(0), m = state.range(1);
  const RunState& s = run_state(n, m);
  LabelNoiseSgd sgd(s.reduced, s.beta, s.params);
  for (auto _ : state) sgd.advance(256);
  state.SetItemsProcessed(state.iterations() * 256);
}

void sizes(benchmark::internal::Benchmark* b, bool with_flag) {
  for (auto nm : {std::pair{20, 200}, std::pair{100, 250}, std::pair{100, 500}, std::pair{100, 1000}}) {
    if (with_flag) {
      b->Args({nm.first, nm.second, 1})->Args({nm.first, nm.second, 0});
    } else {
      b->Args({nm.first, nm.second});
    }
  }
  b->ArgNames(with_flag ? std::vector<std::string>{"n", "m", "gradient"} : std::vector<std::string>{"n", "m"});
  b->Unit(benchmark::kMicrosecond);
}

void parts(benchmark::internal::Benchmark* b) {
  for (int part = kActivation; part <= kCosineTriangular; ++part) b->Args({100, 1000, part});
  b->ArgNames({"n", "m", "part"})->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_LoggedPointSgd)->Apply([](auto* b) { sizes(b, true); });
BENCHMARK(BM_LoggedPointFlow)->Apply([](auto* b) { sizes(b, false); });
BENCHMARK(BM_LoggedPointParts)->Apply(parts);
BENCHMARK(BM_SgdStepAtState)->Apply([](auto* b) { sizes(b, false); });

}  // namespace

BENCHMARK_MAIN();
