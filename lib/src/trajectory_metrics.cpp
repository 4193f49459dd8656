#include "zeroloss/trajectory_metrics.hpp"

#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/projection.hpp"
#include "zeroloss/sharpness.hpp"

namespace zeroloss {

std::optional<double> mean_pairwise_cosine(const Eigen::Ref<const Eigen::MatrixXd>& beta) {
  // sum_{j<k} u_j . u_k = (|sum_j u_j|^2 - sum_j |u_j|^2) / 2 over the unit rows u_j: O(m p) time and
  // O(p) memory (the m x m Gram matrix would be 800 MB at m = 10^4). The absolute error of the mean
  // is a few machine epsilons (|sum u|^2 <= count^2, divided by count (count - 1) / 2 pairs).
  const Eigen::Index p = beta.cols();
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(p);
  double squares = 0;
  long count = 0;
  for (Eigen::Index j = 0; j < beta.rows(); ++j) {
    const double norm = beta.row(j).norm();
    if (!(norm > 0)) continue;
    sum.noalias() += beta.row(j).transpose() / norm;
    squares += (beta.row(j) / norm).squaredNorm();
    ++count;
  }
  if (count < 2) return std::nullopt;
  const double pairs = 0.5 * static_cast<double>(count) * static_cast<double>(count - 1);
  return 0.5 * (sum.squaredNorm() - squares) / pairs;
}

TrajectoryMetrics compute_trajectory_metrics(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                             const RankOneOptimum* optimum, bool with_gradient, bool with_projection) {
  model.check_weights(beta, "trajectory weights");
  TrajectoryMetrics out;
  {
    // Memory (each n x m matrix is 8 MB at n = 100, m = 10^4): R, phi and phi' only, phi' released
    // after T, phi after its singular values; the evaluation is gone before the Riemannian gradient
    // and the projection evaluate again.
    NetworkEvaluation e = evaluate(model, beta, 1);
    out.loss = e.loss;
    const Eigen::VectorXd a2 = model.a().array().square();
    out.sharpness = model.row_norms_squared().dot(e.dphi.array().square().matrix() * a2) / model.n();
    e.dphi.resize(0, 0);
    if (!(e.R.allFinite() && e.phi.allFinite()))
      throw InputError("trajectory metrics: the pre-activations or features are not finite at this point");
    out.feature_singular_values = Eigen::BDCSVD<Eigen::MatrixXd>(e.phi).singularValues();
    e.phi.resize(0, 0);
    out.preactivation_singular_values = Eigen::BDCSVD<Eigen::MatrixXd>(e.R).singularValues();
    if (optimum) {
      if (optimum->preactivations.rows() != e.R.rows() || optimum->preactivations.cols() != e.R.cols()) {
        throw InputError("trajectory metrics: the optimum's pre-activations are " +
                         std::to_string(optimum->preactivations.rows()) + " x " +
                         std::to_string(optimum->preactivations.cols()) + "; expected n x m = " +
                         std::to_string(e.R.rows()) + " x " + std::to_string(e.R.cols()));
      }
      out.sharpness_gap = out.sharpness - optimum->sharpness;
      out.distance_to_optimum = (e.R - optimum->preactivations).norm();
    }
  }
  out.mean_pairwise_cosine = mean_pairwise_cosine(beta);
  if (with_gradient) {
    try {
      out.gradient_norm = riemannian_gradient_norm(model, beta);
    } catch (const SingularPointError&) {
      out.gradient_norm.reset();  // J J^T singular here: the Riemannian gradient does not exist
    }
  }
  if (with_projection) {
    try {
      const ProjectionResult pr = project_newton(model, beta);
      const NetworkEvaluation ep = evaluate(model, pr.theta, 1);
      const Eigen::VectorXd a2 = model.a().array().square();
      out.sharpness_on_manifold = model.row_norms_squared().dot(ep.dphi.array().square().matrix() * a2) / model.n();
      if (optimum) out.sharpness_gap_on_manifold = *out.sharpness_on_manifold - optimum->sharpness;
    } catch (const Error&) {
      // Too far from M (or singular there): the projected value does not exist; left empty.
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

}  // namespace zeroloss
