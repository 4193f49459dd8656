// Convexity diagnostics (THEORY 3 and 6): the spectrum and geodesic profiles at a point against
// independent routes (dense reference Hessian, finite differences along geodesics), the THEORY 6
// counterexample, the adversarial search, the sampling schemes, the threshold logic, the outputs and
// the `zeroloss convexity` command.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/presentation/convexity_outputs.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/geodesic.hpp"
#include "zeroloss/sharpness/reference.hpp"
#include "zeroloss/sharpness/sharpness.hpp"
#include "zeroloss/sharpness/sharpness_minimum.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/io/weights.hpp"

#include <cstdlib>

using namespace zeroloss;

namespace {

using zeroloss::test::slurp;

// THEORY 6: n = 1, x = e_1, m = 3, phi(z) = z + z^3/3, a = 1, pre-activations (5, 0.58, 0).
struct Theory6 {
  TwoLayerModel model;
  Eigen::MatrixXd point;    // the counterexample
  Eigen::MatrixXd optimum;  // r_j = phi^{-1}(y / 3) for every neuron (THEORY 5, a = 1)
};

Theory6 theory6() {
  const Activation phi = Activation::cubic();
  const Eigen::Vector3d r(5, 0.58, 0);
  const double y = phi.value(5) + phi.value(0.58) + phi.value(0);
  Eigen::MatrixXd X(1, 1);
  X << 1;
  TwoLayerModel model(X, Eigen::VectorXd::Constant(1, y), Eigen::VectorXd::Ones(3), phi);
  return Theory6{model, Eigen::MatrixXd(r), Eigen::MatrixXd::Constant(3, 1, phi.inverse(y / 3))};
}

int count_lines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

TEST(ConvexityTheory6, CounterexampleHasTheDocumentedNumbers) {
  const Theory6 t = theory6();
  const SampledPoint p = evaluate_point(t.model, t.point, "given", 0, 0.0);
  EXPECT_NEAR(p.lambda_min, -14.76, 0.005);
  EXPECT_NEAR(p.grad_norm, 30.9, 0.05);
  EXPECT_TRUE(p.negative);
  // Independent route: the dense full-coordinate Riemannian Hessian restricted to the tangent space.
  const Eigen::MatrixXd B = tangent_basis(t.model, t.point);
  ASSERT_EQ(B.cols(), 2);
  const Eigen::MatrixXd Href = B.transpose() * reference::riemannian_hessian(t.model, t.point) * B;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (Href + Href.transpose()));
  EXPECT_NEAR(p.lambda_min, es.eigenvalues()(0), 1e-9 * std::abs(es.eigenvalues()(0)));
  EXPECT_NEAR(p.grad_norm, reference::riemannian_gradient(t.model, t.point).norm(), 1e-9 * p.grad_norm);
  // The optimum is convex and stationary.
  const SampledPoint o = evaluate_point(t.model, t.optimum, "anchor", 0, 0.0);
  EXPECT_LT(o.grad_norm, 1e-9);
  EXPECT_GT(o.lambda_min, 0);
  EXPECT_FALSE(o.negative);
}

TEST(ConvexityTheory6, SecondDerivativeAlongTheMinEigenvectorGeodesicIsNegative) {
  const Theory6 t = theory6();
  PointConvexityOptions o;
  o.directions = 3;
  o.profile_length = 0.2;
  o.profile_points = 9;
  const PointConvexity pc = analyze_point(t.model, t.point, o);
  ASSERT_EQ(pc.profiles.size(), 4u);
  const GeodesicProfile& e = pc.profiles[0];
  EXPECT_EQ(e.kind, "min-eigenvector");
  // T along the geodesic bends down with curvature lambda_min (finite differences of real T values).
  EXPECT_NEAR(e.second_derivative, pc.lambda_min, 1e-9 * std::abs(pc.lambda_min));
  EXPECT_NEAR(e.second_derivative_fd, pc.lambda_min, 1e-5 * std::abs(pc.lambda_min));
  EXPECT_LT(e.min_second_difference, 0);
  EXPECT_NEAR(pc.min_second_derivative, pc.lambda_min, 1e-9 * std::abs(pc.lambda_min));
}

TEST(ConvexityTheory6, SearchFindsCurvatureAtLeastAsNegativeAtTheSameGradientLevel) {
  const Theory6 t = theory6();
  const SampledPoint c = evaluate_point(t.model, t.point, "given", 0, 0.0);
  // The search does not get the counterexample as a start: only the optimum and sampled points.
  SamplingOptions so = ConvexityOptions::quick().sampling;
  so.seed = 5;
  const SamplingResult samples = sample_points(t.model, t.optimum, Eigen::MatrixXd(0, 0), so);
  const std::vector<SearchRung> rungs =
      search_negative_curvature(t.model, t.optimum, samples.points, {c.grad_norm}, ConvexityOptions::quick().search);
  ASSERT_EQ(rungs.size(), 1u);
  ASSERT_TRUE(rungs[0].feasible_start);
  EXPECT_LE(rungs[0].lambda_min, c.lambda_min);
  EXPECT_LE(rungs[0].grad_norm, c.grad_norm);
  // The reported point is genuine: recompute everything from its weights.
  EXPECT_LT(max_residual(t.model, rungs[0].theta), 1e-10);
  const SharpnessGeometry g(t.model, rungs[0].theta);
  EXPECT_LE(g.riemannian_gradient().norm(), c.grad_norm);
  EXPECT_NEAR(g.riemannian_hessian_matrix().eigenvalues.minCoeff(), rungs[0].lambda_min, 1e-9);
  // The descent did the work: no sampled start with that gradient norm was that negative.
  double best_start = std::numeric_limits<double>::infinity();
  for (const auto& p : samples.points)
    if (p.grad_norm < c.grad_norm) best_start = std::min(best_start, p.lambda_min);
  EXPECT_GT(best_start, c.lambda_min);
}

