#pragma once
// The ways of getting onto the zero-loss manifold, for any SquaredLossModel, and one entry point.

#include <Eigen/Dense>

#include <memory>
#include <string>
#include <vector>

#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

// ProjectionMethod and its to_string are in projection_options.hpp.
// The inverse of to_string; InputError naming the known methods otherwise.
ProjectionMethod parse_projection_method(const std::string& name);
// Every method's name, in the order of the enum.
const std::vector<std::string>& projection_method_names();

// Runs the method (see its header for what it returns and throws).
ParameterProjection project(const std::shared_ptr<const SquaredLossModel>& model,
                            const Eigen::Ref<const Eigen::VectorXd>& theta0, ProjectionMethod method,
                            const ProjectionOptions& options = {});

}  // namespace zeroloss
