#pragma once
// The two-layer network with a fixed second layer (THEORY section 1):
//   f_i(Theta) = sum_j a_j phi(x_i . theta_j),   Theta is m x d with rows theta_j,
//   L(Theta) = 1/(2n) sum_i (f_i - y_i)^2.
//
// A TwoLayerModel holds the data (X, y), the fixed second layer a and the activation. The same
// class serves full coordinates (X is n x d) and reduced coordinates (X replaced by Z = X U, see
// model/reduced_coordinates.hpp): every formula of THEORY 2-3 has the same form in both.
//
// Vectorisation convention: a weight matrix Theta (m x d) corresponds to the vector in R^{m d}
// whose block j (entries j*d .. j*d + d - 1) is theta_j; see vectorize / unvectorize.

#include <Eigen/Dense>

#include <memory>
#include <string>

#include "zeroloss/model/activation.hpp"

namespace zeroloss {

class TwoLayerModel {
 public:
  // Validates sizes, finiteness and a_j != 0; throws InputError naming the quantity otherwise.
  TwoLayerModel(Eigen::MatrixXd X, Eigen::VectorXd y, Eigen::VectorXd a, Activation phi);

  int n() const { return static_cast<int>(data_->X.rows()); }
  int d() const { return static_cast<int>(data_->X.cols()); }
  int m() const { return static_cast<int>(data_->a.size()); }
  const Eigen::MatrixXd& X() const { return data_->X; }
  const Eigen::VectorXd& y() const { return data_->y; }
  const Eigen::VectorXd& a() const { return data_->a; }
  const Activation& activation() const { return data_->phi; }
  // G = X X^T (n x n) and ||x_i||^2.
  const Eigen::MatrixXd& gram() const { return data_->gram; }
  const Eigen::VectorXd& row_norms_squared() const { return data_->row_norms2; }

  // Throws InputError unless theta is m x d with finite entries. `what` names it in the message.
  void check_weights(const Eigen::Ref<const Eigen::MatrixXd>& theta, const std::string& what = "weights") const;
  // The same model with other labels (e.g. for label-noise experiments).
  TwoLayerModel with_labels(Eigen::VectorXd y) const;
  // The same model with X replaced (e.g. by the reduced data Z = X U).
  TwoLayerModel with_data(Eigen::MatrixXd X) const;

 private:
  // Immutable and shared: copying a model is O(1), so classes that need the model hold it by value
  // (no pointer that could dangle), and copies never duplicate the data.
  struct Data {
    Eigen::MatrixXd X;
    Eigen::VectorXd y;
    Eigen::VectorXd a;
    Activation phi;
    Eigen::MatrixXd gram;
    Eigen::VectorXd row_norms2;
  };
  std::shared_ptr<const Data> data_;
};

// Everything the network computes at one point: pre-activations R = X Theta^T (n x m), phi and its
// first three derivatives at R (entrywise, n x m), outputs f, residuals f - y and the loss.
struct NetworkEvaluation {
  Eigen::MatrixXd R;
  Eigen::MatrixXd phi, dphi, d2phi, d3phi;
  Eigen::VectorXd outputs;
  Eigen::VectorXd residuals;
  double loss = 0;
};

NetworkEvaluation evaluate(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta);
// The same with the derivatives of phi up to `max_order` only (0: R, phi, outputs, residuals and
// loss; 1: also dphi; 2: also d2phi; 3: everything, as above); the higher ones are left empty. The
// values present are the same bits as those of the full evaluation. For callers that need phi' only
// (the constraint Jacobian, T): each n x m matrix is 8 MB at n = 100, m = 10^4.
NetworkEvaluation evaluate(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta, int max_order);

// Outputs f(Theta) only (cheaper than a full evaluation).
Eigen::VectorXd network_outputs(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta);

// Theta (m x d) <-> vector in R^{m d}, block j = theta_j.
Eigen::VectorXd vectorize(const Eigen::Ref<const Eigen::MatrixXd>& theta);
Eigen::MatrixXd unvectorize(const Eigen::Ref<const Eigen::VectorXd>& v, int m, int d);

}  // namespace zeroloss
