// Activations: the hand-written derivatives against Boost.Math autodiff of the same formula (an
// independent route), inverses against the forward map, DomainError where an inverse does not exist,
// poly:... parsing, from_callable, and the assumption report.

#include <gtest/gtest.h>

#include <boost/math/constants/constants.hpp>

#include <cmath>
#include <functional>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/support/errors.hpp"

using namespace zeroloss;
using boost::math::differentiation::make_fvar;

namespace {

struct Builtin {
  const char* name;
  std::function<AutodiffScalar(AutodiffScalar)> formula;  // the textbook formula, differentiated by autodiff
};

std::vector<Builtin> builtins() {
  using std::exp;
  using std::log;
  return {
      {"cubic", [](AutodiffScalar z) { return z + z * z * z / 3.0; }},
      {"sinh", [](AutodiffScalar z) { return sinh(z); }},
      {"tanh", [](AutodiffScalar z) { return tanh(z); }},
      {"sigmoid", [](AutodiffScalar z) { return 1.0 / (1.0 + exp(-z)); }},
      {"softplus", [](AutodiffScalar z) { return log(1.0 + exp(z)); }},
      {"gelu",
       [](AutodiffScalar z) { return 0.5 * z * erfc(-z / boost::math::constants::root_two<double>()); }},
      {"poly:0.1,1,0.2,0.5", [](AutodiffScalar z) { return 0.1 + z + 0.2 * z * z + 0.5 * z * z * z; }},
  };
}

void expect_close(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::abs(want))) << what;
}

TEST(Activation, DerivativesMatchAutodiffOfTheFormula) {
  for (const Builtin& b : builtins()) {
    const Activation phi = Activation::from_name(b.name);
    for (double z = -4.0; z <= 4.0; z += 0.37) {
      const AutodiffScalar r = b.formula(make_fvar<double, 3>(z));
      const ActivationDerivatives d = phi.derivatives(z);
      const std::string where = std::string(b.name) + " at z = " + std::to_string(z);
      expect_close(d.d0, r.derivative(0), where + " (phi)");
      expect_close(d.d1, r.derivative(1), where + " (phi')");
      expect_close(d.d2, r.derivative(2), where + " (phi'')");
      expect_close(d.d3, r.derivative(3), where + " (phi''')");
      expect_close(phi.value(z), r.derivative(0), where + " (value)");
    }
  }
}

TEST(Activation, ThirdDerivativeMatchesFiniteDifferencesOfSecond) {
  // A second route for phi''' that does not use autodiff: central differences of phi''.
  for (const Builtin& b : builtins()) {
    const Activation phi = Activation::from_name(b.name);
    for (double z : {-2.1, -0.4, 0.0, 0.9, 2.6}) {
      const double h = 1e-5;
      const double fd = (phi.derivatives(z + h).d2 - phi.derivatives(z - h).d2) / (2 * h);
      EXPECT_NEAR(phi.derivatives(z).d3, fd, 1e-7 * std::max(1.0, std::abs(fd))) << b.name << " at " << z;
    }
  }
}

TEST(Activation, InverseUndoesValue) {
  for (const char* name : {"cubic", "sinh", "tanh", "sigmoid", "softplus", "poly:0.1,1,0.2,0.5"}) {
    const Activation phi = Activation::from_name(name);
    EXPECT_TRUE(phi.increasing()) << name;
    for (double z = -3.0; z <= 3.0; z += 0.25) {
      EXPECT_NEAR(phi.inverse(phi.value(z)), z, 1e-10 * std::max(1.0, std::abs(z))) << name << " at z = " << z;
    }
  }
  // Far in the tails of the closed forms.
  EXPECT_NEAR(Activation::cubic().inverse(Activation::cubic().value(40.0)), 40.0, 1e-12 * 40);
  EXPECT_NEAR(Activation::softplus().inverse(Activation::softplus().value(35.0)), 35.0, 1e-12 * 35);
}

TEST(Activation, SecondDerivativeInverseUndoesSecondDerivative) {
  for (const char* name : {"cubic", "sinh", "poly:0.1,1,0.2,0.5"}) {
    const Activation phi = Activation::from_name(name);
    EXPECT_TRUE(phi.second_derivative_increasing()) << name;
    for (double z = -3.0; z <= 3.0; z += 0.25) {
      EXPECT_NEAR(phi.second_derivative_inverse(phi.derivatives(z).d2), z, 1e-10 * std::max(1.0, std::abs(z)))
          << name << " at z = " << z;
    }
  }
}

