#include "zeroloss/model/problem_checks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

std::string num(double v) {
  std::ostringstream s;
  s.precision(6);
  s << v;
  return s.str();
}

// Column of the largest |entry| of a row (the entry that makes its squared norm overflow).
Eigen::Index largest_entry(const Eigen::Ref<const Eigen::RowVectorXd>& row) {
  Eigen::Index k = 0;
  row.cwiseAbs().maxCoeff(&k);
  return k;
}

bool point_symmetric(const Activation& phi) {
  switch (phi.kind()) {
    case Activation::Kind::Cubic:
    case Activation::Kind::Sinh:
    case Activation::Kind::Tanh:
    case Activation::Kind::Sigmoid:
      return true;
    case Activation::Kind::Polynomial: {
      const std::vector<double>& c = phi.polynomial_coefficients();
      for (std::size_t k = 2; k < c.size(); k += 2)
        if (c[k] != 0.0) return false;
      return true;
    }
    default:
      return false;
  }
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-12 * std::max({1.0, std::abs(a), std::abs(b)}); }

}  // namespace

std::string ProblemSource::sample(int i) const {
  if (static_cast<std::size_t>(i) < data_lines.size())
    return data + ":" + std::to_string(data_lines[i]) + " (sample " + std::to_string(i + 1) + ")";
  return data + ", sample " + std::to_string(i + 1);
}

std::string ProblemSource::data_cell(int i, int k) const {
  const std::string column =
      static_cast<std::size_t>(k) < feature_names.size() ? feature_names[k] : "x" + std::to_string(k + 1);
  return sample(i) + ", column '" + column + "'";
}

std::string ProblemSource::neuron(int j) const {
  return weights + ", neuron " + std::to_string(j + 1) + " (row " + std::to_string(j + 1) + ")";
}

