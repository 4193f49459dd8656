// The gradient of lambda_min(Hess_M T) in the adversarial search's retraction chart
// (diagnostics/search_chart.hpp): from the eigenvector of a simple lambda_min (central differences of
// the frozen eigenvector's Rayleigh quotient) against the old route (central differences of the dense
// lambda_min), at random points of M for the two-layer network (cubic with a = 1, tanh with a
// mixed-sign a) and the diagonal linear network; a wrong eigenvector gives a visibly different
// gradient; the gradient of ||grad_M T|| against its closed form at the chart's centre
// (grad ||grad_M T|| = Hess_M T[grad_M T] / ||grad_M T||, and the chart's differential there is B);
// the fallback where lambda_min is double; and the search with either route.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/diagnostics/model_convexity_geometry.hpp"
#include "zeroloss/diagnostics/search_chart.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

struct GeometryCase {
  std::string name;
  std::shared_ptr<ConvexityGeometry> geometry;
  Eigen::MatrixXd on_manifold;  // a point of M, working coordinates
};

GeometryCase two_layer_case(const std::string& activation, bool mixed_a, int n, int d, int m, unsigned seed) {
  const test::RandomProblem p = test::random_problem_on_manifold(n, d, m, activation, mixed_a, seed);
  auto G = std::make_shared<TwoLayerConvexityGeometry>(p.model);
  return {activation + (mixed_a ? " mixed a" : " a = 1"), G, G->reduce(p.theta)};
}

GeometryCase diagonal_case(int n, int d, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd X(n, d);
  Eigen::VectorXd theta(2 * d);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < d; ++k) X(i, k) = normal(rng);
  for (int k = 0; k < 2 * d; ++k) theta(k) = 0.3 + std::abs(normal(rng));  // u, v away from 0: J J^T regular
  const Eigen::VectorXd w = theta.head(d).array().square() - theta.tail(d).array().square();
  auto net = std::make_shared<const DiagonalLinearNetwork>(X, X * w);
  auto G = std::make_shared<ModelConvexityGeometry>(diagonal_linear_convexity_geometry(net));
  return {"diagonal linear", G, Eigen::MatrixXd(theta)};
}

std::vector<GeometryCase> cases() {
  return {two_layer_case("cubic", false, 3, 6, 5, 11), two_layer_case("tanh", true, 4, 6, 5, 12),
          diagonal_case(3, 8, 13)};
}

Eigen::VectorXd random_vector(Eigen::Index k, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::VectorXd c(k);
  for (Eigen::Index i = 0; i < k; ++i) c(i) = normal(rng);
  return c;
}

// A random point of M near the case's point: the projection of a random tangent step.
SearchChart random_chart(const ConvexityGeometry& G, const Eigen::MatrixXd& x0, double length, std::mt19937_64& rng,
                         const ProjectionOptions& po) {
  const Eigen::MatrixXd B0 = G.tangent_basis(x0);
  const Eigen::VectorXd s = random_vector(B0.cols(), rng);
  SearchChart chart;
  chart.center = G.project(x0 + G.to_working(B0 * (length * s / s.norm())), po).first;
  chart.basis = G.tangent_basis(chart.center);
  return chart;
}

double max_abs(const Eigen::VectorXd& v) { return v.cwiseAbs().maxCoeff(); }

ChartGradientOptions options_with_step(double step) {
  ChartGradientOptions o;
  o.step = step;
  return o;
}

// A random chart near the case's point, with what its centre (c = 0) gives the gradient.
struct CentredChart {
  SearchChart chart;
  Eigen::VectorXd c;      // 0
  Eigen::MatrixXd grad;   // grad_M T at the centre
  SmallestEigenpair pair;
};

CentredChart centred_chart(const ConvexityGeometry& G, const Eigen::MatrixXd& x0, unsigned seed,
                           const ChartGradientOptions& o) {
  std::mt19937_64 rng(seed);
  CentredChart out;
  out.chart = random_chart(G, x0, 0.3, rng, o.projection);
  out.c = Eigen::VectorXd::Zero(out.chart.basis.cols());
  out.grad = G.riemannian_gradient(out.chart.center);
  out.pair = smallest_eigenpair(G, out.chart.center);
  return out;
}

