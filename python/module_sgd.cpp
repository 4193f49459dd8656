// zeroloss.label_noise_sgd: label-noise SGD of the two-layer network through the runs/ layer
// (LabelNoiseSgdRun on a problem in memory), so a seed gives the bits of `zeroloss sgd` with that
// seed (THEORY 7). No file is written unless an output folder is asked for; the trajectory is the
// text of trajectory.csv parsed in memory (the same numbers, read back exactly).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "module_models.hpp"
#include "zeroloss/diagnostics/trajectory_metrics.hpp"
#include "zeroloss/random/rng.hpp"
#include "zeroloss/runs/label_noise_sgd_run.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss::python {
namespace {

namespace fs = std::filesystem;

// A CSV text (header row) as a pandas DataFrame (round-trip parsing) when pandas is installed, else
// a dict of numpy columns.
py::object table_from_csv(const std::string& text) {
  py::object buffer = py::module_::import("io").attr("StringIO")(text);
  try {
    return py::module_::import("pandas").attr("read_csv")(buffer, py::arg("float_precision") = "round_trip");
  } catch (py::error_already_set&) {
    PyErr_Clear();
  }
  buffer.attr("seek")(0);
  py::object np = py::module_::import("numpy");
  py::object table = np.attr("genfromtxt")(buffer, py::arg("delimiter") = ",", py::arg("names") = true,
                                           py::arg("dtype") = "f8", py::arg("ndmin") = 1);
  py::dict columns;
  for (auto name : table.attr("dtype").attr("names")) columns[name] = table[name];
  return columns;
}

py::object namespace_of(py::dict kw) { return py::module_::import("types").attr("SimpleNamespace")(**kw); }

// One seed's result. `singular_values` = min(n, m): the spectrum columns of trajectory.csv. The
// weights come from the run (a run on arrays) or, for a resumed run, from its final_weights.csv.
py::object seed_result(const SgdSeedResult& r, int singular_values) {
  py::dict kw;
  kw["seed"] = r.seed;
  kw["status"] = std::string(to_string(r.status));
  kw["steps_done"] = r.steps_done;
  const std::string final_path = r.dir.empty() ? std::string() : (fs::path(r.dir) / "final_weights.csv").string();
  if (r.final_weights.size() > 0)
    kw["weights"] = r.final_weights;
  else if (!final_path.empty() && fs::exists(final_path))
    kw["weights"] = read_weights_csv(final_path).theta;
  else
    kw["weights"] = py::none();
  kw["trajectory"] = table_from_csv(trajectory_csv(r.rows, singular_values));
  kw["divergence_reason"] = r.divergence_reason;
  kw["steps_per_second"] = r.steps_per_second;
  kw["dir"] = r.dir.empty() ? py::object(py::none()) : py::object(py::str(r.dir));
  return namespace_of(kw);
}

// Runs `run` without the GIL, polling Python; returns the result object (one seed, or an ensemble).
py::object run_and_collect(LabelNoiseSgdRun run, int singular_values, py::object progress) {
  const bool ensemble = run.options().ensemble;
  const std::string out = run.options().out;
  PythonPoller poller(std::move(progress));
  LabelNoiseSgdRunSummary summary;
  {
    py::gil_scoped_release release;
    RunControl control;
    control.interrupt = poller.flag();
    control.progress = [&](double done) { poller.poll([&] { return py::make_tuple(done); }); };
    summary = run.run(control);
  }
  py::list per_seed;
  for (const auto& r : summary.seeds) per_seed.append(seed_result(r, singular_values));
  py::object result;
  if (ensemble) {
    py::dict kw;
    kw["status"] = std::string(to_string(summary.status));
    kw["seeds"] = per_seed;
    kw["trajectory"] = table_from_csv(summary.ensemble_table_csv);
    kw["flow_coefficient"] = summary.flow_coefficient;
    kw["dir"] = out.empty() ? py::object(py::none()) : py::object(py::str(out));
    result = namespace_of(kw);
  } else {
    result = per_seed[0];
    result.attr("flow_coefficient") = summary.flow_coefficient;
  }
  if (poller.failed()) {
    // The run stopped: the state it reached is in the result (and, with a folder, in its checkpoint:
    // resume_label_noise_sgd(dir) or `zeroloss sgd --resume DIR` continues it).
    py::module_::import("zeroloss").attr("last_result") = result;
    poller.rethrow();
  }
  return result;
}

py::object run_sgd(const PyModel& model, const Eigen::MatrixXd& theta0, double lr, double label_noise,
                   const py::object& batch, std::uint64_t steps, std::uint64_t seed,
                   std::optional<std::vector<std::uint64_t>> seeds, const std::string& noise, std::uint64_t log_every,
                   std::optional<int> log_points, std::uint64_t checkpoint_every, int threads, std::optional<std::string> out,
                   bool overwrite, py::object progress) {
  const auto* two_layer = dynamic_cast<const PyTwoLayer*>(&model);
  if (two_layer == nullptr)
    throw InputError("label_noise_sgd: runs the two-layer network (TwoLayerModel); got " + model.model()->description());
  const TwoLayerModel& net = two_layer->network().network();
  ProblemArrays problem;
  problem.X = net.X();
  problem.y = net.y();
  problem.theta = theta0;
  problem.a = net.a();
  problem.activation = two_layer->activation();

  LabelNoiseSgdRunOptions options;
  options.learning_rate = lr;
  options.label_noise = label_noise;
  options.noise = parse_noise_kind(noise);
  options.batch = py::str(batch).cast<std::string>();
  options.steps = steps;
  options.ensemble = seeds.has_value();
  options.seeds = seeds ? *seeds : std::vector<std::uint64_t>{seed};
  options.threads = threads;
  options.log_every = log_every;
  // None: the default schedule (options.log_points 0, resolved from the sizes when the run starts).
  if (log_points && *log_points < 1) throw InputError("log_points must be at least 1");
  options.log_points = log_points ? *log_points : 0;
  options.checkpoint_every = checkpoint_every;
  options.figures = false;
  options.out = out ? fs::absolute(*out).string() : std::string();
  options.overwrite = overwrite;
  options.spelling = OptionSpelling::Keyword;  // messages name `steps`, not `--steps`
  const int singular_values = std::min(net.n(), net.m());
  LabelNoiseSgdRun run(std::move(options), problem);  // validates (InputError naming the quantity)
  return run_and_collect(std::move(run), singular_values, std::move(progress));
}

py::object resume_sgd(const std::string& dir, int threads, py::object progress) {
  LabelNoiseSgdRun run = LabelNoiseSgdRun::resume(fs::absolute(dir).string(), threads, true);
  const DataDiagnostics& data = run.diagnostics();
  return run_and_collect(std::move(run), std::min(data.n, data.m), std::move(progress));
}

}  // namespace