void require_evaluable(const TwoLayerModel& model, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                       const ProblemSource& src, bool theta_from_file) {
  const int n = model.n(), m = model.m();
  const std::string cannot = ": the model cannot be evaluated in floating point";
  // The data alone: ||x_i||^2 (X and y themselves are finite: checked by TwoLayerModel).
  const Eigen::VectorXd& x2 = model.row_norms_squared();
  for (int i = 0; i < n; ++i)
    if (!std::isfinite(x2(i))) {
      const Eigen::Index k = largest_entry(model.X().row(i));
      throw InputError(src.data_cell(i, static_cast<int>(k)) + ": x = " + num(model.X()(i, k)) + " makes ||x_" +
                       std::to_string(i + 1) + "||^2 overflow" + cannot +
                       " (J J^T and T contain ||x_i||^2); expected features of moderate size (rescale the data)");
    }
  // The weights: finite entries, finite ||theta_j||^2.
  if (theta.rows() != m || theta.cols() != model.d()) model.check_weights(theta, src.weights);  // throws
  for (int j = 0; j < m; ++j) {
    for (Eigen::Index k = 0; k < theta.cols(); ++k)
      if (!std::isfinite(theta(j, k))) {
        throw InputError(src.neuron(j) + (theta_from_file ? ", column " + std::to_string(k + 1) : "") + ": theta = " +
                         num(theta(j, k)) + "; expected a finite number");
      }
    if (!std::isfinite(theta.row(j).squaredNorm())) {
      const Eigen::Index k = largest_entry(theta.row(j));
      throw InputError(src.neuron(j) + (theta_from_file ? ", column " + std::to_string(k + 1) : "") + ": theta = " +
                       num(theta(j, k)) + " makes ||theta_" + std::to_string(j + 1) + "||^2 overflow" + cannot +
                       "; expected weights of moderate size");
    }
  }
  // Pre-activations and everything built from them, a block of neurons at a time (no n x m copies).
  const Activation& phi = model.activation();
  const Eigen::VectorXd& a = model.a();
  Eigen::VectorXd f = Eigen::VectorXd::Zero(n), jjt = Eigen::VectorXd::Zero(n);
  const int block = 256;
  Eigen::MatrixXd R, d0, d1, d2, d3;
  for (int j0 = 0; j0 < m; j0 += block) {
    const int b = std::min(block, m - j0);
    R.noalias() = model.X() * theta.middleRows(j0, b).transpose();
    phi.derivatives_of(R, &d0, &d1, &d2, &d3);
    for (int c = 0; c < b; ++c) {
      const int j = j0 + c;
      for (int i = 0; i < n; ++i) {
        const double r = R(i, c);
        const std::string where = " (" + src.sample(i) + "; " + src.neuron(j) + ")";
        if (!std::isfinite(r)) {
          throw InputError("the pre-activation r_" + std::to_string(i + 1) + std::to_string(j + 1) + " = x_" +
                           std::to_string(i + 1) + " . theta_" + std::to_string(j + 1) + " overflows" + where +
                           cannot + "; expected data and weights of moderate size");
        }
        const double v[4] = {d0(i, c), d1(i, c), d2(i, c), d3(i, c)};
        const char* names[4] = {"phi", "phi'", "phi''", "phi'''"};
        for (int q = 0; q < 4; ++q)
          if (!std::isfinite(v[q])) {
            throw InputError("the activation " + phi.name() + " overflows at r_" + std::to_string(i + 1) + "," +
                             std::to_string(j + 1) + " = x_" + std::to_string(i + 1) + " . theta_" +
                             std::to_string(j + 1) + " = " + num(r) + ": " + names[q] + "(r) = " + num(v[q]) + where +
                             cannot + " at these weights; expected pre-activations where " + phi.name() +
                             " and its first three derivatives are finite (rescale the weights or the data)");
          }
        const double aj2 = a(j) * a(j);
        const double grad_weight = x2(i) * aj2 * v[1] * v[2];
        const double hess_weight = x2(i) * aj2 * (v[2] * v[2] + v[1] * v[3]);
        f(i) += a(j) * v[0];
        jjt(i) += aj2 * v[1] * v[1];
        if (!std::isfinite(grad_weight) || !std::isfinite(hess_weight) || !std::isfinite(f(i)) ||
            !std::isfinite(x2(i) * jjt(i))) {
          const char* what = !std::isfinite(f(i))               ? "the output f_i = sum_j a_j phi(r_ij)"
                             : !std::isfinite(x2(i) * jjt(i))   ? "the diagonal entry ||x_i||^2 sum_j a_j^2 phi'(r_ij)^2 of J J^T (and T)"
                             : !std::isfinite(grad_weight)      ? "the gradient of T (||x_i||^2 a_j^2 phi' phi'')"
                                                                : "the Hessian of T (||x_i||^2 a_j^2 (phi''^2 + phi' phi'''))";
          throw InputError(std::string(what) + " overflows at sample " + std::to_string(i + 1) + ", neuron " +
                           std::to_string(j + 1) + " (r = " + num(r) + ", a_j = " + num(a(j)) + ", ||x_i||^2 = " +
                           num(x2(i)) + ")" + where + cannot + "; expected data, weights and second layer of moderate size");
        }
      }
    }
  }
  // Residuals and the loss.
  double loss = 0;
  for (int i = 0; i < n; ++i) {
    const double res = f(i) - model.y()(i);
    loss += res * res;
    if (!std::isfinite(res) || !std::isfinite(loss)) {
      const bool label = std::abs(model.y()(i)) >= std::abs(f(i));
      throw InputError(
          (label ? src.sample(i) + ", column 'y': the label y = " + num(model.y()(i))
                 : src.sample(i) + ": the output f = " + num(f(i)) + " at " + src.weights) +
          " makes the loss (1/(2n)) sum_i (f_i - y_i)^2 overflow (f_" + std::to_string(i + 1) + " - y_" +
          std::to_string(i + 1) + " = " + num(res) + ")" + cannot + "; expected " +
          (label ? "labels of moderate size (rescale y)" : "weights of moderate size"));
    }
  }
}

