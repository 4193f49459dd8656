#pragma once
// The nearest point of the zero-loss manifold, argmin { ||theta' - theta0|| : f(theta') = y }, for any
// SquaredLossModel: Newton's method on the KKT system of the Lagrangian
//   1/2 ||u - theta0||^2 + mu^T (f(u) - y),
// residuals r_u = u - theta0 + J^T mu and r_f = f(u) - y, with the exact Lagrangian Hessian
//   H = I + sum_i mu_i Hess f_i,
// which the model supplies as diagonal blocks (ModelPoint::constraint_hessian_blocks). The Newton
// step [H J^T; J 0] [du; dmu] = -[r_u; r_f] is solved through the Schur complement
//   S = J H^{-1} J^T,  S dmu = r_f - J H^{-1} r_u,  du = -H^{-1} (r_u + J^T dmu)
// when every block of H is positive definite, and by a pivoted LU of the whole (P + n) square KKT
// matrix otherwise (dense; refused by the dense limit for large P).
// Safeguards: the iteration starts at the Newton projection with least-squares multipliers and
// backtracks on the merit ||r_u||^2 + ||r_f||^2 (the Newton direction is a descent direction for it).
//
// Converged when max_i |f_i - y_i| <= absolute_residual_tolerance and ||P (u - theta0)|| <=
// options.optimality_tolerance * max(1, ||u - theta0||). The result is verified before it is
// returned: H is positive definite on the tangent space (a strict local minimum of the distance;
// summary.lagrangian_hessian_min_eigenvalue, from a dense tangent basis, refused by the dense limit
// for large P unless every block of H is positive definite) and the point is not farther than the
// Newton projection; summary.normal_defect = ||P (u - theta0)|| / ||u - theta0||.
//
// Throws InputError on a malformed start; ConvergenceError if the KKT iteration does not converge,
// finds no decrease, meets a singular KKT matrix (a focal point of the distance), or ends at a point
// that fails the verification; SingularPointError where J J^T is singular.

#include <Eigen/Dense>

#include <memory>

#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/manifold/projection_options.hpp"
#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss {

ParameterProjection project_nearest(const std::shared_ptr<const SquaredLossModel>& model,
                                    const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                    const ProjectionOptions& options = {});

}  // namespace zeroloss
