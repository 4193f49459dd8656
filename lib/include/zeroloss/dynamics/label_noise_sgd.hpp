#pragma once
// Label-noise SGD on the two-layer network (THEORY section 7), in reduced coordinates.
//
// One step, with a batch I of B distinct samples drawn uniformly (all n samples, in order, when
// B = n) and label noise xi_i iid with mean 0 and variance s^2 (Gaussian, or Rademacher +-s):
//
//     beta_j <- beta_j - (eta / B) sum_{i in I} (f_i - y_i - xi_i) a_j phi'(z_i . beta_j) z_i
//
// which is THEORY 7's Theta <- Theta - (eta/B) sum_{i in I} (f_i - y_i - xi_i) grad f_i written in
// the reduced coordinates of THEORY 4 (pass the reduced model, X replaced by Z = X U, and
// beta = Theta U; the perpendicular part of Theta never moves). A step costs O(B m p) time and no
// allocation; memory is O(m p + n p) (O(n m + n^2) in pre-activation coordinates, the same when
// n = p). The same class runs in full coordinates if given the full
// model and Theta (tests use this to check the reduction).
//
// Time scales: k steps are SGD time t = eta^2 k, and flow time tau = s^2 / (4 B) * t, the time of the
// limiting flow d Theta / d tau = -grad_M T (dynamics/sharpness_flow.hpp).
//
// Speed: the activation is dispatched once per advance() call through a template on
// Activation::kind() (cubic, sinh, tanh, sigmoid, softplus, gelu, polynomial; other activations go
// through the generic virtual call), and p = 1..16 have kernels specialised at compile time. The
// state is stored in tiles of 4 neurons, so a step works on 4 neurons at once with vector
// instructions (AVX2 when the processor has it, SSE2 otherwise; the same bits either way). Random
// numbers come from xoshiro256++ with buffered noise (random/rng.hpp).
//
// Coordinates of the state (SgdCoordinates). The loss and the step depend on the weights only
// through the pre-activations r_ij = z_i . beta_j, and the step moves them by a rank-B update:
//
//     r_kj <- r_kj - (eta / B) sum_{i in I} (f_i - y_i - xi_i) a_j phi'(r_ij) K_ki,   K = Z Z^T (n x n),
//
// exactly the image of the weight step under beta -> R = Z beta^T. When Z is square and well
// conditioned (p = n: linearly independent data, the paper's setting) that map is invertible, and the
// run keeps R (n x m, as many numbers as beta) as its state: a step is then one multiply-add pass over
// the block, with no dot products (the pre-activations of the next batch are read, not computed).
// weights() recovers beta^T = Z^{-1} R through an LU factorisation of Z (relative error of order
// cond(Z) epsilon; so even before the first step it returns Z^{-1} Z beta0, beta0 to rounding).
// Otherwise (n > p, near-dependent data, or on request) the state is beta and the update of step k is fused with the pre-activations of step k + 1 (its batch is drawn ahead), so one
// step streams the m x p block once. The two give the same iterates up to rounding
// (label_noise_sgd_test compares them).
//
// Determinism: the same model, start, parameters and seed give the same bits; state() / restore()
// save and restore everything (the state block, step, generator states, the batch and noise drawn
// ahead), so a restored run continues bit for bit like an uninterrupted one.
//
// Divergence: a step whose batch output is not finite, or whose residual shows that the loss
// exceeds `max_loss` (|f_i - y_i| > sqrt(2 n max_loss) implies L > max_loss), is not taken; the run
// stops, reports the step, and keeps the last finite weights (last_finite_weights()).

#include <Eigen/Dense>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zeroloss/support/instruction_set.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/random/rng.hpp"