TEST(ConvexitySearch, LowersTheSampledThresholdFromCounterexamplesOutside) {
  const Theory6 t = theory6();
  SamplingOptions so = ConvexityOptions::quick().sampling;
  so.seed = 9;
  const SamplingResult samples = sample_points(t.model, t.optimum, Eigen::MatrixXd(0, 0), so);
  const ConvexityThreshold th = convexity_threshold(samples.points);
  ASSERT_TRUE(th.negative_found);
  // Just below the sampled threshold no sampled point is negative; the search must find one.
  const double eps = 0.99 * th.threshold;
  const std::vector<SearchRung> rungs =
      search_negative_curvature(t.model, t.optimum, samples.points, {eps}, ConvexityOptions::quick().search);
  ASSERT_EQ(rungs.size(), 1u);
  EXPECT_TRUE(rungs[0].negative) << "lambda_min " << rungs[0].lambda_min << " from " << rungs[0].found_from;
  EXPECT_LT(rungs[0].grad_norm, eps);
  EXPECT_NE(rungs[0].found_from.find("(outside)"), std::string::npos) << rungs[0].found_from;
  const SharpnessGeometry g(t.model, rungs[0].theta);
  EXPECT_LT(g.riemannian_gradient().norm(), th.threshold);
  EXPECT_LT(g.riemannian_hessian_matrix().eigenvalues.minCoeff(), 0);
}

TEST(ConvexitySearch, LadderIsMonotoneAndConvexNearTheOptimum) {
  const Theory6 t = theory6();
  ConvexityOptions o = ConvexityOptions::quick();
  o.search.eps = {1.0, 5.0, 40.0};
  o.point.directions = 0;
  const ConvexityResult r = analyze_convexity(t.model, Eigen::MatrixXd(0, 0), t.optimum, o);
  ASSERT_EQ(r.search.size(), 3u);
  for (std::size_t k = 0; k < r.search.size(); ++k) {
    ASSERT_TRUE(r.search[k].feasible_start);
    EXPECT_LE(r.search[k].grad_norm, r.search[k].eps);
    if (k > 0) {
      EXPECT_LE(r.search[k].lambda_min, r.search[k - 1].lambda_min);
    }
  }
  // Near stationarity (||grad|| <= 1) the search finds no negative curvature; at 40 it does.
  EXPECT_FALSE(r.search[0].negative);
  EXPECT_GT(r.search[0].lambda_min, 0);
  EXPECT_TRUE(r.search[2].negative);
  EXPECT_EQ(r.search_convex_up_to, 5.0);
  EXPECT_EQ(r.search_negative_from, 40.0);
  EXPECT_TRUE(r.assumptions.holds());
}

TEST(ConvexityPoint, SpectrumAndProfilesMatchIndependentRoutes) {
  for (bool mixed : {false, true}) {
    auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", mixed, 91);
    PointConvexityOptions o;
    o.directions = 3;
    o.profile_length = 0.3;
    o.profile_points = 7;
    o.seed = 3;
    const PointConvexity pc = analyze_point(p.model, p.theta, o);
    // The same numbers as SharpnessGeometry (what `zeroloss inspect` prints), in full coordinates.
    const SharpnessGeometry g(p.model, p.theta);
    const Eigen::VectorXd ev = g.riemannian_hessian_matrix().eigenvalues;
    ASSERT_EQ(pc.eigenvalues.size(), ev.size());
    EXPECT_LT((pc.eigenvalues - ev).norm(), 1e-10 * ev.cwiseAbs().maxCoeff());
    EXPECT_NEAR(pc.grad_norm, g.riemannian_gradient().norm(), 1e-10 * pc.grad_norm);
    ASSERT_EQ(pc.profiles.size(), 4u);
    for (const auto& prof : pc.profiles) {
      EXPECT_NEAR(prof.velocity.norm(), 1.0, 1e-12);
      EXPECT_LT(g.jacobian().apply(prof.velocity).norm(), 1e-10);
      // d/ds and d^2/ds^2 of T(gamma(s)) at 0 against the Riemannian gradient and Hessian form.
      EXPECT_NEAR(prof.first_derivative, (g.riemannian_gradient().array() * prof.velocity.array()).sum(), 1e-10);
      EXPECT_NEAR(prof.second_derivative, g.riemannian_hessian_form(prof.velocity), 1e-9);
      EXPECT_NEAR(prof.second_derivative_fd, prof.second_derivative, 1e-5 * (std::abs(prof.second_derivative) + 1));
      EXPECT_GE(prof.second_derivative, pc.lambda_min - 1e-9);
      EXPECT_LE(prof.second_derivative, pc.lambda_max + 1e-9);
      ASSERT_EQ(prof.s.size(), 7u);
      EXPECT_TRUE(prof.complete);
      // The profile at s = 0.1 is T at the geodesic point, computed here independently.
      const Eigen::MatrixXd y = GeodesicIntegrator(p.model).trace(p.theta, prof.velocity, {0.1}).samples[0].theta;
      EXPECT_NEAR(prof.sharpness[4], SharpnessGeometry(p.model, y).sharpness(), 1e-10 * pc.sharpness);
      EXPECT_EQ(prof.sharpness[3], pc.sharpness);
    }
  }
}

