// The convexity diagnostics on the model interface (diagnostics/convexity_geometry.hpp): the
// diagonal linear network (THEORY 9) against closed forms, the generic geometry against the
// two-layer network's specialised one, the settings of `zeroloss convexity` and its report.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/diagnostics/model_convexity_geometry.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/manifold/geodesics.hpp"
#include "zeroloss/manifold/manifold_point.hpp"
#include "zeroloss/manifold/newton_projection.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_network.hpp"
#include "zeroloss/presentation/convexity_outputs.hpp"
#include "zeroloss/model/reduced_coordinates.hpp"
#include "zeroloss/runs/convexity_settings.hpp"

namespace zeroloss {
namespace {

std::shared_ptr<const DiagonalLinearNetwork> diagonal_problem(int n, int d, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd X(n, d);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < d; ++k) X(i, k) = normal(rng);
    y(i) = normal(rng);
  }
  return std::make_shared<const DiagonalLinearNetwork>(X, y);
}

// The explicit Jacobian of the diagonal network: row i = (2 x_i o u, -2 x_i o v) (THEORY 9).
Eigen::MatrixXd explicit_jacobian(const DiagonalLinearNetwork& net, const Eigen::VectorXd& theta) {
  const int n = net.num_samples(), d = net.dimension();
  Eigen::MatrixXd J(n, 2 * d);
  for (int i = 0; i < n; ++i) {
    J.row(i).head(d) = 2 * net.X().row(i).array() * net.u(theta).transpose().array();
    J.row(i).tail(d) = -2 * net.X().row(i).array() * net.v(theta).transpose().array();
  }
  return J;
}

// Hess_M T[v, v] from explicit matrices: lambda = (J J^T)^{-1} J grad T, s = X^T lambda, and
// Hess T - sum_i lambda_i Hess f_i = diag((8/n) c - 2 s, (8/n) c + 2 s).
double closed_form_hessian_form(const DiagonalLinearNetwork& net, const Eigen::VectorXd& theta, const Eigen::VectorXd& v) {
  const int n = net.num_samples(), d = net.dimension();
  const Eigen::MatrixXd J = explicit_jacobian(net, theta);
  const Eigen::VectorXd& c = net.column_norms_squared();
  Eigen::VectorXd grad(2 * d);
  grad << (8.0 / n) * c.cwiseProduct(net.u(theta)), (8.0 / n) * c.cwiseProduct(net.v(theta));
  const Eigen::VectorXd lambda = (J * J.transpose()).ldlt().solve(J * grad);
  const Eigen::VectorXd s = net.X().transpose() * lambda;
  Eigen::VectorXd diag(2 * d);
  diag << (8.0 / n) * c - 2 * s, (8.0 / n) * c + 2 * s;
  return v.dot(diag.cwiseProduct(v));
}

// A point of M from a positive random start, and a unit tangent vector there.
struct PointAndDirection {
  Eigen::VectorXd theta, v;
};

PointAndDirection point_and_direction(const std::shared_ptr<const DiagonalLinearNetwork>& net, std::uint64_t seed) {
  const Eigen::VectorXd start = random_diagonal_start(net->dimension(), 1.0, seed);
  const Eigen::VectorXd theta = project_newton(net, start).theta;
  std::mt19937_64 rng(seed + 100);
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::VectorXd g(theta.size());
  for (Eigen::Index k = 0; k < g.size(); ++k) g(k) = normal(rng);
  Eigen::VectorXd v = ManifoldPoint(net, theta).tangent_projection(g);
  return {theta, v / v.norm()};
}

