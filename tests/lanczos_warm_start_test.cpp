// Lanczos started from a nearby point's extremes (sharpness/hessian_spectrum.hpp, "Warm start")
// against the cold start and the dense spectrum (a different route: the explicit k x k matrix and
// Eigen's symmetric eigensolver); the warm start vector against its definition computed with the
// dense tangent basis; the same bits on 1 and 2 threads; the search's smallest eigenpair from a
// warm start; and the convexity analysis's reuse of the given point's Lanczos run (the same bits
// as a fresh measurement).

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/diagnostics/search_chart.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"
#include "zeroloss/numerics/ordered_product.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"

namespace zeroloss {
namespace {

// A point x1 of M and a point x2 of M near it (the projection of a tangent step of relative length
// `step`), for the two-layer network with tangent dimension m p - n = 980.
struct NearbyPoints {
  test::RandomProblem problem;
  Eigen::MatrixXd x1, x2;
};

NearbyPoints nearby_points(double step, unsigned seed) {
  NearbyPoints out{test::random_problem_on_manifold(20, 30, 50, "cubic", true, seed), {}, {}};
  const TwoLayerConvexityGeometry G(out.problem.model);
  out.x1 = G.reduce(out.problem.theta);
  std::mt19937_64 rng(seed);
  const Eigen::MatrixXd w = random_tangent_direction(G, out.x1, rng);
  out.x2 = G.project(out.x1 + step * out.x1.norm() * w, ProjectionOptions{}).first;
  return out;
}

bool same_bits(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y) {
  return X.rows() == Y.rows() && X.cols() == Y.cols() &&
         std::memcmp(X.data(), Y.data(), sizeof(double) * static_cast<std::size_t>(X.size())) == 0;
}

testing::AssertionResult same_extremes(const HessianExtremes& a, const HessianExtremes& b) {
  if (a.matrix_vector_products != b.matrix_vector_products || a.iterations != b.iterations)
    return testing::AssertionFailure() << "products " << a.matrix_vector_products << " vs " << b.matrix_vector_products;
  if (!same_bits(a.smallest, b.smallest) || !same_bits(a.largest, b.largest) ||
      !same_bits(a.smallest_residuals, b.smallest_residuals) || !same_bits(a.smallest_vectors, b.smallest_vectors) ||
      !same_bits(a.largest_vectors, b.largest_vectors))
    return testing::AssertionFailure() << "different bits: lambda_min " << a.lambda_min() << " vs " << b.lambda_min();
  return testing::AssertionSuccess();
}

using test::ThreadSetting;

LanczosOptions k_eigenvalues(int K) {
  LanczosOptions o;
  o.eigenvalues = K;
  return o;
}

// At x2, started from x1's extremes: the K = 2 smallest and largest equal the dense ones (and the
// cold run's) to 1e-8 relative with residuals below 1e-8 of the spectral radius, both ends started
// warm, in fewer products than the cold run. A start that ignored the previous vectors would cost
// as many products as the cold run; one that was not tangent would break the certificates.
TEST(LanczosWarmStart, SameExtremesAsColdAndDenseInFewerProducts) {
  const NearbyPoints P = nearby_points(1e-3, 4292);
  const TwoLayerConvexityGeometry G(P.problem.model);
  const LanczosOptions o = k_eigenvalues(2);
  const HessianExtremes at_x1 = G.hessian_extremes(P.x1, SpectrumMethod::Lanczos, o);
  ASSERT_TRUE(at_x1.converged);
  const LanczosWarmStart start = warm_start_from(at_x1);
  const HessianExtremes warm = G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, o, nullptr, &start);
  const HessianExtremes cold = G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, o);
  const Eigen::VectorXd dense = G.hessian(P.x2).eigenvalues;
  const Eigen::Index k = dense.size();
  ASSERT_EQ(k, 980);
  ASSERT_TRUE(warm.converged && cold.converged);
  EXPECT_EQ(warm.warm_started_runs, 2);
  EXPECT_EQ(cold.warm_started_runs, 0);
  const double radius = dense.cwiseAbs().maxCoeff();
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(warm.smallest(i), dense(i), 1e-8 * std::abs(dense(i))) << i;
    EXPECT_NEAR(warm.largest(i), dense(k - 1 - i), 1e-8 * std::abs(dense(k - 1 - i))) << i;
    EXPECT_NEAR(warm.smallest(i), cold.smallest(i), 1e-8 * std::abs(cold.smallest(i))) << i;
    EXPECT_LT(warm.smallest_residuals(i), 1e-8 * radius) << i;
    EXPECT_LT(warm.largest_residuals(i), 1e-8 * radius) << i;
  }
  EXPECT_EQ(warm.shift, cold.shift);  // the shift comes from the cold start vector either way
  EXPECT_LT(warm.matrix_vector_products, cold.matrix_vector_products);
}

