#pragma once
// The two models as Python classes (zeroloss.TwoLayerModel, zeroloss.DiagonalLinearModel).
#include <memory>
#include <optional>
#include <string>

#include "module_common.hpp"
#include "zeroloss/diagnostics/model_convexity_geometry.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"
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

// The geometry of the convexity diagnostics for either model.
inline std::unique_ptr<ConvexityGeometry> geometry_of(const PyModel& model) {
  if (const auto* t = dynamic_cast<const PyTwoLayer*>(&model))
    return std::make_unique<TwoLayerConvexityGeometry>(t->network().network());
  return std::make_unique<ModelConvexityGeometry>(
      diagonal_linear_convexity_geometry(dynamic_cast<const PyDiagonal&>(model).shared_network()));
}

// Python's parameters -> the caller's coordinates of the convexity geometry and of the label-noise
// dynamics (two-layer: m x d; else the parameter column P x 1), checked.
inline Eigen::MatrixXd caller_in(const PyModel& model, const Eigen::MatrixXd& theta, const char* what) {
  Eigen::VectorXd flat = model.flatten(theta, what);
  if (dynamic_cast<const PyTwoLayer*>(&model)) return theta;
  return flat;
}
inline std::optional<Eigen::MatrixXd> caller_in(const PyModel& model, const std::optional<Eigen::MatrixXd>& theta,
                                                const char* what) {
  return theta ? std::optional<Eigen::MatrixXd>(caller_in(model, *theta, what)) : std::nullopt;
}
// And back, in the model's natural shape.
inline py::object caller_out(const PyModel& model, const Eigen::MatrixXd& theta) {
  if (dynamic_cast<const PyTwoLayer*>(&model) || theta.size() == 0) return py::cast(theta);
  return model.shaped(Eigen::Map<const Eigen::VectorXd>(theta.data(), theta.size()));
}

// Columns as a pandas DataFrame when pandas is installed, else the dict itself.
inline py::object frame(const py::dict& columns) {
  try {
    return py::module_::import("pandas").attr("DataFrame")(columns);
  } catch (py::error_already_set&) {
    PyErr_Clear();
  }
  return columns;
}

}  // namespace zeroloss::python
