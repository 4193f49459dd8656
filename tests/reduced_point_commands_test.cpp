// inspect, optimum and convexity from reduced weights (beta, U): the same numbers as from the lifted
// weights Theta = beta U^T (+ a part orthogonal to the data, which no quantity depends on), the
// optimum written as reduced weights, and no m x d matrix formed (runs/point_inspection.hpp,
// runs/optimum_run.hpp, runs/convexity_run.hpp).

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>

#include "test_support.hpp"
#include "zeroloss/formats/reduced_weights.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/io/weights.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/runs/convexity_run.hpp"
#include "zeroloss/runs/optimum_run.hpp"
#include "zeroloss/runs/point_inspection.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

using test::temp_dir;

// |a - b| <= 1e-10 max(|b|, floor).
void expect_close(double a, double b, double floor, const std::string& what) {
  EXPECT_LE(std::abs(a - b), 1e-10 * std::max(std::abs(b), floor)) << what << ": " << a << " against " << b;
}
void expect_close(const Eigen::VectorXd& a, const Eigen::VectorXd& b, double floor, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (Eigen::Index k = 0; k < a.size(); ++k) expect_close(a(k), b(k), floor, what + "[" + std::to_string(k) + "]");
}

// One problem written twice: as reduced weights (beta = Theta U with the data's own basis U, the part
// of Theta orthogonal to span{x_i} dropped) and as the weights CSV of Theta itself.
struct TwoFiles {
  ProblemFiles reduced, full;
};

TwoFiles write_both(const std::string& dir, const TwoLayerModel& model, const Eigen::MatrixXd& theta) {
  Dataset data;
  data.X = model.X();
  data.y = model.y();
  for (int k = 0; k < model.d(); ++k) data.feature_names.push_back("x" + std::to_string(k + 1));
  write_dataset_csv(dir + "/d.csv", data);
  const ReducedCoordinates rc(model.X());
  const Eigen::MatrixXd beta = rc.reduce(theta);
  const bool dropped = (theta - beta * rc.basis().transpose()).norm() > 0;
  write_reduced_weights(dir + "/r.json", beta, model.a(), rc.basis(), dropped);
  write_weights_csv(dir + "/w.csv", theta, model.a());
  TwoFiles f;
  f.reduced = {dir + "/d.csv", dir + "/r.json", model.activation().name()};
  f.full = {dir + "/d.csv", dir + "/w.csv", model.activation().name()};
  return f;
}

// Data of rank 3 < n = 5 (no closed form): X = A B with A 5 x 3, B 3 x 12.
test::RandomProblem rank_deficient_problem(unsigned seed) {
  const test::RandomProblem P = test::random_problem(5, 12, 7, "cubic", false, seed);
  const Eigen::MatrixXd X = test::random_matrix(5, 3, seed + 1) * test::random_matrix(3, 12, seed + 2) / std::sqrt(12.0);
  return {TwoLayerModel(X, P.model.y(), P.model.a(), P.model.activation()), P.theta};
}

struct InspectCase {
  const char* activation;
  bool mixed_a, on_manifold;
  SpectrumMethod spectrum;
};

void PrintTo(const InspectCase& c, std::ostream* os) {
  *os << c.activation << (c.mixed_a ? ", mixed a" : "") << (c.on_manifold ? ", on M, " : ", off M, ")
      << to_string(c.spectrum);
}

class ReducedInspect : public testing::TestWithParam<InspectCase> {};

