// The matrix-free Lanczos extremes of Hess_M T (sharpness/hessian_spectrum.hpp) against the dense
// spectrum (SharpnessGeometry::riemannian_hessian_matrix, a different route: the explicit k x k
// matrix and Eigen's symmetric eigensolver), their residual certificates, and non-convergence.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <memory>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/numerics/ordered_product.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

using namespace zeroloss;

namespace {

using Config = zeroloss::test::ProblemConfig;
using zeroloss::test::config_name;

struct ReducedProblem {
  TwoLayerModel reduced;
  Eigen::MatrixXd beta;
};

ReducedProblem reduced_problem(const Config& c, unsigned seed) {
  const test::RandomProblem p = test::random_problem_on_manifold(c.n, c.d, c.m, c.activation, c.mixed_a, seed);
  const ReducedCoordinates rc(p.model.X());
  return {rc.reduce(p.model), rc.reduce(p.theta)};
}

// |a - b| <= tol |b|, printed with both values.
testing::AssertionResult relatively_equal(double a, double b, double tol) {
  if (std::abs(a - b) <= tol * std::abs(b)) return testing::AssertionSuccess();
  return testing::AssertionFailure() << a << " vs dense " << b << ": relative difference " << std::abs(a - b) / std::abs(b);
}

class LanczosAgainstDense : public testing::TestWithParam<Config> {};

// Tangent dimensions m p - n from 390 to 980: the K = 3 smallest and largest equal the dense ones
// to 1e-8 relative, and every certificate ||H v - lambda v|| is below 1e-8 of the spectral radius.
TEST_P(LanczosAgainstDense, ExtremesMatchToRelative1e8WithSmallResiduals) {
  const Config c = GetParam();
  const ReducedProblem P = reduced_problem(c, 4242 + static_cast<unsigned>(c.m));
  const SharpnessGeometry g(P.reduced, P.beta);
  const Eigen::VectorXd dense = g.riemannian_hessian_matrix().eigenvalues;
  const Eigen::Index k = dense.size();
  ASSERT_EQ(k, static_cast<Eigen::Index>(c.m) * c.n - c.n) << "d >= n: p = n";
  LanczosOptions o;
  o.eigenvalues = 3;
  const HessianExtremes x = riemannian_hessian_extremes(g, o);
  ASSERT_TRUE(x.converged);
  EXPECT_EQ(x.method, SpectrumMethod::Lanczos);
  EXPECT_EQ(x.tangent_dimension, k);
  EXPECT_EQ(x.converged_pairs, 6);
  const double radius = dense.cwiseAbs().maxCoeff();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(relatively_equal(x.smallest(i), dense(i), 1e-8)) << "smallest " << i;
    EXPECT_TRUE(relatively_equal(x.largest(i), dense(k - 1 - i), 1e-8)) << "largest " << i;
    EXPECT_LT(x.smallest_residuals(i), 1e-8 * radius);
    EXPECT_LT(x.largest_residuals(i), 1e-8 * radius);
  }
  // The eigenvectors are unit tangent vectors in reduced coordinates: J v = 0, and the Rayleigh
  // quotient Hess_M T[v, v] is the eigenvalue.
  const int m = P.reduced.m(), p = P.reduced.d();
  for (const auto& [V, values] : {std::pair{&x.smallest_vectors, &x.smallest}, std::pair{&x.largest_vectors, &x.largest}}) {
    for (Eigen::Index col = 0; col < V->cols(); ++col) {
      const Eigen::MatrixXd v = unvectorize(V->col(col), m, p);
      EXPECT_NEAR(v.norm(), 1.0, 1e-12);
      EXPECT_LT(g.jacobian().apply(v).norm(), 1e-10 * g.jacobian().D().norm());
      EXPECT_NEAR(g.riemannian_hessian_form(v), (*values)(col), 1e-8 * radius);
    }
  }
}

// Every activation of THEORY (cubic, sinh, tanh, softplus), a = 1 and mixed-sign a; n <= d so p = n.
INSTANTIATE_TEST_SUITE_P(
    Activations, LanczosAgainstDense,
    testing::Values(Config{10, 25, 40, "cubic", false}, Config{10, 25, 40, "cubic", true},
                    Config{10, 25, 40, "sinh", true}, Config{10, 25, 40, "tanh", false},
                    Config{10, 25, 40, "tanh", true}, Config{10, 25, 40, "softplus", true},
                    Config{10, 25, 40, "softplus", false}, Config{20, 30, 50, "cubic", true}),
    config_name);

