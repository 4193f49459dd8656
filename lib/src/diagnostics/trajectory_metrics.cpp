#include "zeroloss/diagnostics/trajectory_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/ordered_product.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/numerics/singular_values.hpp"

namespace zeroloss {

namespace {
// Mean over pairs j < k of cos(v_j, v_k) for the nonzero columns v_j of V: sum_{j<k} u_j . u_k =
// (|sum_j u_j|^2 - sum_j |u_j|^2) / 2 over the unit vectors u_j, O(size) time and O(rows) memory
// (the m x m Gram matrix would be 800 MB at m = 10^4). The absolute error of the mean is a few
// machine epsilons (|sum u|^2 <= count^2, divided by count (count - 1) / 2 pairs).
template <class Matrix>
std::optional<double> mean_pairwise_column_cosine(const Matrix& V) {
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(V.rows());
  double squares = 0;
  long count = 0;
  for (Eigen::Index j = 0; j < V.cols(); ++j) {
    const double norm = V.col(j).norm();
    if (!(norm > 0)) continue;
    sum.noalias() += V.col(j) / norm;
    squares += (V.col(j) / norm).squaredNorm();
    ++count;
  }
  if (count < 2) return std::nullopt;
  const double pairs = 0.5 * static_cast<double>(count) * static_cast<double>(count - 1);
  return 0.5 * (sum.squaredNorm() - squares) / pairs;
}
}  // namespace

std::optional<double> mean_pairwise_cosine(const Eigen::Ref<const Eigen::MatrixXd>& beta) {
  return mean_pairwise_column_cosine(beta.transpose());  // a view: column j is row j of beta
}

namespace {

// T = (1/n) sum_i ||x_i||^2 sum_j a_j^2 phi'(r_ij)^2, the formula of SharpnessGeometry::sharpness.
double sharpness_from(const TwoLayerModel& model, const Eigen::MatrixXd& dphi) {
  const Eigen::VectorXd a2 = model.a().array().square();
  return model.row_norms_squared().dot(dphi.array().square().matrix() * a2) / model.n();
}

// K W with K = X X^T (n x n) the data Gram matrix, as X (X^T W) when that is cheaper (2 d < n):
// out = K W, or out -= K W with `subtract`; Xt = X^T. Fixed-order products (numerics/ordered_product.hpp).
void gram_times(const TwoLayerModel& model, const Eigen::MatrixXd& Xt, const Eigen::MatrixXd& W, Eigen::MatrixXd& out,
                bool subtract, InstructionSet set) {
  const ProductUpdate update = subtract ? ProductUpdate::Subtract : ProductUpdate::Assign;
  if (!subtract) out.resize(model.n(), W.cols());
  if (2 * model.d() < model.n()) {
    Eigen::MatrixXd XtW(model.d(), W.cols());
    ordered_product(Xt, W, XtW, ProductUpdate::Assign, set);
    ordered_product(model.X(), XtW, out, update, set);
  } else {
    ordered_product(model.gram(), W, out, update, set);
  }
}

// Cholesky factor of the constraint Gram matrix J J^T = K o (D D^T) (ConstraintJacobian's matrix,
// THEORY 2), with D = phi'(R) diag(a); `rcond` is LLT's reciprocal condition estimate (0 if the
// factorization failed), the quantity ConstraintJacobian::regular() tests.
struct ConstraintGram {
  Eigen::LLT<Eigen::MatrixXd> llt;
  double rcond = 0;
  bool regular(double max_condition) const { return rcond > 0 && 1.0 / rcond <= max_condition; }
};

void factor_constraint_gram(const TwoLayerModel& model, const Eigen::MatrixXd& D, ConstraintGram& out,
                            InstructionSet set) {
  Eigen::MatrixXd G(D.rows(), D.rows());
  ordered_gram(D, G, set);
  G.array() *= model.gram().array();
  out.llt.compute(G);
  out.rcond = out.llt.info() == Eigen::Success ? out.llt.rcond() : 0.0;
}

}  // namespace

// One evaluation of the network at beta is shared by every metric, and the derivative work stays
// in n x m and n x n matrices (K = X X^T the data Gram matrix, D = phi'(R) diag(a)):
//   singular values: numerics/singular_values.hpp (Gram route when well conditioned);
//   ||grad_M T||:    grad T = c^T X with c_ij = (2/n) ||x_i||^2 a_j^2 phi' phi'' (SharpnessGeometry),
//                    J grad T = rowsum(D o (K c)), lambda = (J J^T)^{-1} J grad T,
//                    grad_M T = (c - diag(lambda) D)^T X; never forms J or an m x d matrix beyond
//                    the gradient itself (m x p in reduced coordinates);
//   projection:      project_newton's iteration Theta <- Theta - J^T mu, mu = (J J^T)^{-1} r, moves
//                    the pre-activations by R <- R - K diag(mu) D, so it runs on R alone (T on M
//                    only needs R); the first step reuses the factor of J J^T of the gradient.
// In exact arithmetic every value equals the one of the separate routes (BDCSVD, SharpnessGeometry,
// project_newton + evaluate); tests/trajectory_metrics_test.cpp checks the agreement.
TrajectoryMetrics compute_trajectory_metrics(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                             const RankOneOptimum* optimum, bool with_gradient, bool with_projection,
                                             InstructionSet products) {
  model.check_weights(beta, "trajectory weights");
  Eigen::MatrixXd R(model.n(), model.m());
  ordered_product_transposed(model.X(), beta, R, ProductUpdate::Assign, products);
  return compute_trajectory_metrics(model, beta, std::move(R), optimum, with_gradient, with_projection, products);
}

TrajectoryMetrics compute_trajectory_metrics(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                             Eigen::MatrixXd R, const RankOneOptimum* optimum, bool with_gradient,
                                             bool with_projection, InstructionSet products) {
  if (beta.size() > 0) {
    model.check_weights(beta, "trajectory weights");
  } else if (model.n() != model.d()) {
    throw InputError("trajectory metrics: without the weights the pre-activations determine them only when Z is "
                     "square (n = p), but n = " + std::to_string(model.n()) + " and p = " + std::to_string(model.d()));
  }
  if (R.rows() != model.n() || R.cols() != model.m())
    throw InputError("trajectory metrics: the pre-activations are " + std::to_string(R.rows()) + " x " +
                     std::to_string(R.cols()) + "; expected n x m = " + std::to_string(model.n()) + " x " +
                     std::to_string(model.m()));
  if (!R.allFinite()) throw InputError("trajectory metrics: the pre-activations are not finite at this point");
  const int n = model.n();
  TrajectoryMetrics out;
  // The cosine first: in pre-activation coordinates it needs an n x m matrix of its own, which is then
  // freed before the evaluation's n x m matrices exist (at m = 10^4: 8 MB less at the peak).
  if (beta.size() > 0) {
    out.mean_pairwise_cosine = mean_pairwise_cosine(beta);
  } else {
    // beta_j = Z^{-1} r_j, so beta_j . beta_k = r_j^T K^{-1} r_k = (L^{-1} r_j) . (L^{-1} r_k) with
    // K = Z Z^T = L L^T: the cosines of the columns of L^{-1} R, formed as the fixed-order product of
    // the n x n triangular L^{-1} (n^3 / 6) with R (n^2 m / 2; the columns' error is about
    // cond(Z) eps relative, as for the substitution L \ R).
    const Eigen::LLT<Eigen::MatrixXd> k_llt(model.gram());
    if (k_llt.info() != Eigen::Success)
      throw InputError("trajectory metrics: the data Gram matrix Z Z^T is not positive definite");
    Eigen::MatrixXd L_inverse = Eigen::MatrixXd::Identity(n, n);
    k_llt.matrixL().solveInPlace(L_inverse);
    L_inverse.triangularView<Eigen::StrictlyUpper>().setZero();
    Eigen::MatrixXd U(n, R.cols());
    ordered_lower_triangular_product(L_inverse, R, U, products);
    out.mean_pairwise_cosine = mean_pairwise_column_cosine(U);
  }
  Eigen::MatrixXd phi, dphi, d2phi;
  model.activation().derivatives_of(R, &phi, &dphi, (with_gradient ? &d2phi : nullptr));
  if (!phi.allFinite()) {
    throw InputError("trajectory metrics: the features phi(R) are not finite at this point");
  }
  Eigen::VectorXd residuals = phi * model.a() - model.y();
  out.loss = residuals.squaredNorm() / (2.0 * n);
  out.sharpness = sharpness_from(model, dphi);
  out.feature_singular_values = singular_values(phi, nullptr, products);
  phi.resize(0, 0);  // the n x m matrices are released as soon as they are used (m = 10^4 and more)
  out.preactivation_singular_values = singular_values(R, nullptr, products);
  if (optimum) {
    if (optimum->preactivations.rows() != R.rows() || optimum->preactivations.cols() != R.cols()) {
      throw InputError("trajectory metrics: the optimum's pre-activations are " +
                       std::to_string(optimum->preactivations.rows()) + " x " +
                       std::to_string(optimum->preactivations.cols()) + "; expected n x m = " +
                       std::to_string(R.rows()) + " x " + std::to_string(R.cols()));
    }
    out.sharpness_gap = out.sharpness - optimum->sharpness;
    out.distance_to_optimum = (R - optimum->preactivations).norm();
  }
  if (!with_gradient && !with_projection) return out;

  const Eigen::VectorXd a2 = model.a().array().square();
  Eigen::MatrixXd& c = d2phi;
  if (with_gradient) {  // c_ij = (2/n) ||x_i||^2 a_j^2 phi'(r_ij) phi''(r_ij), in place of phi''
    c.array() *= dphi.array();
    c.array().colwise() *= (2.0 / n) * model.row_norms_squared().array();
    c.array().rowwise() *= a2.transpose().array();
  }
  Eigen::MatrixXd& D = dphi;  // D = phi'(R) diag(a), in place of phi'
  D.array().rowwise() *= model.a().transpose().array();
  const Eigen::MatrixXd Xt = model.X().transpose();
  ConstraintGram gram;
  bool factored = false;
  auto factor = [&]() {
    if (!factored) factor_constraint_gram(model, D, gram, products);
    factored = true;
  };

  if (with_gradient) {
    factor();
    if (gram.regular(ConstraintJacobian::kDefaultMaxCondition)) {
      Eigen::VectorXd Jg;
      {
        Eigen::MatrixXd Kc;
        gram_times(model, Xt, c, Kc, false, products);
        Jg = D.cwiseProduct(Kc).rowwise().sum();
      }
      const Eigen::VectorXd lambda = gram.llt.solve(Jg);
      c -= lambda.asDiagonal() * D;  // c - diag(lambda) D: grad_M T = c^T X
      Eigen::MatrixXd gradient(model.d(), model.m());  // d x m (p x m in reduced coordinates)
      ordered_product(Xt, c, gradient, ProductUpdate::Assign, products);
      out.gradient_norm = gradient.norm();
    }  // else J J^T singular here: the Riemannian gradient does not exist
    c.resize(0, 0);
  }

  if (with_projection) {
    // project_newton (same tolerance, iteration limit and condition limit), on R; any failure
    // leaves the projected value empty, as a thrown Error of project_newton did.
    const ProjectionOptions po;
    const double tol = po.residual_tolerance * std::max(1.0, model.y().cwiseAbs().maxCoeff());
    Eigen::MatrixXd W;
    for (int it = 0;; ++it) {
      if (it > 0) {
        model.activation().derivatives_of(R, &phi, &D, nullptr);
        residuals = phi * model.a() - model.y();
      }
      const double res = residuals.cwiseAbs().maxCoeff();
      if (!std::isfinite(res) || (res > tol && it >= po.max_iterations)) break;  // diverged / not converged
      if (res <= tol) {
        // Here D = phi'(R) (not yet scaled by a) when it > 0; at it = 0 the point was on M already.
        if (it == 0) {
          out.sharpness_on_manifold = out.sharpness;
        } else {
          out.sharpness_on_manifold = sharpness_from(model, D);
        }
        if (optimum) out.sharpness_gap_on_manifold = *out.sharpness_on_manifold - optimum->sharpness;
        break;
      }
      if (it > 0) {
        D.array().rowwise() *= model.a().transpose().array();
        factored = false;
      }
      factor();
      if (!gram.regular(po.max_condition)) break;  // singular: the projection does not exist
      const Eigen::VectorXd mu = gram.llt.solve(residuals);
      W.noalias() = mu.asDiagonal() * D;
      gram_times(model, Xt, W, R, true, products);  // R <- R - K diag(mu) D
    }
  }
  return out;
}

namespace {
std::string cell(const std::optional<double>& v) { return v ? format_double(*v) : std::string(); }
}  // namespace

std::string trajectory_csv_header(int K) {
  std::ostringstream s;
  s << "step,t,tau,loss,sharpness,sharpness_gap,dist_R_opt,mean_cosine,grad_norm,sharpness_on_M,sharpness_gap_on_M";
  for (int k = 1; k <= K; ++k) s << ",sv_phi_" << k;
  for (int k = 1; k <= K; ++k) s << ",sv_R_" << k;
  return s.str();
}

std::string trajectory_csv_line(const TrajectoryRow& row, int K) {
  const TrajectoryMetrics& m = row.metrics;
  std::ostringstream s;
  s << row.step << ',' << format_double(row.t) << ',' << format_double(row.tau) << ',' << format_double(m.loss) << ','
    << format_double(m.sharpness) << ',' << cell(m.sharpness_gap) << ',' << cell(m.distance_to_optimum) << ','
    << cell(m.mean_pairwise_cosine) << ',' << cell(m.gradient_norm) << ',' << cell(m.sharpness_on_manifold) << ','
    << cell(m.sharpness_gap_on_manifold);
  for (int k = 0; k < K; ++k)
    s << ',' << (k < m.feature_singular_values.size() ? format_double(m.feature_singular_values(k)) : "");
  for (int k = 0; k < K; ++k)
    s << ',' << (k < m.preactivation_singular_values.size() ? format_double(m.preactivation_singular_values(k)) : "");
  return s.str();
}

std::string trajectory_csv(const std::vector<TrajectoryRow>& rows, int K) {
  std::string out = trajectory_csv_header(K) + "\n";
  for (const auto& r : rows) out += trajectory_csv_line(r, K) + "\n";
  return out;
}

int numerical_rank(const Eigen::VectorXd& sv, double tol) {
  if (sv.size() == 0 || !(sv(0) > 0)) return 0;
  int r = 0;
  for (Eigen::Index k = 0; k < sv.size(); ++k)
    if (sv(k) > tol * sv(0)) ++r;
  return r;
}

std::optional<std::uint64_t> rank_one_step(const std::vector<TrajectoryRow>& rows, double threshold, bool features) {
  std::optional<std::uint64_t> since;
  for (const auto& r : rows) {
    const Eigen::VectorXd& sv = features ? r.metrics.feature_singular_values : r.metrics.preactivation_singular_values;
    const bool one = sv.size() < 2 || (sv(0) > 0 && sv(1) / sv(0) <= threshold);
    if (one) {
      if (!since) since = r.step;
    } else {
      since.reset();
    }
  }
  return since;
}

}  // namespace zeroloss
