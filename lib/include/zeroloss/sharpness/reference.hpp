#pragma once
// Readable full-coordinate reference formulas (THEORY sections 2-3) with every matrix formed
// explicitly: J (n x md), Hess f_i and Hess T (md x md), the projector P. They cost O((md)^2) and
// more and exist so that tests can compare the structured, reduced-coordinate implementation in
// sharpness/sharpness.hpp / manifold/constraint_jacobian.hpp with a second, independent route.

#include <Eigen/Dense>

#include "zeroloss/model/network.hpp"

namespace zeroloss::reference {

// Row i = grad f_i (vectorize() order).
Eigen::MatrixXd jacobian(const TwoLayerModel& model, const Eigen::MatrixXd& theta);
// Hess f_i, md x md.
Eigen::MatrixXd constraint_hessian(const TwoLayerModel& model, const Eigen::MatrixXd& theta, int i);
// P = I - J^T (J J^T)^{-1} J, md x md (formed with a dense solve, no structure used).
Eigen::MatrixXd tangent_projector(const TwoLayerModel& model, const Eigen::MatrixXd& theta);
// T = (1/n) sum_i ||grad f_i||^2.
double sharpness(const TwoLayerModel& model, const Eigen::MatrixXd& theta);
// grad T as a vector in R^{md}, from d/dTheta of (1/n) sum_i ||grad f_i||^2 = (2/n) sum_i Hess f_i grad f_i.
Eigen::VectorXd sharpness_gradient(const TwoLayerModel& model, const Eigen::MatrixXd& theta);
// Hess T, md x md, as (2/n) sum_i (Hess f_i Hess f_i + sum_k (grad f_i)_k d/dTheta Hess f_i[:, k]),
// assembled entrywise from phi''' (third derivatives of f_i).
Eigen::MatrixXd sharpness_hessian(const TwoLayerModel& model, const Eigen::MatrixXd& theta);
// P grad T.
Eigen::VectorXd riemannian_gradient(const TwoLayerModel& model, const Eigen::MatrixXd& theta);
// P (Hess T - sum_i lambda_i Hess f_i) P with lambda = (J J^T)^{-1} J grad T.
Eigen::MatrixXd riemannian_hessian(const TwoLayerModel& model, const Eigen::MatrixXd& theta);

}  // namespace zeroloss::reference
