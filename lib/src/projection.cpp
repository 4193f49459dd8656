// The projection dispatcher: one entry point for every method of getting onto M.

#include "zeroloss/errors.hpp"
#include "zeroloss/projection.hpp"

namespace zeroloss {

const std::vector<std::string>& projection_method_names() {
  static const std::vector<std::string> names{"newton", "nearest", "gradient-flow", "ceres"};
  return names;
}

ProjectionResult project(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                         const std::string& method, const ProjectionOptions& options) {
  if (method == "newton") return project_newton(model, theta, options);
  if (method == "nearest") return project_nearest(model, theta, options);
  if (method == "gradient-flow") return project_gradient_flow(model, theta, options);
  if (method == "ceres") return project_ceres(model, theta, options);
  std::string known;
  for (const auto& n : projection_method_names()) known += (known.empty() ? "" : ", ") + n;
  throw InputError("projection method '" + method + "' is unknown; expected one of: " + known);
}

}  // namespace zeroloss