DataDiagnostics diagnose_data(const TwoLayerModel& model, const ProblemSource& src) {
  DataDiagnostics g;
  const int n = model.n(), d = model.d(), m = model.m();
  g.n = n;
  g.d = d;
  g.m = m;
  const Eigen::MatrixXd& X = model.X();
  const Eigen::VectorXd& y = model.y();
  const Eigen::VectorXd sv = Eigen::BDCSVD<Eigen::MatrixXd>(X).singularValues();
  g.sigma_max = sv.size() ? sv(0) : 0.0;
  g.sigma_min = sv.size() ? sv(sv.size() - 1) : 0.0;
  g.rank_tolerance = static_cast<double>(std::max(n, d)) * std::numeric_limits<double>::epsilon() * g.sigma_max;
  g.rank = 0;
  for (Eigen::Index k = 0; k < sv.size(); ++k)
    if (sv(k) > g.rank_tolerance) ++g.rank;

  const Activation& phi = model.activation();
  const double phi0_sum = phi.value(0.0) * model.a().sum();  // f_i at x_i = 0
  const bool symmetric = point_symmetric(phi);
  const Eigen::MatrixXd& G = model.gram();
  for (int k = 0; k < n; ++k) {
    if (G(k, k) == 0.0) {
      (close(y(k), phi0_sum) ? g.zero_rows_consistent : g.zero_rows_conflicting).push_back(k);
      continue;
    }
    for (int i = 0; i < k; ++i) {  // the first earlier row parallel to row k
      if (G(i, i) == 0.0 || !(G(i, k) * G(i, k) >= (1 - 1e-12) * G(i, i) * G(k, k))) continue;
      const RowPair pair{i, k, G(i, k) / G(i, i)};
      if (X.row(k) == X.row(i)) {
        (y(k) == y(i) ? g.identical_same_label : g.identical_conflicting).push_back({i, k, 1.0});
      } else if (symmetric && X.row(k) == -X.row(i)) {
        (close(y(k), 2 * phi0_sum - y(i)) ? g.mirrored_consistent : g.mirrored_conflicting).push_back({i, k, -1.0});
      } else {
        g.parallel.push_back(pair);
      }
      break;
    }
  }

  auto rows = [&](const std::vector<RowPair>& v) {
    std::string s;
    const std::size_t shown = std::min<std::size_t>(v.size(), 3);
    for (std::size_t q = 0; q < shown; ++q) {
      if (q) s += "; ";
      const int i = v[q].first, k = v[q].second;
      s += "samples " + std::to_string(i + 1) + " and " + std::to_string(k + 1);
      if (static_cast<std::size_t>(k) < src.data_lines.size())
        s += " (lines " + std::to_string(src.data_lines[i]) + " and " + std::to_string(src.data_lines[k]) + ")";
    }
    if (v.size() > shown) s += "; and " + std::to_string(v.size() - shown) + " more pairs";
    return s;
  };
  auto zeros = [&](const std::vector<int>& v) {
    std::string s;
    const std::size_t shown = std::min<std::size_t>(v.size(), 3);
    for (std::size_t q = 0; q < shown; ++q) s += (q ? "; " : "") + src.sample(v[q]);
    if (v.size() > shown) s += "; and " + std::to_string(v.size() - shown) + " more";
    return s;
  };
  if (!g.identical_conflicting.empty()) {
    g.empty_manifold = true;
    const RowPair& p = g.identical_conflicting.front();
    g.findings.push_back("identical data rows with different labels (" + rows(g.identical_conflicting) +
                         "; e.g. y = " + num(y(p.first)) + " and " + num(y(p.second)) +
                         "): every network gives identical rows the same output, so no weights fit both labels "
                         "and the zero-loss manifold M is empty. Remove one row of each pair or correct its label");
  }
  if (!g.zero_rows_conflicting.empty()) {
    g.empty_manifold = true;
    g.findings.push_back("zero data rows (" + zeros(g.zero_rows_conflicting) + ") whose label differs from the output " +
                         num(phi0_sum) + " = phi(0) sum_j a_j that every network gives a zero row: M is empty. Remove "
                         "those rows");
  }
  if (!g.mirrored_conflicting.empty()) {
    g.empty_manifold = true;
    g.findings.push_back("mirrored data rows x_k = -x_i (" + rows(g.mirrored_conflicting) + ") with " + phi.name() +
                         ", for which phi(-z) = 2 phi(0) - phi(z): every network has f_k = " + num(2 * phi0_sum) +
                         " - f_i, which these labels violate, so M is empty. Remove one row of each pair or correct "
                         "its label");
  }
  if (!g.identical_same_label.empty()) {
    g.singular_everywhere = true;
    g.findings.push_back("identical data rows with the same label (" + rows(g.identical_same_label) +
                         "): their constraints coincide, so J J^T is singular at every Theta and the zero-loss set is "
                         "not a manifold of dimension m*d - n = " + std::to_string(static_cast<long long>(m) * d - n) +
                         ". Remove the duplicate rows (they add no constraint)");
  }
  if (!g.zero_rows_consistent.empty()) {
    g.singular_everywhere = true;
    g.findings.push_back("zero data rows (" + zeros(g.zero_rows_consistent) +
                         "): their gradient rows of J vanish, so J J^T is singular at every Theta. Remove those rows "
                         "(their labels equal phi(0) sum_j a_j and constrain nothing)");
  }
  if (!g.mirrored_consistent.empty()) {
    g.singular_everywhere = true;
    g.findings.push_back("mirrored data rows x_k = -x_i (" + rows(g.mirrored_consistent) + ") with " + phi.name() +
                         " (phi(-z) = 2 phi(0) - phi(z)) and labels y_k = " + num(2 * phi0_sum) +
                         " - y_i: their constraints coincide, so J J^T is singular at every Theta. Remove one row of "
                         "each pair");
  }
  if (static_cast<long long>(m) * g.rank < n) {
    g.singular_everywhere = true;
    g.findings.push_back("n = " + std::to_string(n) + " samples but m p = " +
                         std::to_string(static_cast<long long>(m) * g.rank) + " (m = " + std::to_string(m) +
                         " neurons, p = rank X = " + std::to_string(g.rank) +
                         "): J J^T (n x n) has rank at most m p < n, so it is singular at every Theta. Use at least " +
                         std::to_string((n + std::max(g.rank, 1) - 1) / std::max(g.rank, 1)) + " neurons or fewer samples");
  }
  if (!g.parallel.empty()) {
    g.findings.push_back("parallel data rows x_k = c x_i (" + rows(g.parallel) + ", e.g. c = " +
                         num(g.parallel.front().factor) +
                         "): rank X < n; their constraints need not conflict (e.g. a = 1 and a monotone phi) and "
                         "J J^T can still be invertible when m p >= n");
  }
  if (g.rank < n && !g.blocking()) {
    g.findings.push_back("the rows of X are linearly dependent (rank p = " + std::to_string(g.rank) + " < n = " +
                         std::to_string(n) + "; singular values <= " + num(g.rank_tolerance) +
                         " = max(n, d) eps sigma_max count as zero): M is a manifold of dimension m p - n wherever "
                         "J J^T is invertible, and the closed-form optimum of THEORY 5 does not exist");
  }
  return g;
}

void require_manifold(const DataDiagnostics& g, const ProblemSource& src) {
  if (!g.blocking()) return;
  std::string message = src.data + ": ";
  for (std::size_t q = 0; q < g.findings.size(); ++q) {
    if (q) message += ". Also: ";
    message += g.findings[q];
  }
  message += ". (zeroloss sgd still runs on these data and records this in summary.json)";
  if (g.empty_manifold) throw InputError(message);
  throw SingularPointError(message, std::numeric_limits<double>::infinity());
}

}  // namespace zeroloss
