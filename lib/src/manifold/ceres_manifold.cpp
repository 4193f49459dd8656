#include "zeroloss/manifold/ceres_manifold.hpp"

#include "manifold/orthographic_newton.hpp"

#include <cmath>
#include <limits>

#include "manifold/riemannian_lbfgs_driver.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/sharpness/sharpness.hpp"

namespace zeroloss {
namespace {

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Dense reduced Jacobian (n x m p), block j = diag(D_:j) Z.
Eigen::MatrixXd dense_jacobian(const Eigen::MatrixXd& Z, const Eigen::MatrixXd& D) {
  const Eigen::Index n = Z.rows(), p = Z.cols(), m = D.cols();
  Eigen::MatrixXd J(n, m * p);
  for (Eigen::Index j = 0; j < m; ++j) J.middleCols(j * p, p) = D.col(j).asDiagonal() * Z;
  return J;
}

}  // namespace

struct ZeroLossManifold::Cache {
  Eigen::VectorXd x;
  bool regular = false;      // J J^T positive definite and well conditioned at x
  bool basis_ok = false;     // P(x) B_ref has full rank
  double quality = 0;        // sigma_min(P(x) B_ref)
  Eigen::MatrixXd D;         // a_j phi'(r_ij) at x
  Eigen::MatrixXd J;         // dense reduced Jacobian at x
  Eigen::MatrixXd B;         // tangent basis at x
  std::string problem;       // why the basis is unavailable
};

ZeroLossManifold::ZeroLossManifold(const TwoLayerModel& reduced_model, const Eigen::Ref<const Eigen::MatrixXd>& reference,
                                   const ProjectionOptions& options)
    : model_(reduced_model), options_(options) {
  reduced_model.check_weights(reference, "manifold reference point");
  const int n = reduced_model.n(), m = reduced_model.m(), p = reduced_model.d();
  ambient_ = m * p;
  tangent_ = ambient_ - n;
  if (tangent_ <= 0) {
    throw InputError("zero-loss manifold: m*p = " + std::to_string(ambient_) + " <= n = " + std::to_string(n) +
                     " (p = rank X): the constraints leave no tangent directions");
  }
  const double tol = absolute_residual_tolerance(options, reduced_model.y());
  const double res = max_residual(reduced_model, reference);
  if (!(res <= tol)) {
    throw InputError("zero-loss manifold: the reference point is not on M (max residual " + short_number(res) +
                     ", tolerance " + short_number(tol) + "); project it first");
  }
  const NetworkEvaluation e = evaluate(reduced_model, reference);
  const ConstraintJacobian cj(reduced_model, e, options.max_condition);
  if (!cj.regular()) cj.solve_gram(Eigen::VectorXd::Zero(n));  // throws SingularPointError
  {
    // J (n x m p), the full Q of J^T (m p square) and the tangent basis (m p x (m p - n)).
    const long double N = n, MP = ambient_, K = tangent_;
    require_dense_memory(N * MP + MP * MP + MP * K,
                         "the Ceres zero-loss manifold's tangent basis (the full Q factor of J, m p = " +
                             std::to_string(ambient_) + " square)",
                         "Use fewer neurons m or data of lower rank p, or a projection without it (newton or "
                         "gradient-flow).");
  }
  const Eigen::MatrixXd J = dense_jacobian(reduced_model.X(), cj.D());
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(J.transpose());
  const Eigen::MatrixXd Q = qr.householderQ();
  reference_basis_ = Q.rightCols(tangent_);
}

ZeroLossManifold::~ZeroLossManifold() = default;

long ZeroLossManifold::fallback_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fallbacks_;
}