TEST(ConvexitySampling, SchemesGiveValidPointsDeterministically) {
  auto p = test::random_problem_on_manifold(3, 5, 4, "cubic", true, 92);
  SamplingOptions o;
  o.random_points = 12;
  o.geodesic_points = 6;
  o.max_distance = 0.3;
  o.seed = 11;
  Eigen::MatrixXd off = p.theta;
  off(0, 0) += 1e-3;
  o.external = {{"flow", 0.5, p.theta}, {"sgd", 7.0, off}};
  const SamplingResult a = sample_points(p.model, p.theta, p.theta, o);
  const SamplingResult b = sample_points(p.model, p.theta, p.theta, o);
  ASSERT_EQ(a.points.size() + a.failures.size(), 1u + 12u + 6u + 2u);
  ASSERT_EQ(a.points.size(), b.points.size());
  int geodesic = 0;
  for (std::size_t k = 0; k < a.points.size(); ++k) {
    const SampledPoint& s = a.points[k];
    EXPECT_EQ(s.lambda_min, b.points[k].lambda_min) << "same seed, same bits";
    EXPECT_EQ(s.theta, b.points[k].theta);
    EXPECT_LT(max_residual(p.model, s.theta), 1e-10) << s.scheme << " " << s.index;
    const SharpnessGeometry g(p.model, s.theta);
    EXPECT_NEAR(s.grad_norm, g.riemannian_gradient().norm(), 1e-9 * (1 + s.grad_norm));
    EXPECT_NEAR(s.lambda_min, g.riemannian_hessian_matrix().eigenvalues.minCoeff(), 1e-9 * (1 + std::abs(s.lambda_min)));
    if (s.scheme == "geodesic") {
      ++geodesic;
      // Controlled distance: the log map (an independent route) measures the same geodesic length.
      EXPECT_NEAR(geodesic_distance(p.model, p.theta, s.theta), s.parameter, 1e-7);
    }
  }
  EXPECT_EQ(geodesic, 6);
  EXPECT_EQ(a.points[0].scheme, "anchor");
  const SampledPoint& flow = a.points[a.points.size() - 2];
  const SampledPoint& sgd = a.points.back();
  EXPECT_EQ(flow.scheme, "trajectory:flow");
  EXPECT_EQ(flow.parameter, 0.5);
  EXPECT_EQ(flow.projection_distance, 0.0);
  EXPECT_EQ(sgd.scheme, "trajectory:sgd");
  EXPECT_GT(sgd.projection_distance, 0.0);
  EXPECT_LT(sgd.projection_distance, 2e-3);
  // A different seed gives different random points.
  o.seed = 12;
  const SamplingResult c = sample_points(p.model, p.theta, p.theta, o);
  EXPECT_NE(c.points[1].lambda_min, a.points[1].lambda_min);
  // A trajectory point of the wrong size is an input error, not a silent failure.
  o.external = {{"flow", 0.0, Eigen::MatrixXd::Zero(2, 5)}};
  EXPECT_THROW(sample_points(p.model, p.theta, p.theta, o), InputError);
}

TEST(ConvexityThresholdLogic, ThresholdIsTheSmallestNegativeGradientNorm) {
  auto pt = [](double g, double l, bool neg) {
    SampledPoint p;
    p.grad_norm = g;
    p.lambda_min = l;
    p.negative = neg;
    return p;
  };
  const std::vector<SampledPoint> pts = {pt(0.1, 1, false), pt(5, -2, true), pt(2, 0.5, false),
                                         pt(3, -1, true), pt(9, 3, false)};
  const ConvexityThreshold t = convexity_threshold(pts);
  EXPECT_TRUE(t.negative_found);
  EXPECT_EQ(t.threshold, 3);
  EXPECT_EQ(t.points_below, 2);
  EXPECT_EQ(t.largest_grad_below, 2);
  EXPECT_EQ(t.smallest_lambda_below, 0.5);
  EXPECT_EQ(t.largest_grad_sampled, 9);
  EXPECT_EQ(t.counterexamples, (std::vector<std::size_t>{3, 1}));
  const ConvexityThreshold none = convexity_threshold({pt(1, 1, false), pt(2, 2, false)});
  EXPECT_FALSE(none.negative_found);
  EXPECT_TRUE(std::isinf(none.threshold));
  EXPECT_EQ(none.points_below, 2);
  // The automatic ladder brackets the sampled threshold and contains it.
  const std::vector<double> eps = search_ladder(pts, 4);
  EXPECT_TRUE(std::is_sorted(eps.begin(), eps.end()));
  EXPECT_NE(std::find_if(eps.begin(), eps.end(), [](double e) { return std::abs(e - 3) < 1e-6; }), eps.end());
  EXPECT_LE(eps.front(), 3);
  EXPECT_GE(eps.back(), 3);
}