// The start vector is P_x2 (u_1 + u_2) / ||.||: unit, tangent at x2 (J v = 0), and equal to the same
// projection computed with the dense orthonormal tangent basis B at x2 (B B^T sum), a different
// route. Unusable previous vectors (none, or all zero) give no start, and the run is then the cold
// one bit for bit.
TEST(LanczosWarmStart, StartVectorIsTheUnitTangentProjectionOfThePreviousVectors) {
  const NearbyPoints P = nearby_points(1e-2, 4293);
  const TwoLayerConvexityGeometry G(P.problem.model);
  const HessianExtremes at_x1 = G.hessian_extremes(P.x1, SpectrumMethod::Lanczos, k_eigenvalues(2));
  const TangentProjection project = [&](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) {
    out = G.flatten(G.tangent_projection(P.x2, G.to_working(in)));
  };
  const Eigen::VectorXd v = warm_start_vector(project, at_x1.smallest_vectors);
  ASSERT_EQ(v.size(), at_x1.smallest_vectors.rows());
  EXPECT_NEAR(v.norm(), 1.0, 1e-14);
  const Eigen::MatrixXd B = G.tangent_basis(P.x2);
  const Eigen::VectorXd sum = at_x1.smallest_vectors.col(0) + at_x1.smallest_vectors.col(1);
  const Eigen::VectorXd expected = B * (B.transpose() * sum);
  EXPECT_LT((v - expected / expected.norm()).norm(), 1e-12);
  EXPECT_LT((v - B * (B.transpose() * v)).norm(), 1e-12);  // tangent: no part outside span(B)
  // The sum's part normal to the tangent space at x2 is not zero (the points differ), so a start
  // that skipped the projection would differ from v.
  EXPECT_GT((sum / sum.norm() - v).norm(), 1e-6);

  EXPECT_EQ(warm_start_vector(project, Eigen::MatrixXd::Zero(v.size(), 2)).size(), 0);
  const LanczosWarmStart none{Eigen::MatrixXd(), Eigen::MatrixXd::Zero(v.size(), 2)};
  const HessianExtremes not_warm = G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, k_eigenvalues(2), nullptr, &none);
  EXPECT_EQ(not_warm.warm_started_runs, 0);
  EXPECT_TRUE(same_extremes(not_warm, G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, k_eigenvalues(2))));
}

// The warm run is deterministic: the same bits on 1 and 2 threads (products and basis forced onto
// 2 threads by a zero work threshold) and on a repeat.
TEST(LanczosWarmStart, SameBitsOnOneAndTwoThreads) {
  const NearbyPoints P = nearby_points(1e-3, 4294);
  const TwoLayerConvexityGeometry G(P.problem.model);
  const LanczosOptions o = k_eigenvalues(2);
  const LanczosWarmStart start = warm_start_from(G.hessian_extremes(P.x1, SpectrumMethod::Lanczos, o));
  HessianExtremes one, two, again;
  {
    const ThreadSetting setting(1, 0);
    one = G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, o, nullptr, &start);
  }
  {
    const ThreadSetting setting(2, 0);
    two = G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, o, nullptr, &start);
    again = G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, o, nullptr, &start);
  }
  EXPECT_EQ(one.threads, 1);
  EXPECT_EQ(two.threads, 2);
  EXPECT_TRUE(same_extremes(one, two));
  EXPECT_TRUE(same_extremes(two, again));
}

// The search's eigenpair with the convexity settings (tolerance 1e-6, ConvexitySpectrum) forced onto
// Lanczos: started from the pair at a nearby point it equals the dense pair (value, lambda_2, the
// vector up to sign) as the cold one does, in fewer products.
TEST(LanczosWarmStart, SearchEigenpairFromANearbyPairEqualsTheDenseOne) {
  const NearbyPoints P = nearby_points(1e-3, 4295);
  TwoLayerConvexityGeometry G(P.problem.model);
  G.set_spectrum({SpectrumMethod::Dense, {}});
  const SmallestEigenpair dense = smallest_eigenpair(G, P.x2);
  G.set_spectrum({SpectrumMethod::Lanczos, {}});
  ASSERT_EQ(G.spectrum_method(), SpectrumMethod::Lanczos);
  const SmallestEigenpair near = smallest_eigenpair(G, P.x1);
  const SmallestEigenpair warm = smallest_eigenpair(G, P.x2, &near);
  const SmallestEigenpair cold = smallest_eigenpair(G, P.x2);
  const double scale = dense.scale;
  for (const SmallestEigenpair* pair : {&warm, &cold}) {
    EXPECT_NEAR(pair->value, dense.value, 1e-9 * scale);
    EXPECT_NEAR(pair->next, dense.next, 1e-9 * scale);
    EXPECT_NEAR(std::abs((pair->vector.array() * dense.vector.array()).sum()), 1.0, 1e-6);
  }
  const HessianExtremes warm_run = G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, k_eigenvalues(2), nullptr,
                                                      &near.lanczos_vectors);
  const HessianExtremes cold_run = G.hessian_extremes(P.x2, SpectrumMethod::Lanczos, k_eigenvalues(2));
  EXPECT_LT(warm_run.matrix_vector_products, cold_run.matrix_vector_products);
}