const ZeroLossManifold::Cache& ZeroLossManifold::cached(const double* xp) const {
  const Eigen::Map<const Eigen::VectorXd> x(xp, ambient_);
  if (cache_ && cache_->x.size() == x.size() && cache_->x == x) return *cache_;
  auto c = std::make_unique<Cache>();
  c->x = x;
  const int m = model_.m(), p = model_.d();
  const Eigen::MatrixXd beta = unvectorize(x, m, p);
  if (!beta.allFinite()) {
    c->problem = "non-finite point";
    cache_ = std::move(c);
    return *cache_;
  }
  const NetworkEvaluation e = evaluate(model_, beta);
  const ConstraintJacobian cj(model_, e, options_.max_condition);
  c->D = cj.D();
  c->regular = cj.regular();
  if (!c->regular) {
    c->problem = "J J^T is singular or numerically singular (condition " + short_number(cj.condition()) + ")";
    cache_ = std::move(c);
    return *cache_;
  }
  c->J = dense_jacobian(model_.X(), c->D);
  // A = P(x) B_ref = B_ref - J^T (J J^T)^{-1} J B_ref; B = A (A^T A)^{-1/2}.
  const Eigen::MatrixXd C = c->J * reference_basis_;                 // n x k
  Eigen::MatrixXd GinvC(C.rows(), C.cols());
  for (Eigen::Index k = 0; k < C.cols(); ++k) GinvC.col(k) = cj.solve_gram(C.col(k));
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

Eigen::MatrixXd ZeroLossManifold::tangent_basis(const Eigen::Ref<const Eigen::VectorXd>& x) const {
  if (x.size() != ambient_) throw InputError("zero-loss manifold: point of size " + std::to_string(x.size()) +
                                             ", expected m*p = " + std::to_string(ambient_));
  std::lock_guard<std::mutex> lock(mutex_);
  const Eigen::VectorXd xv = x;
  const Cache& c = cached(xv.data());
  if (!c.regular) throw SingularPointError("zero-loss manifold: " + c.problem, std::numeric_limits<double>::infinity());
  if (!c.basis_ok) throw ConvergenceError("zero-loss manifold: " + c.problem);
  return c.B;
}

double ZeroLossManifold::basis_quality(const Eigen::Ref<const Eigen::VectorXd>& x) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Eigen::VectorXd xv = x;
  return cached(xv.data()).quality;
}

bool ZeroLossManifold::Plus(const double* xp, const double* deltap, double* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Cache& c = cached(xp);
  if (!c.basis_ok) return false;
  const int n = model_.n(), m = model_.m(), p = model_.d();
  const Eigen::Map<const Eigen::VectorXd> x(xp, ambient_);
  const Eigen::Map<const Eigen::VectorXd> delta(deltap, tangent_);
  const Eigen::VectorXd u0 = x + c.B * delta;
  if (!u0.allFinite()) return false;
  const double tol = absolute_residual_tolerance(options_, model_.y());

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
    const ProjectionResult r = project_newton(model_, unvectorize(u0, m, p), options_);
    Eigen::Map<Eigen::VectorXd>(out, ambient_) = vectorize(r.theta);
    ++fallbacks_;
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool ZeroLossManifold::orthographic_solve(const Cache& c, const Eigen::VectorXd& base, double tol,
                                          Eigen::VectorXd* mu, Eigen::VectorXd* u) const {
  // detail::orthographic_newton with J(u) J(x)^T = G o (D(u) D(x)^T).
  const int m = model_.m(), p = model_.d();
  struct Evaluation {
    NetworkEvaluation e;
    const ZeroLossManifold* self;
    const Cache* c;
    Eigen::VectorXd residuals;
    Eigen::MatrixXd newton_matrix() const {
      const Eigen::MatrixXd Du = e.dphi * self->model_.a().asDiagonal();
      return self->model_.gram().cwiseProduct(Du * c->D.transpose());
    }
  };
  auto evaluate_at = [&](const Eigen::VectorXd& point) {
    Evaluation ev{evaluate(model_, unvectorize(point, m, p)), this, &c, {}};
    ev.residuals = ev.e.residuals;
    return ev;
  };
  return detail::orthographic_newton(c.J, base, tol, options_.max_iterations, evaluate_at, mu, u);
}

bool ZeroLossManifold::PlusJacobian(const double* xp, double* jacobian) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Cache& c = cached(xp);
  if (!c.basis_ok) return false;
  Eigen::Map<RowMajorMatrix>(jacobian, ambient_, tangent_) = c.B;
  return true;
}

bool ZeroLossManifold::Minus(const double* yp, const double* xp, double* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Cache& c = cached(xp);
  if (!c.basis_ok) return false;
  const Eigen::Map<const Eigen::VectorXd> x(xp, ambient_), y(yp, ambient_);
  Eigen::Map<Eigen::VectorXd>(out, tangent_).noalias() = c.B.transpose() * (y - x);
  return true;
}

bool ZeroLossManifold::MinusJacobian(const double* xp, double* jacobian) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const Cache& c = cached(xp);
  if (!c.basis_ok) return false;
  Eigen::Map<RowMajorMatrix>(jacobian, tangent_, ambient_) = c.B.transpose();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Riemannian L-BFGS: the shared loop (manifold/riemannian_lbfgs_driver.hpp) on ZeroLossManifold.