TEST(ConvexityAssumptions, OutsideTheAssumptionsItRunsAndSaysSo) {
  for (const char* act : {"tanh", "softplus"}) {
    auto p = test::random_problem_on_manifold(2, 3, 3, act, false, 93, 0.8);
    ConvexityOptions o = ConvexityOptions::quick();
    o.sampling.random_points = 15;
    o.sampling.geodesic_points = 10;
    o.sampling.max_distance = 0.5;
    o.point.directions = 2;
    o.point.profile_length = 0.2;
    o.point.profile_points = 5;
    o.search.rungs = 2;
    o.search.starts = 2;
    o.search.max_evaluations_per_rung = 600;
    const ConvexityResult r = analyze_convexity(p.model, p.theta, p.theta, o);
    EXPECT_FALSE(r.assumptions.holds()) << act;
    EXPECT_FALSE(r.assumptions.third_derivative_positive) << act;
    EXPECT_NE(r.assumptions.describe(act).find("phi'''"), std::string::npos) << r.assumptions.describe(act);
    const nlohmann::json j = convexity_summary_json(r, o);
    EXPECT_FALSE(j["assumptions"]["hold"].get<bool>());
    EXPECT_FALSE(r.search.empty());
  }
}

TEST(ConvexityOutputs, FilesAreWrittenAndConsistent) {
  const Theory6 t = theory6();
  ConvexityOptions o = ConvexityOptions::quick();
  o.sampling.random_points = 10;
  o.sampling.geodesic_points = 5;
  o.point.directions = 2;
  o.point.profile_points = 5;
  o.search.eps = {10.0, 40.0};
  o.search.max_evaluations_per_rung = 800;
  const ConvexityResult r = analyze_convexity(t.model, t.point, t.optimum, o);
  const std::string dir = test::temp_dir("convexity-outputs");
  const auto files = write_convexity_outputs(dir, r, o, t.model.a());
  for (const char* f : {"points.csv", "search.csv", "profiles.csv", "directions.csv", "spectrum.csv", "failures.csv",
                        "summary.json"}) {
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / f)) << f;
  }
  EXPECT_EQ(count_lines(dir + "/points.csv"), 1 + static_cast<int>(r.sampling.points.size()));
  EXPECT_EQ(count_lines(dir + "/search.csv"), 3);
  EXPECT_EQ(count_lines(dir + "/profiles.csv"), 1 + 3 * 5);
  EXPECT_EQ(count_lines(dir + "/spectrum.csv"), 1 + 2);
  const nlohmann::json j = nlohmann::json::parse(slurp(dir + "/summary.json"));
  EXPECT_TRUE(j["threshold"]["negative_found"].get<bool>());
  EXPECT_NEAR(j["point"]["lambda_min"].get<double>(), -14.76, 0.005);
  EXPECT_EQ(j["search"]["rungs"].size(), 2u);
  EXPECT_TRUE(j["assumptions"]["hold"].get<bool>());
  // The rung's weights file reads back to the reported point.
  const Weights w = read_weights_csv(dir + "/search_points/eps_1.csv", 1);
  EXPECT_EQ(w.theta, r.search[1].theta);
  std::filesystem::remove_all(dir);
}

// Sets ZEROLOSS_GNUPLOT for the scope of a test and restores it.
class GnuplotOverride {
 public:
  explicit GnuplotOverride(const char* value) {
    if (const char* old = std::getenv("ZEROLOSS_GNUPLOT")) saved_ = old;
    had_ = std::getenv("ZEROLOSS_GNUPLOT") != nullptr;
    setenv("ZEROLOSS_GNUPLOT", value, 1);
  }
  ~GnuplotOverride() {
    if (had_)
      setenv("ZEROLOSS_GNUPLOT", saved_.c_str(), 1);
    else
      unsetenv("ZEROLOSS_GNUPLOT");
  }

 private:
  std::string saved_;
  bool had_ = false;
};

// Small settings for the integration tests below.
ConvexityOptions tiny_options() {
  ConvexityOptions o = ConvexityOptions::quick();
  o.sampling.random_points = 6;
  o.sampling.geodesic_points = 4;
  o.sampling.max_distance = 0.5;
  o.point.directions = 1;
  o.point.profile_points = 5;
  o.point.profile_length = 0.2;
  o.run_search = false;
  return o;
}

