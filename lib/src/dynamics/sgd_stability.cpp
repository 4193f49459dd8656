#include "zeroloss/dynamics/sgd_stability.hpp"

#include <cmath>
#include <limits>

namespace zeroloss {

double sgd_stability_limit(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta) {
  const NetworkEvaluation e = evaluate(model, theta, 1);
  const Eigen::VectorXd a2 = model.a().array().square();
  const Eigen::VectorXd g2 = model.row_norms_squared().cwiseProduct(e.dphi.array().square().matrix() * a2);
  const double largest = g2.maxCoeff();
  return largest > 0 && std::isfinite(largest) ? 2.0 / largest : std::numeric_limits<double>::infinity();
}

}  // namespace zeroloss
