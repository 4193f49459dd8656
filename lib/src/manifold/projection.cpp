// The two-layer network's projection dispatcher: one entry point for every method of getting onto M.

#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/projection.hpp"

namespace zeroloss {

ProjectionResult project(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                         ProjectionMethod method, const ProjectionOptions& options) {
  switch (method) {
    case ProjectionMethod::Newton: return project_newton(model, theta, options);
    case ProjectionMethod::Nearest: return project_nearest(model, theta, options);
    case ProjectionMethod::GradientFlow: return project_gradient_flow(model, theta, options);
    case ProjectionMethod::Ceres: return project_ceres(model, theta, options);
  }
  throw InputError("projection method: unknown enum value");
}

}  // namespace zeroloss