void bind_sgd(py::module_& m) {
  m.def("label_noise_sgd", &run_sgd, py::arg("model"), py::arg("theta0"), py::arg("lr"), py::arg("label_noise"),
        py::arg("batch") = 1, py::arg("steps"), py::arg("seed") = 0, py::arg("seeds") = py::none(),
        py::arg("noise") = "gaussian", py::arg("log_every") = 0, py::arg("log_points") = py::none(),
        py::arg("checkpoint_every") = 0, py::arg("threads") = 0, py::arg("out") = py::none(),
        py::arg("overwrite") = false, py::arg("progress") = py::none(), R"doc(
Label-noise SGD of a TwoLayerModel from theta0 (m x d), THEORY 7: each step draws a batch of B
samples, perturbs their labels y_i + s xi (xi Gaussian or Rademacher, `noise`) and takes a gradient
step of size lr (eta) on their squared loss. SGD time is t = eta^2 k; on M it follows the Riemannian
flow of T with coefficient C = s^2 / (4B) (tau = C t).

This is `zeroloss sgd` (docs/commands/sgd.md): the same seed gives the same bits as the command.
batch: an integer in [1, n] or "full". seed: one run; seeds=[...]: an ensemble (each seed
independent of `threads`). log_every / log_points: the logged steps of the trajectory (default: logging costs about a tenth
of the run, at most 200 points, as `zeroloss sgd`).
out: write the run folder there (run.json, trajectory.csv, final_weights.csv, summary.json,
checkpoints, and the inputs as OUT/inputs/data.csv and weights.csv); resumable with
resume_label_noise_sgd(OUT) or `zeroloss sgd --resume OUT`. Default: no file is written at all (no
checkpoint either: an interrupted run keeps its state in the result only).
progress: called as progress(steps_done) about every 0.1 s (return False to stop).

Bad input raises zeroloss.InputError (a ValueError) with the checks and messages of the data and
weights files, naming the quantity instead (e.g. "weights Theta, neuron 3 (row 3), column 1"), and
the checks of `zeroloss sgd`'s options naming the keyword arguments ("steps must be at least 1").

Returns an object with .weights (m x d final Theta; the last finite weights after a divergence, the
state reached when interrupted), .trajectory (the columns of
trajectory.csv: a pandas DataFrame when pandas is installed, else a dict of numpy arrays), .status
("completed", "diverged"), .steps_done, .seed, .flow_coefficient; for an ensemble .seeds (one such
object per seed) and .trajectory (the ensemble mean). The GIL is released while running; Ctrl-C
(or an exception raised by `progress`) stops the run - with `out`, after writing a checkpoint, so
that resume_label_noise_sgd(out) continues it - stores the partial result (status "interrupted",
.weights the state reached) in zeroloss.last_result and is raised.)doc");

  m.def("resume_label_noise_sgd", &resume_sgd, py::arg("dir"), py::arg("threads") = 0,
        py::arg("progress") = py::none(), R"doc(
Continues the label-noise SGD run in the folder `dir` (written by label_noise_sgd(..., out=dir) or by
`zeroloss sgd --out dir`) from its checkpoint, as `zeroloss sgd --resume dir` does: the result has the
bits of an uninterrupted run. Returns the same object as label_noise_sgd (weights and trajectory read
from the folder); Ctrl-C and `progress` behave as there.)doc");
}

}  // namespace zeroloss::python