TEST(ConvexityAnchor, DefaultsToTheMinimizerOfTOrSaysWhyThereIsNone) {
  // Without an anchor: the closed-form minimizer (THEORY 5) becomes the anchor and centres the geodesics.
  const Theory6 t = theory6();
  const ConvexityResult r = analyze_convexity(t.model, t.point, std::nullopt, tiny_options());
  EXPECT_EQ(r.anchor.source, AnchorSource::Minimizer);
  EXPECT_EQ(r.anchor.kind, OptimumKind::GlobalMinimum);
  EXPECT_NE(r.anchor.description.find("closed form"), std::string::npos) << r.anchor.description;
  ASSERT_GE(r.sampling.points.size(), 2u);
  const SampledPoint& a = r.sampling.points[1];  // after "given"
  EXPECT_EQ(a.scheme, "anchor");
  // Independent route: every r_j = phi^{-1}(y / 3) (THEORY 5, a = 1).
  EXPECT_LT((a.theta - t.optimum).norm(), 1e-12);
  EXPECT_NEAR(r.anchor.sharpness, a.sharpness, 1e-12 * a.sharpness);
  EXPECT_LT(r.anchor.grad_norm, 1e-9);
  int geodesic = 0;
  for (const auto& p : r.sampling.points) geodesic += p.scheme == "geodesic";
  EXPECT_EQ(geodesic, 4);
  // Disabled: no anchor, no geodesic scheme.
  ConvexityOptions off = tiny_options();
  off.default_anchor = false;
  const ConvexityResult n = analyze_convexity(t.model, t.point, std::nullopt, off);
  EXPECT_EQ(n.anchor.source, AnchorSource::None);
  for (const auto& p : n.sampling.points) EXPECT_NE(p.scheme, "geodesic");
  // No minimizer: with a non-constant second layer the closed form needs (phi'')^{-1}, which tanh does
  // not have (DomainError inside sharpness_minimum). The run goes on without an anchor and says why.
  Eigen::MatrixXd X(1, 1);
  X << 1;
  const TwoLayerModel mixed(X, Eigen::VectorXd::Constant(1, 0.5), Eigen::Vector3d(1, -2, 1.5), Activation::tanh());
  Eigen::MatrixXd wm(3, 1);
  wm << 0.3, 0.2, 0.0;
  const double f0 = std::tanh(0.3) - 2 * std::tanh(0.2);
  wm(2, 0) = std::atanh((0.5 - f0) / 1.5);
  ASSERT_LT(max_residual(mixed, wm), 1e-12);
  const ConvexityResult u = analyze_convexity(mixed, wm, std::nullopt, tiny_options());
  EXPECT_EQ(u.anchor.source, AnchorSource::None);
  EXPECT_NE(u.anchor.description.find("no minimizer of T available"), std::string::npos) << u.anchor.description;
  EXPECT_NE(u.anchor.description.find("continuing without an anchor"), std::string::npos);
  for (const auto& p : u.sampling.points) EXPECT_NE(p.scheme, "geodesic");
  EXPECT_EQ(convexity_summary_json(u, tiny_options())["anchor"]["source"], "none");
}

// tiny_options without random points or the default anchor, with the flow from `start` to
// tau = flow_time logged at `points` states.
ConvexityOptions flow_options(const Eigen::MatrixXd& start, double flow_time, int points) {
  ConvexityOptions o = tiny_options();
  o.sampling.random_points = 0;
  o.default_anchor = false;
  o.trajectory_start = start;
  FlowConvexityOptions f;
  f.flow_time = flow_time;
  f.points = points;
  o.along_flow = f;
  return o;
}

// Matrix-free (a 1 MiB dense limit forces Lanczos above the tangent dimension 295): each logged flow
// state's Lanczos run starts warm from the previous state's eigenvectors. The states' extremes equal
// the dense spectrum's at the same points (the run without the limit) to 1e-8 of its scale, and
// together they cost fewer products than cold runs at the same points.
TEST(ConvexityTrajectories, LanczosAlongTheFlowStartsWarmAndMatchesTheDenseSpectrum) {
  const test::RandomProblem p = test::random_problem_on_manifold(5, 40, 60, "cubic", false, 53);
  ConvexityOptions o = flow_options(p.theta, 0.2, 5);
  o.sampling.geodesic_points = 0;
  o.run_search = false;
  const ConvexityResult dense = analyze_convexity(p.model, Eigen::MatrixXd(0, 0), std::nullopt, o);
  const char* old = std::getenv("ZEROLOSS_DENSE_LIMIT_MB");
  ::setenv("ZEROLOSS_DENSE_LIMIT_MB", "1", 1);
  const ConvexityResult lanczos = analyze_convexity(p.model, Eigen::MatrixXd(0, 0), std::nullopt, o);
  long warm_products = 0, cold_products = 0;
  ASSERT_EQ(lanczos.trajectories.size(), 1u);
  ASSERT_EQ(dense.trajectories.size(), 1u);
  const auto& a = lanczos.trajectories[0].points;
  const auto& b = dense.trajectories[0].points;
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size());
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].measurement.spectrum, SpectrumMethod::Lanczos);
    EXPECT_EQ(b[k].measurement.spectrum, SpectrumMethod::Dense);
    const double scale = b[k].measurement.eigenvalues.cwiseAbs().maxCoeff();
    EXPECT_NEAR(a[k].lambda_min, b[k].lambda_min, 1e-8 * scale) << k;
    EXPECT_NEAR(a[k].lambda_max, b[k].lambda_max, 1e-8 * scale) << k;
    EXPECT_FALSE(a[k].measurement.warm_start) << "a kept measurement holds no vectors";
    warm_products += a[k].measurement.hessian_products;
    cold_products +=
        evaluate_point(p.model, a[k].theta, "cold", 0, 0.0, o.sampling.negative_tolerance).hessian_products;
  }
  if (old) ::setenv("ZEROLOSS_DENSE_LIMIT_MB", old, 1); else ::unsetenv("ZEROLOSS_DENSE_LIMIT_MB");
  EXPECT_LT(warm_products, cold_products);
}

