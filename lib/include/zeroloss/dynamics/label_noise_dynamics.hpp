#pragma once
// Label-noise SGD and its limiting flow on one model, in one coordinate system (THEORY 7): what the
// algorithms that follow trajectories need (convexity along trajectories,
// diagnostics/trajectory_convexity.hpp; the SGD-against-flow comparison, runs/sgd_flow_comparison.hpp),
// written once against this class:
//   the Riemannian flow of T, d x / dt = -C grad_M T (the library's one projected integration loop),
//   label-noise SGD from a start, the projections onto M by any ProjectionMethod, and T, grad_M T,
//   the residual and the loss at a point.
//
// Implementations:
//   TwoLayerLabelNoiseDynamics  the two-layer network as given (pass the reduced network to work in
//                               reduced coordinates, THEORY 4), with its specialised SGD kernel
//                               (LabelNoiseSgd), structured geometry (SharpnessGeometry) and
//                               projections (manifold/projection.hpp);
//   ModelLabelNoiseDynamics     any SquaredLossModel on its parameter column: the generic flow
//                               (dynamics/riemannian_flow.hpp), GenericLabelNoiseSgd,
//                               RiemannianSharpness and the generic projections.
// On the two-layer network both take the same steps (the generic SGD draws the kernel's batches and
// noise; the flow is the same integration loop), so their trajectories agree to rounding
// (tests/label_noise_dynamics_test.cpp: 1e-12).

#include <Eigen/Dense>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "zeroloss/dynamics/flow_options.hpp"
#include "zeroloss/dynamics/label_noise_sgd.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

// One label-noise SGD run.
class LabelNoiseSgdPath {
 public:
  virtual ~LabelNoiseSgdPath() = default;
  // Takes up to `steps` steps and returns how many it took: fewer when the run diverges, which it
  // does not throw for (the state is then the last finite one).
  virtual std::uint64_t advance(std::uint64_t steps) = 0;
  virtual std::uint64_t step() const = 0;
  virtual bool diverged() const = 0;
  // The refused step (1-based) and why, once diverged().
  virtual std::uint64_t divergence_step() const = 0;
  virtual std::string divergence_reason() const = 0;
  // s^2 eta^2 k / (4B) (dynamics/label_noise_time_scale.hpp).
  virtual double flow_time() const = 0;
  virtual Eigen::MatrixXd weights() const = 0;
};

// A state of the flow handed to the observer.
struct LabelNoiseFlowState {
  double t = 0, tau = 0;                    // tau = C t
  std::uint64_t accepted = 0;               // accepted integrator steps so far
  const Eigen::MatrixXd* x = nullptr;       // on M
  double sharpness = 0, gradient_norm = 0;  // T and ||grad_M T|| there
};

class LabelNoiseDynamics {
 public:
  // Return false to stop the integration.
  using FlowObserver = std::function<bool(const LabelNoiseFlowState&)>;

  virtual ~LabelNoiseDynamics() = default;
  // n and max(1, max_i |y_i|) (the scale of the on-M tolerances).
  virtual int num_samples() const = 0;
  virtual double label_scale() const = 0;
  // max_i |f_i - y_i| and the loss L = (1/2n) sum_i (f_i - y_i)^2 at x.
  virtual double max_residual(const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;
  virtual double loss(const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;
  // T and grad_M T at x on M.
  virtual double sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;
  virtual Eigen::MatrixXd riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const = 0;
  // The projection of x0 onto M by `method`: the point and ||point - x0||. Throws as the method does
  // (ConvergenceError, SingularPointError).
  virtual std::pair<Eigen::MatrixXd, double> project(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                     ProjectionMethod method,
                                                     const ProjectionOptions& options) const = 0;
  // d x / dt = -C grad_M T from x0 on M, dynamics/riemannian_flow.hpp's contract (the observer at
  // t = 0, at the sample times and at the end; the same exceptions).
  virtual FlowSummary integrate_flow(const Eigen::Ref<const Eigen::MatrixXd>& x0, const FlowOptions& options,
                                     const FlowObserver& observer) const = 0;
  // Label-noise SGD from x0 (may be off M) with these parameters (InputError on bad ones).
  virtual std::unique_ptr<LabelNoiseSgdPath> label_noise_sgd(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                             const SgdParameters& parameters) const = 0;
};

class TwoLayerLabelNoiseDynamics final : public LabelNoiseDynamics {
 public:
  // Works on `model` as given (weights m x d of it); shares its data.
  explicit TwoLayerLabelNoiseDynamics(const TwoLayerModel& model) : model_(model) {}
  int num_samples() const override { return model_.n(); }
  double label_scale() const override;
  double max_residual(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  double loss(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  double sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  Eigen::MatrixXd riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  std::pair<Eigen::MatrixXd, double> project(const Eigen::Ref<const Eigen::MatrixXd>& x0, ProjectionMethod method,
                                             const ProjectionOptions& options) const override;
  FlowSummary integrate_flow(const Eigen::Ref<const Eigen::MatrixXd>& x0, const FlowOptions& options,
                             const FlowObserver& observer) const override;
  std::unique_ptr<LabelNoiseSgdPath> label_noise_sgd(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                     const SgdParameters& parameters) const override;

 private:
  TwoLayerModel model_;
};

class ModelLabelNoiseDynamics final : public LabelNoiseDynamics {
 public:
  // Points are parameter columns (P x 1). InputError on a null model.
  explicit ModelLabelNoiseDynamics(std::shared_ptr<const SquaredLossModel> model);
  int num_samples() const override { return model_->num_samples(); }
  double label_scale() const override;
  double max_residual(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  double loss(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  double sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  Eigen::MatrixXd riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  std::pair<Eigen::MatrixXd, double> project(const Eigen::Ref<const Eigen::MatrixXd>& x0, ProjectionMethod method,
                                             const ProjectionOptions& options) const override;
  FlowSummary integrate_flow(const Eigen::Ref<const Eigen::MatrixXd>& x0, const FlowOptions& options,
                             const FlowObserver& observer) const override;
  std::unique_ptr<LabelNoiseSgdPath> label_noise_sgd(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                                     const SgdParameters& parameters) const override;

 private:
  std::shared_ptr<const SquaredLossModel> model_;
};

}  // namespace zeroloss