// Every number `inspect` prints from the manifest equals the one from the lifted Theta, which has a
// part orthogonal to the data (the manifest records it as dropped), on and off M, with the dense
// spectrum and with Lanczos.
TEST_P(ReducedInspect, EqualsTheSummaryOfTheLiftedWeights) {
  const InspectCase c = GetParam();
  const std::string dir = temp_dir("reduced-inspect");
  const test::RandomProblem P = c.on_manifold ? test::random_problem_on_manifold(5, 12, 7, c.activation, c.mixed_a, 11)
                                              : test::random_problem(5, 12, 7, c.activation, c.mixed_a, 11);
  const TwoFiles f = write_both(dir, P.model, P.theta);
  PointInspectionOptions o;
  o.spectrum = c.spectrum;
  o.lanczos.eigenvalues = 2;
  const PointInspection R = inspect_two_layer_point(f.reduced, o), F = inspect_two_layer_point(f.full, o);
  const TwoLayerPointSummary &r = R.summary, &s = F.summary;
  EXPECT_EQ(r.coordinates, PointCoordinates::Reduced);
  EXPECT_EQ(s.coordinates, PointCoordinates::Full);
  EXPECT_TRUE(r.perpendicular_dropped);
  EXPECT_EQ(r.n, 5);
  EXPECT_EQ(r.d, 12);
  EXPECT_EQ(r.m, 7);
  EXPECT_EQ(r.p, s.p);
  EXPECT_EQ(r.manifold_dimension, s.manifold_dimension);
  EXPECT_EQ(r.nontrivial_tangent_dimension, s.nontrivial_tangent_dimension);
  EXPECT_EQ(r.on_manifold, c.on_manifold);
  EXPECT_EQ(s.on_manifold, c.on_manifold);
  ASSERT_TRUE(r.regular && s.regular);
  expect_close(r.loss, s.loss, 1.0, "loss");
  expect_close(r.residual_max, s.residual_max, 1.0, "residual_max");
  expect_close(r.sharpness, s.sharpness, 0, "T");
  expect_close(r.hessian_trace, s.hessian_trace, 0, "tr Hess L");
  expect_close(r.jjt_condition, s.jjt_condition, 0, "cond J J^T");
  expect_close(r.data_condition, s.data_condition, 0, "cond X");
  expect_close(r.preactivation_singular_values, s.preactivation_singular_values,
               s.preactivation_singular_values(0), "singular values of R");
  expect_close(r.feature_singular_values, s.feature_singular_values, s.feature_singular_values(0),
               "singular values of phi(R)");
  expect_close(r.assumptions.min_first_derivative, s.assumptions.min_first_derivative, 1.0, "min phi'");
  expect_close(*r.riemannian_gradient_norm, *s.riemannian_gradient_norm, 0, "||grad_M T||");
  ASSERT_TRUE(r.hessian_extremes && s.hessian_extremes);
  const double scale = std::abs(s.hessian_extremes->lambda_max());
  expect_close(r.hessian_extremes->smallest, s.hessian_extremes->smallest, scale, "smallest eigenvalues");
  expect_close(r.hessian_extremes->largest, s.hessian_extremes->largest, scale, "largest eigenvalues");
  EXPECT_EQ(r.hessian_eigenvalues.has_value(), c.spectrum == SpectrumMethod::Dense);
  if (r.hessian_eigenvalues) expect_close(*r.hessian_eigenvalues, *s.hessian_eigenvalues, scale, "spectrum");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ReducedInspect,
    testing::Values(InspectCase{"cubic", false, true, SpectrumMethod::Dense},
                    InspectCase{"cubic", false, true, SpectrumMethod::Lanczos},
                    InspectCase{"sinh", true, false, SpectrumMethod::Dense},
                    InspectCase{"tanh", true, true, SpectrumMethod::Lanczos}),
    [](const testing::TestParamInfo<InspectCase>& info) {
      return std::string(info.param.activation) + (info.param.mixed_a ? "_mixed_a" : "") +
             (info.param.on_manifold ? "_on_M_" : "_off_M_") + to_string(info.param.spectrum);
    });

// The same reduced summary is a different number when the point is different: the comparison above
// can fail (a reduced point perturbed by 1e-6 moves T by far more than its tolerance).
TEST(ReducedInspect, APerturbedManifestGivesADifferentSharpness) {
  const std::string dir = temp_dir("reduced-inspect-perturbed");
  const test::RandomProblem P = test::random_problem_on_manifold(5, 12, 7, "cubic", false, 12);
  const TwoFiles f = write_both(dir, P.model, P.theta);
  ReducedWeights w = read_reduced_weights(f.reduced.weights, 12);
  w.beta(3, 1) += 1e-6;
  write_reduced_weights(f.reduced.weights, w);
  const double perturbed = inspect_two_layer_point(f.reduced).summary.sharpness;
  const double exact = inspect_two_layer_point(f.full).summary.sharpness;
  EXPECT_GT(std::abs(perturbed - exact), 100 * 1e-10 * exact);
}

struct OptimumCase {
  const char* activation;
  bool mixed_a, rank_deficient, trust_region;
};

