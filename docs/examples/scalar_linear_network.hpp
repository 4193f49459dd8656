#pragma once
// A third model on the SquaredLossModel interface, as a worked example (docs/architecture.md):
// a linear network with one hidden unit and a trainable output weight,
//   f_i(a, b) = a (x_i . b),   parameters theta = (a, b) in R^{1 + d}, a first.
// With r = X b:
//   grad f_i = (r_i, a x_i),
//   J v = r da + a X db,                J^T mu = (r . mu, a X^T mu),
//   Hess f_i [da, db] = (x_i . db, da x_i), so sum_i mu_i Hess f_i v = (mu . X db, da X^T mu),
//   T = (1/n) sum_i (r_i^2 + a^2 ||x_i||^2),   Hess T v = (2/n) (sum_i ||x_i||^2 da, X^T X db).
// On M (a r_i = y_i), T = (1/n) (sum_i y_i^2 / a^2 + a^2 sum_i ||x_i||^2), minimal at
// a^4 = sum_i y_i^2 / sum_i ||x_i||^2 with T* = (2/n) sqrt(sum_i y_i^2 sum_i ||x_i||^2): a closed form
// the tests compare the generic flow with.
// Only the five pure virtuals are written; J J^T, the constraint forms and grad T come from the
// interface's default implementations. tests/model_interface_test.cpp compiles this file.

#include <memory>
#include <sstream>

#include "zeroloss/model/squared_loss_model.hpp"

namespace example {

class ScalarLinearNetwork final : public zeroloss::SquaredLossModel {
 public:
  ScalarLinearNetwork(Eigen::MatrixXd X, Eigen::VectorXd y)
      : data_(std::make_shared<const Data>(Data{std::move(X), std::move(y)})) {}

  int num_samples() const override { return static_cast<int>(data_->X.rows()); }
  int num_parameters() const override { return 1 + static_cast<int>(data_->X.cols()); }
  const Eigen::VectorXd& labels() const override { return data_->y; }
  std::string description() const override {
    std::ostringstream s;
    s << "scalar linear network (n = " << num_samples() << ", d = " << data_->X.cols() << ")";
    return s.str();
  }

  std::unique_ptr<const zeroloss::ModelPoint> evaluate(const Eigen::Ref<const Eigen::VectorXd>& theta) const override {
    check_parameters(theta);  // size and finiteness, InputError otherwise
    return std::make_unique<Point>(data_, theta);
  }

 private:
  struct Data {
    Eigen::MatrixXd X;
    Eigen::VectorXd y;
  };

  // The point shares the data, so it stays valid after the model is destroyed.
  class Point final : public zeroloss::ModelPoint {
   public:
    Point(std::shared_ptr<const Data> data, const Eigen::Ref<const Eigen::VectorXd>& theta)
        : data_(std::move(data)), a_(theta(0)), r_(data_->X * theta.tail(theta.size() - 1)), f_(a_ * r_) {}

    const Eigen::VectorXd& outputs() const override { return f_; }
    Eigen::VectorXd jacobian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const override {
      return r_ * v(0) + a_ * (data_->X * v.tail(v.size() - 1));
    }
    Eigen::VectorXd jacobian_transpose_apply(const Eigen::Ref<const Eigen::VectorXd>& mu) const override {
      Eigen::VectorXd out(1 + data_->X.cols());
      out << r_.dot(mu), a_ * (data_->X.transpose() * mu);
      return out;
    }
    Eigen::VectorXd constraint_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                             const Eigen::Ref<const Eigen::VectorXd>& v) const override {
      Eigen::VectorXd out(1 + data_->X.cols());
      out << mu.dot(data_->X * v.tail(v.size() - 1)), v(0) * (data_->X.transpose() * mu);
      return out;
    }
    Eigen::VectorXd sharpness_hessian_apply(const Eigen::Ref<const Eigen::VectorXd>& v) const override {
      const double n = static_cast<double>(r_.size());
      Eigen::VectorXd out(1 + data_->X.cols());
      out << data_->X.squaredNorm() * v(0), data_->X.transpose() * (data_->X * v.tail(v.size() - 1));
      return (2.0 / n) * out;
    }

   private:
    std::shared_ptr<const Data> data_;
    double a_;
    Eigen::VectorXd r_, f_;
  };

  std::shared_ptr<const Data> data_;
};

}  // namespace example
