#pragma once
// The ConvexityGeometry (convexity_geometry.hpp) of any SquaredLossModel, on the model interface:
// working and caller's coordinates are both the parameter column theta (P x 1); the tangent space is
// all of ker J (dimension P - n), its basis ManifoldPoint::tangent_basis, the Hessian
// RiemannianSharpness::riemannian_hessian_matrix, geodesics trace_geodesic, the projection
// project_newton. Random points: Gaussian parameters with RMS entry `scale`.
//
// The minimizer of T is model-specific: pass it as `minimizer` (diagonal_linear_convexity_geometry
// passes the certified optimum of THEORY 9); without one the analysis runs without a default anchor.

#include <functional>
#include <memory>

#include "zeroloss/diagnostics/convexity_geometry.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

class ModelConvexityGeometry final : public ConvexityGeometry {
 public:
  // The minimizer of T from a reference point (caller's coordinates, P x 1): the point (P x 1), T
  // there and a one-line description; it throws Error when there is none.
  struct Minimizer {
    Eigen::VectorXd theta;
    std::string description;
  };
  using MinimizerFunction = std::function<Minimizer(const Eigen::VectorXd& reference)>;

  // `name` is what results report as the model (e.g. "diagonal-linear").
  ModelConvexityGeometry(std::shared_ptr<const SquaredLossModel> model, std::string name,
                         MinimizerFunction minimizer = {});

  const SquaredLossModel& model() const { return *model_; }

  std::string model_name() const override { return name_; }
  int num_samples() const override { return model_->num_samples(); }
  double label_scale() const override;
  int tangent_dimension() const override { return model_->num_parameters() - model_->num_samples(); }
  void require_tangent_directions() const override;

  void check_point(const Eigen::Ref<const Eigen::MatrixXd>& theta, const std::string& what) const override;
  double max_residual(const Eigen::Ref<const Eigen::MatrixXd>& theta) const override;
  Eigen::MatrixXd zero_point() const override { return Eigen::MatrixXd::Zero(model_->num_parameters(), 1); }
  Eigen::MatrixXd reduce(const Eigen::Ref<const Eigen::MatrixXd>& theta) const override { return theta; }
  Eigen::MatrixXd lift(const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>&) const override {
    return x;
  }
  Eigen::MatrixXd lift_tangent(const Eigen::Ref<const Eigen::MatrixXd>& w) const override { return w; }
  std::optional<AssumptionReport> assumptions(const std::vector<Eigen::MatrixXd>&) const override {
    return std::nullopt;
  }

  ConvexityMeasurement measure(const Eigen::Ref<const Eigen::MatrixXd>& x,
                               const LanczosWarmStart* warm = nullptr) const override;
  double sharpness(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  Eigen::MatrixXd riemannian_gradient(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  ConvexityHessian hessian(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  HessianExtremes hessian_extremes(const Eigen::Ref<const Eigen::MatrixXd>& x, SpectrumMethod method,
                                   const LanczosOptions& options, Eigen::VectorXd* all = nullptr,
                                   const LanczosWarmStart* warm = nullptr) const override;
  double hessian_form(const Eigen::Ref<const Eigen::MatrixXd>& x,
                      const Eigen::Ref<const Eigen::MatrixXd>& w) const override;
  Eigen::MatrixXd tangent_projection(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                     const Eigen::Ref<const Eigen::MatrixXd>& v) const override;
  Eigen::MatrixXd tangent_basis(const Eigen::Ref<const Eigen::MatrixXd>& x) const override;
  Eigen::MatrixXd to_working(const Eigen::Ref<const Eigen::VectorXd>& flat) const override { return flat; }
  Eigen::VectorXd flatten(const Eigen::Ref<const Eigen::MatrixXd>& w) const override { return w; }
  Eigen::MatrixXd random_point(std::mt19937_64& rng, double scale) const override;
  std::pair<Eigen::MatrixXd, double> project(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                             const ProjectionOptions& options) const override;
  std::pair<Eigen::MatrixXd, Eigen::MatrixXd> geodesic(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                       const Eigen::Ref<const Eigen::MatrixXd>& w, double s,
                                                       const GeodesicOptions& options) const override;
  AnchorInfo minimizer_anchor(const Eigen::Ref<const Eigen::MatrixXd>& reference,
                              std::optional<Eigen::MatrixXd>& anchor) const override;

 private:
  std::shared_ptr<const SquaredLossModel> model_;
  std::string name_;
  MinimizerFunction minimizer_;
};

// The diagonal linear network's geometry, with the certified weighted-l1 optimum
// (diagonal_linear_optimum, THEORY 9) as its minimizer; the flow to it starts from the reference,
// or from a positive random start (random_diagonal_start, scale 1, seed 0) when the reference is zero.
ModelConvexityGeometry diagonal_linear_convexity_geometry(std::shared_ptr<const DiagonalLinearNetwork> model);

}  // namespace zeroloss
