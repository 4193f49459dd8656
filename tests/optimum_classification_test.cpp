// The classification of a stationary point of T on M (sharpness_minimum's OptimumKind) from the
// residual certificate of lambda_min (certify_definiteness, sharpness/hessian_spectrum.hpp): a spectrum
// that is not certified gives "undetermined", never "NOT a minimum" and never a NaN printed as a
// number; a certified Lanczos spectrum classifies as the dense one does.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/presentation/optimum_outputs.hpp"
#include "zeroloss/sharpness/hessian_spectrum.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

using namespace zeroloss;

namespace {

HessianExtremes extremes(double lambda_min, double residual, double lambda_max = 1.0) {
  HessianExtremes x;
  x.tangent_dimension = 10;
  x.smallest = Eigen::VectorXd::Constant(1, lambda_min);
  x.smallest_residuals = Eigen::VectorXd::Constant(1, residual);
  x.largest = Eigen::VectorXd::Constant(1, lambda_max);
  x.largest_residuals = Eigen::VectorXd::Zero(1);
  return x;
}

// The three outcomes at the edges of [lambda_min - r, lambda_min + r] against tau = 1e-10 * scale.
TEST(DefinitenessCertificate, SeparatesLambdaMinFromZeroOnlyWhenTheResidualAllows) {
  EXPECT_EQ(certify_definiteness(extremes(1e-3, 1e-6)).definiteness, Definiteness::PositiveDefinite);
  EXPECT_EQ(certify_definiteness(extremes(1e-3, 2e-3)).definiteness, Definiteness::Undetermined);
  EXPECT_EQ(certify_definiteness(extremes(-1e-3, 2e-3)).definiteness, Definiteness::Undetermined);
  EXPECT_EQ(certify_definiteness(extremes(-1e-3, 1e-4)).definiteness, Definiteness::NotPositiveDefinite);
  // The threshold is relative to the spectrum: 5e-11 is positive but not above 1e-10 * 1.
  EXPECT_EQ(certify_definiteness(extremes(5e-11, 1e-20)).definiteness, Definiteness::NotPositiveDefinite);
  EXPECT_EQ(certify_definiteness(extremes(5e-11, 1e-20, 1e-3)).definiteness, Definiteness::PositiveDefinite);
  const DefinitenessCertificate tight = certify_definiteness(extremes(2e-10, 1.5e-10));
  EXPECT_EQ(tight.definiteness, Definiteness::Undetermined);
  EXPECT_DOUBLE_EQ(tight.threshold, 1e-10);
  EXPECT_NE(tight.reason.find("does not separate"), std::string::npos) << tight.reason;
  const DefinitenessCertificate none =
      certify_definiteness(extremes(0.25, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(none.definiteness, Definiteness::Undetermined);
  EXPECT_NE(none.reason.find("did not converge"), std::string::npos) << none.reason;
  HessianExtremes empty;
  EXPECT_EQ(certify_definiteness(empty).definiteness, Definiteness::PositiveDefinite);
}

// tanh: THEORY 5's assumptions fail, so the closed form's kind rests on the spectrum.
test::RandomProblem tanh_problem() { return test::random_problem_on_manifold(6, 10, 12, "tanh", false, 4711, 0.5); }

// With Lanczos forced and capped at one restart (Krylov dimension 5 of a 66-dimensional tangent
// part) lambda_min has no certificate: the kind is Undetermined, and neither the verdict, the table
// nor the JSON calls the point "NOT a minimum" or prints nan.
TEST(OptimumClassification, UnconvergedLanczosGivesUndeterminedWithoutNaN) {
  const test::RandomProblem p = tanh_problem();
  SharpnessMinimumOptions o;
  o.spectrum = SpectrumMethod::Lanczos;
  o.lanczos.max_iterations = 1;
  o.lanczos.krylov_dimension = 5;
  const SharpnessMinimum s = sharpness_minimum(p.model, p.theta, o);
  ASSERT_TRUE(s.closed_form);
  ASSERT_FALSE(s.assumptions.holds());
  ASSERT_TRUE(s.hessian.has_value());
  ASSERT_FALSE(s.hessian->converged);
  EXPECT_EQ(s.hessian->method, SpectrumMethod::Lanczos);
  EXPECT_EQ(s.kind, OptimumKind::Undetermined) << s.verdict;
  EXPECT_EQ(s.definiteness.definiteness, Definiteness::Undetermined);
  EXPECT_TRUE(std::isnan(s.hessian_min_eigenvalue));
  EXPECT_NE(s.verdict.find("undetermined"), std::string::npos) << s.verdict;
  EXPECT_NE(s.verdict.find("did not converge"), std::string::npos) << s.verdict;
  EXPECT_EQ(s.verdict.find("NOT a minimum"), std::string::npos) << s.verdict;

  const OptimumReport report{false, 0.0, 0.0, "tanh", "O.csv"};
  const nlohmann::ordered_json j = optimum_json(s, report);
  EXPECT_EQ(j["kind"], "undetermined");
  EXPECT_TRUE(j["hessian_lambda_min"].is_null());
  EXPECT_EQ(j["hessian_spectrum"]["definiteness"], "undetermined");
  EXPECT_FALSE(j["hessian_spectrum"]["converged"].get<bool>());
  EXPECT_TRUE(j["hessian_spectrum"]["lambda_min_residual"].is_null());
  EXPECT_TRUE(j["hessian_spectrum"]["lambda_min_estimate"].is_number());
  EXPECT_EQ(j["hessian_spectrum"]["method"], "lanczos");
  std::ostringstream table;
  print_optimum(table, s, report);
  for (const std::string& text : {j.dump(), table.str()}) {
    EXPECT_EQ(text.find("nan"), std::string::npos) << text;
    EXPECT_EQ(text.find("NaN"), std::string::npos) << text;
    EXPECT_EQ(text.find("NOT a minimum"), std::string::npos) << text;
  }
  EXPECT_NE(table.str().find("undetermined"), std::string::npos) << table.str();
}

// A converged Lanczos spectrum classifies the point as the dense one does (the same kind, lambda_min
// to 1e-8 relative), with a finite certificate in the JSON.
TEST(OptimumClassification, ConvergedLanczosClassifiesAsDense) {
  const test::RandomProblem p = tanh_problem();
  SharpnessMinimumOptions dense_options, lanczos_options;
  dense_options.spectrum = SpectrumMethod::Dense;
  lanczos_options.spectrum = SpectrumMethod::Lanczos;
  const SharpnessMinimum d = sharpness_minimum(p.model, p.theta, dense_options);
  const SharpnessMinimum l = sharpness_minimum(p.model, p.theta, lanczos_options);
  ASSERT_TRUE(l.hessian && l.hessian->converged);
  EXPECT_EQ(d.hessian->method, SpectrumMethod::Dense);
  EXPECT_NE(d.kind, OptimumKind::Undetermined) << d.verdict;
  EXPECT_EQ(l.kind, d.kind) << l.verdict << " | " << d.verdict;
  EXPECT_NEAR(l.hessian_min_eigenvalue, d.hessian_min_eigenvalue, 1e-8 * std::abs(d.hessian_min_eigenvalue));
  const nlohmann::ordered_json j = optimum_json(l, OptimumReport{false, 0.0, 0.0, "tanh", "O.csv"});
  EXPECT_TRUE(j["hessian_spectrum"]["lambda_min_residual"].is_number());
  EXPECT_LT(j["hessian_spectrum"]["lambda_min_residual"].get<double>(), 1e-8);
  EXPECT_EQ(j["hessian_spectrum"]["definiteness"], to_string(d.definiteness.definiteness));
}

}  // namespace