// Tolerance (relative to the largest component of the gradient). Central differences with step h
// have truncation error h^2 / 6 |f'''| (about 1e-9 of the scale at h = 1e-4 for derivatives of order
// one over distances of order one) and rounding error delta / h, delta the noise of one evaluation:
// the Newton projection stops at residual 1e-13 (label scale) and the eigenvalue solver at about
// 1e-15 k max |lambda|, so delta / h is of order 1e-9 of the scale. Both routes carry such errors;
// measured, they differ by 2e-10 to 2.6e-8 of the scale over the nine points below (the largest for
// tanh), so 1e-6 leaves a margin of about 40. A wrong eigenvector moves the gradient by 5e-3 to 1.9
// in absolute terms on these problems, far beyond it.
constexpr double kStep = 1e-4;
constexpr double kAgreement = 1e-6;

TEST(SearchChartGradient, EigenvectorRouteEqualsTheDifferencesOfLambdaMinAtRandomPoints) {
  for (const GeometryCase& gc : cases()) {
    const ConvexityGeometry& G = *gc.geometry;
    std::mt19937_64 rng(7);
    ChartGradientOptions o;
    o.step = kStep;
    for (int trial = 0; trial < 3; ++trial) {
      const SearchChart chart = random_chart(G, gc.on_manifold, 0.3, rng, o.projection);
      // Away from the centre (c != 0) as well as at it.
      const Eigen::VectorXd c =
          trial == 0 ? Eigen::VectorXd::Zero(chart.basis.cols()) : Eigen::VectorXd(0.05 * random_vector(chart.basis.cols(), rng));
      const Eigen::MatrixXd x = chart.point(G, c, o.projection);
      const double g = G.riemannian_gradient(x).norm();
      const SmallestEigenpair pair = smallest_eigenpair(G, x);
      ASSERT_TRUE(pair.simple(o.simple_gap)) << gc.name << ": gap " << pair.next - pair.value;
      EXPECT_NEAR(pair.value, G.hessian(x).eigenvalues.minCoeff(), 1e-12 * pair.scale) << gc.name;
      EXPECT_LT(pair.residual, 1e-10 * pair.scale) << gc.name;
      EXPECT_NEAR(G.hessian_form(x, pair.vector), pair.value, 1e-10 * pair.scale) << gc.name;

      o.method = CurvatureGradient::Eigenvector;
      const ChartGradient fresh = chart_gradient(G, chart, c, g, pair, o);
      o.method = CurvatureGradient::EigenvalueDifferences;
      long observed = 0;
      const ChartGradient old = chart_gradient(G, chart, c, g, pair, o, [&](const Eigen::MatrixXd&, double, double) { ++observed; });
      ASSERT_TRUE(fresh.ok && old.ok) << gc.name;
      EXPECT_EQ(fresh.method, CurvatureGradient::Eigenvector);
      EXPECT_EQ(old.method, CurvatureGradient::EigenvalueDifferences);
      const Eigen::Index k = chart.basis.cols();
      EXPECT_EQ(fresh.evaluations, 2 * k);
      EXPECT_EQ(observed, 2 * k);  // the fallback shows every dense point to the search's tracker
      const double scale = max_abs(old.lambda_min);
      EXPECT_LT(max_abs(fresh.lambda_min - old.lambda_min), kAgreement * scale)
          << gc.name << " trial " << trial << " (k = " << k << "): |d lambda_min/dc| up to " << max_abs(old.lambda_min);
      // Both routes difference g at the same points: the same numbers.
      EXPECT_EQ(max_abs(fresh.grad_norm - old.grad_norm), 0.0) << gc.name;
    }
  }
}

TEST(SearchChartGradient, AWrongEigenvectorGivesAVisiblyDifferentGradient) {
  for (const GeometryCase& gc : cases()) {
    const ConvexityGeometry& G = *gc.geometry;
    const ChartGradientOptions o = options_with_step(kStep);
    const CentredChart at = centred_chart(G, gc.on_manifold, 8, o);
    const SearchChart& chart = at.chart;
    const Eigen::VectorXd& c = at.c;
    const double g = at.grad.norm();
    const SmallestEigenpair& pair = at.pair;
    const ChartGradient right = chart_gradient(G, chart, c, g, pair, o);
    ASSERT_TRUE(right.ok);
    const double scale = max_abs(right.lambda_min);
    // The second eigenvector (an independent dense solver), and the first tilted towards it by 0.1.
    const ConvexityHessian H = G.hessian(chart.center);
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(H.matrix);
    const Eigen::MatrixXd v2 = G.to_working(H.basis * es.eigenvectors().col(1));
    SmallestEigenpair second = pair, tilted = pair;
    second.vector = v2;
    tilted.vector = pair.vector + 0.1 * v2;
    tilted.vector /= tilted.vector.norm();
    const ChartGradient wrong2 = chart_gradient(G, chart, c, g, second, o);
    const ChartGradient wrong_t = chart_gradient(G, chart, c, g, tilted, o);
    EXPECT_GT(max_abs(wrong2.lambda_min - right.lambda_min), 1e3 * kAgreement * scale) << gc.name;
    EXPECT_GT(max_abs(wrong_t.lambda_min - right.lambda_min), 10 * kAgreement * scale) << gc.name;
    // The sign of the eigenvector does not matter (the quotient is quadratic in it).
    SmallestEigenpair flipped = pair;
    flipped.vector = -pair.vector;
    EXPECT_EQ(max_abs(chart_gradient(G, chart, c, g, flipped, o).lambda_min - right.lambda_min), 0.0);
  }
}

