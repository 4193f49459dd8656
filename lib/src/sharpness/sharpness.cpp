#include "zeroloss/sharpness/sharpness.hpp"

#include <optional>

#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"

namespace zeroloss {

SharpnessGeometry::SharpnessGeometry(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                     double max_condition)
    : model_(model), theta_(theta), eval_(evaluate(model, theta)), jac_(model, eval_, max_condition) {}

double SharpnessGeometry::sharpness() const {
  const Eigen::VectorXd a2 = model_.a().array().square();
  return model_.row_norms_squared().dot(eval_.dphi.array().square().matrix() * a2) / model_.n();
}

double SharpnessGeometry::hessian_trace() const {
  // tr Hess f_i = ||x_i||^2 sum_j a_j phi''(r_ij).
  const Eigen::VectorXd tr_hess_f = model_.row_norms_squared().cwiseProduct(eval_.d2phi * model_.a());
  return sharpness() + eval_.residuals.dot(tr_hess_f) / model_.n();
}

namespace {

// grad T: block j = X^T c_j, c_ij = (2/n) ||x_i||^2 a_j^2 phi'(r_ij) phi''(r_ij).
Eigen::MatrixXd euclidean_gradient_of(const TwoLayerModel& model, const Eigen::MatrixXd& dphi,
                                      const Eigen::MatrixXd& d2phi) {
  const double n = model.n();
  const Eigen::VectorXd a2 = model.a().array().square();
  const Eigen::MatrixXd c =
      (2.0 / n) * model.row_norms_squared().asDiagonal() * dphi.cwiseProduct(d2phi) * a2.asDiagonal();
  return c.transpose() * model.X();
}

}  // namespace

Eigen::MatrixXd SharpnessGeometry::euclidean_gradient() const {
  return euclidean_gradient_of(model_, eval_.dphi, eval_.d2phi);
}

double riemannian_gradient_norm(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                double max_condition) {
  // The operations of SharpnessGeometry::riemannian_gradient(), with each n x m matrix released as
  // soon as it is used (no copy of theta, no third derivative, no pre-activations kept).
  std::optional<ConstraintJacobian> J;
  Eigen::MatrixXd gradient;
  {
    NetworkEvaluation e = evaluate(model, theta, 2);
    e.R.resize(0, 0);
    e.phi.resize(0, 0);
    gradient = euclidean_gradient_of(model, e.dphi, e.d2phi);
    e.d2phi.resize(0, 0);
    J.emplace(model, e, max_condition);
  }
  const Eigen::VectorXd lambda = J->normal_coefficients(gradient);
  return (gradient - J->apply_transpose(lambda)).norm();
}

Eigen::MatrixXd SharpnessGeometry::hessian_weights() const {
  const double n = model_.n();
  const Eigen::VectorXd a2 = model_.a().array().square();
  const Eigen::MatrixXd e = eval_.d2phi.cwiseProduct(eval_.d2phi) + eval_.dphi.cwiseProduct(eval_.d3phi);
  return (2.0 / n) * model_.row_norms_squared().asDiagonal() * e * a2.asDiagonal();
}

Eigen::MatrixXd SharpnessGeometry::weighted_block_apply(const Eigen::MatrixXd& W,
                                                        const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  const Eigen::MatrixXd S = model_.X() * v.transpose();  // S_ij = x_i . v_j
  return W.cwiseProduct(S).transpose() * model_.X();
}

Eigen::MatrixXd SharpnessGeometry::euclidean_hessian_apply(const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  return weighted_block_apply(hessian_weights(), v);
}

const Eigen::VectorXd& SharpnessGeometry::multipliers() const {
  if (!have_lambda_) {
    lambda_ = jac_.normal_coefficients(euclidean_gradient());
    have_lambda_ = true;
  }
  return lambda_;
}

Eigen::MatrixXd SharpnessGeometry::riemannian_gradient() const {
  return euclidean_gradient() - jac_.apply_transpose(multipliers());
}

Eigen::MatrixXd SharpnessGeometry::curvature_weights() const {
  return hessian_weights() - multipliers().asDiagonal() * (eval_.d2phi * model_.a().asDiagonal());
}

Eigen::MatrixXd SharpnessGeometry::riemannian_hessian_apply(const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  return jac_.tangent_projection(weighted_block_apply(curvature_weights(), v));
}

double SharpnessGeometry::riemannian_hessian_form(const Eigen::Ref<const Eigen::MatrixXd>& v) const {
  const Eigen::MatrixXd S = model_.X() * v.transpose();
  return curvature_weights().cwiseProduct(S.cwiseProduct(S)).sum();
}

void require_dense_riemannian_hessian(int n, int m, int p, int d, const std::string& way_out) {
  const long long mp = static_cast<long long>(m) * p;
  if (mp <= n) return;
  // Jz, the full Q of Jz^T, the basis B and H B, the k x k matrix (twice, with the eigensolver's
  // copy) and the basis lifted to m d coordinates.
  const long double MP = mp, K = mp - n;
  require_dense_memory(n * MP + MP * MP + 2 * MP * K + 2 * K * K + static_cast<long double>(m) * d * K,
                       "the dense Riemannian Hessian of T (m p - n = " + std::to_string(mp - n) +
                           " square, with the full Q factor of J (m p = " + std::to_string(mp) +
                           " square) and the tangent basis in the " + std::to_string(static_cast<long long>(m) * d) +
                           " coordinates of this model)",
                       way_out);
}

RiemannianHessianMatrix SharpnessGeometry::riemannian_hessian_matrix(bool with_eigenvalues) const {
  const int n = model_.n(), m = model_.m(), d = model_.d();
  const ReducedCoordinates rc(model_.X());
  const int p = rc.rank();
  const Eigen::MatrixXd Z = model_.X() * rc.basis();  // n x p
  const Eigen::MatrixXd& D = jac_.D();
  const Eigen::MatrixXd W = curvature_weights();
  if (!jac_.regular()) jac_.solve_gram(Eigen::VectorXd::Zero(n));  // throws SingularPointError

  // Constraint Jacobian in reduced coordinates, n x (m p).
  const Eigen::Index mp = static_cast<Eigen::Index>(m) * p;
  require_dense_riemannian_hessian(n, m, p, d,
                                   "The Hessian spectrum needs it and its size grows like (m p)^2: use fewer neurons m "
                                   "or data of lower rank p");
  Eigen::MatrixXd Jz(n, mp);
  for (int j = 0; j < m; ++j) Jz.middleCols(static_cast<Eigen::Index>(j) * p, p) = D.col(j).asDiagonal() * Z;
  RiemannianHessianMatrix out;
  const Eigen::Index k = mp - n;
  if (k <= 0) {
    out.basis.resize(static_cast<Eigen::Index>(m) * d, 0);
    out.matrix.resize(0, 0);
    out.eigenvalues.resize(0);
    return out;
  }
  // Orthonormal basis of ker Jz: the trailing columns of the full Q of Jz^T.
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(Jz.transpose());
  Eigen::MatrixXd Q = qr.householderQ();
  const Eigen::MatrixXd B = Q.rightCols(k);  // mp x k
  // Block-diagonal Hessian form applied to the basis: block j = Z^T diag(W_:j) Z.
  Eigen::MatrixXd HB(mp, k);
  for (int j = 0; j < m; ++j) {
    const Eigen::MatrixXd Hj = Z.transpose() * W.col(j).asDiagonal() * Z;
    HB.middleRows(static_cast<Eigen::Index>(j) * p, p) = Hj * B.middleRows(static_cast<Eigen::Index>(j) * p, p);
  }
  out.matrix = B.transpose() * HB;
  out.matrix = 0.5 * (out.matrix + out.matrix.transpose()).eval();
  if (with_eigenvalues)
    out.eigenvalues = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(out.matrix, Eigen::EigenvaluesOnly).eigenvalues();
  // Lift the basis to the model's coordinates: beta (m x p) -> beta U^T (m x d).
  out.basis.resize(static_cast<Eigen::Index>(m) * d, k);
  for (Eigen::Index c = 0; c < k; ++c) {
    Eigen::MatrixXd beta = unvectorize(B.col(c), m, p);
    out.basis.col(c) = vectorize(rc.lift_tangent(beta));
  }
  return out;
}

}  // namespace zeroloss