TEST(DiagonalConvexity, SecondDerivativeAlongAGeodesicEqualsTheRiemannianHessianForm) {
  // THEORY 3's identity d^2/ds^2 T(gamma(s)) at 0 = Hess_M T[v, v], with the left side from finite
  // differences of T at points of a traced geodesic and the right side from explicit matrices.
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    const auto net = diagonal_problem(3, 6, 10 + static_cast<unsigned>(seed));
    const PointAndDirection p = point_and_direction(net, seed);
    const double h = 1e-2;
    auto T_at = [&](double s) {
      const Eigen::VectorXd dir = s >= 0 ? p.v : Eigen::VectorXd(-p.v);
      const auto g = trace_geodesic(net, p.theta, dir, {std::abs(s)});
      return net->evaluate(g.front().theta)->sharpness();
    };
    const double T0 = net->evaluate(p.theta)->sharpness();
    const double coarse = (T_at(h) - 2 * T0 + T_at(-h)) / (h * h);
    const double fine = (T_at(h / 2) - 2 * T0 + T_at(-h / 2)) / (h * h / 4);
    const double fd = (4 * fine - coarse) / 3;
    const double form = closed_form_hessian_form(*net, p.theta, p.v);
    EXPECT_NEAR(fd, form, 1e-6 * std::max(1.0, std::abs(form))) << "seed " << seed;
    // The library's form (generic geometry) is the same number.
    const ModelConvexityGeometry G = diagonal_linear_convexity_geometry(net);
    EXPECT_NEAR(G.hessian_form(p.theta, p.v), form, 1e-10 * std::max(1.0, std::abs(form))) << "seed " << seed;
    // And analyze_point's profiles agree with both along the min-eigenvector geodesic.
    PointConvexityOptions o;
    o.directions = 1;
    o.profile_points = 5;
    o.profile_length = 0.1;
    const PointConvexity pc = analyze_point(G, p.theta, o);
    ASSERT_EQ(pc.profiles.size(), 2u);
    for (const auto& prof : pc.profiles) {
      const Eigen::VectorXd w = prof.velocity.col(0);
      EXPECT_NEAR(prof.second_derivative, closed_form_hessian_form(*net, p.theta, w), 1e-9);
      EXPECT_NEAR(prof.second_derivative_fd, prof.second_derivative, 1e-6 * std::max(1.0, std::abs(prof.second_derivative)));
    }
    EXPECT_NEAR(pc.profiles[0].second_derivative, pc.lambda_min, 1e-9 * std::max(1.0, std::abs(pc.lambda_min)));
  }
}

// A stationary point on a support S of size n: w_S = X_S^{-1} y, u_k v_k = 0, zero off S. Its
// multipliers are lambda = X_S^{-T} (4/n) c_S o sign(w_S), and THEORY 9 predicts the whole spectrum
// of Hess_M T: (8/n) c_k - 2 s_k and (8/n) c_k + 2 s_k (s = X^T lambda) along e_{u_k}, e_{v_k} for
// k outside S, and 16 c_k / n along the zero coordinate of k in S. A negative value (a coordinate
// where |s_k| > 4 c_k / n: dual infeasibility) makes the point a saddle.
struct Saddle {
  Eigen::VectorXd theta;
  Eigen::VectorXd predicted;  // ascending
};

std::optional<Saddle> saddle_on_support(const DiagonalLinearNetwork& net, const std::vector<int>& S) {
  const int n = net.num_samples(), d = net.dimension();
  const Eigen::VectorXd& c = net.column_norms_squared();
  Eigen::MatrixXd XS(n, n);
  for (int j = 0; j < n; ++j) XS.col(j) = net.X().col(S[j]);
  const Eigen::VectorXd wS = XS.fullPivLu().solve(net.labels());
  Eigen::VectorXd u = Eigen::VectorXd::Zero(d), v = Eigen::VectorXd::Zero(d), rhs(n);
  for (int j = 0; j < n; ++j) {
    (wS(j) > 0 ? u : v)(S[j]) = std::sqrt(std::abs(wS(j)));
    rhs(j) = (4.0 / n) * c(S[j]) * (wS(j) > 0 ? 1.0 : -1.0);
  }
  const Eigen::VectorXd lambda = XS.transpose().fullPivLu().solve(rhs);
  const Eigen::VectorXd s = net.X().transpose() * lambda;
  std::vector<double> ev;
  for (int k = 0; k < d; ++k) {
    if (std::find(S.begin(), S.end(), k) != S.end()) {
      ev.push_back(16.0 * c(k) / n);
    } else {
      ev.push_back(8.0 / n * c(k) - 2 * s(k));
      ev.push_back(8.0 / n * c(k) + 2 * s(k));
    }
  }
  std::sort(ev.begin(), ev.end());
  if (!(ev.front() < -0.1)) return std::nullopt;
  return Saddle{net.parameters(u, v), Eigen::Map<Eigen::VectorXd>(ev.data(), static_cast<Eigen::Index>(ev.size()))};
}

TEST(DiagonalConvexity, SpectrumAtASaddleIsTheoryNinesClosedForm) {
  const auto net = diagonal_problem(2, 4, 7);
  const ModelConvexityGeometry G = diagonal_linear_convexity_geometry(net);
  int saddles = 0;
  for (int a = 0; a < 4; ++a) {
    for (int b = a + 1; b < 4; ++b) {
      const std::optional<Saddle> sad = saddle_on_support(*net, {a, b});
      if (!sad) continue;
      ++saddles;
      const SampledPoint p = evaluate_point(G, Eigen::MatrixXd(sad->theta), "given", 0, 0.0);
      EXPECT_LT(p.grad_norm, 1e-12) << "support " << a << "," << b;  // stationary
      const PointConvexity pc = analyze_point(G, Eigen::MatrixXd(sad->theta), PointConvexityOptions{0, false, 0.1, 3});
      ASSERT_EQ(pc.eigenvalues.size(), sad->predicted.size());
      for (Eigen::Index k = 0; k < pc.eigenvalues.size(); ++k) {
        EXPECT_NEAR(pc.eigenvalues(k), sad->predicted(k), 1e-10 * std::max(1.0, std::abs(sad->predicted(k))))
            << "support " << a << "," << b << ", eigenvalue " << k;
      }
      EXPECT_TRUE(p.negative);
    }
  }
  EXPECT_GT(saddles, 0) << "the data should have a non-optimal vertex";
}

