#include "zeroloss/runs/dynamics_setup.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/random/rng.hpp"

namespace zeroloss {

namespace {

DynamicsSetup make_setup(LoadedProblem problem) {
  ReducedCoordinates rc(problem.model.X());
  TwoLayerModel reduced = rc.reduce(problem.model);
  Eigen::MatrixXd beta0 = rc.reduce(problem.weights.theta);
  const int sv = std::min(problem.model.n(), problem.model.m());
  return DynamicsSetup{std::move(problem), std::move(rc), std::move(reduced), std::move(beta0), std::nullopt, "", sv};
}

}  // namespace


DynamicsSetup load_dynamics(const ProblemFiles& options, ManifoldPolicy policy) {
  return setup_dynamics(load_problem(options, policy));
}

DynamicsSetup setup_dynamics(LoadedProblem problem) {
  DynamicsSetup s = make_setup(std::move(problem));
  ClosedFormOptimum star = closed_form_optimum(s.reduced, s.coordinates.rank());
  s.optimum = std::move(star.optimum);
  s.optimum_note = std::move(star.note);
  return s;
}

Eigen::MatrixXd lift_weights(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta) {
  return setup.coordinates.lift(beta, setup.problem.weights.theta);
}

ProjectionResult project_onto_manifold(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                       ProjectionMethod method, const std::string& what, bool estimate_error) {
  const std::string context =
      "putting " + what + " on the zero-loss manifold (" + std::string(to_string(method)) + " projection): ";
  const std::string hint =
      ". If no network of this form can fit the labels (e.g. softplus or sigmoid outputs with a = 1 are "
      "positive), the zero-loss manifold is empty";
  ProjectionOptions po;
  po.estimate_limit_error = estimate_error;
  try {
    return project(setup.reduced, beta, method, po);
  } catch (const SingularPointError& e) {
    throw SingularPointError(context + e.what() + hint, e.condition());
  } catch (const ConvergenceError& e) {
    throw ConvergenceError(context + e.what() + hint);
  } catch (const InputError& e) {
    // The input was validated before; an InputError here means the projection produced an invalid
    // (non-finite) point: a failure to converge, not bad input.
    throw ConvergenceError(context + "the projection produced an invalid point (" + e.what() + ")" + hint);
  }
}

namespace {

// Reduced-only setups (--init, or --weights *.json) keep no n x d data matrix: after the reduction
// problem.model holds the reduced model (X replaced by Z = X U; n, m, a and the activation are the
// same, d comes from the basis) and problem.weights.theta is empty (0 x d): lift_weights must not be
// called on them. At n = 100, d = 10^4 this frees 8 MB.
DynamicsSetup reduced_only_setup(Dataset data, Weights w, TwoLayerModel model, ReducedCoordinates rc,
                                 Eigen::MatrixXd beta0, const ProblemSource& source,
                                 ManifoldPolicy policy = ManifoldPolicy::Warn) {
  TwoLayerModel reduced = rc.reduce(model);
  // The start in reduced coordinates: R = Z beta0^T is the full-coordinate X Theta0^T.
  require_evaluable(reduced, beta0, source, false);
  DataDiagnostics diagnostics = diagnose_data(model, source);
  if (policy == ManifoldPolicy::Require) require_manifold(diagnostics, source);
  const int sv = std::min(model.n(), model.m());
  TwoLayerModel kept = reduced;
  { TwoLayerModel drop = std::move(model); }  // X (n x d) freed here
  DynamicsSetup s{LoadedProblem{std::move(data), std::move(w), std::move(kept), std::move(diagnostics)}, std::move(rc), std::move(reduced),
                  std::move(beta0), std::nullopt, "", sv};
  ClosedFormOptimum star = closed_form_optimum(s.reduced, s.coordinates.rank());
  s.optimum = std::move(star.optimum);
  s.optimum_note = std::move(star.note);
  return s;
}

}  // namespace

// The setup of a run from a random start inside the data span (--init gaussian): beta_jk iid
// N(0, sigma^2) with sigma = init_scale / sqrt(mean_i |x_i|^2), so the pre-activations
// r_ij = z_i . beta_j have standard deviation about init_scale (as `zeroloss data --init-scale`);
// theta_j = U beta_j has no part orthogonal to the data. Second layer a = 1. Memory: U (d x p) and
// beta (m x p); the m x d weights are never formed.
DynamicsSetup random_start_dynamics(const std::string& data_path, const std::string& activation, int m,
                                    double init_scale, std::uint64_t init_seed) {
  Dataset data = read_dataset_csv(data_path);
  const Activation phi = Activation::from_name(activation);
  TwoLayerModel model(std::move(data.X), data.y, Eigen::VectorXd::Ones(m), phi);
  ReducedCoordinates rc(model.X());
  const double mean_norm2 = model.row_norms_squared().mean();
  if (!(mean_norm2 > 0)) throw InputError(data_path + ": every data row is zero; --init needs a data span");
  const double sigma = init_scale / std::sqrt(mean_norm2);
  StandardNoise gauss(NoiseKind::Gaussian, init_seed, 7);  // stream 7: not used by the SGD noise
  Eigen::MatrixXd beta0(m, rc.rank());
  for (Eigen::Index j = 0; j < beta0.rows(); ++j)
    for (Eigen::Index k = 0; k < beta0.cols(); ++k) beta0(j, k) = sigma * gauss.next();
  Weights w;
  w.theta.resize(0, model.d());
  w.a = Eigen::VectorXd::Ones(m);
  ProblemSource source = problem_source(data, data_path, "the --init gaussian start");
  return reduced_only_setup(std::move(data), std::move(w), std::move(model), std::move(rc), std::move(beta0), source);
}

// The setup of a run from a reduced-weights file (--weights *.json, written by --init/--save-reduced):
// the run stays in reduced coordinates and never forms the m x d weights. The data's own basis U
// (thin SVD, as for any run) must span the same space as the saved basis V: then the start is
// beta0 = beta_saved (V^T U), exactly the reduction (beta_saved V^T) U of the lifted weights (up to
// rounding; bit for bit beta_saved when V = U, e.g. continuing on the same data). Otherwise the
// file belongs to other data: InputError.
Eigen::MatrixXd beta_in_basis(Eigen::MatrixXd beta, const Eigen::MatrixXd& V, const Eigen::MatrixXd& U,
                              const std::string& weights_path, const std::string& data_path) {
  if (V.cols() != U.cols()) {
    throw InputError(weights_path + ": the saved basis has p = " + std::to_string(V.cols()) +
                     " columns, but the data " + data_path + " have rank " + std::to_string(U.cols()) +
                     "; expected the data the reduced weights were saved with (same span of the rows)");
  }
  if (V == U) return beta;
  const Eigen::MatrixXd Q = V.transpose() * U;  // p x p, orthogonal iff the spans agree
  const double mismatch =
      (Q.transpose() * Q - Eigen::MatrixXd::Identity(Q.cols(), Q.cols())).cwiseAbs().maxCoeff();
  if (!(mismatch <= 1e-8)) {
    throw InputError(weights_path + ": the rows of the data " + data_path +
                     " do not span the space of the saved basis (max |Q^T Q - I| = " + format_double(mismatch) +
                     " for Q = V^T U, V the saved basis, U the data's; expected <= 1e-8): the reduced weights "
                     "belong to other data");
  }
  Eigen::MatrixXd beta_U;
  beta_U.noalias() = beta * Q;
  return beta_U;
}

DynamicsSetup reduced_start_dynamics(const ProblemFiles& files, bool& perpendicular_dropped, ManifoldPolicy policy) {
  Dataset data = read_dataset_csv(files.data);
  ReducedWeights saved = read_reduced_weights(files.weights, static_cast<int>(data.X.cols()));
  const Activation phi = Activation::from_name(files.activation);
  TwoLayerModel model(std::move(data.X), data.y, saved.a, phi);
  ReducedCoordinates rc(model.X());
  const Eigen::MatrixXd& U = rc.basis();
  Eigen::MatrixXd beta0 = beta_in_basis(std::move(saved.beta), saved.basis, U, files.weights, files.data);
  perpendicular_dropped = saved.perpendicular_dropped;
  Weights w;
  w.theta.resize(0, model.d());
  w.a = std::move(saved.a);
  w.has_second_layer_column = true;
  ProblemSource source = problem_source(data, files.data, files.weights);
  return reduced_only_setup(std::move(data), std::move(w), std::move(model), std::move(rc), std::move(beta0), source,
                            policy);
}

}  // namespace zeroloss
