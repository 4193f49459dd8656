#pragma once
// The two-layer network with a fixed second layer (THEORY 1-3) as a SquaredLossModel.
//
// Parameters: theta = vectorize(Theta) in R^{m d}, block j (entries j*d .. j*d + d - 1) = theta_j,
// the order of model/network.hpp. Wrap the reduced model (X replaced by Z = X U, model/reduced_coordinates.hpp)
// to work in reduced coordinates (P = m p): every formula has the same form.
//
// The point evaluation uses the network's structure (R = X Theta^T once; D = phi'(R) diag(a)):
//   J v:              (J v)_i = sum_j D_ij x_i . v_j                   O(n m d)
//   J^T mu:           block j = sum_i mu_i D_ij x_i                   O(n m d)
//   J J^T:            G o (D D^T), G = X X^T                          O(n^2 m)
//   sum_i mu_i Hess f_i v: block j = X^T (mu o a_j phi''(r_:j) o (X v_j))
//   v^T Hess f_i v:   sum_j a_j phi''(r_ij) (x_i . v_j)^2
//   grad T:           block j = X^T c_j, c_ij = (2/n) ||x_i||^2 a_j^2 phi'(r_ij) phi''(r_ij)
//   Hess T v:         block j = X^T (h_:j o (X v_j)), h_ij = (2/n) ||x_i||^2 a_j^2 (phi''^2 + phi' phi''')(r_ij)
// These are the formulas of ConstraintJacobian and SharpnessGeometry (manifold/constraint_jacobian.hpp,
// sharpness/sharpness.hpp), which tests compare with the generic algorithms running on this class.

#include <memory>

#include "zeroloss/model/squared_loss_model.hpp"
#include "zeroloss/model/network.hpp"

namespace zeroloss {

class TwoLayerNetwork final : public SquaredLossModel {
 public:
  explicit TwoLayerNetwork(TwoLayerModel model);

  int num_samples() const override { return network_->n(); }
  int num_parameters() const override { return network_->m() * network_->d(); }
  const Eigen::VectorXd& labels() const override { return network_->y(); }
  std::unique_ptr<const ModelPoint> evaluate(const Eigen::Ref<const Eigen::VectorXd>& theta) const override;
  std::string description() const override;

  const TwoLayerModel& network() const { return *network_; }
  // Theta (m x d) <-> theta in R^{m d}.
  Eigen::VectorXd parameters(const Eigen::Ref<const Eigen::MatrixXd>& weights) const;
  Eigen::MatrixXd weights(const Eigen::Ref<const Eigen::VectorXd>& parameters) const;

 private:
  std::shared_ptr<const TwoLayerModel> network_;
};

}  // namespace zeroloss
