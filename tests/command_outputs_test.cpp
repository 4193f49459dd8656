// The library's side of inspect, optimum, project, check and data, called without the program:
// the JSON builders of presentation/ against the objects the program printed when the golden cases
// were recorded (tests/golden/expected/<case>/stdout.json: same keys in the same order, the same
// numbers to the geometry tolerance), their numbers against the summaries they print, and the
// generated data files against the generators.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/diagnostics/two_layer_derivative_check.hpp"
#include "zeroloss/diagnostics/point_summary.hpp"
#include "zeroloss/diagnostics/two_layer_point_summary.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/model/two_layer_random_start.hpp"
#include "zeroloss/presentation/derivative_check_outputs.hpp"
#include "zeroloss/presentation/generated_data_outputs.hpp"
#include "zeroloss/presentation/optimum_outputs.hpp"
#include "zeroloss/presentation/point_summary_outputs.hpp"
#include "zeroloss/presentation/printed_numbers.hpp"
#include "zeroloss/presentation/projection_outputs.hpp"
#include "zeroloss/manifold/projection.hpp"
#include "zeroloss/manifold/on_manifold_tolerance.hpp"
#include "zeroloss/runs/generated_data.hpp"
#include "zeroloss/runs/loaded_diagonal_problem.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"

namespace zeroloss {
namespace {

using ojson = nlohmann::ordered_json;
const std::string kGolden = std::string(ZEROLOSS_SOURCE_DIR) + "/tests/golden";

ojson golden_stdout(const std::string& name) {
  std::ifstream in(kGolden + "/expected/" + name + "/stdout.json");
  EXPECT_TRUE(in) << name;
  return ojson::parse(in);
}

ProblemFiles golden_problem(const std::string& data, const std::string& weights, const std::string& activation = "cubic") {
  ProblemFiles f;
  f.data = kGolden + "/inputs/" + data;
  f.weights = kGolden + "/inputs/" + weights;
  f.activation = activation;
  return f;
}

// Same keys in the same order, same strings and booleans, numbers to |a - b| <= 1e-12 max(1, |b|).
void expect_same_json(const ojson& a, const ojson& b, const std::string& where) {
  if (b.is_number() && a.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    EXPECT_LE(std::abs(x - y), 1e-12 * std::max(1.0, std::abs(y))) << where << ": " << x << " vs " << y;
    return;
  }
  ASSERT_EQ(a.type(), b.type()) << where << ": " << a.dump() << " vs " << b.dump();
  if (a.is_object()) {
    std::vector<std::string> ka, kb;
    for (auto it = a.begin(); it != a.end(); ++it) ka.push_back(it.key());
    for (auto it = b.begin(); it != b.end(); ++it) kb.push_back(it.key());
    ASSERT_EQ(ka, kb) << where;
    for (const auto& k : ka) expect_same_json(a.at(k), b.at(k), where + "." + k);
  } else if (a.is_array()) {
    ASSERT_EQ(a.size(), b.size()) << where;
    for (size_t i = 0; i < a.size(); ++i) expect_same_json(a[i], b[i], where + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(a, b) << where;
  }
}

std::vector<std::string> keys(const ojson& j) {
  std::vector<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.push_back(it.key());
  return k;
}

// A number after a trip through the printed text: the JSON must give back the same double.
double round_trip(const ojson& j) { return ojson::parse(j.dump()).get<double>(); }

TEST(PrintedNumbers, NonFiniteAreNullAndTextIsSixDigits) {
  EXPECT_TRUE(json_number(std::numeric_limits<double>::quiet_NaN()).is_null());
  EXPECT_TRUE(json_number(-std::numeric_limits<double>::infinity()).is_null());
  const double x = 0.1 + 0.2;
  EXPECT_EQ(round_trip(json_number(x)), x);
  EXPECT_EQ(g6(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(g6(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(g6(1.0 / 3.0), "0.333333");
  EXPECT_EQ(g6(1234567.0), "1.23457e+06");
  EXPECT_EQ(numbers_inline(Eigen::VectorXd(0)), "(none)");
  EXPECT_EQ(numbers_inline(Eigen::Vector2d(1, 0.5)), "1  0.5");
  const std::string many = numbers_inline(Eigen::VectorXd::LinSpaced(14, 1, 14));
  EXPECT_EQ(many.substr(0, 5), "1  2 ");
  EXPECT_NE(many.find("12  ... (2 more in --json)"), std::string::npos) << many;
  const ojson a = json_numbers(Eigen::Vector3d(1, std::nan(""), 3));
  EXPECT_EQ(a.dump(), "[1.0,null,3.0]");
}

TEST(PointSummaryOutputs, TwoLayerJsonIsWhatInspectPrinted) {
  for (const auto& [name, files] : {std::pair{std::string("inspect_on_manifold"), golden_problem("main_data.csv", "main_on_M.csv")},
                                    std::pair{std::string("inspect_off_manifold"), golden_problem("main_data.csv", "main_w0.csv")},
                                    std::pair{std::string("inspect_tall_sinh"), golden_problem("tall_data.csv", "tall_w0.csv", "sinh")}}) {
    // What `inspect` uses: the library's one on-M tolerance (its --manifold-tolerance default).
    const LoadedProblem P = load_problem(files, ManifoldPolicy::Warn);
    const TwoLayerPointSummary s = summarize_two_layer_point(P.model, P.weights.theta, kOnManifoldTolerance, true);
    expect_same_json(point_summary_json(s), golden_stdout(name), name);
  }
}

TEST(PointSummaryOutputs, TwoLayerSingularPointHasNoRiemannianQuantities) {
  // One neuron, two identical rows with different labels: J J^T = G o (D D^T) has rank one.
  const TwoLayerModel model((Eigen::MatrixXd(2, 2) << 1, 0, 1, 0).finished(), Eigen::Vector2d(1, 2),
                            Eigen::VectorXd::Ones(1), Activation::cubic());
  const TwoLayerPointSummary s = summarize_two_layer_point(model, Eigen::RowVector2d(1, 0), 1e-9, false);
  EXPECT_FALSE(s.regular);
  EXPECT_FALSE(s.singular_reason.empty());
  const ojson j = point_summary_json(s);
  EXPECT_TRUE(j["riemannian_grad_norm"].is_null());
  EXPECT_TRUE(j["hessian_eigenvalues"].is_null());
  EXPECT_EQ(j["hessian_eigenvalues_skipped"], true);
  EXPECT_EQ(j["jjt_regular"], false);
  EXPECT_TRUE(j["jjt_condition"].is_null());  // infinite
  std::ostringstream table;
  print_point_summary(table, s, "D.csv", "W.csv");
  EXPECT_NE(table.str().find("\nriemannian_grad_norm" + std::string(11, ' ') + "undefined at a singular point\n"),
            std::string::npos)
      << table.str();
  // The loss by hand: phi(1) = 1 + 1/3, so f = (4/3, 4/3), y = (1, 2), L = ((1/3)^2 + (2/3)^2) / 4.
  EXPECT_DOUBLE_EQ(round_trip(j["loss"]), 5.0 / 36.0);
}

// The diagonal network: the keys inspect --model diagonal-linear prints, and the weighted l1 norm
// and w against a loop over the coordinates.
TEST(PointSummaryOutputs, DiagonalJsonKeysAndWeightedL1) {
  Eigen::MatrixXd X(2, 3);
  X << 1, 2, 0, 0, 1, -1;
  const auto model = std::make_shared<const DiagonalLinearNetwork>(X, Eigen::Vector2d(1, -1));
  Eigen::VectorXd theta(6);
  theta << 1, 0.5, 0.2, 0.3, 1.1, 0.7;
  for (bool with_hessian : {true, false}) {
    const PointSummary s = summarize_point(model, theta, with_hessian);
    const ojson j = point_summary_json(s, *model, theta, with_hessian);
    EXPECT_EQ(keys(j), (std::vector<std::string>{"model", "n", "parameters", "manifold_dimension", "residual_max", "loss",
                                                 "sharpness", "euclidean_grad_norm", "riemannian_grad_norm",
                                                 "jjt_condition", "regular", "singular_reason", "weighted_l1",
                                                 "hessian_eigenvalues", "hessian_spectrum_method", "hessian_lambda_min",
                                                 "hessian_lambda_max", "hessian_lambda_min_residual",
                                                 "hessian_lambda_max_residual", "hessian_extremes", "w"}));
    if (with_hessian) {
      // P - n = 4: dense; the extremes are the ends of the list, with certificates at rounding level.
      EXPECT_EQ(j["hessian_spectrum_method"], "dense");
      EXPECT_EQ(j["hessian_lambda_min"].get<double>(), s.hessian_eigenvalues(0));
      EXPECT_EQ(j["hessian_lambda_max"].get<double>(), s.hessian_eigenvalues(3));
      EXPECT_LT(j["hessian_lambda_min_residual"].get<double>(), 1e-12 * (1 + s.hessian_eigenvalues.cwiseAbs().maxCoeff()));
    } else {
      EXPECT_TRUE(j["hessian_lambda_min"].is_null());
    }
    double l1 = 0;
    for (int k = 0; k < 3; ++k) {
      const double w = theta(k) * theta(k) - theta(3 + k) * theta(3 + k);
      EXPECT_DOUBLE_EQ(j["w"][k].get<double>(), w);
      l1 += X.col(k).squaredNorm() * std::abs(w);
    }
    EXPECT_NEAR(round_trip(j["weighted_l1"]), l1, 1e-14 * l1);
    EXPECT_EQ(j["hessian_eigenvalues"].is_null(), !with_hessian);
    if (with_hessian) {
      EXPECT_EQ(j["hessian_eigenvalues"].size(), 6u - 2u);
    }
    EXPECT_EQ(round_trip(j["sharpness"]), s.sharpness);
  }
}

TEST(OptimumOutputs, TwoLayerJsonIsWhatOptimumPrinted) {
  struct Case {
    std::string name;
    ProblemFiles files;
    bool lbfgs;
  };
  for (const Case& c : {Case{"optimum_closed_form", golden_problem("main_data.csv", "main_w0.csv"), false},
                        Case{"optimum_mixed_a", golden_problem("main_data.csv", "mixed_w0.csv"), false}}) {
    const LoadedProblem P = load_problem(c.files);
    SharpnessMinimumOptions options;
    options.use_closed_form = !c.lbfgs;
    const SharpnessMinimum s = sharpness_minimum(P.model, P.weights.theta, options);
    const OptimumReport report{c.lbfgs, SharpnessGeometry(P.model, P.weights.theta).sharpness(),
                               max_residual(P.model, P.weights.theta), P.model.activation().name(), "out/optimum.csv"};
    expect_same_json(optimum_json(s, report), golden_stdout(c.name), c.name);
    std::ostringstream table;
    print_optimum(table, s, report);
    EXPECT_EQ(table.str().rfind("method" + std::string(20, ' ') + "closed-form\n", 0), 0u) << table.str();
  }
}

TEST(OptimumOutputs, DiagonalJsonNumbersRoundTrip) {
  Eigen::MatrixXd X(2, 4);
  X << 1, 0.5, -0.3, 0.2, 0.1, 1, 0.4, -0.6;
  const DiagonalLinearNetwork model(X, Eigen::Vector2d(0.7, -0.4));
  const DiagonalLinearOptimum r = diagonal_linear_optimum(model, random_diagonal_start(4, 1.0, 3));
  const ojson j = optimum_json(r, model.description(), "opt.csv");
  EXPECT_EQ(keys(j), (std::vector<std::string>{"model", "method", "sharpness", "objective", "dual_objective",
                                               "max_dual_violation", "residual_max", "support", "support_condition",
                                               "support_margin", "w", "dual", "flow", "out"}));
  EXPECT_EQ(round_trip(j["sharpness"]), r.sharpness);
  EXPECT_EQ(round_trip(j["objective"]), r.objective);
  ASSERT_EQ(j["support"].size(), r.support.size());
  for (size_t i = 0; i < r.support.size(); ++i) EXPECT_EQ(j["support"][i].get<int>(), r.support[i] + 1);  // 1-based
  for (int k = 0; k < 4; ++k) EXPECT_EQ(j["w"][k].get<double>(), r.w(k));
  EXPECT_EQ(keys(j["flow"]), (std::vector<std::string>{"termination", "t_reached", "accepted", "rejected",
                                                       "final_gradient_norm", "sharpness", "distance_to_certified"}));
}

// Every method through the library: the same object as the program printed for the golden cases.
TEST(ProjectionOutputs, JsonIsWhatProjectPrinted) {
  const LoadedProblem P = load_problem(golden_problem("main_data.csv", "main_w0.csv"));
  for (const std::string method : {"newton", "nearest", "gradient-flow", "ceres"}) {
    const ProjectionResult r = project(P.model, P.weights.theta, parse_projection_method(method));
    const ProjectionReport report{r.summary, SharpnessGeometry(P.model, P.weights.theta).sharpness(),
                                  SharpnessGeometry(P.model, r.theta).sharpness(), "", "||Theta_out - Theta_in||_F",
                                  "out/projected.csv"};
    std::string name = "project_" + method;
    std::replace(name.begin(), name.end(), '-', '_');
    const ojson j = projection_json(report);
    expect_same_json(j, golden_stdout(name), name);
    EXPECT_EQ(round_trip(j["distance_moved"]), r.summary.distance_moved);
    EXPECT_EQ(round_trip(j["sharpness_after"]), report.sharpness_after);
  }
}

TEST(ProjectionOutputs, ModelKeyAndTableForTheDiagonalNetwork) {
  ProjectionReport report;
  report.summary.method = ProjectionMethod::Newton;
  report.summary.distance_moved = 0.125;
  report.model = "diagonal linear network (n = 2, d = 3)";
  report.distance_norm = "||(u, v)_out - (u, v)_in||";
  const ojson j = projection_json(report);
  EXPECT_EQ(keys(j), (std::vector<std::string>{"model", "method", "converged", "iterations", "initial_residual",
                                               "final_residual", "distance_moved", "sharpness_before",
                                               "sharpness_after", "termination", "out"}));
  std::ostringstream table;
  print_projection(table, report);
  EXPECT_EQ(table.str().rfind("model" + std::string(19, ' ') + "diagonal linear network (n = 2, d = 3)\n", 0), 0u);
  EXPECT_NE(table.str().find("0.125  (||(u, v)_out - (u, v)_in||)"), std::string::npos);
}

TEST(DerivativeCheckOutputs, JsonKeysInjectionAndFailedChecks) {
  const test::RandomProblem p = test::random_problem_on_manifold(3, 4, 3, "cubic", false, 11);
  DerivativeCheckOptions opt;
  opt.seed = 5;
  opt.slope_tolerance = 0.3;
  const DerivativeCheckSubject subject = sharpness_check_subject(p.model);
  const DerivativeCheckResult good = check_sharpness_derivatives(p.model, p.theta, opt);
  const ojson j = derivative_check_json(good, subject, {});
  EXPECT_EQ(keys(j), (std::vector<std::string>{"function", "activation", "seed", "injected_error", "passed",
                                               "base_point_shift", "value", "gradient_norm", "directional_derivative",
                                               "curvature", "gradient", "hessian", "gradient_tangency",
                                               "hessian_tangency", "symmetry", "linearity"}));
  EXPECT_EQ(j["seed"], 5u);
  EXPECT_TRUE(j["injected_error"].is_null());
  EXPECT_EQ(j["passed"], true);
  EXPECT_DOUBLE_EQ(j["hessian"]["min_slope"].get<double>(), 3 - 0.3);
  EXPECT_EQ(j["gradient"]["t"].size(), good.gradient.t.size());
  EXPECT_EQ(failed_check_names(good), "");

  InjectedError injected;
  injected.gradient = 1e-2;
  const DerivativeCheckResult bad = check_sharpness_derivatives(p.model, p.theta, opt, injected);
  EXPECT_FALSE(bad.passed());
  const ojson jb = derivative_check_json(bad, subject, injected);
  EXPECT_EQ(jb["injected_error"].dump(), "{\"in\":\"gradient\",\"size\":0.01}");
  EXPECT_NE(failed_check_names(bad).find("gradient Taylor slope"), std::string::npos) << failed_check_names(bad);
  std::ostringstream table;
  print_derivative_check_report(table, bad, subject, injected);
  EXPECT_EQ(table.str().substr(0, subject.heading.size() + 1), subject.heading + "\n");
  EXPECT_NE(table.str().find("DELIBERATE ERROR injected into the gradient (relative size 0.01)"), std::string::npos);

  const DiagonalLinearNetwork diag(Eigen::MatrixXd::Identity(2, 3), Eigen::Vector2d(1, 2));
  const DerivativeCheckSubject ds = sharpness_check_subject(diag);
  ASSERT_TRUE(ds.model.has_value());
  EXPECT_EQ(*ds.model, "diagonal-linear");
  EXPECT_EQ(keys(derivative_check_json(good, ds, {}))[1], "model");
}

TEST(RandomTwoLayerStart, ScaleSignsAndSeeds) {
  Eigen::MatrixXd X(3, 4);
  X << 1, 0, 2, 0, 0, 3, 0, 1, 1, 1, 1, 1;
  const double mean_norm2 = (5.0 + 10.0 + 4.0) / 3.0;
  const Weights w = random_two_layer_start(X, 4000, 0.5, false, 9);
  ASSERT_EQ(w.theta.rows(), 4000);
  ASSERT_EQ(w.theta.cols(), 4);
  EXPECT_TRUE(w.a.isOnes());
  const double sd = std::sqrt(w.theta.squaredNorm() / w.theta.size());
  EXPECT_NEAR(sd, 0.5 / std::sqrt(mean_norm2), 0.02 * 0.5 / std::sqrt(mean_norm2));
  EXPECT_NEAR(w.theta.mean(), 0.0, 0.01);

  const Weights mixed = random_two_layer_start(X, 6, 0.5, true, 9);
  for (int j = 0; j < 6; ++j) {
    EXPECT_EQ(mixed.a(j) > 0, j % 2 == 0);
    EXPECT_GE(std::abs(mixed.a(j)), 0.5);
    EXPECT_LE(std::abs(mixed.a(j)), 1.5);
  }
  EXPECT_EQ(mixed.theta, random_two_layer_start(X, 6, 0.5, false, 9).theta);  // the signs come after theta
  EXPECT_NE(mixed.theta, random_two_layer_start(X, 6, 0.5, true, 10).theta);
  EXPECT_THROW(random_two_layer_start(X, 0, 0.5, false, 1), InputError);
  EXPECT_THROW(random_two_layer_start(X, 2, 0.0, false, 1), InputError);
}

class GeneratedData : public test::FolderTest {
 protected:
  GeneratedData() : FolderTest("generated-data-") {}
};

TEST_F(GeneratedData, FilesAreTheGeneratorsOutput) {
  GeneratedDataOptions o;
  o.data.n = 3;
  o.data.d = 5;
  o.data.generator = DataGenerator::Gaussian;
  o.data.seed = 1;
  o.out = path("data.csv");
  o.weights_out = path("w0.csv");
  o.m = 4;
  o.init_scale = 0.5;
  const GeneratedDataSummary s = write_generated_data(o);
  const Dataset written = read_dataset_csv(o.out);
  const Dataset direct = generate_dataset(o.data);
  EXPECT_EQ(written.X, direct.X);
  EXPECT_EQ(written.y, direct.y);
  EXPECT_EQ(s.x.rank, 3);
  EXPECT_EQ(s.label_min, direct.y.minCoeff());
  const Weights w = read_weights_csv(o.weights_out, 5);
  EXPECT_EQ(w.theta, random_two_layer_start(direct.X, 4, 0.5, false, 1).theta);
  // The files of the golden case data_gaussian (the same options) byte for byte.
  EXPECT_EQ(test::slurp(o.out), test::slurp(kGolden + "/expected/data_gaussian/data.csv"));
  EXPECT_EQ(test::slurp(o.weights_out), test::slurp(kGolden + "/expected/data_gaussian/w0.csv"));
  std::ostringstream text;
  print_generated_data(text, o, s);
  EXPECT_NE(text.str().find("(generator gaussian, labels random, seed 1)"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find(": m = 4 neurons"), std::string::npos);

  o.model = ModelKind::DiagonalLinear;
  o.m = 0;
  o.weights_out = path("uv.csv");
  write_generated_data(o);
  const DiagonalWeights uv = read_diagonal_weights_csv(o.weights_out, 5);
  const Eigen::VectorXd start = random_diagonal_start(5, 0.5, 1);
  EXPECT_EQ(uv.u, start.head(5));
  EXPECT_EQ(uv.v, start.tail(5));
}

TEST_F(GeneratedData, InconsistentOptionsWriteNothing) {
  GeneratedDataOptions o;
  o.out = path("data.csv");
  auto refused = [&](const GeneratedDataOptions& bad, const std::string& words) {
    try {
      write_generated_data(bad);
      ADD_FAILURE() << "accepted; expected: " << words;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(o.out));
  };
  GeneratedDataOptions b = o;
  b.data.given_labels = {1, 2, 3};
  refused(b, "--label-values is only used with --labels given (got --labels random)");
  b = o;
  b.weights_out = path("w.csv");
  refused(b, "--weights-out needs --m M with M >= 1");
  b.model = ModelKind::DiagonalLinear;
  b.mixed_signs = true;
  refused(b, "--m and --a-mixed describe two-layer weights");
  b = o;
  b.weights_out = o.out;
  b.m = 2;
  refused(b, "--weights-out and --out name the same file");
  b.weights_out = path("missing/w.csv");
  refused(b, "the folder");
  b = o;
  b.data.label_scale = -1;
  refused(b, "--label-scale must be a finite number >= 0 (got -1)");
}

TEST_F(GeneratedData, DiagonalProblemLoadsAndRefusesManifests) {
  const std::string data = file("d.csv", "x1,x2,y\n1,0,1\n0,2,3\n");
  const std::string uv = file("uv.csv", "u,v\n1,0.5\n0.25,2\n");
  ProblemFiles f;
  f.data = data;
  f.weights = uv;
  const LoadedDiagonalProblem P = load_diagonal_problem(f);
  EXPECT_EQ(P.model->dimension(), 2);
  EXPECT_EQ(P.theta, (Eigen::Vector4d(1, 0.25, 0.5, 2)));
  f.weights = file("r.json", "{}");
  try {
    load_diagonal_problem(f);
    ADD_FAILURE() << "a reduced-weights manifest was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("reduced-weights manifests are two-layer weights"), std::string::npos);
  }
}

}  // namespace
}  // namespace zeroloss
