#pragma once
// The two-layer network's ConvexityGeometry (convexity_geometry.hpp): working coordinates are the
// reduced weights beta = Theta U (m x p, THEORY 4), the non-trivial tangent space is
// T M intersect span(X)^m of dimension m p - n, and the Hessian is SharpnessGeometry's
// riemannian_hessian_matrix (the numbers `zeroloss inspect` prints). Geodesics run
// GeodesicIntegrator::trace_reduced, the projection project_newton, the minimizer sharpness_minimum.

#include "zeroloss/diagnostics/convexity_geometry.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"

namespace zeroloss {

class TwoLayerConvexityGeometry final : public ConvexityGeometry {
 public:
  explicit TwoLayerConvexityGeometry(const TwoLayerModel& model);

  const TwoLayerModel& model() const { return model_; }
  const TwoLayerModel& reduced_model() const { return reduced_; }

  std::string model_name() const override;
  int num_samples() const override { return model_.n(); }
  double label_scale() const override;
  int tangent_dimension() const override;
  void require_tangent_directions() const override;

  void check_point(const Eigen::Ref<const Eigen::MatrixXd>& theta, const std::string& what) const override;
  double max_residual(const Eigen::Ref<const Eigen::MatrixXd>& theta) const override;
  Eigen::MatrixXd zero_point() const override;
  Eigen::MatrixXd reduce(const Eigen::Ref<const Eigen::MatrixXd>& theta) const override;
  Eigen::MatrixXd lift(const Eigen::Ref<const Eigen::MatrixXd>& x,
                       const Eigen::Ref<const Eigen::MatrixXd>& reference) const override;
  Eigen::MatrixXd lift_tangent(const Eigen::Ref<const Eigen::MatrixXd>& w) const override;
  std::optional<AssumptionReport> assumptions(const std::vector<Eigen::MatrixXd>& thetas) const override;

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
  Eigen::MatrixXd to_working(const Eigen::Ref<const Eigen::VectorXd>& flat) const override;
  Eigen::VectorXd flatten(const Eigen::Ref<const Eigen::MatrixXd>& w) const override { return vectorize(w); }
  Eigen::MatrixXd random_point(std::mt19937_64& rng, double scale) const override;
  std::pair<Eigen::MatrixXd, double> project(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                             const ProjectionOptions& options) const override;
  std::pair<Eigen::MatrixXd, Eigen::MatrixXd> geodesic(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                                       const Eigen::Ref<const Eigen::MatrixXd>& w, double s,
                                                       const GeodesicOptions& options) const override;
  AnchorInfo minimizer_anchor(const Eigen::Ref<const Eigen::MatrixXd>& reference,
                              std::optional<Eigen::MatrixXd>& anchor) const override;

 private:
  TwoLayerModel model_;  // shares the model's data (O(1) copy)
  ReducedCoordinates rc_;
  TwoLayerModel reduced_;
};

}  // namespace zeroloss
