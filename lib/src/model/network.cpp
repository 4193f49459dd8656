#include "zeroloss/model/network.hpp"

#include <cmath>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "support/require_finite.hpp"

namespace zeroloss {
namespace {

using detail::require_finite;

}  // namespace

TwoLayerModel::TwoLayerModel(Eigen::MatrixXd X, Eigen::VectorXd y, Eigen::VectorXd a, Activation phi) {
  if (X.rows() == 0 || X.cols() == 0) throw InputError("data X: expected at least one sample and one feature");
  if (y.size() != X.rows()) {
    std::ostringstream s;
    s << "labels y: " << y.size() << " labels for " << X.rows() << " samples; expected one label per row of X";
    throw InputError(s.str());
  }
  if (a.size() == 0) throw InputError("second layer a: expected at least one neuron");
  require_finite(X, "data X");
  require_finite(y, "labels y");
  require_finite(a, "second layer a");
  for (Eigen::Index j = 0; j < a.size(); ++j)
    if (a(j) == 0.0) {
      std::ostringstream s;
      s << "second layer a: a_" << j + 1 << " = 0 (neuron " << j + 1
        << "); every second-layer weight must be nonzero (a zero weight removes the neuron from the "
           "network and makes J J^T and T degenerate)";
      throw InputError(s.str());
    }
  Eigen::MatrixXd gram = X * X.transpose();
  Eigen::VectorXd row_norms2 = X.rowwise().squaredNorm();
  data_ = std::make_shared<const Data>(
      Data{std::move(X), std::move(y), std::move(a), std::move(phi), std::move(gram), std::move(row_norms2)});
}

void TwoLayerModel::check_weights(const Eigen::Ref<const Eigen::MatrixXd>& theta, const std::string& what) const {
  if (theta.rows() != m() || theta.cols() != d()) {
    std::ostringstream s;
    s << what << ": " << theta.rows() << " x " << theta.cols() << " weights; expected " << m() << " x " << d()
      << " (one row per neuron, one column per feature of the data)";
    throw InputError(s.str());
  }
  require_finite(theta, what);
}

TwoLayerModel TwoLayerModel::with_labels(Eigen::VectorXd y) const { return TwoLayerModel(X(), std::move(y), a(), activation()); }
TwoLayerModel TwoLayerModel::with_data(Eigen::MatrixXd X) const { return TwoLayerModel(std::move(X), y(), a(), activation()); }

NetworkEvaluation evaluate(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta) {
  return evaluate(model, theta, 3);
}

NetworkEvaluation evaluate(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta, int max_order) {
  model.check_weights(theta);
  NetworkEvaluation e;
  const int n = model.n();
  e.R.noalias() = model.X() * theta.transpose();
  model.activation().derivatives_of(e.R, &e.phi, max_order >= 1 ? &e.dphi : nullptr,
                                    max_order >= 2 ? &e.d2phi : nullptr, max_order >= 3 ? &e.d3phi : nullptr);
  e.outputs.noalias() = e.phi * model.a();
  e.residuals = e.outputs - model.y();
  e.loss = e.residuals.squaredNorm() / (2.0 * n);
  return e;
}

Eigen::VectorXd network_outputs(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta) {
  model.check_weights(theta);
  Eigen::MatrixXd R = model.X() * theta.transpose();
  const Activation& act = model.activation();
  for (Eigen::Index j = 0; j < R.cols(); ++j)
    for (Eigen::Index i = 0; i < R.rows(); ++i) R(i, j) = act.value(R(i, j));
  return R * model.a();
}

Eigen::VectorXd vectorize(const Eigen::Ref<const Eigen::MatrixXd>& theta) {
  const Eigen::Index m = theta.rows(), d = theta.cols();
  Eigen::VectorXd v(m * d);
  for (Eigen::Index j = 0; j < m; ++j) v.segment(j * d, d) = theta.row(j).transpose();
  return v;
}

Eigen::MatrixXd unvectorize(const Eigen::Ref<const Eigen::VectorXd>& v, int m, int d) {
  if (v.size() != static_cast<Eigen::Index>(m) * d) throw InputError("unvectorize: vector length is not m*d");
  Eigen::MatrixXd theta(m, d);
  for (int j = 0; j < m; ++j) theta.row(j) = v.segment(static_cast<Eigen::Index>(j) * d, d).transpose();
  return theta;
}

}  // namespace zeroloss
