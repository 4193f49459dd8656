// Trajectories from Python: zeroloss.LabelNoiseDynamics (dynamics/label_noise_dynamics.hpp: the flow
// of T, label-noise SGD, the projections onto M, T and grad_M T, for either model) and the convexity
// along the flow and along SGD (diagnostics/trajectory_convexity.hpp, what `zeroloss convexity
// --along-flow / --along-sgd` computes). Time scales of THEORY 7: SGD time t = eta^2 k, flow time
// tau = C t with C = s^2 / (4B).
#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "module_models.hpp"
#include "zeroloss/diagnostics/trajectory_convexity.hpp"
#include "zeroloss/dynamics/label_noise_dynamics.hpp"
#include "zeroloss/manifold/projection_method.hpp"
#include "zeroloss/random/rng.hpp"
#include "zeroloss/runs/run_parameters.hpp"

namespace zeroloss::python {
namespace {

// The dynamics of a model in the caller's coordinates (two-layer: Theta m x d; diagonal: P x 1),
// holding the Python model (for the shapes) alive.
class PyDynamics {
 public:
  explicit PyDynamics(py::object model) : owner_(std::move(model)), model_(owner_.cast<const PyModel*>()) {
    if (const auto* t = dynamic_cast<const PyTwoLayer*>(model_))
      dynamics_ = std::make_unique<TwoLayerLabelNoiseDynamics>(t->network().network());
    else
      dynamics_ = std::make_unique<ModelLabelNoiseDynamics>(model_->model());
  }
  const PyModel& model() const { return *model_; }
  const LabelNoiseDynamics& dynamics() const { return *dynamics_; }
  Eigen::MatrixXd in(const Eigen::MatrixXd& theta, const char* what) const { return caller_in(*model_, theta, what); }
  py::object out(const Eigen::MatrixXd& x) const { return caller_out(*model_, x); }