TEST(ConvexityTrajectories, FlowAndSgdStatesJoinTheSampleAndCountInTheThreshold) {
  // The start has negative curvature after projection; the flow leaves it (trajectory_convexity_test).
  const auto p = test::random_problem(3, 5, 4, "cubic", false, 16, 0.8);
  ConvexityOptions o = flow_options(p.theta, 0.4, 8);
  SgdConvexityOptions g;
  g.sgd.learning_rate = 0.005;
  g.sgd.label_noise = 1;
  g.sgd.seed = 3;
  g.steps = 64000;
  g.points = 4;
  o.along_sgd = g;
  const ConvexityResult r = analyze_convexity(p.model, Eigen::MatrixXd(0, 0), std::nullopt, o);
  ASSERT_EQ(r.trajectories.size(), 2u);
  EXPECT_EQ(r.trajectories[0].source, TrajectorySource::Flow);
  EXPECT_EQ(r.trajectories[1].source, TrajectorySource::Sgd);
  // Every trajectory state is a sampled point (scheme trajectory:<source>, parameter = tau) ...
  ASSERT_EQ(r.sampling.points.size(), 9u + 5u);
  for (std::size_t k = 0; k < 9; ++k) {
    EXPECT_EQ(r.sampling.points[k].scheme, "trajectory:flow");
    EXPECT_EQ(r.sampling.points[k].parameter, r.trajectories[0].points[k].tau);
    // (the measurement made along the flow, not a second one: the same numbers) ...
    EXPECT_EQ(r.sampling.points[k].lambda_min, r.trajectories[0].points[k].lambda_min);
    EXPECT_EQ(r.sampling.points[k].grad_norm, r.trajectories[0].points[k].grad_norm);
    // ... and they are the point's: a new measurement there agrees up to rounding.
    const SampledPoint fresh = evaluate_point(p.model, r.trajectories[0].points[k].theta, "fresh", 0, 0.0,
                                              o.sampling.negative_tolerance);
    EXPECT_NEAR(r.sampling.points[k].lambda_min, fresh.lambda_min, 1e-10 * (1 + std::abs(fresh.lambda_min)));
    EXPECT_NEAR(r.sampling.points[k].lambda_max, fresh.lambda_max, 1e-10 * (1 + std::abs(fresh.lambda_max)));
    EXPECT_NEAR(r.sampling.points[k].sharpness, fresh.sharpness, 1e-12 * fresh.sharpness);
    EXPECT_NEAR(r.sampling.points[k].residual, fresh.residual, 1e-12);
    EXPECT_EQ(r.sampling.points[k].negative, fresh.negative);
  }
  EXPECT_EQ(r.sampling.points[9].scheme, "trajectory:sgd");
  // ... so the threshold is the smallest gradient norm among the negative trajectory states.
  double g_star = std::numeric_limits<double>::infinity();
  for (const auto& tr : r.trajectories)
    for (const auto& s : tr.points)
      if (s.negative) g_star = std::min(g_star, s.grad_norm);
  ASSERT_TRUE(std::isfinite(g_star));
  EXPECT_TRUE(r.threshold.negative_found);
  EXPECT_NEAR(r.threshold.threshold, g_star, 1e-10 * g_star);
  // Outputs: trajectory_convexity.csv and the summary's trajectories.
  const std::string dir = test::temp_dir("convexity-trajectories");
  GnuplotOverride none("none");
  write_convexity_outputs(dir, r, o, p.model.a());
  EXPECT_EQ(count_lines(dir + "/trajectory_convexity.csv"), 1 + 9 + 5);
  const nlohmann::json j = nlohmann::json::parse(slurp(dir + "/summary.json"));
  ASSERT_EQ(j["trajectories"].size(), 2u);
  EXPECT_EQ(j["trajectories"][0]["source"], "flow");
  EXPECT_EQ(j["trajectories"][0]["convex_from_tau"].get<double>(), *r.trajectories[0].onset.tau);
  EXPECT_TRUE(j["trajectories"][0]["onset_refined"].is_object());
  EXPECT_EQ(j["options"]["along_sgd"]["steps"].get<int>(), 64000);
  std::filesystem::remove_all(dir);
}

