#include "zeroloss/sharpness/hessian_spectrum.hpp"

#include <Spectra/SymEigsSolver.h>
#include <Spectra/Util/Version.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "numerics/tall_basis_products.hpp"

#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/numerics/ordered_product.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/riemannian_sharpness.hpp"

namespace zeroloss {

const char* to_string(SpectrumMethod method) {
  switch (method) {
    case SpectrumMethod::Auto: return "auto";
    case SpectrumMethod::Dense: return "dense";
    case SpectrumMethod::Lanczos: return "lanczos";
  }
  return "unknown";
}

SpectrumMethod parse_spectrum_method(const std::string& name) {
  for (SpectrumMethod m : {SpectrumMethod::Auto, SpectrumMethod::Dense, SpectrumMethod::Lanczos})
    if (name == to_string(m)) return m;
  throw InputError("spectrum method '" + name + "' is unknown; expected one of: auto, dense, lanczos");
}

const char* to_string(LanczosEnds ends) { return ends == LanczosEnds::Together ? "together" : "separately"; }

const char* to_string(Definiteness definiteness) {
  switch (definiteness) {
    case Definiteness::PositiveDefinite: return "positive-definite";
    case Definiteness::NotPositiveDefinite: return "not-positive-definite";
    case Definiteness::Undetermined: return "undetermined";
  }
  return "undetermined";
}

DefinitenessCertificate certify_definiteness(const HessianExtremes& x, double relative_threshold) {
  DefinitenessCertificate c;
  if (x.tangent_dimension <= 0 || x.smallest.size() == 0) {
    c.definiteness = Definiteness::PositiveDefinite;
    c.reason = "the non-trivial tangent part is {0}";
    return c;
  }
  const double lmin = x.smallest(0), r = x.smallest_residuals(0);
  double scale = 0;
  for (double v : {lmin, x.lambda_max()})
    if (std::isfinite(v)) scale = std::max(scale, std::abs(v));
  c.threshold = relative_threshold * scale;
  const std::string tau = short_number(c.threshold, 3);
  if (!std::isfinite(lmin) || !std::isfinite(r)) {
    c.definiteness = Definiteness::Undetermined;
    c.reason = "Lanczos did not converge for lambda_min (" + std::to_string(x.iterations) + " restarts, " +
               std::to_string(x.matrix_vector_products) + " Hessian-vector products, Krylov dimension " +
               std::to_string(x.krylov_dimension) + "; last estimate " + short_number(lmin, 6) +
               " without a certificate)";
    return c;
  }
  const std::string pair = "lambda_min = " + short_number(lmin, 6) + " with residual " + short_number(r, 3);
  if (lmin - r > c.threshold) {
    c.definiteness = Definiteness::PositiveDefinite;
    c.reason = pair + ": an eigenvalue in [" + short_number(lmin - r, 6) + ", " + short_number(lmin + r, 6) +
               "], above the threshold " + tau;
  } else if (lmin + r <= c.threshold) {
    c.definiteness = Definiteness::NotPositiveDefinite;
    c.reason = pair + ": an eigenvalue at or below " + short_number(lmin + r, 6) + " <= the threshold " + tau;
  } else {
    c.definiteness = Definiteness::Undetermined;
    c.reason = pair + ": [" + short_number(lmin - r, 6) + ", " + short_number(lmin + r, 6) +
               "] contains the threshold " + tau + ", so the certificate does not separate lambda_min from 0";
  }
  return c;
}

SpectrumMethod resolve_spectrum_method(SpectrumMethod method, long tangent_dimension) {
  if (method != SpectrumMethod::Auto) return method;
  return tangent_dimension <= kDenseSpectrumMaxDimension ? SpectrumMethod::Dense : SpectrumMethod::Lanczos;
}

std::string LanczosOptions::invalid_reason() const {
  if (eigenvalues < 1) return "eigenvalues (K) must be at least 1, got " + std::to_string(eigenvalues);
  if (!(tolerance > 0) || !std::isfinite(tolerance) || tolerance >= 1)
    return "tolerance must be in (0, 1), got " + std::to_string(tolerance);
  if (max_iterations < 1) return "max_iterations must be at least 1, got " + std::to_string(max_iterations);
  if (krylov_dimension != 0 && krylov_dimension <= 2 * eigenvalues)
    return "krylov_dimension must be 0 (automatic) or above 2 K = " + std::to_string(2 * eigenvalues) + ", got " +
           std::to_string(krylov_dimension);
  return "";
}

bool LanczosOptions::is_valid() const { return invalid_reason().empty(); }

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The ambient operator of the header ("The operator"), with products counted:
//   A x = P H P x + shift P x + normal_value (x - P x).
// On tangent vectors it is Hess_M T + shift; on normal vectors it is normal_value.
class TangentOperator {
 public:
  using Scalar = double;

