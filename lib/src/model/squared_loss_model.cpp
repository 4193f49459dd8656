#include "zeroloss/model/squared_loss_model.hpp"

#include <cmath>
#include <sstream>

#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {

Eigen::MatrixXd ModelPoint::jacobian() const {
  const int n = num_samples();
  Eigen::MatrixXd J;
  for (int i = 0; i < n; ++i) {
    const Eigen::VectorXd row = jacobian_transpose_apply(Eigen::VectorXd::Unit(n, i));
    if (i == 0) J.resize(n, row.size());
    J.row(i) = row.transpose();
  }
  return J;
}

Eigen::MatrixXd ModelPoint::jacobian_gram() const {
  const int n = num_samples();
  Eigen::MatrixXd G(n, n);
  for (int i = 0; i < n; ++i) G.col(i) = jacobian_apply(jacobian_transpose_apply(Eigen::VectorXd::Unit(n, i)));
  return 0.5 * (G + G.transpose());
}

Eigen::VectorXd ModelPoint::constraint_hessian_forms(const Eigen::Ref<const Eigen::VectorXd>& v) const {
  const int n = num_samples();
  Eigen::VectorXd q(n);
  for (int i = 0; i < n; ++i) q(i) = v.dot(constraint_hessian_apply(Eigen::VectorXd::Unit(n, i), v));
  return q;
}

std::vector<Eigen::MatrixXd> ModelPoint::constraint_hessian_blocks(const Eigen::Ref<const Eigen::VectorXd>& mu) const {
  const Eigen::Index P = jacobian_transpose_apply(mu).size();
  require_dense_size(P, P, "the dense Hessian sum_i mu_i Hess f_i of the constraints",
                     "Use a projection that does not factor it (newton, gradient-flow), or a model that supplies "
                     "its block structure.");
  Eigen::MatrixXd B(P, P);
  for (Eigen::Index k = 0; k < P; ++k) B.col(k) = constraint_hessian_apply(mu, Eigen::VectorXd::Unit(P, k));
  return {0.5 * (B + B.transpose())};
}

Eigen::VectorXd ModelPoint::sharpness_gradient() const {
  // grad T = (2/n) sum_i Hess f_i grad f_i, grad f_i = J^T e_i.
  const int n = num_samples();
  Eigen::VectorXd g;
  for (int i = 0; i < n; ++i) {
    const Eigen::VectorXd e = Eigen::VectorXd::Unit(n, i);
    const Eigen::VectorXd term = constraint_hessian_apply(e, jacobian_transpose_apply(e));
    if (i == 0) g = term; else g += term;
  }
  return (2.0 / n) * g;
}

Eigen::VectorXd ModelPoint::sample_gradient_norms_squared() const { return jacobian_gram().diagonal(); }

double ModelPoint::sharpness() const { return sample_gradient_norms_squared().sum() / num_samples(); }

double SquaredLossModel::max_residual(const Eigen::Ref<const Eigen::VectorXd>& theta) const {
  return (evaluate(theta)->outputs() - labels()).cwiseAbs().maxCoeff();
}

void SquaredLossModel::check_parameters(const Eigen::Ref<const Eigen::VectorXd>& theta, const std::string& what) const {
  if (theta.size() != num_parameters()) {
    std::ostringstream s;
    s << what << ": " << theta.size() << " parameters; the " << description() << " has " << num_parameters();
    throw InputError(s.str());
  }
  for (Eigen::Index k = 0; k < theta.size(); ++k)
    if (!std::isfinite(theta(k))) {
      std::ostringstream s;
      s << what << ": parameter " << k + 1 << " is " << theta(k) << "; expected a finite number";
      throw InputError(s.str());
    }
}

}  // namespace zeroloss
