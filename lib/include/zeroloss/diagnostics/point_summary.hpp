#pragma once
// What `zeroloss inspect` reports about a point for any SquaredLossModel: the constraint residual,
// the loss, the sharpness T and its Riemannian gradient norm, and the condition of J J^T that
// decides whether the point is a smooth point of M (THEORY 2-3, 8).

#include <Eigen/Dense>

#include <memory>
#include <optional>
#include <string>

#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"

namespace zeroloss {

struct PointSummary {
  std::string model;             // SquaredLossModel::description()
  int num_samples = 0;           // n
  int num_parameters = 0;        // P
  int manifold_dimension = 0;    // P - n (where J has full row rank)
  double residual_max = 0;       // max_i |f_i - y_i|
  double loss = 0;               // 1/(2n) sum_i (f_i - y_i)^2
  double sharpness = 0;          // T
  double euclidean_gradient_norm = 0;   // ||grad T||
  bool regular = false;          // J J^T positive definite with condition below the limit
  double gram_condition = 0;     // 2-norm condition number of J J^T (infinity if singular)
  double riemannian_gradient_norm = 0;  // ||grad_M T||; NaN at a singular point (see singular_reason)
  std::string singular_reason;   // empty at a regular point
  // Spectrum of Hess_M T on the tangent space (ascending; empty at a singular point or when not
  // requested). RiemannianSharpness::riemannian_hessian_eigenvalues.
  // (dense path only; the Lanczos path leaves it empty).
  Eigen::VectorXd hessian_eigenvalues;
  // The K smallest and largest with residual certificates (both paths, when requested and regular;
  // sharpness/hessian_spectrum.hpp). Auto: dense up to kDenseSpectrumMaxDimension = P - n.
  std::optional<HessianExtremes> hessian_extremes;
  LanczosOptions lanczos_options;
};

// Throws InputError if theta is malformed for the model; a singular point is reported, not thrown.
PointSummary summarize_point(const std::shared_ptr<const SquaredLossModel>& model,
                             const Eigen::Ref<const Eigen::VectorXd>& theta, bool with_hessian_spectrum,
                             double max_condition = ManifoldPoint::kDefaultMaxCondition,
                             SpectrumMethod spectrum = SpectrumMethod::Auto, const LanczosOptions& lanczos = {});

}  // namespace zeroloss
