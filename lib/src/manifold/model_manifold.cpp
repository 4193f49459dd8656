#include "zeroloss/manifold/model_manifold.hpp"

#include "orthographic_newton.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

struct ModelManifold::Cache {
  Eigen::VectorXd x;
  bool regular = false;      // J J^T positive definite and well conditioned at x
  bool basis_ok = false;     // P(x) B_ref has full rank
  double quality = 0;        // sigma_min(P(x) B_ref)
  Eigen::MatrixXd J;         // dense J(x), n x P
  Eigen::MatrixXd B;         // tangent basis at x
  std::string problem;       // why the basis is unavailable
};

ModelManifold::ModelManifold(std::shared_ptr<const SquaredLossModel> model,
                             const Eigen::Ref<const Eigen::VectorXd>& reference, const ProjectionOptions& options)
    : model_(std::move(model)), options_(options) {
  if (!model_) throw InputError("zero-loss manifold: no model");
  model_->check_parameters(reference, "manifold reference point");
  const int n = model_->num_samples(), P = model_->num_parameters();
  ambient_ = P;
  tangent_ = P - n;
  if (tangent_ <= 0) {
    throw InputError("zero-loss manifold of the " + model_->description() + ": P = " + std::to_string(P) +
                     " parameters <= n = " + std::to_string(n) + " constraints leave no tangent directions");
  }
  {
    // J (n x P), the full Q of J^T (P square) and the tangent basis (P x (P - n)).
    const long double N = n, PP = P, K = tangent_;
    require_dense_memory(N * PP + PP * PP + PP * K,
                         "the Ceres zero-loss manifold's tangent basis (the full Q factor of J^T, P = " +
                             std::to_string(P) + " square)",
                         "Use a smaller model (fewer parameters P), or a projection or flow without it.");
  }
  const double tol = absolute_residual_tolerance(options_, model_->labels());
  const ManifoldPoint point(model_, reference, options_.max_condition);
  const double res = point.max_residual();
  if (!(res <= tol)) {
    throw InputError("zero-loss manifold: the reference point is not on M (max residual " + short_number(res) +
                     ", tolerance " + short_number(tol) + "); project it first");
  }
  if (!point.regular()) point.solve_gram(Eigen::VectorXd::Zero(n));  // throws SingularPointError
  const Eigen::MatrixXd J = point.evaluation().jacobian();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(J.transpose());
  const Eigen::MatrixXd Q = qr.householderQ();
  reference_basis_ = Q.rightCols(tangent_);
}

ModelManifold::~ModelManifold() = default;

long ModelManifold::fallback_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fallbacks_;
}

const ModelManifold::Cache& ModelManifold::cached(const double* xp) const {
  const Eigen::Map<const Eigen::VectorXd> x(xp, ambient_);
  if (cache_ && cache_->x.size() == x.size() && cache_->x == x) return *cache_;
  auto c = std::make_unique<Cache>();
  c->x = x;
  if (!x.allFinite()) {
    c->problem = "non-finite point";
    cache_ = std::move(c);
    return *cache_;
  }
  const ManifoldPoint point(model_, c->x, options_.max_condition);
  c->regular = point.regular();
  if (!c->regular) {
    c->problem = "J J^T is singular or numerically singular (condition " + short_number(point.condition()) + ")";
    cache_ = std::move(c);
    return *cache_;
  }
  c->J = point.evaluation().jacobian();
  // A = P(x) B_ref = B_ref - J^T (J J^T)^{-1} J B_ref; B = A (A^T A)^{-1/2}.
  const Eigen::MatrixXd C = c->J * reference_basis_;  // n x k
  Eigen::MatrixXd GinvC(C.rows(), C.cols());
  for (Eigen::Index k = 0; k < C.cols(); ++k) GinvC.col(k) = point.solve_gram(C.col(k));
  Eigen::MatrixXd PA = reference_basis_;
  PA.noalias() -= c->J.transpose() * GinvC;
  const Eigen::MatrixXd AtA = PA.transpose() * PA;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(AtA);
  const double lmin = es.eigenvalues()(0);
  c->quality = std::sqrt(std::max(lmin, 0.0));
  if (!(lmin > 1e-12)) {
    c->problem = "the tangent space is (nearly) orthogonal to the reference tangent space (basis quality " +
                 short_number(c->quality) + "); re-anchor the manifold at a nearer reference point";
    cache_ = std::move(c);
    return *cache_;
  }
  const Eigen::VectorXd inv_sqrt = es.eigenvalues().cwiseSqrt().cwiseInverse();
  c->B = PA * (es.eigenvectors() * inv_sqrt.asDiagonal() * es.eigenvectors().transpose());
  c->basis_ok = true;
  cache_ = std::move(c);
  return *cache_;
}