// converged_lanczos_extremes remembers its last cold run: a repeat at the same point returns it,
// the same bits as a new geometry's run, and a different point is not served from it.
TEST(LanczosWarmStart, RepeatedColdRunAtTheSamePointIsTheSameResult) {
  const NearbyPoints P = nearby_points(1e-2, 4296);
  TwoLayerConvexityGeometry G(P.problem.model);
  G.set_spectrum({SpectrumMethod::Lanczos, {}});
  const HessianExtremes a1 = G.converged_lanczos_extremes(P.x1, 1, "x1");
  const HessianExtremes a1_again = G.converged_lanczos_extremes(P.x1, 1, "x1");
  const HessianExtremes a2 = G.converged_lanczos_extremes(P.x2, 1, "x2");
  TwoLayerConvexityGeometry fresh(P.problem.model);
  fresh.set_spectrum({SpectrumMethod::Lanczos, {}});
  EXPECT_TRUE(same_extremes(a1_again, a1));
  EXPECT_TRUE(same_extremes(a1, fresh.converged_lanczos_extremes(P.x1, 1, "x1")));
  EXPECT_TRUE(same_extremes(a2, fresh.converged_lanczos_extremes(P.x2, 1, "x2")));
  EXPECT_NE(a1.lambda_min(), a2.lambda_min());
  // K = 2 at x1 is a different run, not the remembered K = 1 one.
  EXPECT_EQ(G.converged_lanczos_extremes(P.x1, 2, "x1").smallest.size(), 2);
}

// The remembered run is shared by threads: two threads calling converged_lanczos_extremes on one
// geometry, each alternating between x1 and x2 (so each call may find the other thread's run in the
// memory, or replace it), get the bits of a fresh geometry's run every time. (A race on the memory
// can show here as wrong bits or a crash, and under the AddressSanitizer build as a use-after-free;
// the test cannot prove that no race exists: only ThreadSanitizer, which the project does not build,
// would.)
TEST(LanczosWarmStart, RememberedRunIsSafeToShareBetweenThreads) {
  const NearbyPoints P = nearby_points(1e-2, 4298);
  TwoLayerConvexityGeometry G(P.problem.model);
  G.set_spectrum({SpectrumMethod::Lanczos, {}});
  TwoLayerConvexityGeometry fresh(P.problem.model);
  fresh.set_spectrum({SpectrumMethod::Lanczos, {}});
  const HessianExtremes e1 = fresh.converged_lanczos_extremes(P.x1, 1, "x1");
  const HessianExtremes e2 = fresh.converged_lanczos_extremes(P.x2, 1, "x2");
  const ThreadSetting one_product_thread(1, -1);
  std::vector<HessianExtremes> got[2];
  auto work = [&](int t) {
    for (int k = 0; k < 4; ++k) {
      const bool first = (k + t) % 2 == 0;
      got[t].push_back(G.converged_lanczos_extremes(first ? P.x1 : P.x2, 1, "x"));
    }
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  for (int t = 0; t < 2; ++t) {
    ASSERT_EQ(got[t].size(), 4u);
    for (int k = 0; k < 4; ++k)
      EXPECT_TRUE(same_extremes(got[t][k], (k + t) % 2 == 0 ? e1 : e2)) << "thread " << t << " call " << k;
  }
}

// The convexity analysis forced onto Lanczos on a small problem: the given point's sample (measured
// right after the point's analysis, from the same Lanczos run) has the point analysis's lambda_min
// and the same numbers, bit for bit, as evaluate_point on a fresh geometry.
TEST(LanczosWarmStart, GivenPointSampleIsTheSameAsAFreshMeasurement) {
  const test::RandomProblem p = test::random_problem_on_manifold(6, 10, 30, "cubic", true, 4297);
  TwoLayerConvexityGeometry G(p.model);
  G.set_spectrum({SpectrumMethod::Lanczos, {}});
  ConvexityOptions o = ConvexityOptions::matrix_free(true);
  o.sampling.random_points = 1;
  o.sampling.geodesic_points = 2;
  o.run_search = false;
  o.default_anchor = false;
  const ConvexityResult r = analyze_convexity(G, p.theta, std::nullopt, o, {}, {});
  ASSERT_FALSE(r.sampling.points.empty());
  const SampledPoint& given = r.sampling.points.front();
  ASSERT_EQ(given.scheme, "given");
  TwoLayerConvexityGeometry fresh(p.model);
  fresh.set_spectrum({SpectrumMethod::Lanczos, {}});
  const SampledPoint expected = evaluate_point(fresh, p.theta, "given", 0, 0.0, o.sampling.negative_tolerance);
  EXPECT_EQ(std::memcmp(&given.lambda_min, &expected.lambda_min, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&given.lambda_max, &expected.lambda_max, sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&given.lambda_min_residual, &expected.lambda_min_residual, sizeof(double)), 0);
  EXPECT_EQ(given.hessian_products, expected.hessian_products);
  ASSERT_TRUE(r.point.has_value());
  EXPECT_EQ(given.lambda_min, r.point->lambda_min);
}

}  // namespace
}  // namespace zeroloss