namespace {

// F and its Euclidean gradient in reduced coordinates, beta (m x p).
using ReducedFn = std::function<double(const Eigen::MatrixXd& beta, Eigen::MatrixXd* grad_beta)>;

// The two-layer problem on x = vectorize(beta): the structured manifold, tangent projection and
// residual of the reduced network.
class TwoLayerLbfgsProblem final : public detail::LbfgsManifoldProblem {
 public:
  TwoLayerLbfgsProblem(const TwoLayerModel& reduced, const ReducedFn& fn, const ProjectionOptions& projection)
      : red_(reduced), fn_(fn), projection_(projection) {}
  int ambient_size() const override { return red_.m() * red_.d(); }
  double value(const Eigen::VectorXd& x, Eigen::VectorXd* gradient) const override {
    if (!gradient) return fn_(unvectorize(x, red_.m(), red_.d()), nullptr);
    Eigen::MatrixXd g;
    const double v = fn_(unvectorize(x, red_.m(), red_.d()), &g);
    if (g.rows() != red_.m() || g.cols() != red_.d()) {
      throw InputError("Riemannian L-BFGS: the objective's gradient is " + std::to_string(g.rows()) + " x " +
                       std::to_string(g.cols()) + ", expected m x p = " + std::to_string(red_.m()) + " x " +
                       std::to_string(red_.d()));
    }
    *gradient = vectorize(g);
    return v;
  }
  double tangent_norm(const Eigen::VectorXd& x, const Eigen::VectorXd& g) const override {
    const NetworkEvaluation e = evaluate(red_, unvectorize(x, red_.m(), red_.d()));
    const ConstraintJacobian cj(red_, e, projection_.max_condition);
    return cj.tangent_projection(unvectorize(g, red_.m(), red_.d())).norm();
  }
  double max_residual(const Eigen::VectorXd& x) const override {
    return evaluate(red_, unvectorize(x, red_.m(), red_.d())).residuals.cwiseAbs().maxCoeff();
  }
  ceres::Manifold* anchored_manifold(const Eigen::VectorXd& x) const override {
    return new ZeroLossManifold(red_, unvectorize(x, red_.m(), red_.d()), projection_);
  }
  double basis_quality(const ceres::Manifold& manifold, const Eigen::VectorXd& x) const override {
    return static_cast<const ZeroLossManifold&>(manifold).basis_quality(x);
  }

 private:
  TwoLayerModel red_;  // shares the model's data (O(1) copy)
  const ReducedFn& fn_;
  ProjectionOptions projection_;
};

ManifoldMinimizationResult minimize_reduced(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                            const ReducedFn& fn, const ManifoldMinimizationOptions& options) {
  const std::string bad = options.validation_error();
  if (!bad.empty()) throw InputError("Riemannian L-BFGS options: " + bad);
  model.check_weights(theta0, "starting weights");
  const ReducedCoordinates rc(model.X());
  const TwoLayerModel red = rc.reduce(model);
  ManifoldMinimizationResult out;
  ManifoldMinimizationSummary& s = out.summary;

  Eigen::MatrixXd beta = rc.reduce(theta0);
  const double tol = absolute_residual_tolerance(options.projection, red.y());
  if (!(max_residual(red, beta) <= tol)) {
    // Newton first; from far away (Newton diverges or stalls) the gradient-flow limit.
    try {
      beta = project_newton(red, beta, options.projection).theta;
    } catch (const ConvergenceError&) {
      ProjectionOptions po = options.projection;
      po.estimate_limit_error = false;
      beta = project_gradient_flow(red, beta, po).theta;
    }
    s.start_projected = true;
  }
  Eigen::VectorXd x = vectorize(beta);
  const TwoLayerLbfgsProblem problem(red, fn, options.projection);
  detail::run_riemannian_lbfgs(problem, options, tol, &x, &s);
  out.theta = rc.lift(unvectorize(x, red.m(), red.d()), theta0);
  return out;
}

}  // namespace

ManifoldMinimizationResult minimize_on_manifold(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                const ManifoldObjective& objective,
                                                const ManifoldMinimizationOptions& options) {
  const ReducedCoordinates rc(model.X());
  const Eigen::MatrixXd theta_ref = theta0;
  const ReducedFn fn = [&](const Eigen::MatrixXd& beta, Eigen::MatrixXd* grad_beta) {
    const Eigen::MatrixXd theta = rc.lift(beta, theta_ref);
    if (!grad_beta) return objective(theta, nullptr);
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(theta.rows(), theta.cols());
    const double v = objective(theta, &g);
    *grad_beta = g * rc.basis();
    return v;
  };
  return minimize_reduced(model, theta0, fn, options);
}

ManifoldMinimizationResult minimize_sharpness_on_manifold(const TwoLayerModel& model,
                                                          const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                          const ManifoldMinimizationOptions& options) {
  const ReducedCoordinates rc(model.X());
  const TwoLayerModel red = rc.reduce(model);
  const ReducedFn fn = [&](const Eigen::MatrixXd& beta, Eigen::MatrixXd* grad_beta) {
    const SharpnessGeometry g(red, beta);
    if (grad_beta) *grad_beta = g.euclidean_gradient();
    return g.sharpness();
  };
  return minimize_reduced(model, theta0, fn, options);
}

}  // namespace zeroloss
