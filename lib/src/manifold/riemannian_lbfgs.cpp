#include "zeroloss/manifold/riemannian_lbfgs.hpp"

#include <ceres/gradient_problem.h>
#include <ceres/gradient_problem_solver.h>
#include <ceres/iteration_callback.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "support/ceres_logging.hpp"
#include "riemannian_lbfgs_driver.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/gradient_flow_projection.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/manifold/model_manifold.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/support/number_text.hpp"

namespace zeroloss {

std::string ManifoldMinimizationOptions::validation_error() const {
  if (max_iterations < 0) return "max_iterations must be >= 0 (got " + std::to_string(max_iterations) + ")";
  if (lbfgs_rank < 1) return "lbfgs_rank must be >= 1 (got " + std::to_string(lbfgs_rank) + ")";
  if (!(gradient_tolerance > 0) || !std::isfinite(gradient_tolerance))
    return "gradient_tolerance must be a finite number > 0 (got " + short_number(gradient_tolerance) + ")";
  if (!(function_tolerance >= 0) || !std::isfinite(function_tolerance))
    return "function_tolerance must be a finite number >= 0 (got " + short_number(function_tolerance) + ")";
  if (!(min_basis_quality >= 0 && min_basis_quality < 1))
    return "min_basis_quality must be in [0, 1) (got " + short_number(min_basis_quality) + ")";
  if (max_reanchors < 0) return "max_reanchors must be >= 0 (got " + std::to_string(max_reanchors) + ")";
  if (!(projection.residual_tolerance > 0) || !std::isfinite(projection.residual_tolerance))
    return "projection.residual_tolerance must be a finite number > 0 (got " +
           short_number(projection.residual_tolerance) + ")";
  if (projection.max_iterations < 1)
    return "projection.max_iterations must be >= 1 (got " + std::to_string(projection.max_iterations) + ")";
  if (!(projection.max_condition > 1))
    return "projection.max_condition must be > 1 (got " + short_number(projection.max_condition) + ")";
  return {};
}

namespace detail {
namespace {

// Ceres sees scale * F (scale > 0 only changes the units of F, not its minimizers).
class ScaledObjective : public ceres::FirstOrderFunction {
 public:
  ScaledObjective(const LbfgsManifoldProblem& problem, double scale, int* evaluations)
      : problem_(problem), size_(problem.ambient_size()), scale_(scale), evaluations_(evaluations) {}
  bool Evaluate(const double* parameters, double* cost, double* gradient) const override {
    ++*evaluations_;
    const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(parameters, size_);
    Eigen::VectorXd g;
    try {
      *cost = scale_ * problem_.value(x, gradient ? &g : nullptr);
    } catch (const Error&) {
      return false;
    }
    if (!std::isfinite(*cost)) return false;
    if (gradient) {
      if (g.size() != size_ || !g.allFinite()) return false;
      Eigen::Map<Eigen::VectorXd>(gradient, size_) = scale_ * g;
    }
    return true;
  }
  int NumParameters() const override { return size_; }

 private:
  const LbfgsManifoldProblem& problem_;
  int size_;
  double scale_;
  int* evaluations_;
};

// Stops the solver when the tangent basis degrades, so the caller can re-anchor.
class BasisWatch : public ceres::IterationCallback {
 public:
  BasisWatch(const LbfgsManifoldProblem& problem, const ceres::Manifold& manifold, const double* parameters,
             double threshold)
      : problem_(problem), manifold_(manifold), parameters_(parameters), threshold_(threshold) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary&) override {
    const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(parameters_, manifold_.AmbientSize());
    if (problem_.basis_quality(manifold_, x) < threshold_) {
      triggered = true;
      return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
    }
    return ceres::SOLVER_CONTINUE;
  }
  bool triggered = false;