TEST(DiagonalConvexity, AnalysisAnchorsAtTheCertifiedOptimumAndFindsNoNegativeCurvatureThere) {
  const auto net = diagonal_problem(3, 6, 5);
  const ModelConvexityGeometry G = diagonal_linear_convexity_geometry(net);
  ConvexityOptions o = ConvexityOptions::quick();
  o.point.directions = 2;
  o.point.profile_points = 5;
  o.sampling.random_points = 10;
  o.sampling.geodesic_points = 10;
  o.sampling.max_distance = 0.5;
  o.search.rungs = 2;
  o.search.starts = 2;
  o.search.max_evaluations_per_rung = 400;
  const PointAndDirection p = point_and_direction(net, 4);
  const ConvexityResult r = analyze_convexity(G, Eigen::MatrixXd(p.theta), std::nullopt, o);
  EXPECT_EQ(r.anchor.source, AnchorSource::Minimizer) << r.anchor.description;
  EXPECT_LT(r.anchor.grad_norm, 1e-8);
  EXPECT_FALSE(r.assumptions_apply);
  EXPECT_EQ(r.activation, "diagonal-linear");
  ASSERT_FALSE(r.sampling.points.empty());
  int anchors = 0;
  for (const SampledPoint& s : r.sampling.points) {
    EXPECT_EQ(s.theta.rows(), 12);
    EXPECT_LE(s.residual, 1e-8);
    if (s.scheme == "anchor") {
      ++anchors;
      // At the weighted-l1 interpolator the dual certificate makes every eigenvalue >= 0 (THEORY 9).
      EXPECT_GE(s.lambda_min, -1e-9);
      EXPECT_FALSE(s.negative);
    }
  }
  EXPECT_EQ(anchors, 1);
  // Trajectories need the two-layer network's flow and SGD.
  const FlowConvexityOptions flow;
  o.along_flow = flow;
  EXPECT_THROW(analyze_convexity(G, Eigen::MatrixXd(p.theta), std::nullopt, o), InputError);
  // The report has no activation assumptions to state.
  const std::string text = convexity_report_text(r, o, "diagonal", "out", {}, {}, {});
  EXPECT_NE(text.find("Anchor: none given; using the global minimum of T"), std::string::npos) << text;
  EXPECT_EQ(text.find("Assumptions (phi'"), std::string::npos);
}

TEST(ConvexityGeometry, GenericSpectrumOnTheReducedNetworkEqualsTheTwoLayerOne) {
  // The two routes to lambda(Hess_M T) on the non-trivial tangent part: SharpnessGeometry in reduced
  // coordinates, and the generic RiemannianSharpness on the reduced model as a SquaredLossModel.
  const Activation phi = Activation::cubic();
  Eigen::MatrixXd X(2, 3);
  X << 1.0, 0.5, -0.3, 0.2, -1.1, 0.7;
  const TwoLayerModel model(X, Eigen::Vector2d(1.5, -0.7), Eigen::Vector3d(1, 1, 1), phi);
  const TwoLayerConvexityGeometry two(model);
  std::mt19937_64 rng(3);
  const Eigen::MatrixXd beta = two.project(two.random_point(rng, 0.8), ProjectionOptions{}).first;
  const auto reduced = std::make_shared<const TwoLayerNetwork>(two.reduced_model());
  const ModelConvexityGeometry generic(reduced, "two-layer");
  const Eigen::VectorXd x = vectorize(beta);
  const ConvexityMeasurement a = two.measure(beta), b = generic.measure(Eigen::MatrixXd(x));
  ASSERT_EQ(a.eigenvalues.size(), b.eigenvalues.size());
  EXPECT_NEAR(a.sharpness, b.sharpness, 1e-12 * a.sharpness);
  EXPECT_NEAR(a.grad_norm, b.grad_norm, 1e-10 * std::max(1.0, a.grad_norm));
  for (Eigen::Index k = 0; k < a.eigenvalues.size(); ++k) {
    EXPECT_NEAR(a.eigenvalues(k), b.eigenvalues(k), 1e-9 * std::max(1.0, a.eigenvalues.cwiseAbs().maxCoeff()));
  }
  EXPECT_EQ(two.tangent_dimension(), generic.tangent_dimension());
}

