// sgd_stability_limit: 2 / max_i ||grad f_i||^2, checked against the rows of the dense reference
// Jacobian (an independent route to grad f_i), for every activation and mixed-sign a.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_support.hpp"
#include "zeroloss/sharpness/reference.hpp"
#include "zeroloss/dynamics/sgd_stability.hpp"

namespace {

using namespace zeroloss;

TEST(SgdStability, LimitIsTwoOverTheLargestSquaredSampleGradient) {
  for (const char* activation : {"cubic", "sinh", "tanh", "softplus"}) {
    for (bool mixed : {false, true}) {
      const test::RandomProblem P = test::random_problem(4, 6, 3, activation, mixed, 11);
      const Eigen::MatrixXd J = reference::jacobian(P.model, P.theta);
      const double expected = 2.0 / J.rowwise().squaredNorm().maxCoeff();
      EXPECT_NEAR(sgd_stability_limit(P.model, P.theta), expected, 1e-12 * expected) << activation << " " << mixed;
    }
  }
}

TEST(SgdStability, VanishingGradientsGiveNoLimit) {
  const test::RandomProblem P = test::random_problem(3, 4, 2, "cubic", false, 5);
  const Eigen::MatrixXd zero_features = Eigen::MatrixXd::Zero(3, 4);
  const TwoLayerModel flat(zero_features, P.model.y(), P.model.a(), P.model.activation());
  EXPECT_EQ(sgd_stability_limit(flat, P.theta), std::numeric_limits<double>::infinity());
}

}  // namespace