void PrintTo(const OptimumCase& c, std::ostream* os) {
  *os << c.activation << (c.mixed_a ? ", mixed a" : "") << (c.rank_deficient ? ", rank X = 3 < n" : "")
      << (c.trust_region ? ", trust region" : ", closed form");
}

class ReducedOptimum : public testing::TestWithParam<OptimumCase> {};

// The optimum from the manifest is the optimum from the lifted weights: the same T*, ||grad_M T||,
// lambda_min, kind and multipliers, and the reduced weights written are the in-span part of the
// weights CSV written (whose orthogonal part is the input's); the basis written is the data's.
TEST_P(ReducedOptimum, WritesReducedWeightsOfTheSameMinimizer) {
  const OptimumCase c = GetParam();
  const std::string dir = temp_dir("reduced-optimum");
  const test::RandomProblem P = c.rank_deficient ? rank_deficient_problem(21)
                                                 : test::random_problem(5, 12, 7, c.activation, c.mixed_a, 21);
  const TwoFiles f = write_both(dir, P.model, P.theta);
  OptimumRunOptions o;
  o.minimum.use_closed_form = !c.trust_region;
  o.minimum.use_trust_region = c.trust_region;
  o.minimum.trust_region.gradient_tolerance = 1e-10;  // above the rounding floor of rank-deficient data (~3e-12)
  o.problem = f.reduced;
  o.out = dir + "/opt.json";
  const OptimumRun R = run_two_layer_optimum(o);
  o.problem = f.full;
  o.out = dir + "/full.csv";  // opt.csv is the block of opt.json
  const OptimumRun F = run_two_layer_optimum(o);
  const SharpnessMinimum &r = R.minimum, &s = F.minimum;
  EXPECT_EQ(R.report.coordinates, PointCoordinates::Reduced);
  EXPECT_TRUE(R.report.perpendicular_dropped);
  EXPECT_EQ(F.report.coordinates, PointCoordinates::Full);
  EXPECT_EQ(r.closed_form, !c.rank_deficient && !c.trust_region);
  EXPECT_EQ(r.kind, s.kind);
  expect_close(r.sharpness, s.sharpness, 0, "T*");
  expect_close(R.report.input_sharpness, F.report.input_sharpness, 0, "T at the input");
  expect_close(R.report.input_residual_max, F.report.input_residual_max, 1.0, "residual at the input");
  EXPECT_LE(r.riemannian_gradient_norm, 1e-9 * std::max(1.0, s.sharpness));
  EXPECT_LE(s.riemannian_gradient_norm, 1e-9 * std::max(1.0, s.sharpness));
  expect_close(r.hessian_min_eigenvalue, s.hessian_min_eigenvalue, std::abs(s.hessian->lambda_max()), "lambda_min");
  expect_close(r.multipliers, s.multipliers, s.multipliers.cwiseAbs().maxCoeff(), "multipliers");
  expect_close(r.preactivation_singular_values, s.preactivation_singular_values, s.preactivation_singular_values(0),
               "singular values of R*");

  const ReducedWeights written = read_reduced_weights(dir + "/opt.json", 12);
  const Weights csv = read_weights_csv(dir + "/full.csv", 12);
  const ReducedCoordinates rc(P.model.X());
  EXPECT_EQ(written.basis, rc.basis());
  EXPECT_TRUE(written.perpendicular_dropped);
  EXPECT_EQ(written.a, P.model.a());
  ASSERT_EQ(written.beta.rows(), 7);
  ASSERT_EQ(written.beta.cols(), rc.rank());
  const Eigen::MatrixXd beta_full = rc.reduce(csv.theta);
  EXPECT_LE((written.beta - beta_full).cwiseAbs().maxCoeff(), 1e-10 * beta_full.cwiseAbs().maxCoeff());
  EXPECT_EQ((written.beta - r.theta).cwiseAbs().maxCoeff(), 0.0) << "the file holds the computed point";
  // The CSV keeps the input's orthogonal part; the manifest says it was dropped.
  const Eigen::MatrixXd perp_in = P.theta - rc.lift_tangent(rc.reduce(P.theta));
  const Eigen::MatrixXd perp_out = csv.theta - rc.lift_tangent(beta_full);
  EXPECT_LE((perp_in - perp_out).cwiseAbs().maxCoeff(), 1e-12 * P.theta.cwiseAbs().maxCoeff());
}

