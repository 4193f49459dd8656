#include "zeroloss/model/reduced_coordinates.hpp"

#include <algorithm>
#include <limits>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

const char* to_string(PointCoordinates coordinates) {
  return coordinates == PointCoordinates::Reduced ? "reduced" : "full";
}

ReducedCoordinates::ReducedCoordinates(const Eigen::Ref<const Eigen::MatrixXd>& X, double rank_tolerance) {
  if (X.rows() == 0 || X.cols() == 0) throw InputError("reduced coordinates: empty data matrix");
  Eigen::BDCSVD<Eigen::MatrixXd> svd(X, Eigen::ComputeThinV);
  sigma_ = svd.singularValues();
  const double tol = rank_tolerance >= 0
                         ? rank_tolerance
                         : static_cast<double>(std::max(X.rows(), X.cols())) * std::numeric_limits<double>::epsilon();
  const double smax = sigma_.size() ? sigma_(0) : 0.0;
  Eigen::Index p = 0;
  while (p < sigma_.size() && sigma_(p) > tol * smax) ++p;
  if (p == 0) throw InputError("reduced coordinates: the data matrix X is zero");
  U_ = svd.matrixV().leftCols(p);
}

double ReducedCoordinates::condition() const {
  const double lo = sigma_(sigma_.size() - 1);
  if (!(lo > 0)) return std::numeric_limits<double>::infinity();
  return sigma_(0) / lo;
}

Eigen::MatrixXd ReducedCoordinates::reduce(const Eigen::Ref<const Eigen::MatrixXd>& theta) const {
  if (theta.cols() != U_.rows()) throw InputError("reduced coordinates: weights have the wrong number of columns");
  return theta * U_;
}

Eigen::MatrixXd ReducedCoordinates::lift(const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                         const Eigen::Ref<const Eigen::MatrixXd>& theta_reference) const {
  Eigen::MatrixXd theta = theta_reference - (theta_reference * U_) * U_.transpose();
  theta.noalias() += beta * U_.transpose();
  return theta;
}

Eigen::MatrixXd ReducedCoordinates::lift_tangent(const Eigen::Ref<const Eigen::MatrixXd>& beta) const {
  return beta * U_.transpose();
}

TwoLayerModel ReducedCoordinates::reduce(const TwoLayerModel& model) const { return model.with_data(model.X() * U_); }

}  // namespace zeroloss