TEST(Activation, DomainErrorsWhereInversesDoNotExist) {
  auto expect_domain = [](const std::function<void()>& f, const std::string& must_contain) {
    try {
      f();
      ADD_FAILURE() << "no DomainError (expected a message containing '" << must_contain << "')";
    } catch (const DomainError& e) {
      EXPECT_NE(std::string(e.what()).find(must_contain), std::string::npos) << e.what();
    }
  };
  const Activation tanh = Activation::tanh(), sigmoid = Activation::sigmoid(), gelu = Activation::gelu(),
                   softplus = Activation::softplus();
  expect_domain([&] { tanh.inverse(1.0); }, "tanh");
  expect_domain([&] { tanh.inverse(-1.5); }, "(-1, 1)");
  expect_domain([&] { sigmoid.inverse(0.0); }, "sigmoid");
  expect_domain([&] { sigmoid.inverse(1.0); }, "(0, 1)");
  expect_domain([&] { softplus.inverse(-0.5); }, "softplus");
  expect_domain([&] { gelu.inverse(0.5); }, "gelu");
  // phi'' is not monotone for these: (phi'')^{-1} is not defined anywhere.
  expect_domain([&] { tanh.second_derivative_inverse(0.1); }, "tanh");
  expect_domain([&] { sigmoid.second_derivative_inverse(0.01); }, "phi'''");
  expect_domain([&] { gelu.second_derivative_inverse(0.1); }, "gelu");
  expect_domain([&] { softplus.second_derivative_inverse(0.1); }, "softplus");
  // A polynomial that is not monotone: phi' = 1 - 3 z^2 changes sign.
  const Activation p = Activation::from_name("poly:0,1,0,-1");
  EXPECT_FALSE(p.increasing());
  expect_domain([&] { p.inverse(0.1); }, "poly:0,1,0,-1");
  // Non-finite argument.
  expect_domain([&] { Activation::from_name("poly:0,1,0.5,1").inverse(std::nan("")); }, "non-finite");
}

TEST(Activation, PolynomialParsing) {
  const Activation p = Activation::from_name("poly:0.5,2,-1,3");
  EXPECT_EQ(p.kind(), Activation::Kind::Polynomial);
  EXPECT_EQ(p.polynomial_coefficients(), (std::vector<double>{0.5, 2, -1, 3}));
  EXPECT_EQ(p.name(), "poly:0.5,2,-1,3");
  EXPECT_DOUBLE_EQ(p.value(2.0), 0.5 + 4 - 4 + 24);
  EXPECT_EQ(Activation::from_name("poly: 1, 2").polynomial_coefficients(), (std::vector<double>{1, 2}));

  auto expect_input = [](const std::string& name, const std::string& must_contain) {
    try {
      Activation::from_name(name);
      ADD_FAILURE() << name << ": no InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(must_contain), std::string::npos) << name << ": " << e.what();
    }
  };
  expect_input("poly:", "at least one coefficient");
  expect_input("poly:1,abc", "coefficient c1 ('abc') is not a number");
  expect_input("poly:1,,2", "coefficient c1");
  expect_input("poly:1,2x", "coefficient c1");
  expect_input("poly:3", "constant");
  expect_input("poly:3,0,0", "constant");
  expect_input("poly:nan,1", "c0 is not finite");
  expect_input("relu", "unknown activation 'relu'");
  expect_input("relu", "cubic, sinh, tanh, sigmoid, softplus, gelu, poly:");
  expect_input("Cubic", "unknown activation");
  expect_input("", "unknown activation");
}

TEST(Activation, FromCallableAutodiffMatchesExactCubic) {
  const Activation exact = Activation::cubic();
  const Activation cb =
      Activation::from_callable("my-cubic", [](AutodiffScalar z) { return z + z * z * z / 3.0; }, true, true);
  EXPECT_EQ(cb.kind(), Activation::Kind::Custom);
  EXPECT_EQ(cb.name(), "my-cubic");
  for (double z = -5.0; z <= 5.0; z += 0.5) {
    const auto a = cb.derivatives(z), b = exact.derivatives(z);
    EXPECT_NEAR(a.d0, b.d0, 1e-13 * std::max(1.0, std::abs(b.d0)));
    EXPECT_NEAR(a.d1, b.d1, 1e-13 * std::max(1.0, std::abs(b.d1)));
    EXPECT_NEAR(a.d2, b.d2, 1e-13 * std::max(1.0, std::abs(b.d2)));
    EXPECT_NEAR(a.d3, b.d3, 1e-13);
    // Root-finding inverses (declared increasing) agree with the closed forms.
    EXPECT_NEAR(cb.inverse(b.d0), exact.inverse(b.d0), 1e-10 * std::max(1.0, std::abs(z)));
    EXPECT_NEAR(cb.second_derivative_inverse(b.d2), z, 1e-10 * std::max(1.0, std::abs(z)));
  }
  // Not declared increasing: no inverse.
  const Activation undeclared = Activation::from_callable("q", [](AutodiffScalar z) { return z + z * z * z; });
  EXPECT_THROW(undeclared.inverse(1.0), DomainError);
  EXPECT_THROW(Activation::from_callable("empty", nullptr), InputError);
}

