#include "zeroloss/manifold/projection_method.hpp"

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/ceres_projection.hpp"
#include "zeroloss/manifold/gradient_flow_projection.hpp"
#include "zeroloss/manifold/nearest_point_projection.hpp"

namespace zeroloss {

const char* to_string(ProjectionMethod method) {
  switch (method) {
    case ProjectionMethod::Newton: return "newton";
    case ProjectionMethod::Nearest: return "nearest";
    case ProjectionMethod::GradientFlow: return "gradient-flow";
    case ProjectionMethod::Ceres: return "ceres";
  }
  return "unknown";
}

const std::vector<std::string>& projection_method_names() {
  static const std::vector<std::string> names{"newton", "nearest", "gradient-flow", "ceres"};
  return names;
}

ProjectionMethod parse_projection_method(const std::string& name) {
  for (ProjectionMethod m : {ProjectionMethod::Newton, ProjectionMethod::Nearest, ProjectionMethod::GradientFlow,
                             ProjectionMethod::Ceres})
    if (name == to_string(m)) return m;
  std::string known;
  for (const auto& n : projection_method_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError("projection method '" + name + "' is unknown; expected one of: " + known);
}

ParameterProjection project(const std::shared_ptr<const SquaredLossModel>& model,
                            const Eigen::Ref<const Eigen::VectorXd>& theta0, ProjectionMethod method,
                            const ProjectionOptions& options) {
  switch (method) {
    case ProjectionMethod::Newton: return project_newton(model, theta0, options);
    case ProjectionMethod::Nearest: return project_nearest(model, theta0, options);
    case ProjectionMethod::GradientFlow: return project_gradient_flow(model, theta0, options);
    case ProjectionMethod::Ceres: return project_ceres(model, theta0, options);
  }
  throw InputError("projection method: unknown enum value");
}

}  // namespace zeroloss
