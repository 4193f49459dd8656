#include "zeroloss/ceres_manifold.hpp"

#include <ceres/gradient_problem.h>
#include <ceres/gradient_problem_solver.h>
#include <ceres/iteration_callback.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "ceres_logging.hpp"
#include "zeroloss/number_text.hpp"
#include "zeroloss/constraint_jacobian.hpp"
#include "zeroloss/dense_limit.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/reduced_coordinates.hpp"
#include "zeroloss/sharpness.hpp"

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
  // Newton on mu -> f(base + J(x)^T mu) - y, whose Jacobian is J(u) J(x)^T = G o (D(u) D(x)^T).
  // Once within tol, one more step is taken and kept if it lowers the residual further (quadratic
  // convergence then lands at rounding level, well inside tol).
  const int m = model_.m(), p = model_.d();
  double first = -1;
  Eigen::VectorXd within_mu, within_u;
  double within_res = -1;
  for (int it = 0; it <= options_.max_iterations + 1; ++it) {
    *u = base;
    u->noalias() += c.J.transpose() * *mu;
    const NetworkEvaluation e = evaluate(model_, unvectorize(*u, m, p));
    const double res = e.residuals.cwiseAbs().maxCoeff();
    if (within_res >= 0) {
      if (!(res < within_res)) {
        *mu = within_mu;
        *u = within_u;
      }
      return true;
    }
    if (!std::isfinite(res)) return false;
    if (it == 0) first = res;
    if (res <= tol) {
      within_res = res;
      within_mu = *mu;
      within_u = *u;
    } else if (res > 1e3 * std::max(first, tol) || it >= options_.max_iterations) {
      return false;
    }
    const Eigen::MatrixXd Du = e.dphi * model_.a().asDiagonal();
    const Eigen::MatrixXd F = model_.gram().cwiseProduct(Du * c.D.transpose());
    Eigen::PartialPivLU<Eigen::MatrixXd> lu(F);
    const Eigen::VectorXd step = lu.solve(e.residuals);
    if (!step.allFinite()) {
      if (within_res < 0) return false;
      *mu = within_mu;
      *u = within_u;
      return true;
    }
    *mu -= step;
  }
  return false;
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
// Riemannian L-BFGS.

namespace {

// F and its Euclidean gradient in reduced coordinates, beta in vectorize() order.
class ReducedObjective : public ceres::FirstOrderFunction {
 public:
  using Fn = std::function<double(const Eigen::MatrixXd& beta, Eigen::MatrixXd* grad_beta)>;
  // Ceres sees scale * F (scale > 0 only changes the units of F, not its minimizers).
  ReducedObjective(Fn fn, int m, int p, double scale, int* evaluations)
      : fn_(std::move(fn)), m_(m), p_(p), scale_(scale), evaluations_(evaluations) {}
  bool Evaluate(const double* parameters, double* cost, double* gradient) const override {
    ++*evaluations_;
    const Eigen::MatrixXd beta = Eigen::Map<const RowMajorMatrix>(parameters, m_, p_);
    Eigen::MatrixXd g;
    try {
      *cost = scale_ * fn_(beta, gradient ? &g : nullptr);
    } catch (const Error&) {
      return false;
    }
    if (!std::isfinite(*cost)) return false;
    if (gradient) {
      if (g.rows() != m_ || g.cols() != p_ || !g.allFinite()) return false;
      Eigen::Map<RowMajorMatrix>(gradient, m_, p_) = scale_ * g;
    }
    return true;
  }
  int NumParameters() const override { return m_ * p_; }

 private:
  Fn fn_;
  int m_, p_;
  double scale_;
  int* evaluations_;
};

// Stops the solver when the tangent basis degrades, so the caller can re-anchor.
class BasisWatch : public ceres::IterationCallback {
 public:
  BasisWatch(const ZeroLossManifold* manifold, const double* parameters, double threshold)
      : manifold_(manifold), parameters_(parameters), threshold_(threshold) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary&) override {
    const Eigen::Map<const Eigen::VectorXd> x(parameters_, manifold_->AmbientSize());
    if (manifold_->basis_quality(x) < threshold_) {
      triggered = true;
      return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
    }
    return ceres::SOLVER_CONTINUE;
  }
  bool triggered = false;

 private:
  const ZeroLossManifold* manifold_;
  const double* parameters_;
  double threshold_;
};