TEST(SearchChartGradient, GradientNormDerivativeAtTheCentreIsTheHessianAppliedToTheGradient) {
  for (const GeometryCase& gc : cases()) {
    const ConvexityGeometry& G = *gc.geometry;
    const CentredChart at = centred_chart(G, gc.on_manifold, 9, options_with_step(kStep));
    const SearchChart& chart = at.chart;
    const Eigen::MatrixXd& grad = at.grad;
    const double g = grad.norm();
    const ChartGradient d = chart_gradient(G, chart, at.c, g, at.pair, options_with_step(kStep));
    ASSERT_TRUE(d.ok);
    // The retraction's differential at c = 0 is B, so d g / dc = B^T Hess_M T[grad_M T] / g, with
    // Hess_M T = Hb A Hb^T on the tangent space (Hb, A: the dense basis and matrix).
    // grad_M T is tangent: flattened (the basis' order), it is B gamma with gamma_i = <B_i, grad_M T>.
    const ConvexityHessian H = G.hessian(chart.center);
    Eigen::VectorXd gamma(chart.basis.cols());
    for (Eigen::Index i = 0; i < gamma.size(); ++i) gamma(i) = (G.to_working(chart.basis.col(i)).array() * grad.array()).sum();
    EXPECT_NEAR(gamma.norm(), g, 1e-12 * g) << gc.name;
    const Eigen::VectorXd gv = chart.basis * gamma;
    const Eigen::VectorXd expected = chart.basis.transpose() * (H.basis * (H.matrix * (H.basis.transpose() * gv))) / g;
    const double scale = max_abs(expected);
    EXPECT_LT(max_abs(d.grad_norm - expected), kAgreement * scale) << gc.name << ": |dg/dc| up to " << max_abs(expected);
    // Perturbed formula (the Hessian scaled by 1.001) would be seen.
    EXPECT_GT(1e-3 * max_abs(expected), 10 * kAgreement * scale) << gc.name;
  }
}

// THEORY 6's problem (n = 1, x = e_1, m = 3, cubic, a = 1, y = phi(5) + phi(0.58) + phi(0)) and
// its minimizer of T (every r_j = phi^{-1}(y / 3)).
struct Theory6Problem {
  TwoLayerModel model;
  Eigen::MatrixXd optimum;
};

Theory6Problem theory6_problem() {
  const Activation phi = Activation::cubic();
  const double y = phi.value(5) + phi.value(0.58) + phi.value(0);
  Eigen::MatrixXd X(1, 1);
  X << 1;
  return {TwoLayerModel(X, Eigen::VectorXd::Constant(1, y), Eigen::VectorXd::Ones(3), phi),
          Eigen::MatrixXd::Constant(3, 1, phi.inverse(y / 3))};
}

// THEORY 6's problem at the minimizer of T: every neuron has the same pre-activation, so Hess_M T =
// w I on the tangent space {v : sum_j v_j = 0} (dimension 2): lambda_min is double.
TEST(SearchChartGradient, FallsBackToEigenvalueDifferencesWhereLambdaMinIsNotSimple) {
  const Theory6Problem t = theory6_problem();
  const TwoLayerConvexityGeometry G(t.model);
  const Eigen::MatrixXd& optimum = t.optimum;
  SearchChart chart;
  chart.center = G.reduce(optimum);
  chart.basis = G.tangent_basis(chart.center);
  const SmallestEigenpair pair = smallest_eigenpair(G, chart.center);
  EXPECT_LT(pair.next - pair.value, 1e-12 * pair.scale);
  ChartGradientOptions o;
  o.step = kStep;
  const Eigen::VectorXd c = Eigen::VectorXd::Zero(2);
  const ChartGradient d = chart_gradient(G, chart, c, G.riemannian_gradient(chart.center).norm(), pair, o);
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.method, CurvatureGradient::EigenvalueDifferences);
  // With no gap required it takes the eigenvector route.
  o.simple_gap = -1;
  EXPECT_EQ(chart_gradient(G, chart, c, 0.0, pair, o).method, CurvatureGradient::Eigenvector);

  // The search counts its gradients and the fallbacks among them: starting at the optimum (its only
  // start) the first gradient is a fallback.
  SearchOptions so = ConvexityOptions::quick().search;
  so.max_evaluations_per_rung = 200;
  const std::vector<SearchRung> rungs = search_negative_curvature(G, optimum, {}, {1.0}, so);
  ASSERT_EQ(rungs.size(), 1u);
  EXPECT_GT(rungs[0].gradients, 0);
  EXPECT_GE(rungs[0].dense_gradients, 1);
  EXPECT_LE(rungs[0].dense_gradients, rungs[0].gradients);
}