  TangentOperator(Eigen::Index ambient, const TangentProjection& project, const SymmetricApply& hessian)
      : project_(project), hessian_(hessian), N_(ambient), px_(ambient), hpx_(ambient) {}

  Eigen::Index rows() const { return N_; }
  Eigen::Index cols() const { return N_; }
  void set_shift(double c) { shift_ = c; }
  void set_normal_value(double r) { normal_value_ = r; }
  long products() const { return products_; }

  void perform_op(const double* x_in, double* y_out) const { apply(x_in, y_out, shift_, normal_value_); }

  void apply(const double* x_in, double* y_out, double shift, double normal_value) const {
    const Eigen::Map<const Eigen::VectorXd> x(x_in, N_);
    Eigen::Map<Eigen::VectorXd> y(y_out, N_);
    project_(x, px_);
    hessian_(px_, hpx_);
    project_(hpx_, y);
    y += shift * px_ + normal_value * (x - px_);
    ++products_;
  }

 private:
  const TangentProjection& project_;
  const SymmetricApply& hessian_;
  Eigen::Index N_;
  double shift_ = 0, normal_value_ = 0;
  mutable long products_ = 0;
  mutable Eigen::VectorXd px_, hpx_;
};

}  // namespace
}  // namespace zeroloss

// Spectra's Lanczos factorization (Spectra/LinAlg/Lanczos.h and Arnoldi::compress_V of version 1.0),
// specialised for TangentOperator: the same algorithm, step for step (the same selective
// re-orthogonalisation test, the same restarts driven by Spectra's SymEigsBase), with the
// operations on the basis V (N x ncv) in numerics/tall_basis_products.hpp: row chunks, each chunk
// of V read once per re-orthogonalisation pass (Eigen's N x i matrix-vector products read it twice,
// and its column-major one ran at less than half the speed of the transposed one), on several
// threads for large N ncv, with bits that do not depend on the number of threads. At
// n = p = 100, m = 1000 these basis operations took more time than the Hessian-vector products
// (docs/performance.md, section 19).
static_assert(SPECTRA_MAJOR_VERSION == 1 && SPECTRA_MINOR_VERSION == 0,
              "hessian_spectrum.cpp specialises Spectra 1.0's Lanczos factorization; check it against this version");

