#pragma once
// Extreme eigenvalues of the Riemannian Hessian of T on the non-trivial tangent part, from
// Hessian-vector products only (Lanczos, Spectra's SymEigsSolver), and the same extremes from the
// dense matrix with residual certificates (THEORY 3-5, 8).
//
// The operator. Let P be the orthogonal projection onto the tangent space ker J, applied through the
// model's structure: P v = v - J^T (J J^T)^{-1} J v, two Jacobian products and a solve with the
// Cholesky factor of the n x n matrix J J^T (O(n m p) for the two-layer network, no object of the
// ambient dimension squared and none of size n x ambient). With H the Lagrangian Hessian
// Hess T - sum_i lambda_i Hess f_i, Hess_M T = P H P on the tangent space. Lanczos runs on the
// ambient space with
//     A x = P H P x + c P x + r (x - P x),
// whose eigenpairs are (lambda + c, v) for the tangent eigenpairs of Hess_M T and the value r,
// n-fold, on the normal space. The start vector is tangent, so in exact arithmetic the Krylov
// spaces stay tangent; rounding puts normal parts of size eps into them, and r is chosen so that
// they can never converge to an extreme: r = c + the Rayleigh quotient of the start vector, a
// weighted mean of the tangent eigenvalues, inside the shifted tangent spectrum. The Krylov
// dimension is at most the tangent dimension k = N_a - n.
// For the two-layer network the ambient space is the reduced coordinates beta (m x p, THEORY 4):
// span(X)^m, so the tangent part there is the non-trivial one (dimension m p - n) and H is the
// block operator v_j -> Z^T diag(W_:j) Z v_j of sharpness/sharpness.hpp.
//
// Convergence. Spectra accepts a Ritz pair when its residual estimate is below
// tolerance * max(|theta|, eps^(2/3)). An eigenvalue near 0 could then never be accepted, so Lanczos
// runs on H + c I with c = 2 rho, rho an estimate of the spectral radius (a short Lanczos run for the
// largest magnitude): the test becomes residual <= tolerance * |lambda + c|, i.e. relative to the
// scale of the whole spectrum. The shift does not change the Krylov spaces. After the run every
// reported pair gets its residual ||Hess_M T v - lambda v|| (v unit) recomputed with one more product:
// that is the certificate (a symmetric operator has an eigenvalue within the residual of lambda).
// A value whose Ritz pair did not converge is reported with converged = false and a NaN residual,
// never as converged.
//
// Threads. For the two-layer network the four n p m products of a Hessian-vector product
// (numerics/ordered_product.hpp, ordered_product_threaded) and the operations on the Lanczos basis
// (Spectra's factorization, specialised in hessian_spectrum.cpp to work on row chunks of the basis)
// run on product_threads() threads when their work reaches threaded_product_min_work() multiply-adds
// (n p m for a product, ambient dimension x Krylov dimension for the basis: n = p = 100, m = 1000 is
// above both). Each product entry and each chunk of the basis is computed by the same operations
// whatever the number of threads, so the results have the same bits on 1, 2 or more threads.
// HessianExtremes::threads says how many ran. (Label-noise SGD's diagnostics do not come here and
// stay on one thread.)
//
// Warm start. A run may start from the extremes of a nearby operator (LanczosWarmStart: the vectors
// of a previous HessianExtremes, e.g. at the previous point of a line search): the run for each end
// starts from P (u_1 + ... + u_K), the tangent projection at the new point of the sum of that end's
// previous unit vectors (those that converged), normalised; an end without usable previous vectors
// (none converged, wrong size, or a projection below 1e-8 of its norm) starts cold. Everything else
// is as in the cold run: the shift c and the normal value r come from the cold start vector (so the
// convergence test and the normal space's place in the spectrum are the same numbers), the same
// Krylov dimension, tolerance and restart cap, the same residual certificates. What changes is the
// Krylov space: a start with large components on the wanted eigenvectors converges in fewer
// restarts where the operator moved little. What a warm answer certifies is what a cold one does
// (each reported pair has its residual; lambda_min is the smallest eigenvalue this run found, an
// upper bound of the true one within its residual); where a cluster of nearly equal eigenvalues
// sits at the end, a warm and a cold run may report different members of it (each certified).
// The start is a deterministic function of the previous vectors and the point: same seed, same
// bits, for any number of threads.
//
// Choice of the default. One run per end (LanczosEnds::Separately): the implicit restarts then
// filter towards one end only, and lambda_max, which converges in a few restarts, does not take a
// wanted slot in the run for lambda_min (the Krylov spaces of H and sigma I - H are the same, so this
// SmallestAlge run is "the largest eigenvalue of sigma I - H"). Krylov dimension max(2 K + 1, 24).
// Measured (docs/performance.md section 13): `inspect` at the projected random start of n = 100,
// d = 1000, m = 1000 (k = 99,900): 1649 products, 15.0 s of CPU. The choice of ncv at size from a
// table of products against ncv is still open.