TEST(Activation, AssumptionReport) {
  const AssumptionReport cubic = check_assumptions(Activation::cubic(), -3, 3);
  EXPECT_TRUE(cubic.holds());
  EXPECT_NEAR(cubic.min_first_derivative, 1.0, 1e-12);  // 1 + z^2, minimum at 0 (on the grid)
  EXPECT_NEAR(cubic.min_third_derivative, 2.0, 1e-12);
  EXPECT_NE(cubic.describe("cubic").find("hold"), std::string::npos);

  EXPECT_TRUE(check_assumptions(Activation::sinh(), -2, 2).holds());

  // tanh: phi' > 0 holds, phi''' = (1 - t^2)(6 t^2 - 2) is most negative at z = 0, value -2.
  const AssumptionReport tanh = check_assumptions(Activation::tanh(), -2, 2, 401);
  EXPECT_FALSE(tanh.holds());
  EXPECT_TRUE(tanh.first_derivative_positive);
  EXPECT_FALSE(tanh.third_derivative_positive);
  EXPECT_NEAR(tanh.min_third_derivative, -2.0, 1e-12);
  EXPECT_NEAR(tanh.argmin_third_derivative, 0.0, 1e-12);
  const std::string text = tanh.describe("tanh");
  EXPECT_NE(text.find("phi''' > 0 fails"), std::string::npos) << text;
  EXPECT_NE(text.find("phi'''(0) = -2"), std::string::npos) << text;
  EXPECT_EQ(text.find("phi' > 0 fails"), std::string::npos) << text;

  // gelu: phi' < 0 for z below about -0.75; the minimum of phi' is at z = -sqrt(2).
  const AssumptionReport gelu = check_assumptions(Activation::gelu(), -3, 3, 6001);
  EXPECT_FALSE(gelu.first_derivative_positive);
  EXPECT_NEAR(gelu.argmin_first_derivative, -std::sqrt(2.0), 1e-3);
  EXPECT_NE(gelu.describe("gelu").find("phi' > 0 fails"), std::string::npos);

  // At given points only.
  const AssumptionReport pts = check_assumptions(Activation::tanh(), std::vector<double>{2.0, 2.5});
  EXPECT_TRUE(pts.holds());  // phi''' > 0 for |z| > atanh(1/sqrt(3)) ~ 0.66
  EXPECT_FALSE(check_assumptions(Activation::cubic(), std::vector<double>{}).holds());
  EXPECT_THROW(check_assumptions(Activation::cubic(), 1, -1), InputError);
}

}  // namespace

// The matrix form must be the per-entry derivatives() bit for bit (the cubic overrides it with
// vectorised array expressions; the others use the default loop), with any output left out.
TEST(Activation, MatrixDerivativesAreThePerEntryOnesBitForBit) {
  Eigen::MatrixXd R(7, 5);
  for (Eigen::Index j = 0; j < R.cols(); ++j)
    for (Eigen::Index i = 0; i < R.rows(); ++i) R(i, j) = -2.3 + 0.137 * static_cast<double>(i * R.cols() + j) / 3.0;
  const Activation custom = Activation::from_callable("quintic", [](auto z) { return z + z * z * z * z * z / 5; });
  for (const Activation& act : {Activation::cubic(), Activation::sinh(), Activation::tanh(), Activation::sigmoid(),
                                Activation::softplus(), Activation::gelu(), Activation::from_name("poly:0.1,1,0.2,0.3"),
                                custom}) {
    Eigen::MatrixXd d0, d1, d2, d3;
    act.derivatives_of(R, &d0, &d1, &d2, &d3);
    Eigen::MatrixXd only_d1;
    act.derivatives_of(R, nullptr, &only_d1);
    ASSERT_EQ(d0.rows(), R.rows());
    ASSERT_EQ(only_d1.cols(), R.cols());
    for (Eigen::Index j = 0; j < R.cols(); ++j)
      for (Eigen::Index i = 0; i < R.rows(); ++i) {
        const ActivationDerivatives dv = act.derivatives(R(i, j));
        EXPECT_EQ(d0(i, j), dv.d0) << act.name();
        EXPECT_EQ(d1(i, j), dv.d1) << act.name();
        EXPECT_EQ(d2(i, j), dv.d2) << act.name();
        EXPECT_EQ(d3(i, j), dv.d3) << act.name();
        EXPECT_EQ(only_d1(i, j), dv.d1) << act.name();
      }
  }
}