// Capped at one restart with a small Krylov space, Lanczos cannot converge: the result says so, and
// the unconverged values carry a NaN certificate instead of a residual.
TEST(LanczosExtremes, ReportsNonConvergenceWhenIterationsAreCapped) {
  const ReducedProblem P = reduced_problem(Config{10, 25, 40, "cubic", true}, 99);
  const SharpnessGeometry g(P.reduced, P.beta);
  LanczosOptions o;
  o.eigenvalues = 2;
  o.max_iterations = 1;
  o.krylov_dimension = 6;
  const HessianExtremes x = riemannian_hessian_extremes(g, o);
  EXPECT_FALSE(x.converged);
  EXPECT_LT(x.converged_pairs, 4);
  int nan_certificates = 0;
  for (int i = 0; i < 2; ++i)
    nan_certificates += std::isnan(x.smallest_residuals(i)) + std::isnan(x.largest_residuals(i));
  EXPECT_EQ(nan_certificates, 4 - x.converged_pairs);
  // One run per end (LanczosEnds::Separately, the default); Spectra counts each run's first
  // factorisation and its one restart.
  ASSERT_EQ(x.ends, LanczosEnds::Separately);
  EXPECT_LE(x.iterations, 4);
}

// The generic path (any SquaredLossModel, the whole tangent space ker J) against the generic dense
// spectrum, for the diagonal linear network (P = 2 d = 600, tangent dimension 580).
TEST(LanczosExtremes, GenericModelMatchesItsDenseSpectrum) {
  const int n = 20, d = 300;
  const Eigen::MatrixXd X = test::random_matrix(n, d, 5);
  const Eigen::VectorXd theta = Eigen::Map<const Eigen::VectorXd>(test::random_matrix(2 * d, 1, 6).data(), 2 * d);
  const Eigen::VectorXd w = theta.head(d).cwiseAbs2() - theta.tail(d).cwiseAbs2();
  const RiemannianSharpness s(std::make_shared<DiagonalLinearNetwork>(X, X * w), theta);
  const Eigen::VectorXd dense = s.riemannian_hessian_eigenvalues();
  LanczosOptions o;
  o.eigenvalues = 2;
  const HessianExtremes x = riemannian_hessian_extremes(s, o);
  ASSERT_TRUE(x.converged);
  const Eigen::Index k = dense.size();
  ASSERT_EQ(x.tangent_dimension, k);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(relatively_equal(x.smallest(i), dense(i), 1e-8)) << i;
    EXPECT_TRUE(relatively_equal(x.largest(i), dense(k - 1 - i), 1e-8)) << i;
    EXPECT_LT(x.smallest_residuals(i), 1e-8 * dense.cwiseAbs().maxCoeff());
  }
}

// One product of the generic Lanczos operator is P H P x with H the unprojected Lagrangian Hessian:
// on the dense route's tangent basis B it gives B^T Hess_M T B (RiemannianSharpness's matrix, built
// from riemannian_hessian_apply) to 1e-14, on any x it equals riemannian_hessian_apply(P x) to 1e-14
// and is tangent (a dropped final projection would leave a normal part of the size of the product).
TEST(TangentOperator, GenericProductIsOneProjectionAroundTheLagrangianHessian) {
  const int n = 5, d = 20;
  const Eigen::MatrixXd X = test::random_matrix(n, d, 15);
  const Eigen::VectorXd theta = Eigen::Map<const Eigen::VectorXd>(test::random_matrix(2 * d, 1, 16).data(), 2 * d);
  const Eigen::VectorXd w = theta.head(d).cwiseAbs2() - theta.tail(d).cwiseAbs2();
  const RiemannianSharpness s(std::make_shared<DiagonalLinearNetwork>(X, X * w), theta);
  const TangentHessian dense = s.riemannian_hessian_matrix();
  const Eigen::Index k = dense.basis.cols();
  ASSERT_EQ(k, 2 * d - n);
  Eigen::MatrixXd HB(2 * d, k);
  for (Eigen::Index c = 0; c < k; ++c) HB.col(c) = tangent_operator_apply(s, dense.basis.col(c));
  Eigen::MatrixXd A = dense.basis.transpose() * HB;
  A = 0.5 * (A + A.transpose()).eval();
  const double scale = dense.matrix.cwiseAbs().maxCoeff();
  EXPECT_LE((A - dense.matrix).cwiseAbs().maxCoeff(), 1e-14 * scale);
  const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(test::random_matrix(2 * d, 1, 17).data(), 2 * d);
  const Eigen::VectorXd y = tangent_operator_apply(s, x);
  const Eigen::VectorXd reference = s.riemannian_hessian_apply(s.point().tangent_projection(x));
  EXPECT_LE((y - reference).norm(), 1e-14 * reference.norm());
  EXPECT_LE(s.point().normal_projection(y).norm(), 1e-14 * y.norm());
  EXPECT_THROW(tangent_operator_apply(s, Eigen::VectorXd::Zero(3)), InputError);
}

