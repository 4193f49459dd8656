#pragma once
// A two-layer problem set up for the dynamics runs (sgd, flow, compare): loaded, put in the reduced
// coordinates of THEORY 4 (X replaced by Z = X U, Theta by beta = Theta U), with the closed-form
// optimum of THEORY 5 when it exists; the lift back to full coordinates; the start put on M.

#include <Eigen/Dense>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/runs/loaded_problem.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"

namespace zeroloss {

// A problem in reduced coordinates (THEORY 4).
struct DynamicsSetup {
  LoadedProblem problem;            // full-coordinate data, weights, model (reduced-only setups: see below)
  ReducedCoordinates coordinates;   // U (d x p)
  TwoLayerModel reduced;            // X replaced by Z = X U
  Eigen::MatrixXd beta0;            // W0 U (m x p)
  std::optional<RankOneOptimum> optimum;  // THEORY 5 closed form, when it exists
  std::string optimum_note;         // why it is missing, or how it was obtained
  int singular_values = 0;          // min(n, m): columns per spectrum in trajectory.csv
};

// Loads the files (load_problem under `policy`), reduces, and computes the closed-form optimum.
DynamicsSetup load_dynamics(const ProblemFiles& files, ManifoldPolicy policy = ManifoldPolicy::Require);
// The same for a problem already loaded (e.g. load_problem(const ProblemArrays&)).
DynamicsSetup setup_dynamics(LoadedProblem problem);

// A reduced-only setup from a random start inside the data span (sgd --init gaussian): beta_jk iid
// N(0, sigma^2) with sigma = init_scale / sqrt(mean_i |x_i|^2) from StandardNoise(Gaussian,
// init_seed, stream 7), so the pre-activations have standard deviation about init_scale; a = 1.
// The m x d weights are never formed: problem.model holds the reduced model (d from the basis) and
// problem.weights.theta is 0 x d, so lift_weights must not be called. InputError when every data
// row is zero.
DynamicsSetup random_start_dynamics(const std::string& data_path, const std::string& activation, int m,
                                    double init_scale, std::uint64_t init_seed);

// A reduced-only setup from a reduced-weights manifest (files.weights, *.json): the data's own basis
// U must span the saved basis V (InputError otherwise: the weights belong to other data); the start
// is beta_saved (V^T U) (bit for bit beta_saved when V = U). Sets `perpendicular_dropped` from the
// manifest. Under ManifoldPolicy::Require, data for which M is empty are refused (as load_problem).
DynamicsSetup reduced_start_dynamics(const ProblemFiles& files, bool& perpendicular_dropped,
                                     ManifoldPolicy policy = ManifoldPolicy::Warn);

// Saved reduced weights beta (in the basis V, d x p) in the data's basis U: beta (V^T U), bit for
// bit beta when V = U. InputError naming both files when V and U do not span the same space (the
// weights belong to other data).
Eigen::MatrixXd beta_in_basis(Eigen::MatrixXd beta, const Eigen::MatrixXd& V, const Eigen::MatrixXd& U,
                              const std::string& weights_path, const std::string& data_path);

// Full-coordinate weights from reduced ones: in-span part from beta, perpendicular part from W0.
Eigen::MatrixXd lift_weights(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta);

// Puts a reduced point on M with the named projection method; `what` names the point in errors.
// The projection works on the reduced model; with estimate_error the gradient-flow method also
// estimates its distance to the exact limit (a second, looser integration). Errors say that M may
// be empty.
ProjectionResult project_onto_manifold(const DynamicsSetup& setup, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                       ProjectionMethod method, const std::string& what = "W0",
                                       bool estimate_error = true);

// The default projection of the dynamics runs' starts: Phi_GF, the gradient-flow limit (THEORY 7).
constexpr ProjectionMethod kDefaultStartProjection = ProjectionMethod::GradientFlow;

}  // namespace zeroloss