TEST(ConvexitySettings, OverridesThePresetAndValidates) {
  ConvexitySettings s;
  s.quick = true;
  s.directions = 3;
  s.random_scale = std::make_pair(0.2, 0.4);
  s.negative_tolerance = 1e-6;
  s.seed = 5;
  s.along_flow = 2.0;
  const ConvexityOptions o = s.options();
  const ConvexityOptions q = ConvexityOptions::quick();
  EXPECT_EQ(o.point.directions, 3);
  EXPECT_EQ(o.point.profile_points, q.point.profile_points);
  EXPECT_EQ(o.sampling.random_scale_min, 0.2);
  EXPECT_EQ(o.sampling.random_scale_max, 0.4);
  EXPECT_EQ(o.sampling.negative_tolerance, 1e-6);
  EXPECT_EQ(o.search.negative_tolerance, 1e-6);
  EXPECT_EQ(o.point.seed, 5u);
  EXPECT_EQ(o.sampling.seed, 6u);
  ASSERT_TRUE(o.along_flow.has_value());
  EXPECT_EQ(o.along_flow->points, 40);  // the quick preset's trajectory points
  EXPECT_EQ(o.along_flow->negative_tolerance, 1e-6);
  EXPECT_FALSE(o.along_sgd.has_value());
  EXPECT_EQ(ConvexitySettings{}.options().sampling.random_points, ConvexityOptions::full().sampling.random_points);

  ConvexitySettings bad;
  bad.random_scale = std::make_pair(2.0, 1.0);
  EXPECT_THROW(bad.validate(), InputError);
  bad = ConvexitySettings{};
  bad.along_flow = std::numeric_limits<double>::infinity();
  EXPECT_THROW(bad.validate(), InputError);
  bad = ConvexitySettings{};
  bad.sgd = SgdParameters{};
  bad.sgd->label_noise = 0;
  bad.sgd_steps = 10;
  EXPECT_THROW(bad.validate(), InputError);
  bad.sgd->label_noise = 1;
  EXPECT_NO_THROW(bad.validate());
  bad.sgd_steps = 0;
  EXPECT_THROW(bad.validate(), InputError);
}

TEST(DiagonalConvexity, TheCommandReadsAndWritesUVFilesAndFollowsTrajectories) {
  // Through the real program: u,v points in, u,v search points out; the library's numbers are tested above.
  const std::string dir = test::temp_dir("convexity-diagonal-cli");
  const std::string data = dir + "/data.csv", w0 = dir + "/uv.csv", on = dir + "/on.csv";
  ASSERT_EQ(test::run_zeroloss("data --generator gaussian --n 3 --d 6 --seed 2 --model diagonal-linear --out " + data +
                               " --weights-out " + w0).code, 0);
  ASSERT_EQ(test::run_zeroloss("project --model diagonal-linear --data " + data + " --weights " + w0 +
                               " --method newton --out " + on).code, 0);
  const std::string args = "convexity --model diagonal-linear --data " + data + " --weights " + on +
                           " --quick --random 6 --geodesic 6 --directions 1 --profile-points 5 --rungs 2 --starts 1 "
                           "--max-evaluations 300 --no-figures --out " + dir + "/out";
  const test::RunResult r = test::run_zeroloss(args);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("diagonal linear network"), std::string::npos) << r.out;
  const nlohmann::json j = nlohmann::json::parse(test::slurp(dir + "/out/summary.json"));
  EXPECT_EQ(j["anchor"]["source"], "minimizer");
  EXPECT_TRUE(j["assumptions"].is_null());
  const DiagonalWeights w = read_diagonal_weights_csv(dir + "/out/search_points/eps_0.csv", 6);
  const Dataset d = read_dataset_csv(data);
  EXPECT_LT(DiagonalLinearNetwork(d.X, d.y).max_residual(DiagonalLinearNetwork(d.X, d.y).parameters(w.u, w.v)), 1e-8);
  // Along the flow and SGD from the u,v start (the generic flow and SGD; tests/label_noise_dynamics_test.cpp
  // checks their numbers): one row per logged state of each.
  const test::RunResult along = test::run_zeroloss(args + "2 --trajectory-start " + w0 +
                                                   " --along-flow 1 --along-sgd --lr 0.01 --label-noise 0.5 --steps 2000 "
                                                   "--trajectory-points 4");
  ASSERT_EQ(along.code, 0) << along.err;
  const std::string csv = test::slurp(dir + "/out2/trajectory_convexity.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 5 + 5) << csv;
  EXPECT_NE(csv.find("\nflow,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nsgd,"), std::string::npos) << csv;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace zeroloss