using zeroloss::test::ThreadSetting;

bool same_bits(const Eigen::MatrixXd& X, const Eigen::MatrixXd& Y) {
  if (X.rows() != Y.rows() || X.cols() != Y.cols()) return false;
  for (Eigen::Index i = 0; i < X.size(); ++i)
    if (std::memcmp(X.data() + i, Y.data() + i, sizeof(double)) != 0) return false;
  return true;
}

// Every number of a Lanczos result, compared bit for bit (NaN certificates included).
testing::AssertionResult same_extremes(const HessianExtremes& a, const HessianExtremes& b) {
  if (a.iterations != b.iterations || a.matrix_vector_products != b.matrix_vector_products ||
      a.converged != b.converged || a.converged_pairs != b.converged_pairs)
    return testing::AssertionFailure() << "restarts " << a.iterations << " vs " << b.iterations << ", products "
                                       << a.matrix_vector_products << " vs " << b.matrix_vector_products;
  if (!same_bits(a.smallest, b.smallest) || !same_bits(a.largest, b.largest) ||
      !same_bits(a.smallest_residuals, b.smallest_residuals) || !same_bits(a.largest_residuals, b.largest_residuals) ||
      !same_bits(a.smallest_vectors, b.smallest_vectors) || !same_bits(a.largest_vectors, b.largest_vectors) ||
      std::memcmp(&a.shift, &b.shift, sizeof(double)) != 0)
    return testing::AssertionFailure() << "different bits: lambda_min " << a.lambda_min() << " vs " << b.lambda_min();
  return testing::AssertionSuccess();
}

// The two-layer operator (reduced coordinates, ordered products) against SharpnessGeometry's dense
// matrix and its riemannian_hessian_apply (Eigen's products, a different order): 1e-13. Also with
// the products forced onto 2 threads (threshold 0; m = 9 columns: ranges of 6 and 3).
class TwoLayerOperator : public testing::TestWithParam<int> {};

TEST_P(TwoLayerOperator, ProductMatchesTheDenseMatrix) {
  const ThreadSetting setting(GetParam(), GetParam() > 1 ? 0 : -1);
  const ReducedProblem P = reduced_problem(Config{6, 10, 9, "softplus", true}, 21);
  const SharpnessGeometry g(P.reduced, P.beta);
  const RiemannianHessianMatrix dense = g.riemannian_hessian_matrix(false);
  const int m = P.reduced.m(), p = P.reduced.d();
  const Eigen::Index k = dense.basis.cols();
  ASSERT_EQ(k, static_cast<Eigen::Index>(m) * p - 6);
  Eigen::MatrixXd HB(dense.basis.rows(), k);
  for (Eigen::Index c = 0; c < k; ++c) HB.col(c) = tangent_operator_apply(g, dense.basis.col(c));
  Eigen::MatrixXd A = dense.basis.transpose() * HB;
  A = 0.5 * (A + A.transpose()).eval();
  EXPECT_LE((A - dense.matrix).cwiseAbs().maxCoeff(), 1e-13 * dense.matrix.cwiseAbs().maxCoeff());
  const Eigen::VectorXd v = dense.basis.col(3);
  const Eigen::VectorXd reference = vectorize(g.riemannian_hessian_apply(unvectorize(v, m, p)));
  EXPECT_LE((tangent_operator_apply(g, v) - reference).norm(), 1e-13 * reference.norm());
}

INSTANTIATE_TEST_SUITE_P(Threads, TwoLayerOperator, testing::Values(1, 2));