// Both routes drive the search to a counterexample of THEORY 6 at the counterexample's gradient
// level (the search does not get it as a start); the eigenvector route takes no dense gradient at
// these generic points but the fallbacks at the optimum.
TEST(SearchChartGradient, SearchWithEitherRouteFindsTheTheory6Curvature) {
  const Theory6Problem t = theory6_problem();
  const TwoLayerConvexityGeometry G(t.model);
  const Eigen::MatrixXd& optimum = t.optimum;
  const SampledPoint given = evaluate_point(G, Eigen::Vector3d(5, 0.58, 0), "given", 0, 0.0, 1e-10);
  SamplingOptions sampling = ConvexityOptions::quick().sampling;
  sampling.seed = 5;
  const SamplingResult samples = sample_points(G, optimum, Eigen::MatrixXd(0, 0), sampling);
  for (CurvatureGradient method : {CurvatureGradient::Eigenvector, CurvatureGradient::EigenvalueDifferences}) {
    SearchOptions so = ConvexityOptions::quick().search;
    so.curvature_gradient = method;
    const std::vector<SearchRung> rungs = search_negative_curvature(G, optimum, samples.points, {given.grad_norm}, so);
    ASSERT_EQ(rungs.size(), 1u);
    EXPECT_TRUE(rungs[0].negative) << to_string(method);
    EXPECT_LE(rungs[0].lambda_min, given.lambda_min) << to_string(method);
    EXPECT_LT(rungs[0].grad_norm, given.grad_norm);
    EXPECT_GT(rungs[0].gradients, 0);
    if (method == CurvatureGradient::EigenvalueDifferences) {
      EXPECT_EQ(rungs[0].dense_gradients, rungs[0].gradients);
    } else {
      EXPECT_LT(rungs[0].dense_gradients, rungs[0].gradients);
    }
  }
}

// The Lanczos route of the search's spectrum (above the dense dimension) against the dense one, at
// random points of M of every case: the smallest eigenpair (value, lambda_2, the vector up to sign)
// and the extremes.
TEST(SearchChartLanczos, SmallestEigenpairEqualsTheDenseOne) {
  for (const GeometryCase& gc : cases()) {
    ConvexityGeometry& G = *gc.geometry;
    std::mt19937_64 rng(17);
    const ChartGradientOptions o = options_with_step(kStep);
    for (int trial = 0; trial < 3; ++trial) {
      const SearchChart chart = random_chart(G, gc.on_manifold, 0.3, rng, o.projection);
      const Eigen::MatrixXd& x = chart.center;
      G.set_spectrum({SpectrumMethod::Dense, {}});
      ASSERT_EQ(G.spectrum_method(), SpectrumMethod::Dense);
      const SmallestEigenpair dense = smallest_eigenpair(G, x);
      const CurvatureExtremes dense_ends = curvature_extremes(G, x);
      G.set_spectrum({SpectrumMethod::Lanczos, {}});
      ASSERT_EQ(G.spectrum_method(), SpectrumMethod::Lanczos);
      const SmallestEigenpair lanczos = smallest_eigenpair(G, x);
      const CurvatureExtremes lanczos_ends = curvature_extremes(G, x);
      const double scale = dense.scale;
      EXPECT_NEAR(lanczos.value, dense.value, 1e-9 * scale) << gc.name;
      EXPECT_NEAR(lanczos.next, dense.next, 1e-9 * scale) << gc.name;
      EXPECT_NEAR(lanczos.scale, dense.scale, 1e-9 * scale) << gc.name;
      EXPECT_NEAR(lanczos_ends.lambda_min, dense_ends.lambda_min, 1e-9 * scale) << gc.name;
      EXPECT_NEAR(lanczos_ends.lambda_max, dense_ends.lambda_max, 1e-9 * scale) << gc.name;
      ASSERT_TRUE(dense.simple(1e-6)) << gc.name;
      const double overlap = std::abs((lanczos.vector.array() * dense.vector.array()).sum());
      EXPECT_NEAR(overlap, 1.0, 1e-6) << gc.name;
      EXPECT_NEAR(G.hessian_form(x, lanczos.vector), dense.value, 1e-9 * scale) << gc.name;
    }
  }
}