INSTANTIATE_TEST_SUITE_P(Cases, ReducedOptimum,
                         testing::Values(OptimumCase{"cubic", false, false, false},
                                         OptimumCase{"sinh", true, false, false},
                                         OptimumCase{"cubic", false, true, true},
                                         OptimumCase{"cubic", true, false, true}),
                         [](const testing::TestParamInfo<OptimumCase>& info) {
                           return std::string(info.param.activation) + (info.param.mixed_a ? "_mixed_a" : "") +
                                  (info.param.rank_deficient ? "_rank3" : "") +
                                  (info.param.trust_region ? "_trust_region" : "_closed_form");
                         });

// The output follows the input: reduced weights in, a manifest name out, and a CSV only from a CSV;
// both refused before anything is read or written.
TEST(ReducedOptimum, OutputNameMustMatchTheInput) {
  const std::string dir = temp_dir("reduced-optimum-names");
  const test::RandomProblem P = test::random_problem(5, 12, 7, "cubic", false, 31);
  const TwoFiles f = write_both(dir, P.model, P.theta);
  OptimumRunOptions o;
  o.problem = f.reduced;
  o.out = dir + "/opt.csv";
  try {
    run_two_layer_optimum(o);
    ADD_FAILURE() << "reduced weights written to a CSV name";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("NAME.json, NAME.csv and NAME_basis.csv"), std::string::npos) << e.what();
  }
  o.problem = f.full;
  o.out = dir + "/opt.json";
  try {
    run_two_layer_optimum(o);
    ADD_FAILURE() << "a weights CSV written under a manifest name";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("read back as a reduced-weights manifest"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/opt.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/opt.json"));
}

// A manifest saved with other data (a basis whose span is not the data's) is refused by inspect and
// optimum with the message of reduced_start_dynamics, as by sgd and flow.
TEST(ReducedPointCommands, AManifestOfOtherDataIsRefused) {
  const std::string dir = temp_dir("reduced-other-data");
  const test::RandomProblem P = test::random_problem(5, 12, 7, "cubic", false, 41);
  const TwoFiles f = write_both(dir, P.model, P.theta);
  const test::RandomProblem Q = test::random_problem(5, 12, 7, "cubic", false, 42);
  Dataset other;
  other.X = Q.model.X();
  other.y = Q.model.y();
  for (int k = 0; k < 12; ++k) other.feature_names.push_back("x" + std::to_string(k + 1));
  write_dataset_csv(dir + "/other.csv", other);
  ProblemFiles files = f.reduced;
  files.data = dir + "/other.csv";
  for (int command = 0; command < 2; ++command) {
    try {
      if (command == 0) {
        inspect_two_layer_point(files);
      } else {
        OptimumRunOptions o;
        o.problem = files;
        o.out = dir + "/o.json";
        run_two_layer_optimum(o);
      }
      ADD_FAILURE() << "accepted weights of other data";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(files.weights + ": the rows of the data " + files.data +
                                           " do not span the space of the saved basis"),
                std::string::npos)
          << e.what();
    }
  }
}

// A seconds-scale convexity run of `files` into `out`: quick, `random` + 2 geodesic points, one
// direction with 3 profile points, no figures; with `search`, a short search (2 rungs of 1 start, one
// 3-iteration stage, 400 evaluations per rung).
ConvexityRunSummary small_convexity(const ProblemFiles& files, const std::string& out, int random, bool search) {
  ConvexityRunOptions o;
  o.problem = files;
  o.settings.quick = true;
  o.settings.random_points = random;
  o.settings.geodesic_points = 2;
  o.settings.directions = 1;
  o.settings.profile_points = 3;
  o.settings.search = search;
  if (search) {
    o.settings.rungs = 2;
    o.settings.starts = 1;
    o.settings.stages = 1;
    o.settings.iterations = 3;
    o.settings.max_evaluations = 400;
  }
  o.settings.figures = false;
  o.out = out;
  return run_convexity(o);
}