#include <Eigen/Dense>

#include <functional>
#include <string>

namespace zeroloss {

class SharpnessGeometry;
class RiemannianSharpness;

// How the Hessian spectrum is computed: dense (every eigenvalue, memory (m p)^2, time (m p)^3),
// Lanczos (the K smallest and K largest, from products), or auto (dense up to
// kDenseSpectrumMaxDimension, Lanczos above).
enum class SpectrumMethod { Auto, Dense, Lanczos };
const char* to_string(SpectrumMethod method);
// The inverse of to_string ("auto", "dense", "lanczos"); InputError naming the known names otherwise.
SpectrumMethod parse_spectrum_method(const std::string& name);

// Tangent dimension up to which auto uses the dense path. At k = 1480 the dense spectrum took 1.9 s
// on the (shared) reference machine, Lanczos 0.03 s at k = 980 and up to about 1 s at k = 1480
// (docs/performance.md section 9); below it the full list of eigenvalues is affordable and kept.
inline constexpr long kDenseSpectrumMaxDimension = 1500;
// Dense or Lanczos for a tangent dimension (auto resolved; dense and lanczos returned unchanged).
SpectrumMethod resolve_spectrum_method(SpectrumMethod method, long tangent_dimension);

// Whether the two ends of the spectrum share one Lanczos run (Spectra's BothEnds: nev = 2 K Ritz
// pairs, K at each end) or get one run each (SmallestAlge, then LargestAlge, nev = K each; the
// second run starts from the first one's start vector). See "Choice of the default" below.
enum class LanczosEnds { Together, Separately };
const char* to_string(LanczosEnds ends);

struct LanczosOptions {
  int eigenvalues = 1;         // K: the K smallest and the K largest
  double tolerance = 1e-10;    // Spectra's relative tolerance (see Convergence above)
  int max_iterations = 1000;   // implicit restarts (per run)
  int krylov_dimension = 0;    // ncv; 0: the default below, at most the tangent dimension
  LanczosEnds ends = LanczosEnds::Separately;
  bool is_valid() const;
  // Why not valid, naming the field ("" when valid).
  std::string invalid_reason() const;
};

// The Krylov dimension ncv used when LanczosOptions::krylov_dimension is 0 (before capping at the
// tangent dimension); see "Choice of the default" above.
Eigen::Index default_krylov_dimension(int eigenvalues, LanczosEnds ends);

// The K smallest (ascending) and K largest (descending: largest(0) = lambda_max) eigenvalues with
// unit eigenvectors in the operator's ambient coordinates (reduced: vectorize(beta), block j =
// beta_j) and residual norms ||Hess_M T v - lambda v||. Where the tangent dimension k < 2 K the two
// lists overlap (each has min(K, k) entries).
struct HessianExtremes {
  long tangent_dimension = 0;
  SpectrumMethod method = SpectrumMethod::Lanczos;  // Dense or Lanczos, as computed
  Eigen::VectorXd smallest, largest;
  Eigen::VectorXd smallest_residuals, largest_residuals;  // NaN where not converged
  Eigen::MatrixXd smallest_vectors, largest_vectors;      // columns; zero where not converged
  // Lanczos only (dense: converged, 0 iterations, and the k products that formed the matrix).
  bool converged = true;         // every requested pair converged
  int converged_pairs = 0;       // of the 2 K requested (min(2K, k))
  int iterations = 0;            // implicit restarts of the main run(s) (Separately: both runs)
  long matrix_vector_products = 0;  // all runs, certificates included
  int krylov_dimension = 0;
  LanczosEnds ends = LanczosEnds::Together;
  double shift = 0;              // c of "Convergence" above
  // Threads that ran the large products and the Lanczos basis operations (1 below their work
  // thresholds, for the dense path and for the generic model's products; see "Threads" above).
  int threads = 1;
  // Lanczos only: how many of the two ends' runs started from a LanczosWarmStart (0, 1 or 2;
  // Together: 0 or 1).
  int warm_started_runs = 0;
  double lambda_min() const { return smallest.size() ? smallest(0) : 0.0; }
  double lambda_max() const { return largest.size() ? largest(0) : 0.0; }
};

// What the residual certificate of lambda_min establishes about positive definiteness.
// A symmetric operator has an eigenvalue within r = ||H v - lambda v|| of a unit pair's lambda, so
// with the threshold tau = relative_threshold * max(|lambda_min|, |lambda_max|) (rounding relative
// to the spectrum):
//   PositiveDefinite     lambda_min - r > tau;
//   NotPositiveDefinite  lambda_min + r <= tau: an eigenvalue at or below tau exists;
//   Undetermined         lambda_min did not converge (no certificate), or [lambda_min - r,
//                        lambda_min + r] contains tau: the certificate does not separate it from 0.
// A tangent part of dimension 0 is PositiveDefinite (nothing to curve). Lanczos certifies that
// lambda_min is an eigenvalue to within r, not that no smaller one exists: PositiveDefinite from
// Lanczos is "the smallest eigenvalue Lanczos found is positive" (the dense path sees every one).
enum class Definiteness { PositiveDefinite, NotPositiveDefinite, Undetermined };
// "positive-definite", "not-positive-definite", "undetermined".
const char* to_string(Definiteness definiteness);
struct DefinitenessCertificate {
  Definiteness definiteness = Definiteness::Undetermined;
  double threshold = 0;  // tau
  std::string reason;    // one sentence with lambda_min, its residual and tau (or why there is none)
};
DefinitenessCertificate certify_definiteness(const HessianExtremes& extremes, double relative_threshold = 1e-10);

// Start vectors for tangent_lanczos_extremes from a nearby operator's extremes (see "Warm start"):
// columns in the ambient coordinates of the run (unit; zero columns, those that did not converge,
// are skipped). Empty matrices: that end starts cold.
struct LanczosWarmStart {
  Eigen::MatrixXd smallest, largest;
};
// The warm start that continues from `previous` (its smallest_vectors and largest_vectors).
LanczosWarmStart warm_start_from(const HessianExtremes& previous);

// The symmetric ambient operator: out = H in (both of the ambient dimension).
using SymmetricApply = std::function<void(const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out)>;
// The orthogonal projection onto the tangent space: out = P in (both of the ambient dimension).
using TangentProjection = std::function<void(const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out)>;
// The start vector of one end's run from that end's previous vectors (columns, ambient dimension):
// P (sum of the non-zero columns, each made unit), unit; empty when no column is usable or P keeps
// less than 1e-8 of the sum's norm (the run then starts cold).
Eigen::VectorXd warm_start_vector(const TangentProjection& project, const Eigen::Ref<const Eigen::MatrixXd>& vectors);

// Lanczos extremes of P H P on the tangent space (dimension tangent_dimension = rank of P) of an
// ambient space of dimension ambient_dimension (see "The operator"). Throws InputError for invalid
// options or a tangent dimension outside [0, ambient_dimension].
// With `warm`, the runs start from it (see "Warm start"); without, from the deterministic cold start.
HessianExtremes tangent_lanczos_extremes(Eigen::Index ambient_dimension, Eigen::Index tangent_dimension,
                                         const TangentProjection& project, const SymmetricApply& hessian,
                                         const LanczosOptions& options, const LanczosWarmStart* warm = nullptr);
// The dense counterpart on the k x k matrix A = B^T Hess_M T B (B an orthonormal tangent basis): every eigenvalue (ascending, the same
// bits as Eigen::SelfAdjointEigenSolver(A, EigenvaluesOnly)) and the K extremes with their residuals
// ||A y - lambda y|| (y from inverse iteration on the tridiagonal form; O(k^2) beyond the
// eigenvalues). Vectors are in the coordinates of A. `eigenvalues` receives the full list.
HessianExtremes dense_extremes(const Eigen::Ref<const Eigen::MatrixXd>& A, int K, Eigen::VectorXd* eigenvalues);

// Two-layer network: Hess_M T on the non-trivial tangent part, from the geometry in reduced
// coordinates (pass SharpnessGeometry(rc.reduce(model), rc.reduce(theta))). Cost per product
// O(n m p); memory (K + ncv + a few) vectors of m p and n x m work matrices. Throws
// SingularPointError at a singular point.
HessianExtremes riemannian_hessian_extremes(const SharpnessGeometry& reduced, const LanczosOptions& options,
                                            const LanczosWarmStart* warm = nullptr);

// One product of the operator Lanczos runs on (shift 0, normal value 0): out = P H P in, with H the
// unprojected Lagrangian Hessian (two-layer: the block operator in reduced coordinates, vectorize()
// order; generic: Hess T - sum_i lambda_i Hess f_i) and one projection before and one after it. For
// tangent in it equals Hess_M T[in]. For tests and benchmarks; Lanczos uses the same code.
Eigen::VectorXd tangent_operator_apply(const SharpnessGeometry& reduced, const Eigen::Ref<const Eigen::VectorXd>& in);
Eigen::VectorXd tangent_operator_apply(const RiemannianSharpness& sharpness, const Eigen::Ref<const Eigen::VectorXd>& in);

// Any SquaredLossModel: Hess_M T on the whole tangent space ker J (as
// RiemannianSharpness::riemannian_hessian_eigenvalues), from riemannian_hessian_apply. Throws
// SingularPointError at a singular point.
HessianExtremes riemannian_hessian_extremes(const RiemannianSharpness& sharpness, const LanczosOptions& options,
                                            const LanczosWarmStart* warm = nullptr);

}  // namespace zeroloss