namespace zeroloss {

// Which compiled kernel runs the steps (support/instruction_set.hpp). Both perform the same IEEE
// operations in the same order (no fused multiply-add), so they give the same bits; AVX2 processes
// 4 neurons per instruction instead of 2. Auto picks AVX2 when the processor has it.
using SgdInstructionSet = InstructionSet;

// What the run stores and updates (see "Coordinates of the state" above). Auto picks
// Preactivations when Z is square (n = p) and its reciprocal condition number sigma_min / sigma_max
// is at least kPreactivationMinRcond, else Weights.
enum class SgdCoordinates { Auto, Weights, Preactivations };
constexpr double kPreactivationMinRcond = 1e-4;
// Most steps one pass over R can apply (SgdParameters::steps_per_pass).
constexpr int kMaxStepsPerPass = 8;
// "auto", "weights", "preactivations".
const char* to_string(SgdCoordinates coordinates);

struct SgdParameters {
  double learning_rate = 0.01;  // eta > 0
  double label_noise = 0.0;     // s >= 0 (standard deviation of xi_i)
  NoiseKind noise = NoiseKind::Gaussian;
  int batch_size = 1;           // B in [1, n]; B = n means the full batch, no sampling
  std::uint64_t seed = 0;
  // Divergence bound on the loss L; <= 0 selects the default 1e6 * max(1, L(start), mean(y^2)).
  double max_loss = 0.0;
  // Avx2 on a processor without AVX2 is an InputError.
  SgdInstructionSet instruction_set = SgdInstructionSet::Auto;
  // Preactivations when Z is not square or is singular (rcond below 1e-12) is an InputError.
  SgdCoordinates coordinates = SgdCoordinates::Auto;
  // Steps whose updates one pass over the state applies: performance only, every value gives the
  // same bits. In pre-activation coordinates with B = 1 the pass over R is the cost of a step once
  // R outgrows the first-level cache; 2 .. kMaxStepsPerPass steps then share one pass (the rows of
  // their samples are formed from m-vectors: dynamics/label_noise_sgd.cpp, run_preactivation_windows).
  // 0 = auto: 4 there when n > 16, else 1. Values above 1 elsewhere, or outside
  // 0 .. kMaxStepsPerPass, are an InputError.
  int steps_per_pass = 0;
};

// Everything needed to continue a run bit for bit.
struct SgdState {
  std::uint64_t step = 0;
  // The state block, one of the two (state() fills the one the run keeps):
  // m x p weights after `step` steps, in weight coordinates (empty in pre-activation coordinates:
  // weights() gives Z^{-1} R);
  Eigen::MatrixXd beta;
  // n x m pre-activations R = Z beta^T, in pre-activation coordinates (empty in weight coordinates).
  // restore() accepts either in a run in pre-activation coordinates: with R it continues bit for bit,
  // with beta only it starts from R = Z beta^T (the same run up to rounding).
  Eigen::MatrixXd preactivations;
  Xoshiro256pp::State index_generator{};  // batch sampling generator
  StandardNoise::State noise_generator{};
  std::vector<int> next_batch;            // batch of step `step` + 1 (drawn ahead)
  std::vector<double> next_noise;         // its standardized noise (multiplied by s in the step)
};

struct SgdDivergence {
  bool diverged = false;
  std::uint64_t step = 0;  // the step (1-based) that was refused
  std::string reason;      // what was non-finite or too large, with the sample index
};

class LabelNoiseSgd {
 public:
  // Throws InputError on invalid parameters (eta <= 0, s < 0, B outside [1, n], non-finite
  // values) or weights of the wrong shape.
  LabelNoiseSgd(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& beta0,
                const SgdParameters& parameters);
  ~LabelNoiseSgd();
  LabelNoiseSgd(LabelNoiseSgd&&) noexcept;
  LabelNoiseSgd& operator=(LabelNoiseSgd&&) noexcept;

  // Runs `steps` steps, or fewer if the run diverges. Returns the number of steps taken.
  std::uint64_t advance(std::uint64_t steps);

  std::uint64_t step() const;
  bool diverged() const;
  const SgdDivergence& divergence() const;
  // Current weights (m x p; after divergence they are the weights before the refused step, which
  // may be non-finite if an earlier step overflowed; see last_finite_weights()).
  Eigen::MatrixXd weights() const;
  // The most recent weights verified finite, and their step count. Verification happens at every
  // advance() call (and after divergence), so this is the current state whenever it is finite.
  Eigen::MatrixXd last_finite_weights() const;
  std::uint64_t last_finite_step() const;
  // Current pre-activations R = Z beta^T (n x m): the state itself in pre-activation coordinates.
  Eigen::MatrixXd preactivations() const;

  // SGD time t = eta^2 k and flow time tau = s^2/(4B) t after k = step() steps.
  double time() const;
  double flow_time() const;
  // The flow time moved per step, s^2 eta^2 / (4 B).
  double flow_time_per_step() const;

  const TwoLayerModel& model() const;
  const SgdParameters& parameters() const;  // max_loss resolved to the bound in use
  const char* kernel_name() const;          // which activation kernel the dispatch chose
  SgdInstructionSet instruction_set() const;  // Baseline or Avx2 (Auto resolved)
  int steps_per_pass() const;                  // 1 .. kMaxStepsPerPass (auto resolved)
  SgdCoordinates coordinates() const;         // Weights or Preactivations (Auto resolved)
  // Reciprocal condition number sigma_min / sigma_max of Z when Z is square; 0 otherwise.
  double data_rcond() const;

  // The batch and standardized noise of the next step (drawn ahead); for tests and diagnostics.
  const std::vector<int>& next_batch() const;
  std::vector<double> next_noise() const;

  SgdState state() const;
  // Restores a state saved from a run with the same model and parameters; throws InputError on a
  // shape mismatch, a batch index outside [0, n), non-finite weights, or a state that holds only
  // pre-activations restored into a run in weight coordinates.
  void restore(const SgdState& state);

  struct Core;  // the data, buffers and generators the kernels work on

 private:
  std::unique_ptr<Core> core_;
};

}  // namespace zeroloss