TEST(ConvexityFigures, DrawnWithGnuplotOrScriptsAndANoteWithout) {
  const Theory6 t = theory6();
  ConvexityOptions o = tiny_options();
  o.sampling.random_points = 30;
  o.run_search = true;
  o.search.eps = {10.0, 40.0};
  o.search.max_evaluations_per_rung = 600;
  o.trajectory_start = t.point;
  FlowConvexityOptions f;
  f.flow_time = 0.5;
  f.points = 5;
  o.along_flow = f;
  const ConvexityResult r = analyze_convexity(t.model, t.point, t.optimum, o);
  const char* names[] = {"scatter", "trajectory_lambda_min", "trajectory_grad_norm", "search"};
  {
    // Without gnuplot: scripts, no SVG, a note; nothing fails.
    GnuplotOverride none("none");
    const std::string dir = test::temp_dir("convexity-figures-none");
    write_convexity_outputs(dir, r, o, t.model.a());
    const nlohmann::json j = nlohmann::json::parse(slurp(dir + "/summary.json"));
    EXPECT_TRUE(j["figures"].empty());
    ASSERT_EQ(j["figure_scripts"].size(), 4u);
    ASSERT_FALSE(j["figure_notes"].empty());
    EXPECT_NE(j["figure_notes"][0].get<std::string>().find("gnuplot not found"), std::string::npos);
    for (const char* n : names) {
      EXPECT_TRUE(std::filesystem::exists(dir + "/" + n + ".gp")) << n;
      EXPECT_FALSE(std::filesystem::exists(dir + "/" + n + ".svg")) << n;
    }
    // The scatter's data: one block per colour, as many points as there are convex / negative samples
    // (the anchor, at ||grad_M T|| ~ 1e-15, is left off the log axis).
    int negative = 0, convex = 0;
    for (const auto& p : r.sampling.points) {
      if (p.grad_norm < 1e-8 * r.threshold.largest_grad_sampled) continue;
      (p.negative ? negative : convex)++;
    }
    const std::string gp = slurp(dir + "/scatter.gp");
    auto block_lines = [&](const std::string& name) {
      const auto at = gp.find(name + " << EOD\n");
      EXPECT_NE(at, std::string::npos) << name;
      const auto end = gp.find("EOD\n", at + name.size() + 8);
      return static_cast<int>(std::count(gp.begin() + static_cast<long>(at), gp.begin() + static_cast<long>(end), '\n')) - 1;
    };
    EXPECT_EQ(block_lines("$s0"), convex);
    EXPECT_EQ(block_lines("$s1"), negative);
    EXPECT_GT(negative, 0);
    EXPECT_NE(gp.find("threshold g* = " ), std::string::npos);
    EXPECT_NE(gp.find("set logscale x"), std::string::npos);
    std::filesystem::remove_all(dir);
  }
  if (gnuplot_program().empty()) GTEST_SKIP() << "gnuplot not installed: the SVG half of this test needs it";
  const std::string dir = test::temp_dir("convexity-figures");
  write_convexity_outputs(dir, r, o, t.model.a());
  const nlohmann::json j = nlohmann::json::parse(slurp(dir + "/summary.json"));
  ASSERT_EQ(j["figures"].size(), 4u) << j["figure_notes"].dump();
  for (const char* n : names) {
    const std::string svg = slurp(dir + "/" + n + ".svg");
    EXPECT_NE(svg.find("</svg>"), std::string::npos) << n;
  }
  EXPECT_TRUE(j["figure_notes"].empty());
  std::filesystem::remove_all(dir);
}

TEST(ConvexityInputs, PointOffTheManifoldOrWithoutTangentDirectionsIsAnInputError) {
  const Theory6 t = theory6();
  Eigen::MatrixXd off = t.point;
  off(1, 0) += 0.01;
  EXPECT_THROW(analyze_point(t.model, off), InputError);
  EXPECT_THROW(evaluate_point(t.model, off, "given", 0, 0.0), InputError);
  // m p = n: the manifold is discrete in span(X)^m.
  Eigen::MatrixXd X(2, 1);
  X << 1, 2;
  TwoLayerModel tiny(X, Eigen::Vector2d(1, 2), Eigen::VectorXd::Ones(2), Activation::cubic());
  EXPECT_THROW(analyze_convexity(tiny, Eigen::MatrixXd(0, 0), std::nullopt, ConvexityOptions::quick()), InputError);
}