 private:
  const LbfgsManifoldProblem& problem_;
  const ceres::Manifold& manifold_;
  const double* parameters_;
  double threshold_;
};

}  // namespace

void run_riemannian_lbfgs(const LbfgsManifoldProblem& problem, const ManifoldMinimizationOptions& options,
                          double on_manifold_tolerance, Eigen::VectorXd* x, ManifoldMinimizationSummary* summary) {
  ManifoldMinimizationSummary& s = *summary;
  s.initial_value = problem.value(*x, nullptr);
  std::string message;
  int restarts = 0;
  for (;;) {
    double scale = 1;
    {
      Eigen::VectorXd g;
      problem.value(*x, &g);
      const double gnorm = problem.tangent_norm(*x, g);
      const double target = 1.0 * std::max(1.0, x->norm());
      if (gnorm > target) scale = target / gnorm;
    }
    ceres::Manifold* manifold = problem.anchored_manifold(*x);
    ceres::GradientProblem gradient_problem(new ScaledObjective(problem, scale, &s.evaluations), manifold);
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
    BasisWatch watch(problem, *manifold, x->data(), options.min_basis_quality);
    so.callbacks.push_back(&watch);
    ceres::GradientProblemSolver::Summary ceres_summary;
    silence_ceres_logging();
    ceres::Solve(so, gradient_problem, x->data(), &ceres_summary);
    const int done =
        ceres_summary.iterations.empty() ? 0 : static_cast<int>(ceres_summary.iterations.back().iteration);
    s.iterations += done;
    message = ceres_summary.message;
    // Restart (new reference basis, new units, L-BFGS memory cleared) when the basis degraded, or when
    // Ceres failed to retract a long step after making progress.
    const bool retry = watch.triggered || (ceres_summary.termination_type == ceres::FAILURE && done > 0 &&
                                           message.find("Plus") != std::string::npos);
    if (retry && restarts < options.max_reanchors && s.iterations < options.max_iterations) {
      ++restarts;
      if (watch.triggered) ++s.reanchors;
      continue;
    }
    if (retry) message += " (no restart left)";
    break;
  }

  Eigen::VectorXd grad;
  s.final_value = problem.value(*x, &grad);
  s.riemannian_gradient_norm = problem.tangent_norm(*x, grad);
  s.final_residual = problem.max_residual(*x);
  const double gtol = options.gradient_tolerance * std::max(1.0, std::abs(s.final_value));
  s.converged = s.riemannian_gradient_norm <= gtol && s.final_residual <= on_manifold_tolerance;
  std::ostringstream t;
  t << (s.converged ? "converged" : "NOT converged") << ": ||grad_M F|| = " << short_number(s.riemannian_gradient_norm)
    << (s.converged ? " <= " : " > ") << short_number(gtol) << " after " << s.iterations << " L-BFGS iterations ("
    << s.reanchors << " re-anchorings of the tangent basis); Ceres: " << message;
  s.termination = t.str();
}

}  // namespace detail

namespace {

// The generic problem: ModelManifold and the model's own tangent projection (ManifoldPoint).
class ModelLbfgsProblem final : public detail::LbfgsManifoldProblem {
 public:
  ModelLbfgsProblem(std::shared_ptr<const SquaredLossModel> model, const ParameterObjective& objective,
                    const ProjectionOptions& projection)
      : model_(std::move(model)), objective_(objective), projection_(projection) {}
  int ambient_size() const override { return model_->num_parameters(); }
  double value(const Eigen::VectorXd& x, Eigen::VectorXd* gradient) const override {
    return objective_(x, gradient);
  }
  double tangent_norm(const Eigen::VectorXd& x, const Eigen::VectorXd& g) const override {
    if (g.size() != x.size()) {
      throw InputError("Riemannian L-BFGS: the objective's gradient has " + std::to_string(g.size()) +
                       " entries, expected P = " + std::to_string(x.size()));
    }
    return ManifoldPoint(model_, x, projection_.max_condition).tangent_projection(g).norm();
  }
  double max_residual(const Eigen::VectorXd& x) const override { return model_->max_residual(x); }
  ceres::Manifold* anchored_manifold(const Eigen::VectorXd& x) const override {
    return new ModelManifold(model_, x, projection_);
  }
  double basis_quality(const ceres::Manifold& manifold, const Eigen::VectorXd& x) const override {
    return static_cast<const ModelManifold&>(manifold).basis_quality(x);
  }

 private:
  std::shared_ptr<const SquaredLossModel> model_;
  const ParameterObjective& objective_;
  ProjectionOptions projection_;
};

}  // namespace

ParameterMinimization minimize_on_manifold(const std::shared_ptr<const SquaredLossModel>& model,
                                           const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                           const ParameterObjective& objective,
                                           const ManifoldMinimizationOptions& options) {
  if (!model) throw InputError("Riemannian L-BFGS: no model");
  if (!objective) throw InputError("Riemannian L-BFGS: no objective");
  const std::string bad = options.validation_error();
  if (!bad.empty()) throw InputError("Riemannian L-BFGS options: " + bad);
  model->check_parameters(theta0, "starting weights");
  ParameterMinimization out;
  out.theta = theta0;
  const double tol = absolute_residual_tolerance(options.projection, model->labels());
  if (!(model->max_residual(out.theta) <= tol)) {
    // Newton first; from far away (Newton diverges or stalls) the gradient-flow limit.
    try {
      out.theta = project_newton(model, out.theta, options.projection).theta;
    } catch (const ConvergenceError&) {
      ProjectionOptions po = options.projection;
      po.estimate_limit_error = false;
      out.theta = project_gradient_flow(model, out.theta, po).theta;
    }
    out.summary.start_projected = true;
  }
  const ModelLbfgsProblem problem(model, objective, options.projection);
  detail::run_riemannian_lbfgs(problem, options, tol, &out.theta, &out.summary);
  return out;
}

ParameterMinimization minimize_sharpness_on_manifold(const std::shared_ptr<const SquaredLossModel>& model,
                                                     const Eigen::Ref<const Eigen::VectorXd>& theta0,
                                                     const ManifoldMinimizationOptions& options) {
  if (!model) throw InputError("Riemannian L-BFGS: no model");
  const ParameterObjective sharpness = [&model](const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) {
    const std::unique_ptr<const ModelPoint> point = model->evaluate(theta);
    if (gradient) *gradient = point->sharpness_gradient();
    return point->sharpness();
  };
  return minimize_on_manifold(model, theta0, sharpness, options);
}

}  // namespace zeroloss