namespace Spectra {

template <>
class Lanczos<double, ArnoldiOp<double, zeroloss::TangentOperator, IdentityBOp>>
    : public Arnoldi<double, ArnoldiOp<double, zeroloss::TangentOperator, IdentityBOp>> {
  using Op = ArnoldiOp<double, zeroloss::TangentOperator, IdentityBOp>;
  using Base = Arnoldi<double, Op>;
  using Index = Eigen::Index;
  using Matrix = Eigen::MatrixXd;
  using Vector = Eigen::VectorXd;
  using MapVec = Eigen::Map<Vector>;
  using MapConstMat = Eigen::Map<const Matrix>;
  using Base::m_beta;
  using Base::m_eps;
  using Base::m_fac_f;
  using Base::m_fac_H;
  using Base::m_fac_V;
  using Base::m_k;
  using Base::m_m;
  using Base::m_n;
  using Base::m_near_0;
  using Base::m_op;

 public:
  template <typename T>
  Lanczos(T&& op, Index m) : Base(std::forward<T>(op), m), threads_(zeroloss::threads_for_basis(m_n, m)) {}

  // Extends the factorization from from_k to to_m columns (Spectra's Lanczos::factorize_from).
  void factorize_from(Index from_k, Index to_m, Index& op_counter) override {
    if (to_m <= from_k) return;
    if (from_k > m_k)
      throw std::invalid_argument("Lanczos: from_k (= " + std::to_string(from_k) +
                                  ") is larger than the current subspace dimension (= " + std::to_string(m_k) + ")");
    const double beta_thresh = m_eps * std::sqrt(static_cast<double>(m_n));
    Vector Vf(to_m), h(to_m), w(m_n), alpha(1);
    m_fac_H.rightCols(m_m - from_k).setZero();
    m_fac_H.block(from_k, 0, m_m - from_k, from_k).setZero();
    for (Index i = from_k; i <= to_m - 1; i++) {
      bool restart = false;
      if (m_beta < m_near_0) {  // the next V would not be of full rank: a new residual orthogonal to V
        MapConstMat V(m_fac_V.data(), m_n, i);
        this->expand_basis(V, 2 * i, m_fac_f, m_beta, op_counter);
        restart = true;
      }
      MapVec v(&m_fac_V(0, i), m_n);
      v.noalias() = m_fac_f / m_beta;
      m_fac_H(i, i - 1) = restart ? 0.0 : m_beta;
      m_fac_H(i - 1, i) = m_fac_H(i, i - 1);
      m_op.perform_op(v.data(), w.data());
      op_counter++;
      if (!restart) w.noalias() -= m_fac_H(i, i - 1) * m_fac_V.col(i - 1);
      m_fac_H(i, i) = m_op.inner_product(v, w);
      // f = w - H(i, i) v, beta = ||f||, Vf = V' f over the first i + 1 columns: one pass.
      const Index i1 = i + 1;
      const MapConstMat Vs(m_fac_V.data(), m_n, i1);
      m_fac_f = w;
      alpha(0) = m_fac_H(i, i);
      m_beta = std::sqrt(zeroloss::basis_subtract_and_project(MapConstMat(v.data(), m_n, 1), alpha, m_fac_f, Vs,
                                                              Vf.head(i1), threads_));
      double ortho_err = Vf.head(i1).cwiseAbs().maxCoeff();
      int count = 0;
      while (count < 5 && ortho_err > m_eps * m_beta) {  // f is not yet orthogonal to V: correct it
        if (m_beta < beta_thresh) {  // f is rounding noise: restart at the next step
          m_fac_f.setZero();
          m_beta = 0;
          break;
        }
        h.head(i1) = Vf.head(i1);
        // f -= V h, beta = ||f||, Vf = V' f: one pass.
        m_beta = std::sqrt(zeroloss::basis_subtract_and_project(Vs, h.head(i1), m_fac_f, Vs, Vf.head(i1), threads_));
        m_fac_H(i - 1, i) += h(i - 1);
        m_fac_H(i, i - 1) = m_fac_H(i - 1, i);
        m_fac_H(i, i) += h(i);
        ortho_err = Vf.head(i1).cwiseAbs().maxCoeff();
        count++;
      }
    }
    m_k = to_m;
  }

  // V -> V Q on the first k + 1 columns and the new residual f (Spectra's Arnoldi::compress_V,
  // which this hides: SymEigsBase calls it on this type). Column i < k of Q has m - k + i + 1
  // leading non-zeros.
  void compress_V(const Matrix& Q) {
    std::vector<Index> leading(static_cast<std::size_t>(m_k + 1));
    for (Index i = 0; i < m_k; i++) leading[static_cast<std::size_t>(i)] = m_m - m_k + i + 1;
    leading[static_cast<std::size_t>(m_k)] = m_m;
    zeroloss::basis_times_in_place(m_fac_V, Q.leftCols(m_k + 1), leading, threads_);
    Vector fk = m_fac_f * Q(m_m - 1, m_k - 1) + m_fac_V.col(m_k) * m_fac_H(m_k, m_k - 1);
    m_fac_f.swap(fk);
    m_beta = m_op.norm(m_fac_f);
  }

  int threads() const { return threads_; }

 private:
  int threads_;
};

}  // namespace Spectra

