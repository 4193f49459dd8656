#pragma once
// The two models as Python classes (zeroloss.TwoLayerModel, zeroloss.DiagonalLinearModel).
#include <optional>
#include <string>

#include "module_common.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss::python {

class PyTwoLayer final : public PyModel {
 public:
  PyTwoLayer(Eigen::MatrixXd X, Eigen::VectorXd y, const std::string& activation, std::optional<Eigen::VectorXd> a,
             std::optional<int> m)
      : activation_(activation) {
    Eigen::VectorXd second;
    if (a) {
      second = *a;
    } else {
      if (!m) throw InputError("TwoLayerModel: give the second layer a (length m) or the width m (a = ones)");
      if (*m < 1) throw InputError("TwoLayerModel: the width m must be at least 1, got " + std::to_string(*m));
      second = Eigen::VectorXd::Ones(*m);
    }
    net_ = std::make_shared<TwoLayerNetwork>(
        TwoLayerModel(std::move(X), std::move(y), std::move(second), Activation::from_name(activation)));
    model_ = net_;
  }
  const TwoLayerNetwork& network() const { return *net_; }
  const std::string& activation() const { return activation_; }
  Eigen::VectorXd flatten(const Eigen::MatrixXd& theta, const char* what) const override {
    net_->network().check_weights(theta, what);
    return net_->parameters(theta);
  }
  py::object shaped(const Eigen::VectorXd& theta) const override { return py::cast(net_->weights(theta)); }

 private:
  std::string activation_;
  std::shared_ptr<const TwoLayerNetwork> net_;
};

class PyDiagonal final : public PyModel {
 public:
  PyDiagonal(Eigen::MatrixXd X, Eigen::VectorXd y) {
    net_ = std::make_shared<DiagonalLinearNetwork>(std::move(X), std::move(y));
    model_ = net_;
  }
  const DiagonalLinearNetwork& network() const { return *net_; }
  const std::shared_ptr<const DiagonalLinearNetwork>& shared_network() const { return net_; }
  Eigen::VectorXd flatten(const Eigen::MatrixXd& theta, const char* what) const override {
    if (theta.size() != net_->num_parameters() || (theta.rows() != 1 && theta.cols() != 1))
      throw InputError(std::string(what) + ": expected a vector theta = (u, v) of length 2d = " +
                       std::to_string(net_->num_parameters()) + ", got shape " + std::to_string(theta.rows()) + " x " +
                       std::to_string(theta.cols()));
    Eigen::VectorXd v = Eigen::Map<const Eigen::VectorXd>(theta.data(), theta.size());
    net_->check_parameters(v, what);
    return v;
  }
  py::object shaped(const Eigen::VectorXd& theta) const override { return py::cast(theta); }

 private:
  std::shared_ptr<const DiagonalLinearNetwork> net_;
};

}  // namespace zeroloss::python
