#pragma once
// Activation functions phi with exact derivatives phi', phi'', phi''' and the inverses the theory
// needs: phi^{-1} (the optimum for a = 1) and (phi'')^{-1} (the optimum for general a).
//
// Built-in: cubic (z + z^3/3), sinh, tanh, sigmoid, softplus, gelu (z * Phi(z), Phi the standard
// normal CDF through Boost.Math erf), and the polynomial family poly:c0,c1,c2,... (phi(z) =
// sum_k c_k z^k). Any smooth callable can be used as well: its derivatives come from Boost.Math
// forward-mode autodiff (see Activation::from_callable).
//
// THEORY section 1: the theory assumes phi' > 0 and phi''' > 0 on the region visited. Only cubic,
// sinh and suitable polynomials satisfy this; `check_assumptions` says where the others fail.

#include <Eigen/Core>
#include <boost/math/differentiation/autodiff.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace zeroloss {

// Value and the first three derivatives of phi at one point.
struct ActivationDerivatives {
  double d0 = 0;  // phi(z)
  double d1 = 0;  // phi'(z)
  double d2 = 0;  // phi''(z)
  double d3 = 0;  // phi'''(z)
};

// Forward-mode autodiff number carrying derivatives up to order 3.
using AutodiffScalar = boost::math::differentiation::autodiff_fvar<double, 3>;

class Activation {
 public:
  enum class Kind { Cubic, Sinh, Tanh, Sigmoid, Softplus, Gelu, Polynomial, Custom };

  // Interface of one activation. Implementations override `derivatives`; the inverses default
  // to safeguarded root finding (Boost.Math TOMS 748) where phi (resp. phi'') is strictly
  // increasing, and throw DomainError where it is not.
  class Impl {
   public:
    virtual ~Impl() = default;
    virtual ActivationDerivatives derivatives(double z) const = 0;
    virtual double value(double z) const { return derivatives(z).d0; }
    // Entrywise over a matrix: writes phi, phi', phi'', phi''' of every entry of z into the outputs
    // that are not null (already sized like z). The default calls derivatives(double) per entry;
    // an override must give the same bits (the cubic evaluates the same expressions vectorised).
    virtual void derivatives_of(const Eigen::Ref<const Eigen::MatrixXd>& z, Eigen::MatrixXd* d0,
                                Eigen::MatrixXd* d1, Eigen::MatrixXd* d2, Eigen::MatrixXd* d3) const;
    // phi^{-1}(y); throws DomainError if phi is not invertible at y.
    virtual double inverse(double y) const;
    // (phi'')^{-1}(c); throws DomainError if phi'' is not invertible at c.
    virtual double second_derivative_inverse(double c) const;
    // Whether phi (resp. phi'') is strictly increasing on all of R, so that the inverse is global.
    virtual bool increasing() const = 0;
    virtual bool second_derivative_increasing() const = 0;
  };

  // Built-in activations.
  static Activation cubic();
  static Activation sinh();
  static Activation tanh();
  static Activation sigmoid();
  static Activation softplus();
  static Activation gelu();
  // phi(z) = sum_k coefficients[k] z^k. Needs at least one nonzero coefficient of degree >= 1.
  static Activation polynomial(std::vector<double> coefficients);
  // Parses "cubic", "sinh", "tanh", "sigmoid", "softplus", "gelu" or "poly:c0,c1,c2,...".
  // Throws InputError naming the accepted names on anything else.
  static Activation from_name(const std::string& name);
  // A user-supplied smooth function, written once as a generic lambda, e.g.
  //   Activation::from_callable("quintic", [](auto z) { return z + z * z * z * z * z / 5; });
  // Derivatives come from Boost.Math autodiff. The inverses use root finding when the caller
  // declares phi (resp. phi'') strictly increasing; otherwise they throw DomainError.
  static Activation from_callable(std::string name,
                                  std::function<AutodiffScalar(AutodiffScalar)> phi,
                                  bool increasing = false,
                                  bool second_derivative_increasing = false);

  // Names accepted by from_name (for --help texts).
  static std::string known_names();

  const std::string& name() const { return name_; }
  Kind kind() const { return kind_; }
  // Polynomial coefficients (Kind::Polynomial, and Kind::Cubic as {0, 1, 0, 1/3}); empty otherwise.
  const std::vector<double>& polynomial_coefficients() const { return coefficients_; }

  double value(double z) const { return impl_->value(z); }
  ActivationDerivatives derivatives(double z) const { return impl_->derivatives(z); }
  // phi and its derivatives entrywise over R, into the outputs that are not null (resized to R's
  // shape): one virtual call per matrix instead of one per entry, the same bits as derivatives().
  void derivatives_of(const Eigen::Ref<const Eigen::MatrixXd>& R, Eigen::MatrixXd* d0, Eigen::MatrixXd* d1,
                      Eigen::MatrixXd* d2 = nullptr, Eigen::MatrixXd* d3 = nullptr) const;
  // phi^{-1}(y) and (phi'')^{-1}(c); throw DomainError (naming the activation) where undefined.
  double inverse(double y) const;
  double second_derivative_inverse(double c) const;
  bool increasing() const { return impl_->increasing(); }
  bool second_derivative_increasing() const { return impl_->second_derivative_increasing(); }

  Activation(std::string name, Kind kind, std::shared_ptr<const Impl> impl,
             std::vector<double> coefficients = {});

 private:
  std::string name_;
  Kind kind_;
  std::shared_ptr<const Impl> impl_;
  std::vector<double> coefficients_;
};

// Whether THEORY's assumptions (phi' > 0 and phi''' > 0) hold on a set of pre-activations.
struct AssumptionReport {
  double min_first_derivative = 0;   // min phi' over the points
  double argmin_first_derivative = 0;
  double min_third_derivative = 0;   // min phi''' over the points
  double argmin_third_derivative = 0;
  bool first_derivative_positive = false;
  bool third_derivative_positive = false;
  bool holds() const { return first_derivative_positive && third_derivative_positive; }
  // One sentence saying which assumption fails and where, or that both hold.
  std::string describe(const std::string& activation_name) const;
};

// Evaluates the assumptions at the given points (e.g. every pre-activation r_ij present).
AssumptionReport check_assumptions(const Activation& phi, const std::vector<double>& points);
// Evaluates them on a uniform grid of `samples` points over [lo, hi].
AssumptionReport check_assumptions(const Activation& phi, double lo, double hi, int samples = 2001);

}  // namespace zeroloss
