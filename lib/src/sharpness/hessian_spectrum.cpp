#include "zeroloss/sharpness/hessian_spectrum.hpp"

#include <Spectra/SymEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
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

HessianExtremes tangent_lanczos_extremes(Eigen::Index ambient_dimension, Eigen::Index tangent_dimension,
                                         const TangentProjection& project, const SymmetricApply& hessian,
                                         const LanczosOptions& options) {
  if (!options.is_valid()) throw InputError("Lanczos options: " + options.invalid_reason());
  const Eigen::Index N = ambient_dimension, k = tangent_dimension;
  if (k < 0 || k > N)
    throw InputError("tangent_lanczos_extremes: the tangent dimension " + std::to_string(k) +
                     " is not in [0, ambient dimension " + std::to_string(N) + "]");
  TangentOperator op(N, project, hessian);
  const Eigen::Index K = options.eigenvalues;
  const Eigen::Index nev = 2 * K;
  Eigen::Index ncv = options.krylov_dimension > 0 ? options.krylov_dimension : std::max<Eigen::Index>(4 * K + 1, 24);
  ncv = std::min(ncv, k);

  if (k == 0 || nev >= ncv) {
    // Too small for a restarted Lanczos (Spectra needs 2 K < ncv <= k): an orthonormal tangent
    // basis B from k + 8 projected pseudo-random vectors (column-pivoted QR; rank k at a regular
    // point), the k x k matrix B^T Hess_M T B from k products, then the dense path.
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

  HessianExtremes out;
  out.method = SpectrumMethod::Lanczos;
  out.tangent_dimension = k;
  out.krylov_dimension = static_cast<int>(ncv);
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

  ExtremeSolver solver(op, nev, ncv);
  solver.init(v0.data());
  solver.compute(Spectra::SortRule::BothEnds, options.max_iterations, options.tolerance, Spectra::SortRule::SmallestAlge);
  out.iterations = static_cast<int>(solver.num_iterations());
  out.converged = solver.info() == Spectra::CompInfo::Successful;

  // All requested Ritz values (ascending); the converged ones are a subsequence, with vectors.
  const Eigen::VectorXd ritz = solver.requested_ritz_values(nev);
  const Eigen::VectorXd conv_values = solver.eigenvalues();
  const Eigen::MatrixXd conv_vectors = solver.eigenvectors();
  out.converged_pairs = static_cast<int>(conv_values.size());
  Eigen::VectorXd values(nev), residuals = Eigen::VectorXd::Constant(nev, kNaN);
  Eigen::MatrixXd vectors = Eigen::MatrixXd::Zero(N, nev);
  Eigen::VectorXd y(N), Ay(N);
  Eigen::Index next = 0;
  for (Eigen::Index i = 0; i < nev; ++i) {
    values(i) = ritz(i) - out.shift;
    if (next < conv_values.size() && conv_values(next) == ritz(i)) {
      // The certificate: the Ritz vector made exactly tangent and unit, ||Hess_M T y - lambda y||.
      project(conv_vectors.col(next), y);
      y.normalize();
      values(i) = conv_values(next) - out.shift;
      op.apply(y.data(), Ay.data(), 0.0, 0.0);
      residuals(i) = (Ay - values(i) * y).norm();
      vectors.col(i) = y;
      ++next;
    }
  }
  resize_extremes(out, K, N);
  for (Eigen::Index c = 0; c < K; ++c) {
    out.smallest(c) = values(c);
    out.smallest_residuals(c) = residuals(c);
    out.smallest_vectors.col(c) = vectors.col(c);
    out.largest(c) = values(nev - 1 - c);
    out.largest_residuals(c) = residuals(nev - 1 - c);
    out.largest_vectors.col(c) = vectors.col(nev - 1 - c);
  }
  out.matrix_vector_products = op.products();
  return out;
}

HessianExtremes riemannian_hessian_extremes(const SharpnessGeometry& reduced, const LanczosOptions& options) {
  const ConstraintJacobian& J = reduced.jacobian();
  const int n = reduced.model().n(), m = reduced.model().m(), p = reduced.model().d();
  if (!J.regular()) J.solve_gram(Eigen::VectorXd::Zero(n));  // throws SingularPointError
  const Eigen::MatrixXd& Z = reduced.model().X();
  const Eigen::MatrixXd& D = J.D();
  const Eigen::MatrixXd W = reduced.curvature_weights();
  // Vectors in the vectorize() order of beta: V^T (p x m) has the blocks beta_j as columns.
  // P v = v - J^T (J J^T)^{-1} J v with J v = rowsum(D o (Z V^T)) and J^T mu = Z^T (diag(mu) D):
  // two products of size n p m and the Cholesky factor of J J^T (ConstraintJacobian).
  Eigen::MatrixXd S(n, m);
  Eigen::VectorXd mu(n);
  const TangentProjection project = [&](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) {
    const Eigen::Map<const Eigen::MatrixXd> Vt(in.data(), p, m);
    S.noalias() = Z * Vt;
    mu = J.solve_gram(D.cwiseProduct(S).rowwise().sum());
    S.noalias() = mu.asDiagonal() * D;
    Eigen::Map<Eigen::MatrixXd> Out(out.data(), p, m);
    Out = Vt;
    Out.noalias() -= Z.transpose() * S;
  };
  // The block operator: H V^T = Z^T (W o (Z V^T)).
  Eigen::MatrixXd SH(n, m);
  const SymmetricApply hessian = [&](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) {
    const Eigen::Map<const Eigen::MatrixXd> Vt(in.data(), p, m);
    SH.noalias() = Z * Vt;
    SH.array() *= W.array();
    Eigen::Map<Eigen::MatrixXd>(out.data(), p, m).noalias() = Z.transpose() * SH;
  };
  const Eigen::Index N = static_cast<Eigen::Index>(m) * p;
  return tangent_lanczos_extremes(N, N - n, project, hessian, options);
}

HessianExtremes riemannian_hessian_extremes(const RiemannianSharpness& sharpness, const LanczosOptions& options) {
  const ManifoldPoint& point = sharpness.point();
  const Eigen::Index n = point.evaluation().num_samples(), P = point.point().size();
  if (!point.regular()) point.solve_gram(Eigen::VectorXd::Zero(n));  // throws SingularPointError
  const TangentProjection project = [&](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) {
    out = point.tangent_projection(in);
  };
  const SymmetricApply hessian = [&](const Eigen::Ref<const Eigen::VectorXd>& in, Eigen::Ref<Eigen::VectorXd> out) {
    out = sharpness.riemannian_hessian_apply(in);
  };
  return tangent_lanczos_extremes(P, P - n, project, hessian, options);
}

}  // namespace zeroloss
