#include "zeroloss/support/number_text.hpp"
#include "zeroloss/model/activation.hpp"

#include <Eigen/Dense>
#include <boost/math/constants/constants.hpp>
#include <boost/math/special_functions/erf.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/root_finding.hpp"

namespace zeroloss {
namespace {

// Solves g(z) = target for a strictly increasing g by bracket expansion and TOMS 748.
// `what` names the function for the error message (e.g. "phi" or "phi''").
double solve_increasing(const std::function<double(double)>& g, double target,
                        const std::string& activation, const std::string& what) {
  if (!std::isfinite(target)) {
    throw DomainError("activation " + activation + ": cannot invert " + what + " at non-finite value " +
                      short_number(target, 10));
  }
  const std::optional<double> z = increasing_root([&](double x) { return g(x) - target; });
  if (!z) {
    throw DomainError("activation " + activation + ": the value " + short_number(target, 10) + " is outside the range of " +
                      what + ", so " + what + "^{-1}(" + short_number(target, 10) + ") does not exist");
  }
  return *z;
}


class Cubic final : public Activation::Impl {
 public:
  ActivationDerivatives derivatives(double z) const override {
    return {z + z * z * z / 3.0, 1.0 + z * z, 2.0 * z, 2.0};
  }
  // The same expressions on whole arrays (vectorised; entrywise IEEE operations, so the same bits).
  void derivatives_of(const Eigen::Ref<const Eigen::MatrixXd>& R, Eigen::MatrixXd* d0, Eigen::MatrixXd* d1,
                      Eigen::MatrixXd* d2, Eigen::MatrixXd* d3) const override {
    const auto z = R.array();
    if (d0) d0->array() = z + z * z * z / 3.0;
    if (d1) d1->array() = 1.0 + z * z;
    if (d2) d2->array() = 2.0 * z;
    if (d3) d3->setConstant(2.0);
  }
  double inverse(double y) const override {
    if (!std::isfinite(y)) return Activation::Impl::inverse(y);
    // z^3 + 3 z - 3 y = 0 (Cardano; one real root), then two Newton polishing steps.
    const double s = std::sqrt(2.25 * y * y + 1.0);
    double z = std::cbrt(1.5 * y + s) + std::cbrt(1.5 * y - s);
    for (int k = 0; k < 3; ++k) z -= (z + z * z * z / 3.0 - y) / (1.0 + z * z);
    return z;
  }
  double second_derivative_inverse(double c) const override { return c / 2.0; }
  bool increasing() const override { return true; }
  bool second_derivative_increasing() const override { return true; }
};

class Sinh final : public Activation::Impl {
 public:
  ActivationDerivatives derivatives(double z) const override {
    const double s = std::sinh(z), c = std::cosh(z);
    return {s, c, s, c};
  }
  double inverse(double y) const override { return std::asinh(y); }
  double second_derivative_inverse(double c) const override { return std::asinh(c); }
  bool increasing() const override { return true; }
  bool second_derivative_increasing() const override { return true; }
};

class Tanh final : public Activation::Impl {
 public:
  ActivationDerivatives derivatives(double z) const override {
    const double t = std::tanh(z), u = 1.0 - t * t;
    return {t, u, -2.0 * t * u, u * (6.0 * t * t - 2.0)};
  }
  double inverse(double y) const override {
    if (!(std::abs(y) < 1.0)) {
      throw DomainError("activation tanh: tanh^{-1}(" + short_number(y, 10) + ") does not exist (tanh takes values in (-1, 1))");
    }
    return std::atanh(y);
  }
  bool increasing() const override { return true; }
  bool second_derivative_increasing() const override { return false; }
};

double logistic(double z) {
  return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

class Sigmoid final : public Activation::Impl {
 public:
  ActivationDerivatives derivatives(double z) const override {
    const double s = logistic(z), u = s * (1.0 - s);
    return {s, u, u * (1.0 - 2.0 * s), u * (1.0 - 6.0 * s + 6.0 * s * s)};
  }
  double inverse(double y) const override {
    if (!(y > 0.0 && y < 1.0)) {
      throw DomainError("activation sigmoid: sigmoid^{-1}(" + short_number(y, 10) +
                        ") does not exist (sigmoid takes values in (0, 1))");
    }
    return std::log(y) - std::log1p(-y);
  }
  bool increasing() const override { return true; }
  bool second_derivative_increasing() const override { return false; }
};

class Softplus final : public Activation::Impl {
 public:
  ActivationDerivatives derivatives(double z) const override {
    const double v = std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
    const double s = logistic(z), u = s * (1.0 - s);
    return {v, s, u, u * (1.0 - 2.0 * s)};
  }
  double inverse(double y) const override {
    if (!(y > 0.0) || !std::isfinite(y)) {
      throw DomainError("activation softplus: softplus^{-1}(" + short_number(y, 10) +
                        ") does not exist (softplus takes values in (0, inf))");
    }
    return y > 30 ? y + std::log1p(-std::exp(-y)) : std::log(std::expm1(y));
  }
  bool increasing() const override { return true; }
  bool second_derivative_increasing() const override { return false; }
};

class Gelu final : public Activation::Impl {
 public:
  ActivationDerivatives derivatives(double z) const override {
    const double rt2 = boost::math::constants::root_two<double>();
    const double cdf = 0.5 * boost::math::erfc(-z / rt2);
    const double pdf = std::exp(-0.5 * z * z) * boost::math::constants::one_div_root_two_pi<double>();
    return {z * cdf, cdf + z * pdf, pdf * (2.0 - z * z), pdf * (z * z * z - 4.0 * z)};
  }
  bool increasing() const override { return false; }
  bool second_derivative_increasing() const override { return false; }
};

// Whether the polynomial with coefficients c (ascending) is positive except at isolated points.
bool polynomial_nonnegative_isolated(std::vector<double> c) {
  while (!c.empty() && c.back() == 0.0) c.pop_back();
  if (c.empty()) return false;
  if (c.size() == 1) return c[0] > 0;
  const int deg = static_cast<int>(c.size()) - 1;
  Eigen::MatrixXd companion = Eigen::MatrixXd::Zero(deg, deg);
  for (int k = 0; k < deg; ++k) companion(k, deg - 1) = -c[k] / c[deg];
  for (int k = 1; k < deg; ++k) companion(k, k - 1) = 1.0;
  Eigen::EigenSolver<Eigen::MatrixXd> es(companion, false);
  std::vector<double> roots;
  for (int k = 0; k < deg; ++k) {
    const auto ev = es.eigenvalues()(k);
    if (std::abs(ev.imag()) <= 1e-9 * (1.0 + std::abs(ev.real()))) roots.push_back(ev.real());
  }
  std::sort(roots.begin(), roots.end());
  auto eval = [&](double z) {
    double v = 0;
    for (int k = deg; k >= 0; --k) v = v * z + c[k];
    return v;
  };
  std::vector<double> probes;
  if (roots.empty()) {
    probes.push_back(0.0);
  } else {
    probes.push_back(roots.front() - 1.0);
    for (size_t k = 0; k + 1 < roots.size(); ++k) probes.push_back(0.5 * (roots[k] + roots[k + 1]));
    probes.push_back(roots.back() + 1.0);
  }
  for (double z : probes)
    if (!(eval(z) > 0)) return false;
  return true;
}

std::vector<double> derivative_coefficients(const std::vector<double>& c) {
  std::vector<double> d;
  for (size_t k = 1; k < c.size(); ++k) d.push_back(static_cast<double>(k) * c[k]);
  return d;
}

class Polynomial final : public Activation::Impl {
 public:
  explicit Polynomial(std::vector<double> c) : c0_(std::move(c)) {
    c1_ = derivative_coefficients(c0_);
    c2_ = derivative_coefficients(c1_);
    c3_ = derivative_coefficients(c2_);
    increasing_ = polynomial_nonnegative_isolated(c1_);
    second_increasing_ = polynomial_nonnegative_isolated(c3_);
  }
  ActivationDerivatives derivatives(double z) const override {
    return {horner(c0_, z), horner(c1_, z), horner(c2_, z), horner(c3_, z)};
  }
  bool increasing() const override { return increasing_; }
  bool second_derivative_increasing() const override { return second_increasing_; }

 private:
  static double horner(const std::vector<double>& c, double z) {
    double v = 0;
    for (auto it = c.rbegin(); it != c.rend(); ++it) v = v * z + *it;
    return v;
  }
  std::vector<double> c0_, c1_, c2_, c3_;
  bool increasing_ = false, second_increasing_ = false;
};

class Callable final : public Activation::Impl {
 public:
  Callable(std::function<AutodiffScalar(AutodiffScalar)> f, bool inc, bool inc2)
      : f_(std::move(f)), inc_(inc), inc2_(inc2) {}
  ActivationDerivatives derivatives(double z) const override {
    const auto x = boost::math::differentiation::make_fvar<double, 3>(z);
    const AutodiffScalar v = f_(x);
    return {static_cast<double>(v.derivative(0)), static_cast<double>(v.derivative(1)),
            static_cast<double>(v.derivative(2)), static_cast<double>(v.derivative(3))};
  }
  bool increasing() const override { return inc_; }
  bool second_derivative_increasing() const override { return inc2_; }

 private:
  std::function<AutodiffScalar(AutodiffScalar)> f_;
  bool inc_, inc2_;
};

// The activation's name is needed in error messages from Impl; keep a thread-local hint.
thread_local const std::string* current_name = nullptr;

}  // namespace

void Activation::Impl::derivatives_of(const Eigen::Ref<const Eigen::MatrixXd>& R, Eigen::MatrixXd* d0,
                                      Eigen::MatrixXd* d1, Eigen::MatrixXd* d2, Eigen::MatrixXd* d3) const {
  for (Eigen::Index j = 0; j < R.cols(); ++j)
    for (Eigen::Index i = 0; i < R.rows(); ++i) {
      const ActivationDerivatives dv = derivatives(R(i, j));
      if (d0) (*d0)(i, j) = dv.d0;
      if (d1) (*d1)(i, j) = dv.d1;
      if (d2) (*d2)(i, j) = dv.d2;
      if (d3) (*d3)(i, j) = dv.d3;
    }
}

void Activation::derivatives_of(const Eigen::Ref<const Eigen::MatrixXd>& R, Eigen::MatrixXd* d0, Eigen::MatrixXd* d1,
                                Eigen::MatrixXd* d2, Eigen::MatrixXd* d3) const {
  for (Eigen::MatrixXd* d : {d0, d1, d2, d3})
    if (d) d->resize(R.rows(), R.cols());
  impl_->derivatives_of(R, d0, d1, d2, d3);
}

double Activation::Impl::inverse(double y) const {
  const std::string name = current_name ? *current_name : std::string("phi");
  if (!increasing()) {
    throw DomainError("activation " + name + ": phi is not strictly increasing, so phi^{-1}(" + short_number(y, 10) +
                      ") is not defined");
  }
  return solve_increasing([this](double z) { return derivatives(z).d0; }, y, name, "phi");
}

double Activation::Impl::second_derivative_inverse(double c) const {
  const std::string name = current_name ? *current_name : std::string("phi");
  if (!second_derivative_increasing()) {
    throw DomainError("activation " + name + ": phi'' is not strictly increasing (phi''' > 0 fails), so (phi'')^{-1}(" +
                      short_number(c, 10) + ") is not defined");
  }
  return solve_increasing([this](double z) { return derivatives(z).d2; }, c, name, "phi''");
}

Activation::Activation(std::string name, Kind kind, std::shared_ptr<const Impl> impl,
                       std::vector<double> coefficients)
    : name_(std::move(name)), kind_(kind), impl_(std::move(impl)), coefficients_(std::move(coefficients)) {}

double Activation::inverse(double y) const {
  current_name = &name_;
  struct Reset { ~Reset() { current_name = nullptr; } } reset;
  return impl_->inverse(y);
}

double Activation::second_derivative_inverse(double c) const {
  current_name = &name_;
  struct Reset { ~Reset() { current_name = nullptr; } } reset;
  return impl_->second_derivative_inverse(c);
}

Activation Activation::cubic() {
  return Activation("cubic", Kind::Cubic, std::make_shared<Cubic>(), {0.0, 1.0, 0.0, 1.0 / 3.0});
}
Activation Activation::sinh() { return Activation("sinh", Kind::Sinh, std::make_shared<Sinh>()); }
Activation Activation::tanh() { return Activation("tanh", Kind::Tanh, std::make_shared<Tanh>()); }
Activation Activation::sigmoid() { return Activation("sigmoid", Kind::Sigmoid, std::make_shared<Sigmoid>()); }
Activation Activation::softplus() { return Activation("softplus", Kind::Softplus, std::make_shared<Softplus>()); }
Activation Activation::gelu() { return Activation("gelu", Kind::Gelu, std::make_shared<Gelu>()); }

Activation Activation::polynomial(std::vector<double> coefficients) {
  bool nonconstant = false;
  for (size_t k = 0; k < coefficients.size(); ++k) {
    if (!std::isfinite(coefficients[k])) {
      throw InputError("polynomial activation: coefficient c" + std::to_string(k) + " is not finite");
    }
    if (k >= 1 && coefficients[k] != 0.0) nonconstant = true;
  }
  if (!nonconstant) {
    throw InputError("polynomial activation: needs a nonzero coefficient of degree >= 1 (got a constant)");
  }
  std::ostringstream name;
  name << "poly:";
  for (size_t k = 0; k < coefficients.size(); ++k) name << (k ? "," : "") << short_number(coefficients[k], 10);
  auto impl = std::make_shared<Polynomial>(coefficients);
  return Activation(name.str(), Kind::Polynomial, impl, std::move(coefficients));
}

Activation Activation::from_callable(std::string name, std::function<AutodiffScalar(AutodiffScalar)> phi,
                                     bool increasing, bool second_derivative_increasing) {
  if (!phi) throw InputError("activation " + name + ": empty callable");
  return Activation(std::move(name), Kind::Custom,
                    std::make_shared<Callable>(std::move(phi), increasing, second_derivative_increasing));
}

std::string Activation::known_names() { return "cubic, sinh, tanh, sigmoid, softplus, gelu, poly:c0,c1,c2,..."; }

Activation Activation::from_name(const std::string& name) {
  if (name == "cubic") return cubic();
  if (name == "sinh") return sinh();
  if (name == "tanh") return tanh();
  if (name == "sigmoid") return sigmoid();
  if (name == "softplus") return softplus();
  if (name == "gelu") return gelu();
  if (name.rfind("poly:", 0) == 0) {
    std::vector<double> c;
    std::string rest = name.substr(5);
    std::stringstream ss(rest);
    std::string item;
    int k = 0;
    while (std::getline(ss, item, ',')) {
      size_t used = 0;
      double v = 0;
      try {
        v = std::stod(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      while (used < item.size() && std::isspace(static_cast<unsigned char>(item[used]))) ++used;
      if (item.empty() || used != item.size()) {
        throw InputError("activation '" + name + "': coefficient c" + std::to_string(k) + " ('" + item +
                         "') is not a number; expected poly:c0,c1,c2,... with phi(z) = sum_k c_k z^k");
      }
      c.push_back(v);
      ++k;
    }
    if (c.empty()) throw InputError("activation '" + name + "': expected poly:c0,c1,c2,... with at least one coefficient");
    return polynomial(c);
  }
  throw InputError("unknown activation '" + name + "'; expected one of: " + known_names());
}

std::string AssumptionReport::describe(const std::string& activation_name) const {
  std::ostringstream s;
  s.precision(6);
  if (std::isinf(min_first_derivative) && std::isinf(min_third_derivative) && min_first_derivative > 0) {
    s << activation_name << ": not checked (no points)";
    return s.str();
  }
  if (holds()) {
    s << activation_name << ": phi' > 0 (min " << min_first_derivative << ") and phi''' > 0 (min "
      << min_third_derivative << ") hold on the points checked";
    return s.str();
  }
  s << activation_name << ": ";
  if (!first_derivative_positive)
    s << "phi' > 0 fails (phi'(" << argmin_first_derivative << ") = " << min_first_derivative << ")";
  if (!first_derivative_positive && !third_derivative_positive) s << "; ";
  if (!third_derivative_positive)
    s << "phi''' > 0 fails (phi'''(" << argmin_third_derivative << ") = " << min_third_derivative << ")";
  return s.str();
}

AssumptionReport check_assumptions(const Activation& phi, const std::vector<double>& points) {
  AssumptionReport r;
  r.min_first_derivative = std::numeric_limits<double>::infinity();
  r.min_third_derivative = std::numeric_limits<double>::infinity();
  for (double z : points) {
    const auto d = phi.derivatives(z);
    if (d.d1 < r.min_first_derivative) {
      r.min_first_derivative = d.d1;
      r.argmin_first_derivative = z;
    }
    if (d.d3 < r.min_third_derivative) {
      r.min_third_derivative = d.d3;
      r.argmin_third_derivative = z;
    }
  }
  r.first_derivative_positive = !points.empty() && r.min_first_derivative > 0;
  r.third_derivative_positive = !points.empty() && r.min_third_derivative > 0;
  return r;
}

AssumptionReport check_assumptions(const Activation& phi, double lo, double hi, int samples) {
  if (!(hi >= lo) || samples < 1) throw InputError("check_assumptions: need lo <= hi and samples >= 1");
  std::vector<double> pts(samples);
  for (int k = 0; k < samples; ++k) pts[k] = samples == 1 ? lo : lo + (hi - lo) * k / (samples - 1);
  return check_assumptions(phi, pts);
}

}  // namespace zeroloss