namespace zeroloss {
namespace {

// A deterministic start vector with entries in (-0.5, 0.5) (Spectra's own generator, seed 0).
Eigen::VectorXd start_vector(Eigen::Index k) { return Spectra::SimpleRandom<double>(0).random_vec(k); }

// The start vector projected onto the tangent space, unit.
Eigen::VectorXd tangent_start_vector(const TangentProjection& project, Eigen::Index N) {
  Eigen::VectorXd v(N);
  project(start_vector(N), v);
  return v / v.norm();
}

// SymEigsSolver with access to all requested Ritz values, converged or not (Spectra's eigenvalues()
// returns the converged ones only).
class ExtremeSolver : public Spectra::SymEigsSolver<TangentOperator> {
 public:
  using Spectra::SymEigsSolver<TangentOperator>::SymEigsSolver;
  Eigen::VectorXd requested_ritz_values(Eigen::Index nev) const { return m_ritz_val.head(nev); }
};

// The largest |Ritz value| of `steps` plain Lanczos steps: a lower bound of the spectral radius that
// is close to it after a few steps (the extreme Ritz values converge first).
double spectral_radius_estimate(const TangentOperator& op, const Eigen::VectorXd& start, int steps) {
  const Eigen::Index k = op.rows();
  Eigen::VectorXd v = start, v_prev = Eigen::VectorXd::Zero(k), w(k);
  std::vector<double> alpha, beta;
  double b = 0;
  for (int j = 0; j < steps && j < k; ++j) {
    op.apply(v.data(), w.data(), 0.0, 0.0);
    w -= b * v_prev;
    const double a = w.dot(v);
    w -= a * v;
    alpha.push_back(a);
    b = w.norm();
    if (!(b > 1e-14 * std::max(1.0, std::abs(a)))) break;
    beta.push_back(b);
    v_prev = v;
    v = w / b;
  }
  const Eigen::Index s = static_cast<Eigen::Index>(alpha.size());
  Eigen::VectorXd diag = Eigen::Map<Eigen::VectorXd>(alpha.data(), s);
  Eigen::VectorXd sub(std::max<Eigen::Index>(s - 1, 0));
  for (Eigen::Index i = 0; i + 1 < s; ++i) sub(i) = beta[static_cast<std::size_t>(i)];
  if (s == 1) return std::abs(diag(0));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es;
  es.computeFromTridiagonal(diag, sub, Eigen::EigenvaluesOnly);
  return es.eigenvalues().cwiseAbs().maxCoeff();
}

// Inverse iteration on the symmetric tridiagonal T (diagonal a, off-diagonal b) for the eigenvalue
// mu: three solves of (T - mu I) x = x_prev by Gaussian elimination with partial pivoting (LAPACK's
// gttrf/gtts2), zero pivots replaced by eps ||T||. Returns a unit vector.
Eigen::VectorXd tridiagonal_eigenvector(const Eigen::VectorXd& a, const Eigen::VectorXd& b, double mu) {
  const Eigen::Index k = a.size();
  double scale = a.cwiseAbs().maxCoeff();
  if (b.size()) scale = std::max(scale, b.cwiseAbs().maxCoeff());
  const double tiny = std::numeric_limits<double>::epsilon() * std::max(scale, std::numeric_limits<double>::min());
  Eigen::VectorXd d = a.array() - mu, dl = b, du = b, du2 = Eigen::VectorXd::Zero(std::max<Eigen::Index>(k - 2, 0));
  std::vector<char> swapped(static_cast<std::size_t>(std::max<Eigen::Index>(k - 1, 0)), 0);
  for (Eigen::Index i = 0; i + 1 < k; ++i) {
    if (std::abs(d(i)) >= std::abs(dl(i))) {
      if (d(i) == 0) d(i) = tiny;
      const double l = dl(i) / d(i);
      dl(i) = l;
      d(i + 1) -= l * du(i);
    } else {
      const double l = d(i) / dl(i);
      d(i) = dl(i);
      dl(i) = l;
      const double t = du(i);
      du(i) = d(i + 1);
      d(i + 1) = t - l * d(i + 1);
      if (i + 2 < k) {
        du2(i) = du(i + 1);
        du(i + 1) = -l * du(i + 1);
      }
      swapped[static_cast<std::size_t>(i)] = 1;
    }
  }
  if (d(k - 1) == 0) d(k - 1) = tiny;
  Eigen::VectorXd x = start_vector(k).array() + 1.0;  // entries in (0.5, 1.5): no eigenvector is orthogonal to all
  for (int it = 0; it < 3; ++it) {
    for (Eigen::Index i = 0; i + 1 < k; ++i) {
      if (swapped[static_cast<std::size_t>(i)]) std::swap(x(i), x(i + 1));
      x(i + 1) -= dl(i) * x(i);
    }
    x(k - 1) /= d(k - 1);
    if (k >= 2) x(k - 2) = (x(k - 2) - du(k - 2) * x(k - 1)) / d(k - 2);
    for (Eigen::Index i = k - 3; i >= 0; --i) x(i) = (x(i) - du(i) * x(i + 1) - du2(i) * x(i + 2)) / d(i);
    x /= x.norm();
  }
  return x;
}

void resize_extremes(HessianExtremes& out, Eigen::Index K, Eigen::Index ambient) {
  out.smallest.resize(K);
  out.largest.resize(K);
  out.smallest_residuals.resize(K);
  out.largest_residuals.resize(K);
  out.smallest_vectors = Eigen::MatrixXd::Zero(ambient, K);
  out.largest_vectors = Eigen::MatrixXd::Zero(ambient, K);
}

}  // namespace

HessianExtremes dense_extremes(const Eigen::Ref<const Eigen::MatrixXd>& A, int K, Eigen::VectorXd* eigenvalues) {
  if (K < 1) throw InputError("dense_extremes: K must be at least 1, got " + std::to_string(K));
  if (A.rows() != A.cols()) throw InputError("dense_extremes: the matrix is not square");
  const Eigen::Index k = A.rows();
  HessianExtremes out;
  out.method = SpectrumMethod::Dense;
  out.tangent_dimension = k;
  out.matrix_vector_products = k;
  const Eigen::Index Kk = std::min<Eigen::Index>(K, k);
  out.converged_pairs = static_cast<int>(std::min<Eigen::Index>(2 * K, k));
  resize_extremes(out, Kk, k);
  if (k == 0) {
    if (eigenvalues) eigenvalues->resize(0);
    return out;
  }
  Eigen::VectorXd values;
  if (k == 1) {
    values = A.diagonal();
    out.smallest(0) = out.largest(0) = values(0);
    out.smallest_residuals(0) = out.largest_residuals(0) = 0;
    out.smallest_vectors(0, 0) = out.largest_vectors(0, 0) = 1;
  } else {
    // The steps of Eigen::SelfAdjointEigenSolver::compute (EigenvaluesOnly), with the tridiagonal
    // form kept: the lower triangle scaled into [-1, 1], tridiagonalised, the QL iteration, scaled back.
    Eigen::MatrixXd mat = A.triangularView<Eigen::Lower>();
    double scale = mat.cwiseAbs().maxCoeff();
    if (scale == 0) scale = 1;
    mat.triangularView<Eigen::Lower>() /= scale;
    const Eigen::Tridiagonalization<Eigen::MatrixXd> tri(mat);
    const Eigen::VectorXd diag = tri.diagonal(), sub = tri.subDiagonal();
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es;
    es.computeFromTridiagonal(diag, sub, Eigen::EigenvaluesOnly);
    if (es.info() != Eigen::Success) throw ConvergenceError("dense_extremes: the symmetric eigensolver did not converge");
    values = es.eigenvalues() * scale;
    for (Eigen::Index c = 0; c < Kk; ++c) {
      for (int side = 0; side < 2; ++side) {
        const double lambda = side == 0 ? values(c) : values(k - 1 - c);
        Eigen::VectorXd y = tridiagonal_eigenvector(diag, sub, lambda / scale);
        const Eigen::VectorXd v = tri.matrixQ() * y;
        const double r = (A.selfadjointView<Eigen::Lower>() * v - lambda * v).norm();
        (side == 0 ? out.smallest : out.largest)(c) = lambda;
        (side == 0 ? out.smallest_residuals : out.largest_residuals)(c) = r;
        (side == 0 ? out.smallest_vectors : out.largest_vectors).col(c) = v;
      }
    }
  }
  if (eigenvalues) *eigenvalues = std::move(values);
  return out;
}

namespace {

// The requested Ritz pairs of one Spectra run, ascending, with certificates (NaN and zero vectors
// where a pair did not converge).
struct RunPairs {
  Eigen::VectorXd values, residuals;
  Eigen::MatrixXd vectors;
  int iterations = 0, converged_pairs = 0;
  bool converged = false;
};

// One restarted Lanczos run of op (shift and normal value set) for nev pairs selected by `rule`.
RunPairs lanczos_run(TangentOperator& op, const TangentProjection& project, const Eigen::VectorXd& v0,
                     Spectra::SortRule rule, Eigen::Index nev, Eigen::Index ncv, double shift,
                     const LanczosOptions& options) {
  const Eigen::Index N = op.rows();
  ExtremeSolver solver(op, nev, ncv);
  solver.init(v0.data());
  solver.compute(rule, options.max_iterations, options.tolerance, Spectra::SortRule::SmallestAlge);
  RunPairs out;
  out.iterations = static_cast<int>(solver.num_iterations());
  out.converged = solver.info() == Spectra::CompInfo::Successful;
  // All requested Ritz values (ascending); the converged ones are a subsequence, with vectors.
  const Eigen::VectorXd ritz = solver.requested_ritz_values(nev);
  const Eigen::VectorXd conv_values = solver.eigenvalues();
  const Eigen::MatrixXd conv_vectors = solver.eigenvectors();
  out.converged_pairs = static_cast<int>(conv_values.size());
  out.values.resize(nev);
  out.residuals = Eigen::VectorXd::Constant(nev, kNaN);
  out.vectors = Eigen::MatrixXd::Zero(N, nev);
  Eigen::VectorXd y(N), Ay(N);
  Eigen::Index next = 0;
  for (Eigen::Index i = 0; i < nev; ++i) {
    out.values(i) = ritz(i) - shift;
    if (next < conv_values.size() && conv_values(next) == ritz(i)) {
      // The certificate: the Ritz vector made exactly tangent and unit, ||Hess_M T y - lambda y||.
      project(conv_vectors.col(next), y);
      y.normalize();
      out.values(i) = conv_values(next) - shift;
      op.apply(y.data(), Ay.data(), 0.0, 0.0);
      out.residuals(i) = (Ay - out.values(i) * y).norm();
      out.vectors.col(i) = y;
      ++next;
    }
  }
  return out;
}

// The tiny case (2 K >= ncv): an orthonormal tangent basis B from k + 8 projected pseudo-random
// vectors (column-pivoted QR; rank k at a regular point), the k x k matrix B^T Hess_M T B from k
// products, then the dense path.
HessianExtremes extremes_from_products(const TangentOperator& op, const TangentProjection& project, Eigen::Index k,
                                       Eigen::Index K) {
  const Eigen::Index N = op.rows();
  Eigen::MatrixXd B(N, k);
  if (k > 0) {
    const Eigen::Index c = std::min<Eigen::Index>(k + 8, N);
    Eigen::MatrixXd R(N, c);
    Spectra::SimpleRandom<double> random(1);
    Eigen::VectorXd w(N);
    for (Eigen::Index j = 0; j < c; ++j) {
      project(random.random_vec(N), w);
      R.col(j) = w;
    }
    const Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(R);
    B = (qr.householderQ() * Eigen::MatrixXd::Identity(N, k)).eval();
  }
  Eigen::MatrixXd A(k, k);
  Eigen::VectorXd Ab(N);
  for (Eigen::Index c = 0; c < k; ++c) {
    op.apply(B.col(c).data(), Ab.data(), 0.0, 0.0);
    A.col(c).noalias() = B.transpose() * Ab;
  }
  A = 0.5 * (A + A.transpose()).eval();
  HessianExtremes out = dense_extremes(A, static_cast<int>(K), nullptr);
  for (Eigen::MatrixXd* V : {&out.smallest_vectors, &out.largest_vectors}) *V = (B * *V).eval();
  out.matrix_vector_products = op.products();
  return out;
}

}  // namespace

Eigen::Index default_krylov_dimension(int eigenvalues, LanczosEnds ends) {
  return ends == LanczosEnds::Together ? std::max<Eigen::Index>(4 * eigenvalues + 1, 24)
                                       : std::max<Eigen::Index>(2 * eigenvalues + 1, 24);
}

Eigen::VectorXd warm_start_vector(const TangentProjection& project, const Eigen::Ref<const Eigen::MatrixXd>& vectors) {
  const Eigen::Index N = vectors.rows();
  if (vectors.cols() == 0) return Eigen::VectorXd();
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(N);
  for (Eigen::Index j = 0; j < vectors.cols(); ++j) {
    const double norm = vectors.col(j).norm();
    if (norm > 0 && std::isfinite(norm)) sum += vectors.col(j) / norm;
  }
  const double sum_norm = sum.norm();
  if (!(sum_norm > 0)) return Eigen::VectorXd();
  Eigen::VectorXd v(N);
  project(sum, v);
  const double norm = v.norm();
  if (!(norm > 1e-8 * sum_norm) || !std::isfinite(norm)) return Eigen::VectorXd();
  return v / norm;
}

LanczosWarmStart warm_start_from(const HessianExtremes& previous) {
  return {previous.smallest_vectors, previous.largest_vectors};
}

HessianExtremes tangent_lanczos_extremes(Eigen::Index ambient_dimension, Eigen::Index tangent_dimension,
                                         const TangentProjection& project, const SymmetricApply& hessian,
                                         const LanczosOptions& options, const LanczosWarmStart* warm) {
  if (!options.is_valid()) throw InputError("Lanczos options: " + options.invalid_reason());
  const Eigen::Index N = ambient_dimension, k = tangent_dimension;
  if (k < 0 || k > N)
    throw InputError("tangent_lanczos_extremes: the tangent dimension " + std::to_string(k) +
                     " is not in [0, ambient dimension " + std::to_string(N) + "]");
  TangentOperator op(N, project, hessian);
  const Eigen::Index K = options.eigenvalues;
  Eigen::Index ncv = options.krylov_dimension > 0 ? options.krylov_dimension : default_krylov_dimension(options.eigenvalues, options.ends);
  ncv = std::min(ncv, k);
  if (k == 0 || 2 * K >= ncv) return extremes_from_products(op, project, k, K);

  HessianExtremes out;
  out.method = SpectrumMethod::Lanczos;
  out.tangent_dimension = k;
  out.krylov_dimension = static_cast<int>(ncv);
  out.ends = options.ends;
  out.threads = threads_for_basis(N, ncv);
  const Eigen::VectorXd v0 = tangent_start_vector(project, N);
  const double rho = spectral_radius_estimate(op, v0, static_cast<int>(std::min<Eigen::Index>(k, 24)));
  out.shift = rho > 0 ? 2 * rho : 1.0;
  op.set_shift(out.shift);
  // The normal space's eigenvalue: shift + the Rayleigh quotient of the (tangent) start vector, a
  // weighted mean of the tangent eigenvalues, hence inside the shifted tangent spectrum, never an
  // extreme that Lanczos could converge to from the rounding-level normal parts of its vectors.
  Eigen::VectorXd Av0(N);
  op.apply(v0.data(), Av0.data(), 0.0, 0.0);
  op.set_normal_value(out.shift + v0.dot(Av0));

  resize_extremes(out, K, N);
  auto take = [&](const RunPairs& r, Eigen::Index from, bool smallest, Eigen::Index c) {
    (smallest ? out.smallest : out.largest)(c) = r.values(from);
    (smallest ? out.smallest_residuals : out.largest_residuals)(c) = r.residuals(from);
    (smallest ? out.smallest_vectors : out.largest_vectors).col(c) = r.vectors.col(from);
  };
  // The start of each end's run: warm where the previous vectors give one, else v0 (Together: one
  // run for both ends, started from the previous vectors of both).
  Eigen::VectorXd warm_lo, warm_hi;
  if (warm && options.ends == LanczosEnds::Together) {
    Eigen::MatrixXd both;
    if (warm->smallest.rows() == N && warm->largest.rows() == N) {
      both.resize(N, warm->smallest.cols() + warm->largest.cols());
      both << warm->smallest, warm->largest;
    }
    warm_lo = warm_start_vector(project, both);
  } else if (warm) {
    if (warm->smallest.rows() == N) warm_lo = warm_start_vector(project, warm->smallest);
    if (warm->largest.rows() == N) warm_hi = warm_start_vector(project, warm->largest);
  }
  const Eigen::VectorXd& start_lo = warm_lo.size() ? warm_lo : v0;
  const Eigen::VectorXd& start_hi = warm_hi.size() ? warm_hi : v0;
  out.warm_started_runs = (warm_lo.size() ? 1 : 0) + (warm_hi.size() ? 1 : 0);
  if (options.ends == LanczosEnds::Together) {
    const Eigen::Index nev = 2 * K;
    const RunPairs r = lanczos_run(op, project, start_lo, Spectra::SortRule::BothEnds, nev, ncv, out.shift, options);
    out.iterations = r.iterations;
    out.converged = r.converged;
    out.converged_pairs = r.converged_pairs;
    for (Eigen::Index c = 0; c < K; ++c) {
      take(r, c, true, c);
      take(r, nev - 1 - c, false, c);
    }
  } else {
    const RunPairs lo = lanczos_run(op, project, start_lo, Spectra::SortRule::SmallestAlge, K, ncv, out.shift, options);
    const RunPairs hi = lanczos_run(op, project, start_hi, Spectra::SortRule::LargestAlge, K, ncv, out.shift, options);
    out.iterations = lo.iterations + hi.iterations;
    out.converged = lo.converged && hi.converged;
    out.converged_pairs = lo.converged_pairs + hi.converged_pairs;
    for (Eigen::Index c = 0; c < K; ++c) {
      take(lo, c, true, c);
      take(hi, K - 1 - c, false, c);
    }
  }
  out.matrix_vector_products = op.products();
  return out;
}

namespace {

// The two-layer operator's parts in reduced coordinates. Vectors are in the vectorize() order of
// beta: V^T (p x m) has the blocks beta_j as columns.
//   P v = v - J^T (J J^T)^{-1} J v with J v = rowsum(D o (Z V^T)) and J^T mu = Z^T (diag(mu) D):
//         two products of size n p m and the Cholesky factor of J J^T (ConstraintJacobian);
//   H v:  H V^T = Z^T (W o (Z V^T)), the block operator of sharpness/sharpness.hpp.
// The n p m products run in numerics/ordered_product.hpp (the same bits on every processor, AVX2
// where available), split over the columns (the m hidden units) on several threads above its work
// threshold, with the same bits whatever the number of threads.
class TwoLayerTangentParts {
 public:
  explicit TwoLayerTangentParts(const SharpnessGeometry& reduced)
      : J_(reduced.jacobian()),
        Z_(reduced.model().X()),
        Zt_(Z_.transpose()),
        W_(reduced.curvature_weights()),
        n_(reduced.model().n()),
        m_(reduced.model().m()),
        p_(reduced.model().d()),
        S_(n_, m_) {
    if (!J_.regular()) J_.solve_gram(Eigen::VectorXd::Zero(n_));  // throws SingularPointError
  }
  Eigen::Index ambient_dimension() const { return static_cast<Eigen::Index>(m_) * p_; }
  Eigen::Index tangent_dimension() const { return ambient_dimension() - n_; }
  // Threads of the products Z V^T (n x p by p x m) and Z^T S (p x n by n x m): the same work n p m
  // and the same m columns to split.
  int product_threads() const { return threads_for_product(n_, m_, p_); }

