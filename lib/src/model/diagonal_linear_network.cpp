#include "zeroloss/model/diagonal_linear_network.hpp"

#include <cmath>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "support/require_finite.hpp"
#include "zeroloss/random/rng.hpp"

namespace zeroloss {
namespace {

using detail::require_finite;

class DiagonalLinearPoint final : public ModelPoint {
 public:
  DiagonalLinearPoint(std::shared_ptr<const DiagonalLinearNetwork::Data> data, const Eigen::Ref<const Eigen::VectorXd>& theta)
      : data_(std::move(data)) {
    const Eigen::Index d = data_->X.cols();
    u_ = theta.head(d);
    v_ = theta.tail(d);
    s2_ = u_.cwiseProduct(u_) + v_.cwiseProduct(v_);
    outputs_ = data_->X * (u_.cwiseProduct(u_) - v_.cwiseProduct(v_));
  }

  const Eigen::VectorXd& outputs() const override { return outputs_; }

  Eigen::VectorXd jacobian_apply(const Eigen::Ref<const Eigen::VectorXd>& dir) const override {
    const Eigen::Index d = u_.size();
    return 2.0 * (data_->X * (u_.cwiseProduct(dir.head(d)) - v_.cwiseProduct(dir.tail(d))));
  }

  Eigen::VectorXd jacobian_transpose_apply(const Eigen::Ref<const Eigen::VectorXd>& mu) const override {
    const Eigen::VectorXd s = data_->X.transpose() * mu;
    Eigen::VectorXd out(2 * u_.size());
    out << 2.0 * s.cwiseProduct(u_), -2.0 * s.cwiseProduct(v_);
    return out;
  }

  Eigen::VectorXd constraint_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                           const Eigen::Ref<const Eigen::VectorXd>& dir) const override {
    const Eigen::Index d = u_.size();
    const Eigen::VectorXd s = data_->X.transpose() * mu;
    Eigen::VectorXd out(2 * d);
    out << 2.0 * s.cwiseProduct(dir.head(d)), -2.0 * s.cwiseProduct(dir.tail(d));
    return out;
  }

  Eigen::VectorXd sharpness_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& dir) const override {
    const Eigen::Index d = u_.size();
    const double n = static_cast<double>(data_->X.rows());
    Eigen::VectorXd out(2 * d);
    out << (8.0 / n) * data_->c.cwiseProduct(dir.head(d)), (8.0 / n) * data_->c.cwiseProduct(dir.tail(d));
    return out;
  }

  Eigen::MatrixXd jacobian() const override {
    const Eigen::Index d = u_.size();
    Eigen::MatrixXd J(data_->X.rows(), 2 * d);
    J << 2.0 * data_->X * u_.asDiagonal(), -2.0 * data_->X * v_.asDiagonal();
    return J;
  }

  Eigen::MatrixXd jacobian_gram() const override {
    const Eigen::MatrixXd G = 4.0 * data_->X * s2_.asDiagonal() * data_->X.transpose();
    return 0.5 * (G + G.transpose());
  }

  Eigen::VectorXd constraint_hessian_forms(const Eigen::Ref<const Eigen::VectorXd>& dir) const override {
    const Eigen::Index d = u_.size();
    return 2.0 * (data_->X * (dir.head(d).cwiseAbs2() - dir.tail(d).cwiseAbs2()));
  }

  std::vector<Eigen::MatrixXd> constraint_hessian_blocks(const Eigen::Ref<const Eigen::VectorXd>& mu) const override {
    // Diagonal: 2 s_k for u_k, -2 s_k for v_k, s = X^T mu.
    const Eigen::VectorXd s = data_->X.transpose() * mu;
    const Eigen::Index d = s.size();
    std::vector<Eigen::MatrixXd> blocks(2 * d);
    for (Eigen::Index k = 0; k < d; ++k) {
      blocks[k] = Eigen::MatrixXd::Constant(1, 1, 2.0 * s(k));
      blocks[d + k] = Eigen::MatrixXd::Constant(1, 1, -2.0 * s(k));
    }
    return blocks;
  }

  Eigen::VectorXd sharpness_gradient() const override {
    const double n = static_cast<double>(data_->X.rows());
    Eigen::VectorXd out(2 * u_.size());
    out << (8.0 / n) * data_->c.cwiseProduct(u_), (8.0 / n) * data_->c.cwiseProduct(v_);
    return out;
  }

  Eigen::VectorXd sample_gradient_norms_squared() const override {
    return 4.0 * (data_->X.cwiseAbs2() * s2_);
  }

 private:
  std::shared_ptr<const DiagonalLinearNetwork::Data> data_;
  Eigen::VectorXd u_, v_, s2_, outputs_;
};

}  // namespace

DiagonalLinearNetwork::DiagonalLinearNetwork(Eigen::MatrixXd X, Eigen::VectorXd y) {
  if (X.rows() == 0 || X.cols() == 0) throw InputError("data X: expected at least one sample and one feature");
  if (y.size() != X.rows()) {
    std::ostringstream s;
    s << "labels y: " << y.size() << " labels for " << X.rows() << " samples; expected one label per row of X";
    throw InputError(s.str());
  }
  require_finite(X, "data X");
  require_finite(y, "labels y");
  auto data = std::make_shared<Data>();
  data->c = X.colwise().squaredNorm().transpose();
  data->X = std::move(X);
  data->y = std::move(y);
  data_ = std::move(data);
}

std::unique_ptr<const ModelPoint> DiagonalLinearNetwork::evaluate(const Eigen::Ref<const Eigen::VectorXd>& theta) const {
  check_parameters(theta);
  return std::make_unique<DiagonalLinearPoint>(data_, theta);
}

std::string DiagonalLinearNetwork::description() const {
  std::ostringstream s;
  s << "diagonal linear network (n = " << num_samples() << ", d = " << dimension() << ")";
  return s.str();
}

Eigen::VectorXd DiagonalLinearNetwork::parameters(const Eigen::Ref<const Eigen::VectorXd>& u,
                                                  const Eigen::Ref<const Eigen::VectorXd>& v) const {
  if (u.size() != dimension() || v.size() != dimension()) {
    std::ostringstream s;
    s << "diagonal linear weights: u has " << u.size() << " and v has " << v.size() << " entries; expected d = "
      << dimension() << " each (one per feature of the data)";
    throw InputError(s.str());
  }
  Eigen::VectorXd theta(2 * dimension());
  theta << u, v;
  check_parameters(theta, "diagonal linear weights");
  return theta;
}

Eigen::VectorXd random_diagonal_start(int d, double scale, std::uint64_t seed) {
  if (d < 1) throw InputError("diagonal linear start: d = " + std::to_string(d) + "; expected d >= 1");
  if (!(std::isfinite(scale) && scale > 0))
    throw InputError("diagonal linear start: scale " + std::to_string(scale) + "; expected a finite number > 0");
  Xoshiro256pp rng(seed, 3);
  Eigen::VectorXd theta(2 * d);
  for (int k = 0; k < 2 * d; ++k) theta(k) = scale * (0.5 + rng.uniform());
  return theta;
}

Eigen::VectorXd DiagonalLinearNetwork::linear_weights(const Eigen::Ref<const Eigen::VectorXd>& theta) const {
  check_parameters(theta);
  return u(theta).cwiseAbs2() - v(theta).cwiseAbs2();
}

}  // namespace zeroloss