// `convexity --weights R.json` runs in reduced coordinates (beta, Z = X U) and analyses the point
// Theta = beta U^T: the spectrum at the point equals the full-coordinate run's on the lifted weights
// CSV; the reduced run writes its search points as reduced-weights manifests, the full run as CSVs.
TEST(ReducedConvexity, ReadsAManifestAsItsLiftedWeights) {
  const std::string dir = temp_dir("reduced-convexity");
  const test::RandomProblem P = test::random_problem_on_manifold(3, 8, 4, "cubic", false, 51);
  const TwoFiles f = write_both(dir, P.model, P.theta);
  std::optional<Eigen::VectorXd> spectra[2];
  for (int k = 0; k < 2; ++k) {
    const ConvexityRunSummary S = small_convexity(k == 0 ? f.reduced : f.full, dir + "/out" + std::to_string(k), 2, true);
    ASSERT_TRUE(S.result.point);
    spectra[k] = S.result.point->eigenvalues;
    EXPECT_EQ(S.problem.find("reduced coordinates") != std::string::npos, k == 0) << S.problem;
  }
  expect_close(*spectra[0], *spectra[1], spectra[1]->cwiseAbs().maxCoeff(), "spectrum at the point");
  EXPECT_TRUE(std::filesystem::exists(dir + "/out0/search_points/eps_0.json"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/out0/search_points/basis.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/out1/search_points/eps_0.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/out1/search_points/eps_0.json"));
  // The reduced search point, read back and lifted, is on M for the full-coordinate model.
  const ReducedWeights e = read_reduced_weights(dir + "/out0/search_points/eps_0.json", P.model.d());
  const Eigen::MatrixXd theta = e.beta * e.basis.transpose();
  EXPECT_LT((network_outputs(P.model, theta) - P.model.y()).cwiseAbs().maxCoeff(), 1e-8);
}

// Above the dense limit convexity runs matrix-free (ConvexityGeometry::spectrum_method falls back to
// Lanczos): under a 1 MiB limit, from the manifest and from the weights CSV, the extremes at the point
// and at every random sample (the same points: random starts do not depend on the spectrum method)
// equal those of the unlimited dense run to 1e-8 of the spectrum's scale, and the search runs in
// subspace charts. No spectrum.csv (only the extremes exist).
TEST(ReducedConvexity, LanczosAboveTheDenseLimitMatchesTheDenseRun) {
  const std::string dir = temp_dir("reduced-convexity-limit");
  const test::RandomProblem P = test::random_problem_on_manifold(5, 40, 60, "cubic", false, 52);
  const TwoFiles f = write_both(dir, P.model, P.theta);
  auto run = [&](const ProblemFiles& files, const std::string& out, bool search) {
    return small_convexity(files, dir + "/" + out, 6, search);
  };
  const ConvexityRunSummary dense = run(f.full, "dense", false);
  ASSERT_TRUE(dense.result.point);
  EXPECT_EQ(dense.result.point->spectrum, SpectrumMethod::Dense);
  const char* old = std::getenv("ZEROLOSS_DENSE_LIMIT_MB");
  ::setenv("ZEROLOSS_DENSE_LIMIT_MB", "1", 1);
  for (const ProblemFiles& files : {f.reduced, f.full}) {
    const std::string out = files.weights == f.reduced.weights ? "lanczos_reduced" : "lanczos_full";
    const ConvexityRunSummary S = run(files, out, true);
    ASSERT_TRUE(S.result.point);
    const PointConvexity& a = *S.result.point;
    const PointConvexity& b = *dense.result.point;
    EXPECT_EQ(a.spectrum, SpectrumMethod::Lanczos);
    EXPECT_EQ(a.eigenvalues.size(), 0);
    EXPECT_GT(a.hessian_products, 0);
    const double scale = b.eigenvalues.cwiseAbs().maxCoeff();
    EXPECT_NEAR(a.lambda_min, b.lambda_min, 1e-8 * scale) << out;
    EXPECT_NEAR(a.lambda_max, b.lambda_max, 1e-8 * scale) << out;
    // Convexity's Lanczos tolerance (ConvexitySpectrum): residual <= 1e-6 |lambda + c|, c about 2 max |lambda|.
    EXPECT_LE(a.lambda_min_residual, 3e-6 * scale) << out;
    EXPECT_GT(a.lambda_min_residual, 0.0) << out;
    int compared = 0;
    for (const SampledPoint& q : S.result.sampling.points) {
      if (q.scheme != "random") continue;
      for (const SampledPoint& r : dense.result.sampling.points) {
        if (r.scheme != "random" || r.index != q.index) continue;
        const double s = std::max(std::abs(r.lambda_min), std::abs(r.lambda_max));
        EXPECT_NEAR(q.lambda_min, r.lambda_min, 1e-8 * s) << out << " random #" << q.index;
        EXPECT_NEAR(q.lambda_max, r.lambda_max, 1e-8 * s) << out << " random #" << q.index;
        EXPECT_EQ(q.negative, r.negative) << out << " random #" << q.index;
        EXPECT_GT(q.hessian_products, 0);
        ++compared;
      }
    }
    EXPECT_GE(compared, 5) << out;
    EXPECT_FALSE(S.result.search.empty());
    EXPECT_FALSE(std::filesystem::exists(dir + "/" + out + "/spectrum.csv"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/dense/spectrum.csv"));
  }
  if (old) ::setenv("ZEROLOSS_DENSE_LIMIT_MB", old, 1); else ::unsetenv("ZEROLOSS_DENSE_LIMIT_MB");
}

}  // namespace
}  // namespace zeroloss

namespace zeroloss {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;  // ASan reserves terabytes of address space: ulimit -v cannot apply
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// No m x d matrix: under an address-space limit of 500 MB (the program itself needs about 60 MB),
// inspect, optimum and convexity (matrix-free, with a search) run from reduced weights whose Theta
// would be 800 MB (n = 5, d = 5e4, m = 2000); convexity writes its search points as reduced-weights
// manifests sharing one basis. The control: project, which lifts the manifest to Theta, fails under
// the same limit.
TEST(ReducedPointCommands, NoMByDMatrixUnderAnAddressSpaceLimit) {
  if (kAddressSanitizer) GTEST_SKIP() << "address sanitizer: ulimit -v does not apply";
  const std::string dir = temp_dir("reduced-no-theta");
  const std::string zl = test::zeroloss_binary();
  std::string out, err;
  ASSERT_EQ(test::run_command(zl + " data --generator gaussian --n 5 --d 50000 --seed 3 --out " + dir + "/d.csv", &out, &err), 0)
      << err;
  ASSERT_EQ(test::run_command(zl + " sgd --data " + dir + "/d.csv --init gaussian --m 2000 --init-scale 0.5 --steps 1 "
                              "--lr 1e-4 --label-noise 0.1 --no-figures --out " + dir + "/a", &out, &err), 0)
      << err;
  const std::string limited = "ulimit -v 500000; " + zl;
  const std::string problem = " --data " + dir + "/d.csv --weights " + dir + "/a/final_reduced.json";
  ASSERT_EQ(test::run_command(limited + " inspect --json" + problem, &out, &err), 0) << err;
  const nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["coordinates"], "reduced");
  EXPECT_EQ(j["d"], 50000);
  EXPECT_EQ(j["hessian_spectrum_method"], "lanczos");
  ASSERT_EQ(test::run_command(limited + " optimum" + problem + " --out " + dir + "/o.json", &out, &err), 0) << err;
  const ReducedWeights o = read_reduced_weights(dir + "/o.json", 50000);
  EXPECT_EQ(o.beta.rows(), 2000);
  EXPECT_EQ(o.beta.cols(), 5);
  ASSERT_EQ(test::run_command(limited + " convexity --quick --data " + dir + "/d.csv --weights " + dir +
                                  "/o.json --random 1 --geodesic 1 --directions 1 --profile-points 3 --rungs 1 "
                                  "--starts 1 --max-evaluations 40 --no-figures --out " + dir + "/c",
                              &out, &err),
            0)
      << err;
  std::ifstream summary(dir + "/c/summary.json");
  const nlohmann::json c = nlohmann::json::parse(summary);
  EXPECT_EQ(c["point"]["spectrum"], "lanczos");
  const ReducedWeights e = read_reduced_weights(dir + "/c/search_points/eps_0.json", 50000);
  EXPECT_EQ(e.beta.rows(), 2000);
  EXPECT_TRUE(e.basis == o.basis);  // the data's basis, written once in search_points/basis.csv
  EXPECT_TRUE(std::filesystem::exists(dir + "/c/search_points/basis.csv"));
  EXPECT_NE(test::run_command(limited + " project --method newton" + problem + " --out " + dir + "/p.csv", &out, &err), 0)
      << "the limit does not catch a lifted Theta";
  EXPECT_NE(err.find("out of memory"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/p.csv"));
}

}  // namespace
}  // namespace zeroloss
