#include "zeroloss/support/number_text.hpp"
#include "zeroloss/manifold/geodesic.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "support/ceres_logging.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/geodesics.hpp"
#include "zeroloss/model/two_layer_network.hpp"

namespace zeroloss {
namespace {

// gamma'' = -J^T (J J^T)^{-1} q with q_i = sum_j a_j phi''(r_ij) (x_i . w_j)^2 (THEORY 2).
Eigen::MatrixXd acceleration(const TwoLayerModel& model, const NetworkEvaluation& e, const ConstraintJacobian& J,
                             const Eigen::Ref<const Eigen::MatrixXd>& w) {
  const Eigen::MatrixXd S = model.X() * w.transpose();  // S_ij = x_i . w_j
  const Eigen::VectorXd q = (e.d2phi.array() * S.array().square()).matrix() * model.a();
  return -J.apply_transpose(J.solve_gram(q));
}

double label_scale(const TwoLayerModel& model) { return std::max(1.0, model.y().cwiseAbs().maxCoeff()); }

}  // namespace

GeodesicIntegrator::GeodesicIntegrator(const TwoLayerModel& model, GeodesicOptions options)
    : model_(model), options_(options), rc_(model.X()), reduced_(rc_.reduce(model)),
      reduced_network_(std::make_shared<const TwoLayerNetwork>(reduced_)) {
  check_geodesic_options(options_);
}

std::vector<GeodesicIntegrator::ReducedSample> GeodesicIntegrator::trace_reduced(
    const Eigen::Ref<const Eigen::MatrixXd>& beta0, const Eigen::Ref<const Eigen::MatrixXd>& w0,
    const std::vector<double>& s_values, GeodesicStatistics* statistics) const {
  reduced_.check_weights(beta0, "geodesic start (reduced coordinates)");
  reduced_.check_weights(w0, "geodesic velocity (reduced coordinates)");
  const std::vector<ParameterGeodesicSample> path =
      trace_geodesic(reduced_network_, vectorize(beta0), vectorize(w0), s_values, options_, statistics);
  const int m = reduced_.m(), p = reduced_.d();
  std::vector<ReducedSample> out;
  out.reserve(path.size());
  for (const ParameterGeodesicSample& g : path) out.push_back({unvectorize(g.theta, m, p), unvectorize(g.velocity, m, p)});
  return out;
}

GeodesicPath GeodesicIntegrator::trace(const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                       const Eigen::Ref<const Eigen::MatrixXd>& v,
                                       const std::vector<double>& s_values) const {
  model_.check_weights(theta, "geodesic start");
  model_.check_weights(v, "geodesic initial velocity");
  const double res = max_residual(model_, theta);
  if (!(res <= options_.start_tolerance * label_scale(model_))) {
    throw InputError("geodesic start is not on the zero-loss manifold: max_i |f_i - y_i| = " + short_number(res, 3) +
                     " > " + short_number(options_.start_tolerance * label_scale(model_), 3) +
                     "; project it first (zeroloss project / project_newton)");
  }
  const Eigen::MatrixXd beta = rc_.reduce(theta);
  const Eigen::MatrixXd w = rc_.reduce(v);
  const Eigen::MatrixXd v_perp = v - rc_.lift_tangent(w);
  {
    const NetworkEvaluation e = evaluate(reduced_, beta);
    const ConstraintJacobian J(reduced_, e, options_.projection.max_condition);
    const double jnorm = std::sqrt(J.gram().trace());
    const double defect = J.apply(w).norm();
    if (!(defect <= options_.tangent_tolerance * jnorm * v.norm())) {
      throw InputError("geodesic initial velocity is not tangent to the manifold: ||J v|| = " + short_number(defect, 3) +
                       " > " + short_number(options_.tangent_tolerance, 3) + " * ||J||_F * ||v|| = " +
                       short_number(options_.tangent_tolerance * jnorm * v.norm(), 3) + "; project it onto T_theta M first");
    }
  }
  GeodesicPath path;
  const auto reduced = trace_reduced(beta, w, s_values, &path.statistics);
  path.samples.reserve(s_values.size());
  for (std::size_t k = 0; k < s_values.size(); ++k) {
    GeodesicSample g;
    g.s = s_values[k];
    if (g.s == 0) {
      g.theta = theta;
      g.velocity = v;
    } else {
      g.theta = rc_.lift(reduced[k].beta, theta) + g.s * v_perp;
      g.velocity = rc_.lift_tangent(reduced[k].velocity) + v_perp;
    }
    path.samples.push_back(std::move(g));
  }
  return path;
}

Eigen::MatrixXd GeodesicIntegrator::exp(const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                        const Eigen::Ref<const Eigen::MatrixXd>& v,
                                        GeodesicStatistics* statistics) const {
  GeodesicPath path = trace(theta, v, {1.0});
  if (statistics) *statistics = path.statistics;
  return std::move(path.samples.front().theta);
}

Eigen::MatrixXd geodesic_acceleration(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                      const Eigen::Ref<const Eigen::MatrixXd>& v) {
  model.check_weights(theta, "geodesic point");
  model.check_weights(v, "geodesic velocity");
  const NetworkEvaluation e = evaluate(model, theta);
  const ConstraintJacobian J(model, e);
  return acceleration(model, e, J, v);
}

Eigen::MatrixXd tangent_basis(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta) {
  const NetworkEvaluation e = evaluate(model, theta);
  const ConstraintJacobian J(model, e);
  if (!J.regular()) J.solve_gram(Eigen::VectorXd::Zero(model.n()));  // throws SingularPointError
  {
    // J (n x m d), the full Q of J^T (m d square) and the basis (m d x (m d - n)).
    const long double n = model.n(), md = static_cast<long double>(model.m()) * model.d();
    require_dense_memory(n * md + md * md + md * (md - n),
                         "an orthonormal tangent basis of M (the full Q factor of J, m p = " +
                             std::to_string(static_cast<long long>(model.m()) * model.d()) + " square)",
                         "Use fewer neurons m or data of lower rank p.");
  }
  const Eigen::MatrixXd Jd = J.dense();
  const Eigen::Index total = Jd.cols(), k = total - Jd.rows();
  if (k <= 0) return Eigen::MatrixXd(total, 0);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(Jd.transpose());
  const Eigen::MatrixXd Q = qr.householderQ();
  return Q.rightCols(k);
}

Eigen::MatrixXd exponential_map(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                                const Eigen::Ref<const Eigen::MatrixXd>& v, const GeodesicOptions& options) {
  return GeodesicIntegrator(model, options).exp(theta, v);
}

namespace {

// Residual exp_x(B c) - y in reduced coordinates, for Ceres.
struct ShootingResidual {
  const GeodesicIntegrator* integrator;
  Eigen::MatrixXd beta_x, beta_y, basis;
  bool operator()(double const* const* parameters, double* residuals) const {
    const int m = integrator->reduced_model().m(), p = integrator->reduced_model().d();
    const Eigen::Map<const Eigen::VectorXd> c(parameters[0], basis.cols());
    const Eigen::MatrixXd w = unvectorize(basis * c, m, p);
    try {
      const auto end = integrator->trace_reduced(beta_x, w, {1.0});
      Eigen::Map<Eigen::VectorXd>(residuals, beta_y.size()) = vectorize(end.front().beta - beta_y);
    } catch (const Error&) {
      return false;  // the trial shot hit a singular point or diverged: Ceres shrinks the step
    }
    return true;
  }
};

}  // namespace

LogarithmResult logarithm_map(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& x,
                              const Eigen::Ref<const Eigen::MatrixXd>& y, const LogarithmOptions& options) {
  model.check_weights(x, "log map base point");
  model.check_weights(y, "log map target");
  const double tol_on = options.geodesic.start_tolerance * label_scale(model);
  auto require_on_manifold = [&](const Eigen::Ref<const Eigen::MatrixXd>& pt, const char* name) {
    const double res = max_residual(model, pt);
    if (!(res <= tol_on)) {
      throw InputError(std::string("log map ") + name + " is not on the zero-loss manifold: max_i |f_i - y_i| = " +
                       short_number(res, 3) + " > " + short_number(tol_on, 3));
    }
  };
  require_on_manifold(x, "base point");
  require_on_manifold(y, "target");
  const GeodesicIntegrator integrator(model, options.geodesic);
  const ReducedCoordinates& rc = integrator.reduced_coordinates();
  const TwoLayerModel& red = integrator.reduced_model();
  const Eigen::MatrixXd bx = rc.reduce(x), by = rc.reduce(y);
  const Eigen::MatrixXd chord = y - x;
  const Eigen::MatrixXd v_perp = chord - rc.lift_tangent(rc.reduce(chord));
  const Eigen::MatrixXd B = tangent_basis(red, bx);
  const double scale = options.tolerance * std::max(1.0, y.norm());

  LogarithmResult out;
  Eigen::VectorXd c = B.transpose() * vectorize(by - bx);
  if (B.cols() > 0) {
    auto* functor = new ShootingResidual{&integrator, bx, by, B};
    ceres::NumericDiffOptions nd;
    nd.relative_step_size = options.jacobian_relative_step;
    auto* cost = new ceres::DynamicNumericDiffCostFunction<ShootingResidual, ceres::CENTRAL>(functor,
                                                                                              ceres::TAKE_OWNERSHIP, nd);
    cost->AddParameterBlock(static_cast<int>(B.cols()));
    cost->SetNumResiduals(static_cast<int>(bx.size()));
    ceres::Problem problem;
    problem.AddResidualBlock(cost, nullptr, c.data());
    ceres::Solver::Options so;
    so.linear_solver_type = ceres::DENSE_QR;
    so.max_num_iterations = options.max_iterations;
    so.function_tolerance = 1e-20;
    so.gradient_tolerance = 1e-20;
    so.parameter_tolerance = 1e-15;
    so.logging_type = ceres::SILENT;
    so.minimizer_progress_to_stdout = false;
    so.num_threads = 1;
    ceres::Solver::Summary summary;
    detail::silence_ceres_logging();
    ceres::Solve(so, &problem, &summary);
    out.iterations = static_cast<int>(summary.iterations.size()) - 1;
    out.report = summary.BriefReport();
  } else {
    out.report = "the manifold is discrete in span(X) (m*p = n): no shooting needed";
  }
  const Eigen::MatrixXd w = unvectorize(B * c, red.m(), red.d());
  std::vector<GeodesicIntegrator::ReducedSample> end;
  try {
    end = integrator.trace_reduced(bx, w, {1.0});
  } catch (const Error& e) {
    throw ConvergenceError(std::string("log map: the final shot failed (") + e.what() + "); Ceres: " + out.report);
  }
  out.mismatch = (end.front().beta - by).norm();
  if (!(out.mismatch <= scale)) {
    throw ConvergenceError("log map: shooting did not reach the target: ||exp_x(v) - y|| = " + short_number(out.mismatch, 3) +
                           " > tolerance " + short_number(scale, 3) + " after " + std::to_string(out.iterations) +
                           " Levenberg-Marquardt iterations (chord ||y - x|| = " + short_number(chord.norm(), 3) +
                           "). The target may be too far, beyond a conjugate point, or in another component of M. "
                           "Ceres: " +
                           out.report);
  }
  out.velocity = rc.lift_tangent(w) + v_perp;
  out.length = out.velocity.norm();
  return out;
}

double geodesic_distance(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& x,
                         const Eigen::Ref<const Eigen::MatrixXd>& y, const LogarithmOptions& options) {
  return logarithm_map(model, x, y, options).length;
}

}  // namespace zeroloss
