#pragma once
// Label-noise SGD (THEORY 7) for any SquaredLossModel:
//
//   theta <- theta - (eta / B) sum_{i in I} (f_i(theta) - y_i - s xi_i) grad f_i(theta)
//          = theta - J(theta)^T mu,   mu_i = (eta / B) (f_i - y_i - s xi_i) on the batch, 0 elsewhere,
//
// one model evaluation per step. Batches and noise are drawn exactly as the two-layer kernel
// (dynamics/label_noise_sgd.hpp) draws them: indices from Xoshiro256pp(seed, 1) (B = 1: one uniform index;
// 1 < B < n: a partial Fisher-Yates shuffle; B = n: every sample), standardized noise xi from
// StandardNoise(kind, seed, 2), only when s > 0. On the two-layer network both paths therefore take
// the same steps, and the tests compare them. This path is for models without a specialised kernel
// (and for checking one): it costs a full evaluation of the model per step.
//
// Near M it follows d theta / dt = -C grad_M T with C = s^2 / (4B) on the time t = eta^2 k
// (dynamics/label_noise_time_scale.hpp).

#include <Eigen/Dense>

#include <cstdint>
#include <memory>
#include <vector>

#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/model/squared_loss_model.hpp"
#include "zeroloss/random/rng.hpp"

namespace zeroloss {

class GenericLabelNoiseSgd {
 public:
  // Uses learning_rate, label_noise, noise, batch_size and seed of `params`; throws InputError on
  // eta <= 0 or not finite, s < 0 or not finite, B outside [1, n], or malformed theta0.
  GenericLabelNoiseSgd(std::shared_ptr<const SquaredLossModel> model, Eigen::VectorXd theta0,
                       const SgdParameters& params);

  // Takes `steps` steps. Throws ConvergenceError naming the step if the parameters stop being
  // finite; the state is then the last finite one.
  void advance(std::uint64_t steps);

  // Everything the next steps depend on besides the model and the parameters: the step count, the
  // weights, and the two generators (batches, noise). Restoring a saved state continues the run bit
  // for bit as if it had not stopped (checkpoints, runs/diagonal_sgd_run.hpp).
  struct State {
    std::uint64_t step = 0;
    Eigen::VectorXd theta;
    Xoshiro256pp::State index_generator{};
    StandardNoise::State noise{};
  };
  State state() const { return State{step_, theta_, index_rng_.state(), noise_.state()}; }
  // Throws InputError when the weights do not fit the model (check_parameters) or a generator state
  // is invalid (all zero); the object is then unchanged.
  void restore(const State& state);

  const Eigen::VectorXd& parameters() const { return theta_; }
  std::uint64_t step() const { return step_; }
  double time() const;       // eta^2 k
  double flow_time() const;  // s^2 eta^2 k / (4B)

 private:
  void draw_batch();

  std::shared_ptr<const SquaredLossModel> model_;
  Eigen::VectorXd theta_;
  SgdParameters params_;
  int n_;
  std::uint64_t step_ = 0;
  Xoshiro256pp index_rng_;
  StandardNoise noise_;
  std::vector<int> perm_, swaps_, batch_;
};

}  // namespace zeroloss