 private:
  py::object owner_;
  const PyModel* model_;
  std::unique_ptr<LabelNoiseDynamics> dynamics_;
};

py::dict flow(const PyDynamics& D, const Eigen::MatrixXd& theta0, double t_end, double coefficient,
              std::vector<double> sample_times, double rtol, double atol, py::object callback) {
  FlowOptions options;
  options.t_end = t_end;
  options.coefficient = coefficient;
  options.sample_times = std::move(sample_times);
  options.rtol = rtol;
  options.atol = atol;
  const Eigen::MatrixXd x0 = D.in(theta0, "theta0");
  FlowSampleColumns columns;
  std::vector<Eigen::MatrixXd> states;
  PythonPoller poller(std::move(callback));
  FlowSummary summary;
  {
    py::gil_scoped_release release;  // the observer runs on this thread: poll() may check signals
    summary = D.dynamics().integrate_flow(x0, options, [&](const LabelNoiseFlowState& s) {
      columns.add(s.t, s.tau, s.sharpness, s.gradient_norm);
      states.push_back(*s.x);
      return poller.poll([&] { return py::make_tuple(s.t, D.out(*s.x), s.sharpness, s.gradient_norm); });
    });
  }
  py::dict d;
  columns.write(d);
  py::list thetas;
  for (const auto& x : states) thetas.append(D.out(x));
  d["theta"] = thetas;
  d["t_reached"] = summary.t_reached;
  d["tau_reached"] = summary.tau_reached;
  d["accepted"] = summary.accepted;
  d["rejected"] = summary.rejected;
  d["completed"] = summary.completed;
  d["termination"] = summary.termination;
  if (poller.failed()) {
    py::module_::import("zeroloss").attr("last_result") = d;
    poller.rethrow();
  }
  return d;
}

// One logged SGD iterate.
struct SgdRow {
  std::uint64_t step = 0;
  double t = 0, tau = 0, loss = 0, residual = 0;
  Eigen::MatrixXd theta;
  // With a projection: the point on M, how far it moved, T and ||grad_M T|| there (NaN if it failed).
  Eigen::MatrixXd projected;
  double distance = 0, sharpness = 0, grad_norm = 0;
};

py::object sgd(const PyDynamics& D, const Eigen::MatrixXd& theta0, double lr, double label_noise,
               std::uint64_t steps, const py::object& batch, const std::string& noise, std::uint64_t seed,
               std::uint64_t log_every, int log_points, std::optional<std::string> projection,
               py::object progress) {
  SgdParameters p;
  p.learning_rate = lr;
  p.label_noise = label_noise;
  p.noise = parse_noise_kind(noise);
  p.seed = seed;
  const std::string why =
      sgd_schedule_error(steps, lr, label_noise, log_every, log_points, OptionSpelling::Keyword);
  if (!why.empty()) throw InputError(why);
  p.batch_size = parse_batch(py::str(batch).cast<std::string>(), D.dynamics().num_samples(), OptionSpelling::Keyword);
  const std::optional<ProjectionMethod> method =
      projection ? std::optional<ProjectionMethod>(parse_projection_method(*projection)) : std::nullopt;
  const ProjectionOptions projection_options = sgd_iterate_projection_options();
  const std::vector<std::uint64_t> logged = log_schedule(steps, log_every, log_points);
  const Eigen::MatrixXd x0 = D.in(theta0, "theta0");
  std::vector<SgdRow> rows;
  std::string status = "completed", divergence;
  PythonPoller poller(std::move(progress));
  {
    py::gil_scoped_release release;
    const std::unique_ptr<LabelNoiseSgdPath> path = D.dynamics().label_noise_sgd(x0, p);
    constexpr std::uint64_t kChunk = 1 << 16;  // steps between two polls of Python
    for (std::uint64_t k : logged) {
      while (path->step() < k && !path->diverged() && status == "completed") {
        path->advance(std::min(kChunk, k - path->step()));
        if (!poller.poll([&] { return py::make_tuple(path->step()); })) status = "interrupted";
      }
      if (path->diverged()) {
        status = "diverged";
        divergence = "step " + std::to_string(path->divergence_step()) + ": " + path->divergence_reason();
      }
      if (status != "completed") break;
      SgdRow r;
      r.step = k;
      r.t = lr * lr * static_cast<double>(k);
      r.tau = path->flow_time();
      r.theta = path->weights();
      r.loss = D.dynamics().loss(r.theta);
      r.residual = D.dynamics().max_residual(r.theta);
      if (method) {
        try {
          auto pr = D.dynamics().project(r.theta, *method, projection_options);
          r.projected = std::move(pr.first);
          r.distance = pr.second;
          r.sharpness = D.dynamics().sharpness(r.projected);
          r.grad_norm = D.dynamics().riemannian_gradient(r.projected).norm();
        } catch (const Error&) {
          r.distance = r.sharpness = r.grad_norm = std::numeric_limits<double>::quiet_NaN();
        }
      }
      rows.push_back(std::move(r));
    }
  }
  py::dict columns;
  std::vector<double> t, tau, loss, residual, distance, sharp, grad;
  std::vector<std::uint64_t> step;
  py::list thetas, projected;
  for (const auto& r : rows) {
    step.push_back(r.step);
    t.push_back(r.t);
    tau.push_back(r.tau);
    loss.push_back(r.loss);
    residual.push_back(r.residual);
    thetas.append(D.out(r.theta));
    if (method) {
      distance.push_back(r.distance);
      sharp.push_back(r.sharpness);
      grad.push_back(r.grad_norm);
      projected.append(r.projected.size() > 0 ? D.out(r.projected) : py::none());
    }
  }
  columns["step"] = step;
  columns["t"] = t;
  columns["tau"] = tau;
  columns["loss"] = loss;
  columns["max_residual"] = residual;
  if (method) {
    columns["projection_distance"] = distance;
    columns["sharpness_on_M"] = sharp;
    columns["grad_norm_on_M"] = grad;
  }
  py::dict kw;
  kw["table"] = frame(columns);
  kw["theta"] = thetas;
  kw["projected"] = method ? py::object(projected) : py::object(py::none());
  kw["status"] = status;
  kw["divergence"] = divergence;
  kw["flow_coefficient"] = label_noise * label_noise / (4.0 * p.batch_size);
  py::object result = py::module_::import("types").attr("SimpleNamespace")(**kw);
  if (poller.failed()) {
    py::module_::import("zeroloss").attr("last_result") = result;
    poller.rethrow();
  }
  return result;
}

// A trajectory's convexity as the columns of trajectory_convexity.csv plus its points and onset.
py::dict trajectory_dict(const PyModel& model, const TrajectoryConvexity& tr) {
  std::vector<std::uint64_t> step;
  std::vector<double> tau, grad, lmin, lmax, sharp, moved, loss;
  std::vector<int> negative;
  py::list thetas;
  for (const auto& p : tr.points) {
    step.push_back(p.step);
    tau.push_back(p.tau);
    grad.push_back(p.grad_norm);
    lmin.push_back(p.lambda_min);
    lmax.push_back(p.lambda_max);
    sharp.push_back(p.sharpness);
    negative.push_back(p.negative ? 1 : 0);
    moved.push_back(p.projection_distance);
    loss.push_back(p.iterate_loss);
    thetas.append(caller_out(model, p.theta));
  }
  py::dict columns;
  columns["source"] = std::vector<std::string>(tr.points.size(), to_string(tr.source));
  columns["step"] = step;
  columns["tau"] = tau;
  columns["grad_norm"] = grad;
  columns["lambda_min"] = lmin;
  columns["lambda_max"] = lmax;
  columns["T"] = sharp;
  columns["negative"] = negative;
  columns["projection_distance"] = moved;
  columns["iterate_loss"] = loss;
  const auto opt = [](const std::optional<double>& v) { return v ? py::object(py::float_(*v)) : py::object(py::none()); };
  py::dict onset;
  onset["tau"] = opt(tr.onset.tau);
  onset["last_negative_tau"] = opt(tr.onset.last_negative_tau);
  onset["negative_points"] = tr.onset.negative_points;
  onset["convex_throughout"] = tr.onset.convex_throughout;
  onset["convex_at_end"] = tr.onset.convex_at_end;
  onset["grad_norm_at_last_negative"] = opt(tr.onset.grad_norm_at_last_negative);
  onset["grad_norm_at_onset"] = opt(tr.onset.grad_norm_at_onset);
  onset["refined_low"] = opt(tr.refined_low);
  onset["refined_high"] = opt(tr.refined_high);
  onset["refine_note"] = tr.refine_note;
  py::list failures;
  for (const auto& f : tr.failures)
    failures.append(py::dict(py::arg("step") = f.step, py::arg("tau") = f.tau, py::arg("reason") = f.reason));
  py::dict d;
  d["table"] = frame(columns);
  d["theta"] = thetas;
  d["onset"] = onset;
  d["failures"] = failures;
  d["completed"] = tr.completed;
  d["termination"] = tr.termination;
  d["start_note"] = tr.start_note;
  d["tau_end"] = tr.tau_end;
  return d;
}

// Runs one trajectory convexity function on a worker thread, polling Ctrl-C (call_polling).
template <class Options, class Run>
py::dict convexity_along(const PyModel& model, const Eigen::MatrixXd& theta0, Options options, Run run) {
  const std::unique_ptr<ConvexityGeometry> geometry = geometry_of(model);
  const Eigen::MatrixXd x0 = caller_in(model, theta0, "theta0");
  PythonPoller poller{py::none()};
  options.interrupt = poller.flag();
  std::unique_ptr<LabelNoiseDynamics> dynamics;
  if (dynamic_cast<const PyTwoLayer*>(&model) != nullptr) {
    // What flow_convexity / sgd_convexity do for the two-layer network: reduced coordinates (THEORY 4).
    const auto* g = static_cast<const TwoLayerConvexityGeometry*>(geometry.get());
    dynamics = std::make_unique<TwoLayerLabelNoiseDynamics>(g->reduced_model());
  } else {
    dynamics = std::make_unique<ModelLabelNoiseDynamics>(model.model());
  }
  const TrajectoryConvexity tr = call_polling(poller, [&] { return run(*geometry, *dynamics, x0, options); });
  return trajectory_dict(model, tr);
}

}  // namespace

void bind_trajectories(py::module_& m) {
  py::class_<PyDynamics>(m, "LabelNoiseDynamics", R"doc(
Label-noise SGD and its limiting flow on a model (dynamics/label_noise_dynamics.hpp, THEORY 7), in
the model's natural shape (TwoLayerModel: Theta, m x d, on the network as given; DiagonalLinearModel:
theta = (u, v), length 2d). SGD time is t = eta^2 k; on M, SGD follows the Riemannian flow
dtheta/dt = -C grad_M T with C = s^2 / (4B), whose flow time is tau = C t = s^2 eta^2 k / (4B).
Methods: sharpness, riemannian_gradient, max_residual, loss, project, flow, sgd.)doc")
      .def(py::init<py::object>(), py::arg("model"))
      .def("sharpness", [](const PyDynamics& D, const Eigen::MatrixXd& theta) {
             return D.dynamics().sharpness(D.in(theta, "theta"));
           }, py::arg("theta"), "T = (1/n) sum_i ||grad f_i||^2 at theta (on M).")
      .def("riemannian_gradient", [](const PyDynamics& D, const Eigen::MatrixXd& theta) {
             return D.out(D.dynamics().riemannian_gradient(D.in(theta, "theta")));
           }, py::arg("theta"), "grad_M T at theta on M, in theta's shape.")
      .def("max_residual", [](const PyDynamics& D, const Eigen::MatrixXd& theta) {
             return D.dynamics().max_residual(D.in(theta, "theta"));
           }, py::arg("theta"), "max_i |f_i - y_i| at theta.")
      .def("loss", [](const PyDynamics& D, const Eigen::MatrixXd& theta) {
             return D.dynamics().loss(D.in(theta, "theta"));
           }, py::arg("theta"), "L = (1/2n) sum_i (f_i - y_i)^2 at theta.")
      .def("project", [](const PyDynamics& D, const Eigen::MatrixXd& theta, const std::string& method) {
             const Eigen::MatrixXd x = D.in(theta, "theta");
             std::pair<Eigen::MatrixXd, double> r;
             {
               py::gil_scoped_release release;
               r = D.dynamics().project(x, parse_projection_method(method), ProjectionOptions{});
             }
             return py::make_tuple(D.out(r.first), r.second);
           }, py::arg("theta"), py::arg("method") = "gradient-flow", R"doc(
The projection of theta onto M by `method` ("gradient-flow": Phi_GF of THEORY 7, the limit of gradient
flow on L, the map under which SGD follows the flow; "newton", "nearest", "ceres"). Returns (point,
||point - theta||). zeroloss.Error when the method does not converge or meets a singular point.)doc")
      .def("flow", &flow, py::arg("theta0"), py::arg("t_end"), py::arg("coefficient") = 1.0,
           py::arg("sample_times") = std::vector<double>{}, py::arg("rtol") = 1e-9, py::arg("atol") = 1e-12,
           py::arg("callback") = py::none(), R"doc(
Integrates dtheta/dt = -C grad_M T (C = coefficient; with C = s^2/(4B) this is the limit of label-noise
SGD at SGD time t = eta^2 k, and tau = C t is the flow time) from theta0 on M to t_end, re-projected
onto M after each step (the library's one integration loop; rtol / atol: the error control). The
states are recorded at t = 0, at `sample_times` and at the end. Returns a dict: 't', 'tau',
'sharpness' (T), 'gradient_norm' (||grad_M T||), 'theta' (the states), 't_reached', 'tau_reached',
'accepted', 'rejected', 'completed', 'termination'. callback(t, theta, T, grad_norm) at every state
(return False to stop). The GIL is released; Ctrl-C (or an exception in the callback) stops at the
next state, stores the states so far in zeroloss.last_result and is raised.)doc")
      .def("sgd", &sgd, py::arg("theta0"), py::arg("lr"), py::arg("label_noise"), py::arg("steps"),
           py::arg("batch") = 1, py::arg("noise") = "gaussian", py::arg("seed") = 0, py::arg("log_every") = 0,
           py::arg("log_points") = 100, py::arg("projection") = py::none(), py::arg("progress") = py::none(), R"doc(
Label-noise SGD from theta0 (may be off M), THEORY 7: each step draws a batch of B samples (batch: an
integer in [1, n] or "full"), perturbs their labels by s xi (xi Gaussian or Rademacher, `noise`) and
takes a gradient step of size eta = lr; `seed` fixes the draws. The logged steps are those of
`zeroloss sgd` (every log_every steps, else log_points + 1 evenly spaced ones). Returns an object
with .table (columns step, t = eta^2 k, tau = s^2 eta^2 k / (4B), loss, max_residual and, with
`projection` (a method of project, e.g. "gradient-flow"), projection_distance, sharpness_on_M and
grad_norm_on_M: T and ||grad_M T|| at the projection of each iterate onto M), .theta (the logged
iterates), .projected (their projections, or None), .status ("completed", "diverged",
"interrupted"), .divergence, .flow_coefficient (C = s^2 / (4B)). progress(step) about every 65536
steps (return False to stop). The GIL is released; Ctrl-C stops the run, stores the rows so far in
zeroloss.last_result and is raised. TwoLayerModel runs the library's SGD kernel on the network as
given; label_noise_sgd (the `zeroloss sgd` run, in reduced coordinates) agrees with it to rounding.)doc");

  m.def(
      "convexity_along_flow",
      [](const PyModel& model, const Eigen::MatrixXd& theta0, double flow_time, int points, double negative_tolerance,
         const std::string& start_projection, int refine_passes, int refine_samples) {
        FlowConvexityOptions o;
        o.flow_time = flow_time;
        o.points = points;
        o.negative_tolerance = negative_tolerance;
        o.start_projection = parse_projection_method(start_projection);
        o.refine_passes = refine_passes;
        o.refine_samples = refine_samples;
        return convexity_along(model, theta0, o, [](const ConvexityGeometry& g, const LabelNoiseDynamics& d,
                                                    const Eigen::MatrixXd& x, const FlowConvexityOptions& opt) {
          return flow_convexity(g, d, x, opt);
        });
      },
      py::arg("model"), py::arg("theta0"), py::arg("flow_time"), py::arg("points") = 100,
      py::arg("negative_tolerance") = 1e-10, py::arg("start_projection") = "gradient-flow",
      py::arg("refine_passes") = 2, py::arg("refine_samples") = 32, R"doc(
Convexity along the limiting flow dtheta/dtau = -grad_M T (THEORY 7 with C = 1, so its time is the
flow time tau = s^2 eta^2 k / (4B) of label-noise SGD), from the projection of theta0 onto M
(start_projection) to tau = flow_time: at `points` evenly spaced flow times (and tau = 0) the extreme
eigenvalues of Hess_M T on the non-trivial tangent part, ||grad_M T|| and T; and the convexity onset
(the first logged tau from which every later state is convex: lambda_min >= -negative_tolerance
max |lambda|), its bracket refined by `refine_passes` re-integrations on `refine_samples` times.
What `zeroloss convexity --along-flow` computes (trajectory_convexity.csv). Returns a dict: 'table'
(the columns of trajectory_convexity.csv: source, step, tau, grad_norm, lambda_min, lambda_max, T,
negative, projection_distance, iterate_loss), 'theta' (the states), 'onset', 'failures',
'completed', 'termination', 'start_note', 'tau_end'. The GIL is released; Ctrl-C stops it at the next
logged state and is raised.)doc");

  m.def(
      "convexity_along_sgd",
      [](const PyModel& model, const Eigen::MatrixXd& theta0, double lr, double label_noise, std::uint64_t steps,
         const py::object& batch, const std::string& noise, std::uint64_t seed, int points, double negative_tolerance,
         const std::string& projection) {
        SgdConvexityOptions o;
        const std::string why = sgd_schedule_error(steps, lr, label_noise, 0, 1, OptionSpelling::Keyword);
        if (!why.empty()) throw InputError(why);
        o.sgd.learning_rate = lr;
        o.sgd.label_noise = label_noise;
        o.sgd.noise = parse_noise_kind(noise);
        o.sgd.batch_size =
            parse_batch(py::str(batch).cast<std::string>(), model.model()->num_samples(), OptionSpelling::Keyword);
        o.sgd.seed = seed;
        o.steps = steps;
        o.points = points;
        o.negative_tolerance = negative_tolerance;
        o.projection = parse_projection_method(projection);
        return convexity_along(model, theta0, o, [](const ConvexityGeometry& g, const LabelNoiseDynamics& d,
                                                    const Eigen::MatrixXd& x, const SgdConvexityOptions& opt) {
          return sgd_convexity(g, d, x, opt);
        });
      },
      py::arg("model"), py::arg("theta0"), py::arg("lr"), py::arg("label_noise"), py::arg("steps"),
      py::arg("batch") = 1, py::arg("noise") = "gaussian", py::arg("seed") = 0, py::arg("points") = 100,
      py::arg("negative_tolerance") = 1e-10, py::arg("projection") = "gradient-flow", R"doc(
Convexity along label-noise SGD (step eta = lr, label noise s, batch B, `steps` steps K, `seed`) from
theta0: at the steps round(q K / points), q = 0..points, the iterate is projected onto M
(`projection`, "gradient-flow" = Phi_GF, under which SGD follows the flow) and measured there as in
convexity_along_flow, at flow time tau = s^2 eta^2 k / (4B). What `zeroloss convexity --along-sgd`
computes (same seed, same numbers). Returns the dict of convexity_along_flow (projection_distance and
iterate_loss, the loss of the iterate before projection, filled in; 'failures' lists the iterates
whose projection failed). The GIL is released; Ctrl-C stops it at the next logged step and is raised.)doc");
}

}  // namespace zeroloss::python
