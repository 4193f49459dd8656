// The geodesic convexity diagnostics of T on M (diagnostics/convexity.hpp, THEORY 3 and 6) for both
// models through ConvexityGeometry: at a point (spectrum of Hess_M T, T along geodesics), over M
// (sampled points and the threshold g*), the adversarial search, and the whole analysis of
// `zeroloss convexity` (its settings, runs/convexity_settings.hpp, so the same options give the same
// numbers).
#include <memory>
#include <optional>
#include <vector>

#include "module_models.hpp"
#include "zeroloss/diagnostics/convexity.hpp"
#include "zeroloss/diagnostics/two_layer_convexity_geometry.hpp"
#include "zeroloss/runs/convexity_settings.hpp"

namespace zeroloss::python {
namespace {


// The sampled points as the columns of points.csv, plus their parameters.
py::dict points_columns(const PyModel& model, const std::vector<SampledPoint>& points, py::list& thetas) {
  std::vector<std::string> scheme;
  std::vector<int> index, negative;
  std::vector<double> parameter, grad, lmin, lmax, sharp, residual, moved, dphi, d3phi, rmax, lmin_residual;
  std::vector<long> products;
  for (const auto& p : points) {
    scheme.push_back(p.scheme);
    index.push_back(p.index);
    parameter.push_back(p.parameter);
    grad.push_back(p.grad_norm);
    lmin.push_back(p.lambda_min);
    lmax.push_back(p.lambda_max);
    sharp.push_back(p.sharpness);
    negative.push_back(p.negative ? 1 : 0);
    residual.push_back(p.residual);
    moved.push_back(p.projection_distance);
    dphi.push_back(p.min_first_derivative);
    d3phi.push_back(p.min_third_derivative);
    rmax.push_back(p.max_abs_preactivation);
    products.push_back(p.hessian_products);
    lmin_residual.push_back(p.lambda_min_residual);
    thetas.append(caller_out(model, p.theta));
  }
  py::dict d;
  d["scheme"] = scheme;
  d["index"] = index;
  d["parameter"] = parameter;
  d["grad_norm"] = grad;
  d["lambda_min"] = lmin;
  d["lambda_max"] = lmax;
  d["sharpness"] = sharp;
  d["negative"] = negative;
  d["residual"] = residual;
  d["projection_distance"] = moved;
  d["min_dphi"] = dphi;
  d["min_d3phi"] = d3phi;
  d["max_abs_preactivation"] = rmax;
  d["hessian_products"] = products;
  d["lambda_min_residual"] = lmin_residual;
  return d;
}

py::list failures_list(const std::vector<SamplingFailure>& failures) {
  py::list l;
  for (const auto& f : failures) l.append(py::dict(py::arg("scheme") = f.scheme, py::arg("index") = f.index,
                                                  py::arg("reason") = f.reason));
  return l;
}

py::dict threshold_dict(const ConvexityThreshold& t) {
  py::dict d;
  d["negative_found"] = t.negative_found;
  d["threshold"] = t.threshold;
  d["points_below"] = t.points_below;
  d["largest_grad_below"] = t.largest_grad_below;
  d["smallest_lambda_below"] = t.smallest_lambda_below;
  d["largest_grad_sampled"] = t.largest_grad_sampled;
  d["counterexamples"] = t.counterexamples;
  return d;
}

// The rungs as the columns of search.csv, plus each rung's point.
py::dict rungs_columns(const PyModel& model, const std::vector<SearchRung>& rungs, py::list& thetas) {
  std::vector<double> eps, lmin, grad, sharp;
  std::vector<int> feasible, negative, starts;
  std::vector<long> evaluations;
  std::vector<std::string> from;
  for (const auto& r : rungs) {
    eps.push_back(r.eps);
    feasible.push_back(r.feasible_start ? 1 : 0);
    lmin.push_back(r.lambda_min);
    grad.push_back(r.grad_norm);
    sharp.push_back(r.sharpness);
    negative.push_back(r.negative ? 1 : 0);
    from.push_back(r.found_from);
    starts.push_back(r.starts_used);
    evaluations.push_back(r.evaluations);
    thetas.append(r.theta.size() > 0 ? caller_out(model, r.theta) : py::none());
  }
  py::dict d;
  d["eps"] = eps;
  d["feasible_start"] = feasible;
  d["lambda_min"] = lmin;
  d["grad_norm"] = grad;
  d["sharpness"] = sharp;
  d["negative"] = negative;
  d["found_from"] = from;
  d["starts_used"] = starts;
  d["evaluations"] = evaluations;
  return d;
}

py::dict point_dict(const PyModel& model, const PointConvexity& p) {
  py::dict d;
  d["sharpness"] = p.sharpness;
  d["grad_norm"] = p.grad_norm;
  d["residual"] = p.residual;
  d["eigenvalues"] = p.eigenvalues;
  d["lambda_min"] = p.lambda_min;
  d["lambda_max"] = p.lambda_max;
  d["min_second_derivative"] = p.min_second_derivative;
  py::list profiles;
  for (const auto& g : p.profiles) {
    py::dict q;
    q["direction"] = g.direction;
    q["kind"] = g.kind;
    q["velocity"] = caller_out(model, g.velocity);
    q["s"] = g.s;
    q["sharpness"] = g.sharpness;
    q["first_derivative"] = g.first_derivative;
    q["second_derivative"] = g.second_derivative;
    q["second_derivative_fd"] = g.second_derivative_fd;
    q["min_second_difference"] = g.min_second_difference;
    q["complete"] = g.complete;
    q["failure"] = g.failure;
    profiles.append(q);
  }
  d["profiles"] = profiles;
  return d;
}

// The points sampled over M (sample_convexity), kept in C++ so the search can start from them.
struct ConvexitySamples {
  SamplingResult result;
  py::object table, theta, failures;
  py::dict threshold;
};

ConvexitySamples make_samples(const PyModel& model, SamplingResult r) {
  ConvexitySamples s;
  py::list thetas;
  s.table = frame(points_columns(model, r.points, thetas));
  s.theta = thetas;
  s.failures = failures_list(r.failures);
  s.threshold = threshold_dict(convexity_threshold(r.points));
  s.result = std::move(r);
  return s;
}

py::dict analysis_dict(const PyModel& model, const ConvexityResult& r) {
  py::dict d;
  py::dict anchor;
  anchor["source"] = std::string(to_string(r.anchor.source));
  anchor["description"] = r.anchor.description;
  anchor["kind"] = r.anchor.kind ? py::object(py::str(to_string(*r.anchor.kind))) : py::object(py::none());
  anchor["sharpness"] = r.anchor.sharpness;
  anchor["grad_norm"] = r.anchor.grad_norm;
  d["anchor"] = anchor;
  d["point"] = r.point ? py::object(point_dict(model, *r.point)) : py::object(py::none());
  py::list thetas, rung_thetas;
  d["points"] = frame(points_columns(model, r.sampling.points, thetas));
  d["theta"] = thetas;
  d["failures"] = failures_list(r.sampling.failures);
  d["threshold"] = threshold_dict(r.threshold);
  d["search"] = frame(rungs_columns(model, r.search, rung_thetas));
  d["search_theta"] = rung_thetas;
  d["search_convex_up_to"] = r.search_convex_up_to;
  d["search_negative_from"] = r.search_negative_from;
  d["assumptions"] = r.assumptions_apply ? py::object(py::str(r.assumptions.describe(r.activation))) : py::object(py::none());
  d["seconds"] = r.seconds;
  return d;
}

}  // namespace

void bind_convexity(py::module_& m) {
  m.def(
      "convexity_at_point",
      [](const PyModel& model, const Eigen::MatrixXd& theta, int directions, double profile_length,
         int profile_points, std::uint64_t seed) {
        PointConvexityOptions o;
        o.directions = directions;
        o.profile_length = profile_length;
        o.profile_points = profile_points;
        o.seed = seed;
        const auto geometry = geometry_of(model);
        const Eigen::MatrixXd x = caller_in(model, theta, "theta");
        PythonPoller poller{py::none()};
        o.interrupt = poller.flag();
        const PointConvexity p = call_polling(poller, [&] { return analyze_point(*geometry, x, o); });
        return point_dict(model, p);
      },
      py::arg("model"), py::arg("theta"), py::arg("directions") = 8, py::arg("profile_length") = 1.0,
      py::arg("profile_points") = 41, py::arg("seed") = 0, R"doc(
Geodesic convexity of the sharpness T at theta on M (THEORY 3, 6): the spectrum of the Riemannian
Hessian Hess_M T on the non-trivial tangent part (TwoLayerModel: T M intersect span(X)^m, dimension
m p - n; DiagonalLinearModel: ker J, 2d - n), and T along `directions` random unit-speed geodesics
plus the one along the eigenvector of lambda_min, s in [-profile_length, profile_length] on
`profile_points` points. Returns a dict: 'sharpness', 'grad_norm' (||grad_M T||), 'residual',
'eigenvalues' (ascending), 'lambda_min', 'lambda_max', 'min_second_derivative', 'profiles' (one dict
per geodesic: 'kind', 'velocity', 's', 'sharpness', 'first_derivative' <grad_M T, v>,
'second_derivative' Hess_M T[v, v], 'second_derivative_fd' from the profile, 'complete', 'failure').
zeroloss.InputError when theta is off M. The GIL is released; Ctrl-C stops it before its next geodesic
and is raised.)doc");

  py::class_<ConvexitySamples>(m, "ConvexitySamples", R"doc(
Points of M sampled by sample_convexity: .table (the columns of `zeroloss convexity`'s points.csv:
scheme, index, parameter, grad_norm, lambda_min, lambda_max, sharpness, negative, residual,
projection_distance, min_dphi, min_d3phi, max_abs_preactivation, hessian_products, lambda_min_residual), .theta (the points), .failures,
.threshold (g* = the smallest ||grad_M T|| with negative curvature, and the evidence below it).)doc")
      .def_readonly("table", &ConvexitySamples::table)
      .def_readonly("theta", &ConvexitySamples::theta)
      .def_readonly("failures", &ConvexitySamples::failures)
      .def_readonly("threshold", &ConvexitySamples::threshold)
      .def("__len__", [](const ConvexitySamples& s) { return s.result.points.size(); });

  m.def(
      "sample_convexity",
      [](const PyModel& model, std::optional<Eigen::MatrixXd> anchor, std::optional<Eigen::MatrixXd> reference,
         int random_points, int geodesic_points, double max_distance, std::pair<double, double> random_scale,
         double negative_tolerance, std::uint64_t seed) {
        SamplingOptions o;
        o.random_points = random_points;
        o.geodesic_points = geodesic_points;
        o.max_distance = max_distance;
        o.random_scale_min = random_scale.first;
        o.random_scale_max = random_scale.second;
        o.negative_tolerance = negative_tolerance;
        o.seed = seed;
        const auto geometry = geometry_of(model);
        const std::optional<Eigen::MatrixXd> a = caller_in(model, anchor, "anchor");
        const Eigen::MatrixXd ref = reference ? caller_in(model, *reference, "reference") : geometry->zero_point();
        PythonPoller poller{py::none()};
        o.interrupt = poller.flag();
        SamplingResult r = call_polling(poller, [&] { return sample_points(*geometry, a, ref, o); });
        return make_samples(model, std::move(r));
      },
      py::arg("model"), py::arg("anchor") = py::none(), py::arg("reference") = py::none(),
      py::arg("random_points") = 200, py::arg("geodesic_points") = 200, py::arg("max_distance") = 2.0,
      py::arg("random_scale") = std::make_pair(0.1, 3.0), py::arg("negative_tolerance") = 1e-10,
      py::arg("seed") = 0, R"doc(
Samples M and records (||grad_M T||, lambda_min(Hess_M T)) at each point (diagnostics/convexity.hpp):
"random" starts in span(X)^m (pre-activation RMS log-uniform in random_scale) projected onto M by
Newton, and, with an anchor on M (e.g. zl.optimum(model, theta)["theta"]), "geodesic" points
exp_anchor(rho u) with rho stratified on (0, max_distance]. `reference` supplies the components
orthogonal to the data span (T does not depend on them). Negative curvature: lambda_min <
-negative_tolerance * max |lambda|. Returns a ConvexitySamples (.table, .theta, .failures, .threshold).
The GIL is released; Ctrl-C stops it before its next point and is raised.)doc");

  m.def(
      "search_negative_curvature",
      [](const PyModel& model, const ConvexitySamples& samples, std::vector<double> eps,
         std::optional<Eigen::MatrixXd> anchor, int rungs, int starts, int barrier_stages, int iterations_per_stage,
         long max_evaluations_per_rung) {
        SearchOptions o;
        o.rungs = rungs;
        o.starts = starts;
        o.barrier_stages = barrier_stages;
        o.iterations_per_stage = iterations_per_stage;
        o.max_evaluations_per_rung = max_evaluations_per_rung;
        if (eps.empty()) eps = search_ladder(samples.result.points, rungs);
        const auto geometry = geometry_of(model);
        const std::optional<Eigen::MatrixXd> a = caller_in(model, anchor, "anchor");
        PythonPoller poller{py::none()};
        o.interrupt = poller.flag();
        const std::vector<SearchRung> found =
            call_polling(poller, [&] { return search_negative_curvature(*geometry, a, samples.result.points, eps, o); });
        py::list thetas;
        py::dict d;
        d["search"] = frame(rungs_columns(model, found, thetas));
        d["theta"] = thetas;
        return d;
      },
      py::arg("model"), py::arg("samples"), py::arg("eps") = std::vector<double>{}, py::arg("anchor") = py::none(),
      py::arg("rungs") = 8, py::arg("starts") = 3, py::arg("barrier_stages") = 4, py::arg("iterations_per_stage") = 40,
      py::arg("max_evaluations_per_rung") = 20000, R"doc(
The adversarial search: for each eps of the ladder (default: search_ladder over the samples, `rungs`
values) minimise lambda_min(Hess_M T) over M subject to ||grad_M T|| <= eps (log-barrier, L-BFGS in
retraction charts), starting from the samples and the anchor. Returns a dict: 'search' (the columns
of search.csv: eps, feasible_start, lambda_min, grad_norm, sharpness, negative, found_from,
starts_used, evaluations) and 'theta' (each rung's point, or None). The GIL is released; Ctrl-C stops
it at its next L-BFGS iteration and is raised.)doc");

  m.def(
      "analyze_convexity",
      [](const PyModel& model, std::optional<Eigen::MatrixXd> theta, std::optional<Eigen::MatrixXd> anchor,
         bool quick, bool search, bool default_anchor, std::uint64_t seed, std::optional<int> directions,
         std::optional<int> random_points, std::optional<int> geodesic_points, std::optional<int> rungs,
         std::vector<double> eps, py::object progress) {
        ConvexitySettings st;
        st.quick = quick;
        st.search = search;
        st.default_anchor = default_anchor;
        st.seed = seed;
        st.directions = directions;
        st.random_points = random_points;
        st.geodesic_points = geodesic_points;
        st.rungs = rungs;
        st.eps = std::move(eps);
        st.figures = false;
        const Eigen::MatrixXd point = theta ? caller_in(model, *theta, "theta") : Eigen::MatrixXd(0, 0);
        const std::optional<Eigen::MatrixXd> a = caller_in(model, anchor, "anchor");
        const auto* two_layer = dynamic_cast<const PyTwoLayer*>(&model);
        const std::unique_ptr<ConvexityGeometry> geometry = two_layer ? nullptr : geometry_of(model);
        // The preset follows the tangent dimension (the matrix-free presets above the dense dimension).
        const long tangent_dimension = two_layer
                                           ? TwoLayerConvexityGeometry(two_layer->network().network()).tangent_dimension()
                                           : geometry->tangent_dimension();
        ConvexityOptions options = st.options(tangent_dimension);  // validates (InputError)
        PythonPoller poller(std::move(progress));
        options.interrupt = poller.flag();
        const auto say = [&](const std::string& line) { poller.poll([&] { return py::make_tuple(line); }); };
        const ConvexityResult r = call_polling(poller, [&] {
          return two_layer ? analyze_convexity(two_layer->network().network(), point, a, options, say)
                           : analyze_convexity(*geometry, point, a, options, say);
        });
        return analysis_dict(model, r);
      },
      py::arg("model"), py::arg("theta") = py::none(), py::arg("anchor") = py::none(), py::arg("quick") = true,
      py::arg("search") = true, py::arg("default_anchor") = true, py::arg("seed") = 0,
      py::arg("directions") = py::none(), py::arg("random_points") = py::none(),
      py::arg("geodesic_points") = py::none(), py::arg("rungs") = py::none(), py::arg("eps") = std::vector<double>{},
      py::arg("progress") = py::none(), R"doc(
The whole analysis of `zeroloss convexity` (docs/commands/convexity.md) with its settings: the preset
(quick=True: `--quick`, else the thorough one) with the given overrides (`--directions`,
`--random-points`, `--geodesic-points`, `--rungs`, `--eps`, `--seed`, `--no-search`, `--no-anchor` for
default_anchor=False); the same inputs and settings give the command's numbers. theta: the point
analysed (optional); anchor: a point on M (default: the minimiser of T). Returns a dict: 'anchor',
'point' (as convexity_at_point, or None), 'points' (points.csv's columns), 'theta', 'failures',
'threshold', 'search' (search.csv's columns), 'search_theta', 'search_convex_up_to',
'search_negative_from', 'assumptions' (THEORY 1's phi' > 0, phi''' > 0 on the pre-activations
visited; None for the diagonal network), 'seconds'.
progress(line) receives each stage's progress line (the lines `zeroloss convexity` prints; return
False to stop). The GIL is released; Ctrl-C (or an exception raised by `progress`) stops the analysis
at its next check (between points, geodesic directions, logged trajectory states, search
iterations: well under a second on the paper's sizes) and is raised; nothing is returned then.)doc");
}

}  // namespace zeroloss::python