Eigen::MatrixXd ModelManifold::tangent_basis(const Eigen::Ref<const Eigen::VectorXd>& x) const {
  if (x.size() != ambient_) {
    throw InputError("zero-loss manifold: point of size " + std::to_string(x.size()) + ", expected P = " +
                     std::to_string(ambient_));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const Eigen::VectorXd xv = x;
  const Cache& c = cached(xv.data());
  if (!c.regular) throw SingularPointError("zero-loss manifold: " + c.problem, std::numeric_limits<double>::infinity());
  if (!c.basis_ok) throw ConvergenceError("zero-loss manifold: " + c.problem);
  return c.B;
}

double ModelManifold::basis_quality(const Eigen::Ref<const Eigen::VectorXd>& x) const {
  if (x.size() != ambient_) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  const Eigen::VectorXd xv = x;
  return cached(xv.data()).quality;
}

bool ModelManifold::Plus(const double* xp, const double* deltap, double* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Cache& c = cached(xp);
  if (!c.basis_ok) return false;
  const int n = model_->num_samples();
  const Eigen::Map<const Eigen::VectorXd> x(xp, ambient_);
  const Eigen::Map<const Eigen::VectorXd> delta(deltap, tangent_);
  const Eigen::VectorXd u0 = x + c.B * delta;
  if (!u0.allFinite()) return false;
  const double tol = absolute_residual_tolerance(options_, model_->labels());

  // Orthographic retraction: u = x + s B delta + J(x)^T mu(s) with f(u) = y, followed from s = 0
  // (mu = 0) to s = 1. Tried in one Newton solve first, then by continuation in K = 2, 4, ..., 256
  // substeps (each Newton solve started from the previous mu, extrapolated linearly): the same branch
  // of solutions, so the same map, computed more robustly for long steps.
  Eigen::VectorXd u;
  for (int K = 1; K <= 256; K *= 2) {
    Eigen::VectorXd mu = Eigen::VectorXd::Zero(n), mu_prev = mu;
    bool ok = true;
    for (int k = 1; k <= K && ok; ++k) {
      const Eigen::VectorXd base = x + (static_cast<double>(k) / K) * (c.B * delta);
      const Eigen::VectorXd guess = (k > 1) ? Eigen::VectorXd(2 * mu - mu_prev) : mu;
      mu_prev = mu;
      mu = guess;
      ok = orthographic_solve(c, base, tol, &mu, &u);
    }
    if (ok) {
      Eigen::Map<Eigen::VectorXd>(out, ambient_) = u;
      return true;
    }
  }
  // Fallback for steps beyond the orthographic retraction's domain: the minimum-norm Newton
  // projection of x + B delta (a point of M, but Minus does not invert it).
  try {
    const ParameterProjection r = project_newton(model_, u0, options_);
    Eigen::Map<Eigen::VectorXd>(out, ambient_) = r.theta;
    ++fallbacks_;
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool ModelManifold::orthographic_solve(const Cache& c, const Eigen::VectorXd& base, double tol, Eigen::VectorXd* mu,
                                       Eigen::VectorXd* u) const {
  // detail::orthographic_newton with J(u) J(x)^T from the model's dense Jacobian at u.
  struct Evaluation {
    std::unique_ptr<const ModelPoint> point;
    const Cache* c;
    Eigen::VectorXd residuals;
    Eigen::MatrixXd newton_matrix() const { return point->jacobian() * c->J.transpose(); }
  };
  auto evaluate_at = [&](const Eigen::VectorXd& point) {
    Evaluation ev{model_->evaluate(point), &c, {}};
    ev.residuals = ev.point->outputs() - model_->labels();
    return ev;
  };
  return detail::orthographic_newton(c.J, base, tol, options_.max_iterations, evaluate_at, mu, u);
}

bool ModelManifold::PlusJacobian(const double* xp, double* jacobian) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Cache& c = cached(xp);
  if (!c.basis_ok) return false;
  Eigen::Map<RowMajorMatrix>(jacobian, ambient_, tangent_) = c.B;
  return true;
}

bool ModelManifold::Minus(const double* yp, const double* xp, double* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Cache& c = cached(xp);
  if (!c.basis_ok) return false;
  const Eigen::Map<const Eigen::VectorXd> x(xp, ambient_), y(yp, ambient_);
  Eigen::Map<Eigen::VectorXd>(out, tangent_).noalias() = c.B.transpose() * (y - x);
  return true;
}

bool ModelManifold::MinusJacobian(const double* xp, double* jacobian) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Cache& c = cached(xp);
  if (!c.basis_ok) return false;
  Eigen::Map<RowMajorMatrix>(jacobian, tangent_, ambient_) = c.B.transpose();
  return true;
}

}  // namespace zeroloss
