#include "zeroloss/dynamics/generic_label_noise_sgd.hpp"

#include <cmath>
#include <numeric>
#include <string>

#include "zeroloss/dynamics/label_noise_time_scale.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {

GenericLabelNoiseSgd::GenericLabelNoiseSgd(std::shared_ptr<const SquaredLossModel> model, Eigen::VectorXd theta0,
                                           const SgdParameters& params)
    : model_(std::move(model)),
      theta_(std::move(theta0)),
      params_(params),
      n_(model_->num_samples()),
      index_rng_(params.seed, 1),
      noise_(params.noise, params.seed, 2) {
  model_->check_parameters(theta_, "starting weights of label-noise SGD");
  if (!(std::isfinite(params_.learning_rate) && params_.learning_rate > 0))
    throw InputError("label-noise SGD: step size eta = " + std::to_string(params_.learning_rate) + "; expected > 0");
  if (!(std::isfinite(params_.label_noise) && params_.label_noise >= 0))
    throw InputError("label-noise SGD: label noise s = " + std::to_string(params_.label_noise) + "; expected >= 0");
  if (params_.batch_size < 1 || params_.batch_size > n_)
    throw InputError("label-noise SGD: batch size " + std::to_string(params_.batch_size) + "; expected 1 <= B <= n = " +
                     std::to_string(n_));
  perm_.resize(static_cast<std::size_t>(n_));
  std::iota(perm_.begin(), perm_.end(), 0);
  swaps_.resize(static_cast<std::size_t>(params_.batch_size));
  batch_.resize(static_cast<std::size_t>(params_.batch_size));
}

void GenericLabelNoiseSgd::restore(const State& state) {
  model_->check_parameters(state.theta, "weights of a label-noise SGD state");
  Xoshiro256pp index_rng = index_rng_;
  index_rng.restore(state.index_generator);
  StandardNoise noise = noise_;
  noise.restore(state.noise);
  theta_ = state.theta;
  step_ = state.step;
  index_rng_ = index_rng;
  noise_ = std::move(noise);
}

void GenericLabelNoiseSgd::draw_batch() {
  const int B = params_.batch_size;
  if (B == n_) {
    for (int b = 0; b < B; ++b) batch_[static_cast<std::size_t>(b)] = b;
  } else if (B == 1) {
    batch_[0] = static_cast<int>(index_rng_.below(static_cast<std::uint64_t>(n_)));
  } else {
    // Partial Fisher-Yates on the identity permutation, undone afterwards (the kernel's order).
    for (int b = 0; b < B; ++b) {
      const int j = b + static_cast<int>(index_rng_.below(static_cast<std::uint64_t>(n_ - b)));
      std::swap(perm_[static_cast<std::size_t>(b)], perm_[static_cast<std::size_t>(j)]);
      batch_[static_cast<std::size_t>(b)] = perm_[static_cast<std::size_t>(b)];
      swaps_[static_cast<std::size_t>(b)] = j;
    }
    for (int b = B - 1; b >= 0; --b) std::swap(perm_[static_cast<std::size_t>(b)], perm_[static_cast<std::size_t>(swaps_[static_cast<std::size_t>(b)])]);
  }
}

void GenericLabelNoiseSgd::advance(std::uint64_t steps) {
  const int B = params_.batch_size;
  const double eta_over_B = params_.learning_rate / B, s = params_.label_noise;
  const Eigen::VectorXd& y = model_->labels();
  Eigen::VectorXd mu = Eigen::VectorXd::Zero(n_);
  for (std::uint64_t k = 0; k < steps; ++k) {
    draw_batch();
    const auto point = model_->evaluate(theta_);
    const Eigen::VectorXd& f = point->outputs();
    for (int b = 0; b < B; ++b) {
      const int i = batch_[static_cast<std::size_t>(b)];
      const double xi = s != 0.0 ? noise_.next() : 0.0;
      mu(i) = eta_over_B * (f(i) - y(i) - s * xi);
    }
    Eigen::VectorXd next = theta_ - point->jacobian_transpose_apply(mu);
    for (int b = 0; b < B; ++b) mu(batch_[static_cast<std::size_t>(b)]) = 0.0;
    if (!next.allFinite()) {
      throw ConvergenceError("label-noise SGD diverged at step " + std::to_string(step_ + 1) +
                             " (the parameters are no longer finite); lower the step size eta = " +
                             std::to_string(params_.learning_rate));
    }
    theta_ = std::move(next);
    ++step_;
  }
}

double GenericLabelNoiseSgd::time() const {
  return params_.learning_rate * params_.learning_rate * static_cast<double>(step_);
}

double GenericLabelNoiseSgd::flow_time() const {
  return flow_time_per_step(params_.label_noise, params_.batch_size, params_.learning_rate) * static_cast<double>(step_);
}

}  // namespace zeroloss