// The subspace chart's basis: orthonormal, tangent, its first column the eigenvector of lambda_min
// and grad_M T in the span of the first two; random_tangent_direction gives unit tangent vectors.
TEST(SearchChartLanczos, SubspaceBasisIsOrthonormalTangentAndLeadsWithTheEigenvectorAndTheGradient) {
  for (const GeometryCase& gc : cases()) {
    const ConvexityGeometry& G = *gc.geometry;
    std::mt19937_64 rng(19);
    const SearchChart chart = random_chart(G, gc.on_manifold, 0.3, rng, ProjectionOptions{});
    const Eigen::MatrixXd& x = chart.center;
    const SmallestEigenpair pair = smallest_eigenpair(G, x);
    const int k = std::min(4, G.tangent_dimension());
    const Eigen::MatrixXd B = subspace_chart_basis(G, x, pair.vector, k, rng);
    ASSERT_EQ(B.cols(), k) << gc.name;
    EXPECT_LT((B.transpose() * B - Eigen::MatrixXd::Identity(k, k)).cwiseAbs().maxCoeff(), 1e-12) << gc.name;
    for (int j = 0; j < k; ++j) {
      const Eigen::VectorXd back = G.flatten(G.tangent_projection(x, G.to_working(B.col(j))));
      EXPECT_LT((back - B.col(j)).norm(), 1e-10) << gc.name << " column " << j;
    }
    EXPECT_NEAR(std::abs(B.col(0).dot(G.flatten(pair.vector))), 1.0, 1e-12) << gc.name;
    const Eigen::VectorXd g = G.flatten(G.riemannian_gradient(x));
    const Eigen::VectorXd rest = g - B.leftCols(2) * (B.leftCols(2).transpose() * g);
    EXPECT_LT(rest.norm(), 1e-10 * g.norm()) << gc.name;
    const Eigen::MatrixXd u = random_tangent_direction(G, x, rng);
    EXPECT_NEAR(u.norm(), 1.0, 1e-14) << gc.name;
    EXPECT_LT((G.tangent_projection(x, u) - u).norm(), 1e-10) << gc.name;
  }
}

// Hellmann-Feynman in a subspace chart: the eigenvector route equals the differences of lambda_min
// there too (the chart's basis need not span the tangent space).
TEST(SearchChartLanczos, EigenvectorRouteEqualsTheDifferencesInASubspaceChart) {
  for (const GeometryCase& gc : cases()) {
    const ConvexityGeometry& G = *gc.geometry;
    std::mt19937_64 rng(23);
    ChartGradientOptions o = options_with_step(kStep);
    SearchChart chart = random_chart(G, gc.on_manifold, 0.3, rng, o.projection);
    const int k = std::min(3, G.tangent_dimension());
    chart.basis = subspace_chart_basis(G, chart.center, smallest_eigenpair(G, chart.center).vector, k, rng);
    const Eigen::VectorXd c = 0.05 * random_vector(k, rng);
    const Eigen::MatrixXd x = chart.point(G, c, o.projection);
    const double g = G.riemannian_gradient(x).norm();
    const SmallestEigenpair pair = smallest_eigenpair(G, x);
    ASSERT_TRUE(pair.simple(o.simple_gap)) << gc.name;
    o.method = CurvatureGradient::Eigenvector;
    const ChartGradient fresh = chart_gradient(G, chart, c, g, pair, o);
    o.method = CurvatureGradient::EigenvalueDifferences;
    const ChartGradient old = chart_gradient(G, chart, c, g, pair, o);
    ASSERT_TRUE(fresh.ok && old.ok) << gc.name;
    EXPECT_EQ(fresh.evaluations, 2 * k);
    EXPECT_LT(max_abs(fresh.lambda_min - old.lambda_min), kAgreement * max_abs(old.lambda_min)) << gc.name;
  }
}

TEST(SearchChartGradient, InvalidGapIsAnInputError) {
  const test::RandomProblem p = test::random_problem_on_manifold(3, 5, 4, "cubic", false, 3);
  SearchOptions so = ConvexityOptions::quick().search;
  so.simple_eigenvalue_gap = std::nan("");
  EXPECT_THROW(search_negative_curvature(p.model, std::nullopt, {}, {1.0}, so), InputError);
}

}  // namespace
}  // namespace zeroloss
