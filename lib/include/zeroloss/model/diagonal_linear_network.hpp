#pragma once
// The diagonal linear network (THEORY 9): the quadratically parametrised linear model
//   f_i(u, v) = <u o u - v o v, x_i> = x_i . w,    w = u o u - v o v,   u, v in R^d,
// on which label-noise SGD's implicit bias is classically studied (HaoChen, Wei, Lee, Ma 2021;
// Li, Wang, Arora 2022). Parameters: theta = (u, v) in R^{2d}, u first.
//
//   grad f_i = (2 x_i o u, -2 x_i o v),        J J^T = 4 X diag(u^2 + v^2) X^T,
//   Hess f_i = diag(2 x_i, -2 x_i) (constant), so sum_i mu_i Hess f_i (p, q) = (2 s o p, -2 s o q),
//                                                  s = X^T mu, and v^T Hess f_i v = 2 x_i . (p^2 - q^2),
//   T = (4/n) sum_k c_k (u_k^2 + v_k^2),  c_k = sum_i x_ik^2,
//   grad T = (8/n) (c o u, c o v),  Hess T = (8/n) diag(c, c)   (T is a quadratic).
// The minimum of T on M = {X w = y} is (4/n) times the weighted basis pursuit
// min { sum_k c_k |w_k| : X w = y } (sharpness/diagonal_linear_optimum.hpp).

#include <Eigen/Dense>

#include <cstdint>
#include <memory>

#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

class DiagonalLinearNetwork final : public SquaredLossModel {
 public:
  // Validates sizes and finiteness (InputError naming the quantity).
  DiagonalLinearNetwork(Eigen::MatrixXd X, Eigen::VectorXd y);

  int num_samples() const override { return static_cast<int>(data_->X.rows()); }
  int num_parameters() const override { return 2 * dimension(); }
  const Eigen::VectorXd& labels() const override { return data_->y; }
  std::unique_ptr<const ModelPoint> evaluate(const Eigen::Ref<const Eigen::VectorXd>& theta) const override;
  std::string description() const override;

  int dimension() const { return static_cast<int>(data_->X.cols()); }  // d
  const Eigen::MatrixXd& X() const { return data_->X; }
  // c_k = sum_i x_ik^2, the weights of the basis pursuit.
  const Eigen::VectorXd& column_norms_squared() const { return data_->c; }

  // theta = (u, v) and back; w = u o u - v o v.
  Eigen::VectorXd parameters(const Eigen::Ref<const Eigen::VectorXd>& u, const Eigen::Ref<const Eigen::VectorXd>& v) const;
  Eigen::VectorXd u(const Eigen::Ref<const Eigen::VectorXd>& theta) const { return theta.head(dimension()); }
  Eigen::VectorXd v(const Eigen::Ref<const Eigen::VectorXd>& theta) const { return theta.tail(dimension()); }
  Eigen::VectorXd linear_weights(const Eigen::Ref<const Eigen::VectorXd>& theta) const;

  struct Data {
    Eigen::MatrixXd X;
    Eigen::VectorXd y;
    Eigen::VectorXd c;
  };

 private:
  std::shared_ptr<const Data> data_;
};

// A random start (u, v) for the diagonal network: u_k and v_k independent and uniform on
// [scale / 2, 3 scale / 2] (positive, so every coordinate can grow either way; a start with
// u_k = v_k = 0 stays on that face of M under the flow). From xoshiro256++ (random/rng.hpp): the same bits
// on every platform. Throws InputError unless d >= 1 and scale is finite and > 0.
Eigen::VectorXd random_diagonal_start(int d, double scale, std::uint64_t seed);

}  // namespace zeroloss