// Lanczos with products and basis forced onto 2 threads (threshold 0) on a small problem: the dense
// extremes to 1e-8 relative, and the same bits as on 1 thread.
TEST(LanczosExtremes, TwoThreadsForcedMatchDenseAndOneThreadBitForBit) {
  const ReducedProblem P = reduced_problem(Config{20, 30, 50, "cubic", true}, 4292);
  const SharpnessGeometry g(P.reduced, P.beta);
  const Eigen::VectorXd dense = g.riemannian_hessian_matrix().eigenvalues;
  LanczosOptions o;
  o.eigenvalues = 2;
  HessianExtremes one, two;
  {
    const ThreadSetting setting(1, 0);
    one = riemannian_hessian_extremes(g, o);
  }
  {
    const ThreadSetting setting(2, 0);
    two = riemannian_hessian_extremes(g, o);
  }
  EXPECT_EQ(one.threads, 1);
  EXPECT_EQ(two.threads, 2);
  ASSERT_TRUE(two.converged);
  const Eigen::Index k = dense.size();
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(relatively_equal(two.smallest(i), dense(i), 1e-8)) << i;
    EXPECT_TRUE(relatively_equal(two.largest(i), dense(k - 1 - i), 1e-8)) << i;
  }
  EXPECT_TRUE(same_extremes(one, two));
}

// Above the default thresholds (n = p = 20, m = 5000: products of 2e6 multiply-adds, a basis of
// 1e5 x 24), 1, 2 and 3 threads give the same bits. Capped at 3 restarts: bit identity does not
// need convergence, and the capped run still takes about 100 products of every kind.
TEST(LanczosExtremes, AboveTheThresholdsTheThreadCountDoesNotChangeTheBits) {
  const ReducedProblem P = reduced_problem(Config{20, 30, 5000, "cubic", true}, 77);
  const SharpnessGeometry g(P.reduced, P.beta);
  ASSERT_GE(20.0 * 20.0 * 5000.0, kThreadedProductMinWork);
  LanczosOptions o;
  o.max_iterations = 3;
  HessianExtremes reference;
  for (int threads : {1, 2, 3}) {
    const ThreadSetting setting(threads, -1);
    const HessianExtremes x = riemannian_hessian_extremes(g, o);
    EXPECT_EQ(x.threads, threads);
    EXPECT_GT(x.matrix_vector_products, 60);
    if (threads == 1)
      reference = x;
    else
      EXPECT_TRUE(same_extremes(x, reference)) << threads << " threads";
  }
}

// The dense path: the same bits as Eigen's SelfAdjointEigenSolver, and residual certificates of the
// extreme pairs from inverse iteration on the tridiagonal form.
TEST(DenseExtremes, SameEigenvaluesAsEigenWithSmallResiduals) {
  const ReducedProblem P = reduced_problem(Config{6, 10, 30, "tanh", true}, 7);
  const RiemannianHessianMatrix h = SharpnessGeometry(P.reduced, P.beta).riemannian_hessian_matrix();
  Eigen::VectorXd all;
  const HessianExtremes x = dense_extremes(h.matrix, 3, &all);
  ASSERT_EQ(all.size(), h.eigenvalues.size());
  EXPECT_EQ(all, h.eigenvalues);  // bit for bit
  const Eigen::Index k = all.size();
  const double radius = all.cwiseAbs().maxCoeff();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(x.smallest(i), all(i));
    EXPECT_EQ(x.largest(i), all(k - 1 - i));
    EXPECT_LT(x.smallest_residuals(i), 1e-12 * radius) << i;
    EXPECT_LT(x.largest_residuals(i), 1e-12 * radius) << i;
  }
}

// Below 2 K < ncv <= k Lanczos cannot run; the k x k matrix is formed from k products instead and
// the result is labelled dense.
TEST(LanczosExtremes, TinyTangentSpaceFallsBackToTheMatrixFromProducts) {
  const ReducedProblem P = reduced_problem(Config{3, 5, 4, "cubic", true}, 3);
  const SharpnessGeometry g(P.reduced, P.beta);
  const Eigen::VectorXd dense = g.riemannian_hessian_matrix().eigenvalues;  // k = 9
  LanczosOptions o;
  o.eigenvalues = 5;  // 2 K = 10 > k
  const HessianExtremes x = riemannian_hessian_extremes(g, o);
  EXPECT_EQ(x.method, SpectrumMethod::Dense);
  EXPECT_NEAR(x.lambda_min(), dense(0), 1e-12 * dense.cwiseAbs().maxCoeff());
  EXPECT_NEAR(x.lambda_max(), dense(dense.size() - 1), 1e-12 * dense.cwiseAbs().maxCoeff());
  EXPECT_EQ(x.smallest.size(), 5);
  EXPECT_EQ(x.matrix_vector_products, 9);
}

