#include "zeroloss/dynamics/label_noise_dynamics.hpp"

#include <algorithm>
#include <utility>

#include "zeroloss/dynamics/generic_label_noise_sgd.hpp"
#include "zeroloss/dynamics/riemannian_flow.hpp"
#include "zeroloss/dynamics/sharpness_flow.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

Eigen::VectorXd column(const Eigen::Ref<const Eigen::MatrixXd>& x) {
  return Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
}

// The two-layer kernel: it refuses a divergent step itself and keeps the last finite state.
class TwoLayerSgdPath final : public LabelNoiseSgdPath {
 public:
  TwoLayerSgdPath(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta0, const SgdParameters& p)
      : sgd_(model, beta0, p) {}
  std::uint64_t advance(std::uint64_t steps) override { return sgd_.advance(steps); }
  std::uint64_t step() const override { return sgd_.step(); }
  bool diverged() const override { return sgd_.diverged(); }
  std::uint64_t divergence_step() const override { return sgd_.divergence().step; }
  std::string divergence_reason() const override { return sgd_.divergence().reason; }
  double flow_time() const override { return sgd_.flow_time(); }
  Eigen::MatrixXd weights() const override { return sgd_.weights(); }

 private:
  LabelNoiseSgd sgd_;
};

// GenericLabelNoiseSgd throws ConvergenceError on a non-finite step and keeps the last finite state.
class GenericSgdPath final : public LabelNoiseSgdPath {
 public:
  GenericSgdPath(std::shared_ptr<const SquaredLossModel> model, Eigen::VectorXd theta0, const SgdParameters& p)
      : sgd_(std::move(model), std::move(theta0), p) {}
  std::uint64_t advance(std::uint64_t steps) override {
    if (diverged()) return 0;
    const std::uint64_t before = sgd_.step();
    try {
      sgd_.advance(steps);
    } catch (const ConvergenceError& e) {
      divergence_step_ = sgd_.step() + 1;
      divergence_reason_ = e.what();
    }
    return sgd_.step() - before;
  }
  std::uint64_t step() const override { return sgd_.step(); }
  bool diverged() const override { return divergence_step_ > 0; }
  std::uint64_t divergence_step() const override { return divergence_step_; }
  std::string divergence_reason() const override { return divergence_reason_; }
  double flow_time() const override { return sgd_.flow_time(); }
  Eigen::MatrixXd weights() const override { return sgd_.parameters(); }

 private:
  GenericLabelNoiseSgd sgd_;
  std::uint64_t divergence_step_ = 0;
  std::string divergence_reason_;
};

}  // namespace

// --- the two-layer network

double TwoLayerLabelNoiseDynamics::label_scale() const { return std::max(1.0, model_.y().cwiseAbs().maxCoeff()); }

double TwoLayerLabelNoiseDynamics::max_residual(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return zeroloss::max_residual(model_, x);
}

double TwoLayerLabelNoiseDynamics::loss(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return evaluate(model_, x).loss;
}

double TwoLayerLabelNoiseDynamics::sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return SharpnessGeometry(model_, x).sharpness();
}

Eigen::MatrixXd TwoLayerLabelNoiseDynamics::riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return SharpnessGeometry(model_, x).riemannian_gradient();
}

std::pair<Eigen::MatrixXd, double> TwoLayerLabelNoiseDynamics::project(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                                       ProjectionMethod method,
                                                                       const ProjectionOptions& options) const {
  ProjectionResult r = zeroloss::project(model_, x0, method, options);
  return {std::move(r.theta), r.summary.distance_moved};
}

FlowSummary TwoLayerLabelNoiseDynamics::integrate_flow(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                       const FlowOptions& options, const FlowObserver& observer) const {
  const auto forward = [&](const FlowSample& s) {
    return !observer || observer({s.t, s.tau, s.accepted, s.beta, s.sharpness, s.gradient_norm});
  };
  return integrate_sharpness_flow(model_, x0, options, forward).summary;
}

std::unique_ptr<LabelNoiseSgdPath> TwoLayerLabelNoiseDynamics::label_noise_sgd(
    const Eigen::Ref<const Eigen::MatrixXd>& x0, const SgdParameters& parameters) const {
  return std::make_unique<TwoLayerSgdPath>(model_, x0, parameters);
}

// --- any SquaredLossModel, parameter columns

ModelLabelNoiseDynamics::ModelLabelNoiseDynamics(std::shared_ptr<const SquaredLossModel> model)
    : model_(std::move(model)) {
  if (!model_) throw InputError("label-noise dynamics: no model");
}

double ModelLabelNoiseDynamics::label_scale() const { return std::max(1.0, model_->labels().cwiseAbs().maxCoeff()); }

double ModelLabelNoiseDynamics::max_residual(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return model_->max_residual(column(x));
}

double ModelLabelNoiseDynamics::loss(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  const auto point = model_->evaluate(column(x));
  return (point->outputs() - model_->labels()).squaredNorm() / (2.0 * model_->num_samples());
}

double ModelLabelNoiseDynamics::sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return model_->evaluate(column(x))->sharpness();
}

Eigen::MatrixXd ModelLabelNoiseDynamics::riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return RiemannianSharpness(model_, column(x)).riemannian_gradient();
}

std::pair<Eigen::MatrixXd, double> ModelLabelNoiseDynamics::project(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                                    ProjectionMethod method,
                                                                    const ProjectionOptions& options) const {
  ParameterProjection r = zeroloss::project(model_, column(x0), method, options);
  return {std::move(r.theta), r.summary.distance_moved};
}

FlowSummary ModelLabelNoiseDynamics::integrate_flow(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                    const FlowOptions& options, const FlowObserver& observer) const {
  const auto forward = [&](const ParameterFlowSample& s) {
    if (!observer) return true;
    const Eigen::MatrixXd x = *s.theta;
    return observer({s.t, s.tau, s.accepted, &x, s.sharpness, s.gradient_norm});
  };
  return integrate_sharpness_flow(model_, column(x0), options, forward).summary;
}

std::unique_ptr<LabelNoiseSgdPath> ModelLabelNoiseDynamics::label_noise_sgd(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                                             const SgdParameters& parameters) const {
  return std::make_unique<GenericSgdPath>(model_, column(x0), parameters);
}

}  // namespace zeroloss
