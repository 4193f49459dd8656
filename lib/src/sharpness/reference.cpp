#include "zeroloss/sharpness/reference.hpp"

namespace zeroloss::reference {
namespace {

Eigen::MatrixXd preactivations(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  return model.X() * theta.transpose();
}

}  // namespace

Eigen::MatrixXd jacobian(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  const int n = model.n(), m = model.m(), d = model.d();
  const Eigen::MatrixXd R = preactivations(model, theta);
  Eigen::MatrixXd J = Eigen::MatrixXd::Zero(n, m * d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < m; ++j)
      for (int k = 0; k < d; ++k)
        J(i, j * d + k) = model.a()(j) * model.activation().derivatives(R(i, j)).d1 * model.X()(i, k);
  return J;
}

Eigen::MatrixXd constraint_hessian(const TwoLayerModel& model, const Eigen::MatrixXd& theta, int i) {
  const int m = model.m(), d = model.d();
  const Eigen::MatrixXd R = preactivations(model, theta);
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(m * d, m * d);
  for (int j = 0; j < m; ++j) {
    const double s = model.a()(j) * model.activation().derivatives(R(i, j)).d2;
    for (int k = 0; k < d; ++k)
      for (int l = 0; l < d; ++l) H(j * d + k, j * d + l) = s * model.X()(i, k) * model.X()(i, l);
  }
  return H;
}

Eigen::MatrixXd tangent_projector(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  const Eigen::MatrixXd J = jacobian(model, theta);
  const Eigen::MatrixXd JJt = J * J.transpose();
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(J.cols(), J.cols());
  return I - J.transpose() * JJt.fullPivLu().solve(J);
}

double sharpness(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  return jacobian(model, theta).squaredNorm() / model.n();
}

Eigen::VectorXd sharpness_gradient(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  const Eigen::MatrixXd J = jacobian(model, theta);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(J.cols());
  for (int i = 0; i < model.n(); ++i) g += constraint_hessian(model, theta, i) * J.row(i).transpose();
  return (2.0 / model.n()) * g;
}

Eigen::MatrixXd sharpness_hessian(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  // T = (1/n) sum_i sum_{j,k} (a_j phi'(r_ij) x_ik)^2. Differentiating twice in theta_j:
  // d^2/dtheta_j^2 of (a_j phi'(r_ij))^2 ||x_i||^2 = 2 a_j^2 ||x_i||^2 (phi''^2 + phi' phi''') x_i x_i^T.
  // Assembled here per sample and neuron as a sum of explicit outer products.
  const int n = model.n(), m = model.m(), d = model.d();
  const Eigen::MatrixXd R = preactivations(model, theta);
  Eigen::MatrixXd H = Eigen::MatrixXd::Zero(m * d, m * d);
  for (int i = 0; i < n; ++i) {
    const Eigen::VectorXd x = model.X().row(i).transpose();
    for (int j = 0; j < m; ++j) {
      const ActivationDerivatives dv = model.activation().derivatives(R(i, j));
      const double a2 = model.a()(j) * model.a()(j);
      // (phi'(r))^2 has second derivative 2 (phi''^2 + phi' phi''') in r.
      const double second = 2.0 * (dv.d2 * dv.d2 + dv.d1 * dv.d3);
      H.block(j * d, j * d, d, d) += (a2 * x.squaredNorm() * second / n) * (x * x.transpose());
    }
  }
  return H;
}

Eigen::VectorXd riemannian_gradient(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  return tangent_projector(model, theta) * sharpness_gradient(model, theta);
}

Eigen::MatrixXd riemannian_hessian(const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  const Eigen::MatrixXd J = jacobian(model, theta);
  const Eigen::MatrixXd JJt = J * J.transpose();
  const Eigen::VectorXd g = sharpness_gradient(model, theta);
  const Eigen::VectorXd lambda = JJt.fullPivLu().solve(J * g);
  Eigen::MatrixXd H = sharpness_hessian(model, theta);
  for (int i = 0; i < model.n(); ++i) H -= lambda(i) * constraint_hessian(model, theta, i);
  const Eigen::MatrixXd P = tangent_projector(model, theta);
  return P * H * P;
}

}  // namespace zeroloss::reference
