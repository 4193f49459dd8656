#include "zeroloss/model/two_layer_network.hpp"

#include <sstream>

namespace zeroloss {
namespace {

class TwoLayerPoint final : public ModelPoint {
 public:
  TwoLayerPoint(std::shared_ptr<const TwoLayerModel> network, const Eigen::Ref<const Eigen::MatrixXd>& theta)
      : net_(std::move(network)), eval_(zeroloss::evaluate(*net_, theta)) {
    D_ = eval_.dphi * net_->a().asDiagonal();
  }

  const Eigen::VectorXd& outputs() const override { return eval_.outputs; }

  Eigen::VectorXd jacobian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const override {
    return D_.cwiseProduct(products(v)).rowwise().sum();
  }

  Eigen::VectorXd jacobian_transpose_apply(const Eigen::Ref<const Eigen::VectorXd>& mu) const override {
    return vectorize((mu.asDiagonal() * D_).transpose() * net_->X());
  }

  Eigen::VectorXd constraint_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                           const Eigen::Ref<const Eigen::VectorXd>& v) const override {
    const Eigen::MatrixXd W = mu.asDiagonal() * eval_.d2phi * net_->a().asDiagonal();
    return vectorize(W.cwiseProduct(products(v)).transpose() * net_->X());
  }

  Eigen::VectorXd sharpness_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const override {
    const double n = net_->n();
    const Eigen::VectorXd a2 = net_->a().array().square();
    const Eigen::MatrixXd e = eval_.d2phi.cwiseProduct(eval_.d2phi) + eval_.dphi.cwiseProduct(eval_.d3phi);
    const Eigen::MatrixXd H = (2.0 / n) * net_->row_norms_squared().asDiagonal() * e * a2.asDiagonal();
    return vectorize(H.cwiseProduct(products(v)).transpose() * net_->X());
  }

  Eigen::MatrixXd jacobian() const override {
    const int n = net_->n(), m = net_->m(), d = net_->d();
    Eigen::MatrixXd J(n, static_cast<Eigen::Index>(m) * d);
    for (int j = 0; j < m; ++j) J.middleCols(static_cast<Eigen::Index>(j) * d, d) = D_.col(j).asDiagonal() * net_->X();
    return J;
  }

  Eigen::MatrixXd jacobian_gram() const override { return net_->gram().cwiseProduct(D_ * D_.transpose()); }

  Eigen::VectorXd constraint_hessian_forms(const Eigen::Ref<const Eigen::VectorXd>& v) const override {
    const Eigen::MatrixXd S = products(v);
    return (eval_.d2phi.array() * S.array().square()).matrix() * net_->a();
  }

  std::vector<Eigen::MatrixXd> constraint_hessian_blocks(const Eigen::Ref<const Eigen::VectorXd>& mu) const override {
    // Block j = X^T diag(mu o a_j phi''(r_:j)) X.
    const int m = net_->m();
    const Eigen::MatrixXd& X = net_->X();
    std::vector<Eigen::MatrixXd> blocks(m);
    for (int j = 0; j < m; ++j) {
      const Eigen::VectorXd w = net_->a()(j) * mu.cwiseProduct(eval_.d2phi.col(j));
      blocks[j].noalias() = X.transpose() * w.asDiagonal() * X;
    }
    return blocks;
  }

  Eigen::VectorXd sharpness_gradient() const override {
    const double n = net_->n();
    const Eigen::VectorXd a2 = net_->a().array().square();
    const Eigen::MatrixXd c =
        (2.0 / n) * net_->row_norms_squared().asDiagonal() * eval_.dphi.cwiseProduct(eval_.d2phi) * a2.asDiagonal();
    return vectorize(c.transpose() * net_->X());
  }

  Eigen::VectorXd sample_gradient_norms_squared() const override {
    return net_->row_norms_squared().cwiseProduct(D_.rowwise().squaredNorm());
  }

 private:
  // S_ij = x_i . v_j for v = vectorize(V).
  Eigen::MatrixXd products(const Eigen::Ref<const Eigen::VectorXd>& v) const {
    return net_->X() * unvectorize(v, net_->m(), net_->d()).transpose();
  }

  std::shared_ptr<const TwoLayerModel> net_;
  NetworkEvaluation eval_;
  Eigen::MatrixXd D_;  // D_ij = a_j phi'(r_ij)
};

}  // namespace

TwoLayerNetwork::TwoLayerNetwork(TwoLayerModel model)
    : network_(std::make_shared<const TwoLayerModel>(std::move(model))) {}

std::unique_ptr<const ModelPoint> TwoLayerNetwork::evaluate(const Eigen::Ref<const Eigen::VectorXd>& theta) const {
  check_parameters(theta);
  return std::make_unique<TwoLayerPoint>(network_, weights(theta));
}

std::string TwoLayerNetwork::description() const {
  std::ostringstream s;
  s << "two-layer network (n = " << network_->n() << ", m = " << network_->m() << ", d = " << network_->d()
    << ", activation " << network_->activation().name() << ")";
  return s.str();
}

Eigen::VectorXd TwoLayerNetwork::parameters(const Eigen::Ref<const Eigen::MatrixXd>& weights) const {
  network_->check_weights(weights);
  return vectorize(weights);
}

Eigen::MatrixXd TwoLayerNetwork::weights(const Eigen::Ref<const Eigen::VectorXd>& parameters) const {
  check_parameters(parameters);
  return unvectorize(parameters, network_->m(), network_->d());
}

}  // namespace zeroloss