TEST(ConvexityCommand, RunsOnTheTheory6ExampleAndReportsErrors) {
  const Theory6 t = theory6();
  const std::string dir = test::temp_dir("convexity-cli");
  {
    std::ofstream data(dir + "/data.csv");
    data.precision(17);
    data << "x1,y\n1," << t.model.y()(0) << "\n";
  }
  write_weights_csv(dir + "/point.csv", t.point, t.model.a());
  write_weights_csv(dir + "/optimum.csv", t.optimum, t.model.a());
  const std::string base = test::zeroloss_binary() + " convexity --data " + dir + "/data.csv";
  std::string out, err;
  const int rc = test::run_command(base + " --weights " + dir + "/point.csv --anchor " + dir +
                                       "/optimum.csv --quick --random 20 --geodesic 10 --directions 2 --eps 10,31 "
                                       "--max-evaluations 1000 --seed 3 --out " + dir + "/out",
                                   &out, &err);
  ASSERT_EQ(rc, 0) << out << err;
  EXPECT_NE(out.find("-14.7622"), std::string::npos) << out;
  EXPECT_NE(out.find("Adversarial search"), std::string::npos) << out;
  EXPECT_NE(err.find("search: rung 2/2"), std::string::npos) << err;
  const nlohmann::json j = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  EXPECT_NEAR(j["point"]["lambda_min"].get<double>(), -14.7622, 1e-4);
  EXPECT_EQ(j["sampling"]["points"].get<int>(), 1 + 1 + 20 + 10);
  ASSERT_EQ(j["search"]["rungs"].size(), 2u);
  EXPECT_LE(j["search"]["rungs"][1]["lambda_min"].get<double>(), -14.7622);
  EXPECT_EQ(count_lines(dir + "/out/points.csv"), 1 + 32);
  // Errors: a point off M is bad input (exit 2); so is a run without any point.
  Eigen::MatrixXd off = t.point;
  off(0, 0) += 0.1;
  write_weights_csv(dir + "/off.csv", off, t.model.a());
  EXPECT_EQ(test::run_command(base + " --weights " + dir + "/off.csv --quick --out " + dir + "/o2", &out, &err), 2);
  EXPECT_NE(err.find("not on the zero-loss manifold"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(base + " --quick --out " + dir + "/o3", &out, &err), 2);
  EXPECT_NE(err.find("--weights"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

TEST(ConvexityCommand, DefaultAnchorAndTrajectories) {
  const auto p = test::random_problem(3, 5, 4, "cubic", false, 16, 0.8);
  const std::string dir = test::temp_dir("convexity-cli-trajectories");
  {
    std::ofstream data(dir + "/data.csv");
    data.precision(17);
    data << "x1,x2,x3,x4,x5,y\n";
    for (int i = 0; i < 3; ++i) {
      for (int k = 0; k < 5; ++k) data << p.model.X()(i, k) << ",";
      data << p.model.y()(i) << "\n";
    }
  }
  write_weights_csv(dir + "/w0.csv", p.theta, p.model.a());
  const std::string base = "ZEROLOSS_GNUPLOT=none " + test::zeroloss_binary() + " convexity --data " + dir + "/data.csv";
  std::string out, err;
  const int rc = test::run_command(base + " --trajectory-start " + dir + "/w0.csv --along-flow 0.4 --along-sgd --lr 0.005 "
                                       "--label-noise 1 --steps 64000 --trajectory-points 8 --quick --random 5 "
                                       "--geodesic 5 --no-search --seed 2 --out " + dir + "/out",
                                   &out, &err);
  ASSERT_EQ(rc, 0) << out << err;
  // The anchor is the closed-form minimizer, and the output says so.
  EXPECT_NE(out.find("Anchor: none given; using the global minimum of T"), std::string::npos) << out;
  const SharpnessMinimum opt = sharpness_minimum(p.model, p.theta);
  std::ostringstream tstar;
  tstar.precision(8);
  tstar << "T* = " << opt.sharpness;
  EXPECT_NE(out.find(tstar.str()), std::string::npos) << tstar.str() << "\n" << out;
  EXPECT_NE(out.find("Along trajectories"), std::string::npos) << out;
  EXPECT_NE(out.find("convex from tau = "), std::string::npos) << out;
  EXPECT_NE(out.find("onset refined"), std::string::npos) << out;
  EXPECT_NE(out.find("gnuplot not found"), std::string::npos) << out;
  EXPECT_EQ(count_lines(dir + "/out/trajectory_convexity.csv"), 1 + 9 + 9);
  const nlohmann::json j = nlohmann::json::parse(slurp(dir + "/out/summary.json"));
  EXPECT_EQ(j["anchor"]["source"], "minimizer");
  EXPECT_EQ(j["sampling"]["points"].get<int>(), 1 + 5 + 5 + 9 + 9);
  EXPECT_EQ(j["sampling"]["by_scheme"]["trajectory:sgd"]["points"].get<int>(), 9);
  ASSERT_EQ(j["trajectories"].size(), 2u);
  EXPECT_TRUE(j["figures"].empty());
  EXPECT_EQ(j["figure_scripts"].size(), 3u);  // no search: no search figure
  // Option errors (exit 2): SGD parameters without --along-sgd, --along-sgd without them, --no-anchor with --anchor.
  EXPECT_EQ(test::run_command(base + " --trajectory-start " + dir + "/w0.csv --along-flow 0.1 --lr 0.1 --out " + dir + "/e1",
                              &out, &err),
            2);
  EXPECT_NE(err.find("--lr only applies to the SGD run"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(base + " --trajectory-start " + dir + "/w0.csv --along-sgd --steps 10 --out " + dir + "/e2",
                              &out, &err),
            2);
  EXPECT_NE(err.find("--along-sgd needs --lr"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(base + " --trajectory-start " + dir + "/w0.csv --out " + dir + "/e3", &out, &err), 2);
  EXPECT_NE(err.find("need --along-flow or --along-sgd"), std::string::npos) << err;
  std::filesystem::remove_all(dir);
}

}  // namespace