TEST(LanczosOptions, InvalidValuesNameTheField) {
  LanczosOptions o;
  EXPECT_TRUE(o.is_valid());
  o.eigenvalues = 0;
  EXPECT_NE(o.invalid_reason().find("eigenvalues"), std::string::npos);
  o = {};
  o.tolerance = 0;
  EXPECT_NE(o.invalid_reason().find("tolerance"), std::string::npos);
  o = {};
  o.max_iterations = 0;
  EXPECT_NE(o.invalid_reason().find("max_iterations"), std::string::npos);
  o = {};
  o.krylov_dimension = 2;
  EXPECT_NE(o.invalid_reason().find("krylov_dimension"), std::string::npos);
  EXPECT_EQ(parse_spectrum_method("lanczos"), SpectrumMethod::Lanczos);
  EXPECT_THROW(parse_spectrum_method("eigs"), InputError);
  EXPECT_EQ(resolve_spectrum_method(SpectrumMethod::Auto, kDenseSpectrumMaxDimension), SpectrumMethod::Dense);
  EXPECT_EQ(resolve_spectrum_method(SpectrumMethod::Auto, kDenseSpectrumMaxDimension + 1), SpectrumMethod::Lanczos);
}

class InspectSpectrumCli : public test::FolderTest {
 protected:
  InspectSpectrumCli() : test::FolderTest("spectrum-") {}
};

// The command: --spectrum dense and lanczos give the same extremes (tangent dimension 490, tanh,
// mixed a, projected onto M); only dense lists every eigenvalue; both give certificates.
TEST_F(InspectSpectrumCli, DenseAndLanczosAgreeAndOnlyDenseListsTheSpectrum) {
  ASSERT_EQ(test::run_zeroloss("data --n 10 --d 30 --generator gaussian --seed 3 --a-mixed --out " + path("D.csv") +
                               " --weights-out " + path("W.csv") + " --m 50")
                .code,
            0);
  ASSERT_EQ(test::run_zeroloss("project --activation tanh --method newton --data " + path("D.csv") + " --weights " +
                               path("W.csv") + " --out " + path("P.csv"))
                .code,
            0);
  const std::string args = "inspect --json --activation tanh --eigenvalues 2 --data " + path("D.csv") + " --weights " + path("P.csv");
  const test::RunResult dense = test::run_zeroloss(args + " --spectrum dense");
  const test::RunResult lanczos = test::run_zeroloss(args + " --spectrum lanczos");
  ASSERT_EQ(dense.code, 0) << dense.err;
  ASSERT_EQ(lanczos.code, 0) << lanczos.err;
  const nlohmann::json d = nlohmann::json::parse(dense.out), l = nlohmann::json::parse(lanczos.out);
  EXPECT_EQ(d["hessian_spectrum_method"], "dense");
  EXPECT_EQ(l["hessian_spectrum_method"], "lanczos");
  EXPECT_EQ(d["hessian_eigenvalues"].size(), 490u);
  EXPECT_TRUE(l["hessian_eigenvalues"].is_null());
  EXPECT_TRUE(l["hessian_extremes"]["converged"].get<bool>());
  const double scale = std::abs(d["hessian_lambda_max"].get<double>());
  for (const char* key : {"hessian_lambda_min", "hessian_lambda_max"})
    EXPECT_TRUE(relatively_equal(l[key].get<double>(), d[key].get<double>(), 1e-8)) << key;
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(relatively_equal(l["hessian_extremes"]["smallest"][i].get<double>(),
                                 d["hessian_extremes"]["smallest"][i].get<double>(), 1e-8));
    EXPECT_LT(l["hessian_extremes"]["smallest_residuals"][i].get<double>(), 1e-8 * scale);
    EXPECT_LT(d["hessian_extremes"]["smallest_residuals"][i].get<double>(), 1e-12 * scale);
  }
  EXPECT_EQ(d["hessian_lambda_min"].get<double>(), d["hessian_eigenvalues"][0].get<double>());
  // auto is dense at this size: the same object as --spectrum dense.
  EXPECT_EQ(nlohmann::json::parse(test::run_zeroloss(args).out), d);
  const test::RunResult bad = test::run_zeroloss(args + " --spectrum eigs");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--spectrum"), std::string::npos) << bad.err;
}

}  // namespace