ManifoldMinimizationResult minimize_reduced(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                            const ReducedObjective::Fn& fn, const ManifoldMinimizationOptions& options) {
  model.check_weights(theta0, "starting weights");
  const ReducedCoordinates rc(model.X());
  const TwoLayerModel red = rc.reduce(model);
  const int m = red.m(), p = red.d();
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
  s.initial_value = fn(beta, nullptr);

  RowMajorMatrix x = beta;
  std::string message;
  int restarts = 0;
  for (;;) {
    // Units of F: Ceres measures the gradient by the step Plus(x, -grad) and aborts if that long step
    // cannot be retracted, so F is scaled to make ||grad_M F|| at most 0.1 max(1, ||beta||) here.
    double scale = 1;
    {
      Eigen::MatrixXd g;
      fn(Eigen::MatrixXd(x), &g);
      const NetworkEvaluation e = evaluate(red, Eigen::MatrixXd(x));
      const ConstraintJacobian cj(red, e, options.projection.max_condition);
      const double gnorm = cj.tangent_projection(g).norm();
      const double target = 1.0 * std::max(1.0, x.norm());
      if (gnorm > target) scale = target / gnorm;
    }
    auto* manifold = new ZeroLossManifold(red, Eigen::MatrixXd(x), options.projection);
    ceres::GradientProblem problem(new ReducedObjective(fn, m, p, scale, &s.evaluations), manifold);
    ceres::GradientProblemSolver::Options so;
    so.line_search_direction_type = ceres::LBFGS;
    so.max_lbfgs_rank = options.lbfgs_rank;
    so.max_num_iterations = std::max(0, options.max_iterations - s.iterations);
    so.function_tolerance = options.function_tolerance;
    so.gradient_tolerance = 1e-15;
    so.parameter_tolerance = 1e-15;
    so.logging_type = ceres::SILENT;
    so.minimizer_progress_to_stdout = false;
    so.update_state_every_iteration = true;
    BasisWatch watch(manifold, x.data(), options.min_basis_quality);
    so.callbacks.push_back(&watch);
    ceres::GradientProblemSolver::Summary summary;
    detail::silence_ceres_logging();
    ceres::Solve(so, problem, x.data(), &summary);
    const int done = summary.iterations.empty() ? 0 : static_cast<int>(summary.iterations.back().iteration);
    s.iterations += done;
    message = summary.message;
    // Restart (new reference basis, new units, L-BFGS memory cleared) when the basis degraded, or when
    // Ceres failed to retract a long step after making progress.
    const bool retry = watch.triggered || (summary.termination_type == ceres::FAILURE && done > 0 &&
                                           message.find("Plus") != std::string::npos);
    if (retry && restarts < options.max_reanchors && s.iterations < options.max_iterations) {
      ++restarts;
      if (watch.triggered) ++s.reanchors;
      continue;
    }
    if (retry) message += " (no restart left)";
    break;
  }

  beta = x;
  Eigen::MatrixXd grad;
  s.final_value = fn(beta, &grad);
  const NetworkEvaluation e = evaluate(red, beta);
  const ConstraintJacobian cj(red, e, options.projection.max_condition);
  s.riemannian_gradient_norm = cj.tangent_projection(grad).norm();
  s.final_residual = e.residuals.cwiseAbs().maxCoeff();
  const double gtol = options.gradient_tolerance * std::max(1.0, std::abs(s.final_value));
  s.converged = s.riemannian_gradient_norm <= gtol && s.final_residual <= tol;
  std::ostringstream t;
  t << (s.converged ? "converged" : "NOT converged") << ": ||grad_M F|| = " << short_number(s.riemannian_gradient_norm)
    << (s.converged ? " <= " : " > ") << short_number(gtol) << " after " << s.iterations << " L-BFGS iterations ("
    << s.reanchors << " re-anchorings of the tangent basis); Ceres: " << message;
  s.termination = t.str();
  out.theta = rc.lift(beta, theta0);
  return out;
}

}  // namespace

ManifoldMinimizationResult minimize_on_manifold(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta0,
                                                const ManifoldObjective& objective,
                                                const ManifoldMinimizationOptions& options) {
  const ReducedCoordinates rc(model.X());
  const Eigen::MatrixXd theta_ref = theta0;
  auto fn = [&](const Eigen::MatrixXd& beta, Eigen::MatrixXd* grad_beta) {
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
  auto fn = [&](const Eigen::MatrixXd& beta, Eigen::MatrixXd* grad_beta) {
    const SharpnessGeometry g(red, beta);
    if (grad_beta) *grad_beta = g.euclidean_gradient();
    return g.sharpness();
  };
  return minimize_reduced(model, theta0, fn, options);
}

}  // namespace zeroloss
