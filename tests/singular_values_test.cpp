// Singular values by route (numerics/singular_values.hpp), against JacobiSVD (one-sided Jacobi, accurate to
// a few eps * sigma_1 and often better) and the old route (BDCSVD of the whole matrix).

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/singular_values.hpp"

using namespace zeroloss;

namespace {

// A rows x cols matrix with the given singular values (random orthonormal factors).
Eigen::MatrixXd with_singular_values(int rows, int cols, const Eigen::VectorXd& sigma, unsigned seed) {
  const int k = static_cast<int>(sigma.size());
  const Eigen::MatrixXd U = Eigen::HouseholderQR<Eigen::MatrixXd>(test::random_matrix(rows, k, seed)).householderQ() *
                            Eigen::MatrixXd::Identity(rows, k);
  const Eigen::MatrixXd V = Eigen::HouseholderQR<Eigen::MatrixXd>(test::random_matrix(cols, k, seed + 1)).householderQ() *
                            Eigen::MatrixXd::Identity(cols, k);
  return U * sigma.asDiagonal() * V.transpose();
}

Eigen::VectorXd jacobi(const Eigen::MatrixXd& A) { return Eigen::JacobiSVD<Eigen::MatrixXd>(A).singularValues(); }

TEST(SingularValues, GramRouteMatchesJacobiToRelative1e12WhenWellConditioned) {
  // sigma from 1 down to 0.06 (just above the route's limit 0.05), and a spread-out variant with a
  // cluster at the bottom; wide and tall orientations.
  for (int variant = 0; variant < 2; ++variant) {
    Eigen::VectorXd sigma(40);
    for (int k = 0; k < 40; ++k)
      sigma(k) = variant == 0 ? std::pow(0.06, k / 39.0) : (k < 2 ? 1.0 - 0.1 * k : 0.06 * (1.0 + 1e-3 * (40 - k)));
    for (bool wide : {true, false}) {
      const Eigen::MatrixXd A = wide ? with_singular_values(40, 300, sigma, 7 + variant)
                                     : with_singular_values(300, 40, sigma, 7 + variant);
      SingularValueRoute route;
      const Eigen::VectorXd s = singular_values(A, &route);
      EXPECT_EQ(route, SingularValueRoute::Gram) << "variant " << variant << " wide " << wide;
      const Eigen::VectorXd ref = jacobi(A);
      ASSERT_EQ(s.size(), 40);
      EXPECT_LT(((s - ref).array() / ref.array()).abs().maxCoeff(), 1e-12) << "variant " << variant << " wide " << wide;
      // The old route agrees as well (the documented tolerance of the change).
      const Eigen::VectorXd old = Eigen::BDCSVD<Eigen::MatrixXd>(A).singularValues();
      EXPECT_LT(((s - old).array() / old.array()).abs().maxCoeff(), 1e-12);
    }
  }
}

TEST(SingularValues, NearlyRankOneTakesTheTriangularRouteAndKeepsSigma2OverSigma1) {
  // sigma_2 / sigma_1 = 2e-9 (Figure 1's final ratio), the rest below: the Gram route would lose
  // sigma_2 entirely (its eigenvalue 4e-18 sigma_1^2 is under the rounding of sigma_1^2).
  Eigen::VectorXd sigma(30);
  sigma(0) = 5.0;
  for (int k = 1; k < 30; ++k) sigma(k) = 5.0 * 2e-9 * std::pow(0.5, k - 1);
  const Eigen::MatrixXd A = with_singular_values(30, 400, sigma, 21);
  SingularValueRoute route;
  const Eigen::VectorXd s = singular_values(A, &route);
  EXPECT_EQ(route, SingularValueRoute::TriangularFactor);
  const Eigen::VectorXd ref = jacobi(A);
  const Eigen::VectorXd old = Eigen::BDCSVD<Eigen::MatrixXd>(A).singularValues();
  // Backward stable: every value within a few eps * sigma_1 of JacobiSVD, as the old route.
  EXPECT_LT((s - ref).cwiseAbs().maxCoeff(), 1e-14 * ref(0));
  EXPECT_LT((old - ref).cwiseAbs().maxCoeff(), 1e-14 * ref(0));
  // The ratio that Figure 1 tracks keeps at least 5 digits (it is known to ~eps / 2e-9 ~ 1e-7).
  EXPECT_NEAR(s(1) / s(0), ref(1) / ref(0), 1e-5 * ref(1) / ref(0));
  EXPECT_NEAR(s(1) / s(0), 2e-9, 1e-5 * 2e-9);
  // Why the Gram route is not taken here: its sigma_2 is wrong by far more than 1e-5.
  Eigen::MatrixXd G = A * A.transpose();
  const Eigen::VectorXd lambda = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(G, Eigen::EigenvaluesOnly).eigenvalues();
  const double gram_sigma2 = std::sqrt(std::max(lambda(28), 0.0));
  EXPECT_GT(std::abs(gram_sigma2 - ref(1)), 1e-3 * ref(1));
}

TEST(SingularValues, ModeratelySmallValuesAreAccurateOnTheTriangularRoute) {
  // Just below the Gram limit (sigma_min / sigma_1 = 0.04): the triangular route, relative 1e-12.
  Eigen::VectorXd sigma(20);
  for (int k = 0; k < 20; ++k) sigma(k) = std::pow(0.04, k / 19.0);
  const Eigen::MatrixXd A = with_singular_values(200, 20, sigma, 5);
  SingularValueRoute route;
  const Eigen::VectorXd s = singular_values(A, &route);
  EXPECT_EQ(route, SingularValueRoute::TriangularFactor);
  const Eigen::VectorXd ref = jacobi(A);
  EXPECT_LT(((s - ref).array() / ref.array()).abs().maxCoeff(), 1e-12);
}

TEST(SingularValues, ExactlyRankDeficientGivesValuesAtRoundingLevel) {
  // Rank 3 of 20 (e.g. R = Z beta^T with fewer independent neurons than samples).
  const Eigen::MatrixXd A = test::random_matrix(20, 3, 1) * test::random_matrix(3, 100, 2);
  SingularValueRoute route;
  const Eigen::VectorXd s = singular_values(A, &route);
  EXPECT_EQ(route, SingularValueRoute::TriangularFactor);
  const Eigen::VectorXd ref = jacobi(A);
  EXPECT_LT((s.head(3) - ref.head(3)).cwiseAbs().maxCoeff(), 1e-13 * ref(0));
  EXPECT_LT(s.tail(17).maxCoeff(), 1e-13 * s(0));
}

TEST(SingularValues, SmallAndSquareMatricesKeepTheBdcsvdBits) {
  for (auto dims : {std::pair<int, int>{3, 10}, {10, 3}, {15, 400}, {30, 50}}) {
    const Eigen::MatrixXd A = test::random_matrix(dims.first, dims.second, 3);
    SingularValueRoute route;
    const Eigen::VectorXd s = singular_values(A, &route);
    EXPECT_EQ(route, SingularValueRoute::Direct);
    const Eigen::VectorXd old = Eigen::BDCSVD<Eigen::MatrixXd>(A).singularValues();
    EXPECT_EQ(s, old);
  }
}

TEST(SingularValues, ZeroMatrixAndNonFiniteEntries) {
  const Eigen::VectorXd z = singular_values(Eigen::MatrixXd::Zero(20, 50));
  ASSERT_EQ(z.size(), 20);
  EXPECT_EQ(z.cwiseAbs().maxCoeff(), 0.0);
  Eigen::MatrixXd A = test::random_matrix(20, 50, 4);
  A(3, 7) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(singular_values(A), InputError);
}

}  // namespace