  void project(const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) const {
    const Eigen::Map<const Eigen::MatrixXd> Vt(in.data(), p_, m_);
    ordered_product_threaded(Z_, Vt, S_);
    const Eigen::VectorXd mu = J_.solve_gram(J_.D().cwiseProduct(S_).rowwise().sum());
    S_.noalias() = mu.asDiagonal() * J_.D();
    Eigen::Map<Eigen::MatrixXd> Out(out.data(), p_, m_);
    Out = Vt;
    ordered_product_threaded(Zt_, S_, Out, ProductUpdate::Subtract);
  }
  void hessian(const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) const {
    const Eigen::Map<const Eigen::MatrixXd> Vt(in.data(), p_, m_);
    ordered_product_threaded(Z_, Vt, S_);
    S_.array() *= W_.array();
    Eigen::Map<Eigen::MatrixXd> Out(out.data(), p_, m_);
    ordered_product_threaded(Zt_, S_, Out);
  }
  TangentProjection projection() const {
    return [this](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) { project(in, out); };
  }
  SymmetricApply operator_h() const {
    return [this](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) { hessian(in, out); };
  }

 private:
  const ConstraintJacobian& J_;
  const Eigen::MatrixXd& Z_;
  const Eigen::MatrixXd Zt_, W_;
  const int n_, m_, p_;
  mutable Eigen::MatrixXd S_;
};

// The generic parts: P from the point's Gram factor, H the unprojected Lagrangian Hessian (P is
// applied by the operator once after it: Hess_M T = P H P on tangent vectors).
TangentProjection generic_projection(const RiemannianSharpness& sharpness) {
  const ManifoldPoint& point = sharpness.point();
  return [&point](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) {
    out = point.tangent_projection(in);
  };
}
SymmetricApply generic_hessian(const RiemannianSharpness& sharpness) {
  return [&sharpness](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) {
    out = sharpness.lagrangian_hessian_apply(in);
  };
}

void require_regular(const RiemannianSharpness& sharpness) {
  const ManifoldPoint& point = sharpness.point();
  if (!point.regular()) point.solve_gram(Eigen::VectorXd::Zero(point.evaluation().num_samples()));  // throws
}

Eigen::VectorXd apply_once(Eigen::Index N, const TangentProjection& project, const SymmetricApply& hessian,
                           const Eigen::Ref<const Eigen::VectorXd>& in) {
  if (in.size() != N)
    throw InputError("tangent_operator_apply: the vector has " + std::to_string(in.size()) + " entries, expected " +
                     std::to_string(N));
  const TangentOperator op(N, project, hessian);
  const Eigen::VectorXd x = in;
  Eigen::VectorXd y(N);
  op.apply(x.data(), y.data(), 0.0, 0.0);
  return y;
}

}  // namespace

HessianExtremes riemannian_hessian_extremes(const SharpnessGeometry& reduced, const LanczosOptions& options,
                                            const LanczosWarmStart* warm) {
  const TwoLayerTangentParts parts(reduced);
  HessianExtremes out = tangent_lanczos_extremes(parts.ambient_dimension(), parts.tangent_dimension(),
                                                 parts.projection(), parts.operator_h(), options, warm);
  out.threads = std::max(out.threads, parts.product_threads());
  return out;
}

HessianExtremes riemannian_hessian_extremes(const RiemannianSharpness& sharpness, const LanczosOptions& options,
                                            const LanczosWarmStart* warm) {
  require_regular(sharpness);
  const Eigen::Index n = sharpness.point().evaluation().num_samples(), P = sharpness.point().point().size();
  return tangent_lanczos_extremes(P, P - n, generic_projection(sharpness), generic_hessian(sharpness), options, warm);
}

Eigen::VectorXd tangent_operator_apply(const SharpnessGeometry& reduced, const Eigen::Ref<const Eigen::VectorXd>& in) {
  const TwoLayerTangentParts parts(reduced);
  return apply_once(parts.ambient_dimension(), parts.projection(), parts.operator_h(), in);
}

Eigen::VectorXd tangent_operator_apply(const RiemannianSharpness& sharpness, const Eigen::Ref<const Eigen::VectorXd>& in) {
  require_regular(sharpness);
  return apply_once(sharpness.point().point().size(), generic_projection(sharpness), generic_hessian(sharpness), in);
}

}  // namespace zeroloss
