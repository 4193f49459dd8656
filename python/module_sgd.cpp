// zeroloss.label_noise_sgd: label-noise SGD of the two-layer network through the runs/ layer
// (LabelNoiseSgdRun), so a seed gives the bits of `zeroloss sgd` with that seed (THEORY 7).
//
// The run is the command's run: the model's data and weights are written to the run folder (the
// data CSV and weights CSV the command reads, in round-trip number format), the run writes its
// usual files there, and the result is read back from them (final_weights.csv, trajectory.csv).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "module_models.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/random/rng.hpp"
#include "zeroloss/runs/label_noise_sgd_run.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss::python {
namespace {

namespace fs = std::filesystem;

// trajectory.csv as a pandas DataFrame when pandas is installed, else a dict of numpy columns.
py::object read_trajectory(const std::string& path) {
  if (!fs::exists(path)) return py::none();
  try {
    return py::module_::import("pandas").attr("read_csv")(path, py::arg("float_precision") = "round_trip");
  } catch (py::error_already_set&) {
    PyErr_Clear();
  }
  py::object np = py::module_::import("numpy");
  py::object table = np.attr("genfromtxt")(path, py::arg("delimiter") = ",", py::arg("names") = true,
                                           py::arg("dtype") = "f8", py::arg("ndmin") = 1);
  py::dict columns;
  for (auto name : table.attr("dtype").attr("names")) columns[name] = table[name];
  return columns;
}

py::object seed_result(const SgdSeedResult& r, const std::string& dir) {
  py::dict kw;
  kw["seed"] = r.seed;
  kw["status"] = std::string(to_string(r.status));
  kw["steps_done"] = r.steps_done;
  const std::string final_path = (fs::path(dir) / "final_weights.csv").string();
  kw["weights"] = fs::exists(final_path) ? py::cast(read_weights_csv(final_path).theta) : py::none();
  kw["trajectory"] = read_trajectory((fs::path(dir) / "trajectory.csv").string());
  kw["divergence_reason"] = r.divergence_reason;
  kw["steps_per_second"] = r.steps_per_second;
  kw["dir"] = dir;
  return py::module_::import("types").attr("SimpleNamespace")(**kw);
}

py::object run_sgd(const PyModel& model, const Eigen::MatrixXd& theta0, double lr, double label_noise,
                   const py::object& batch, std::uint64_t steps, std::uint64_t seed,
                   std::optional<std::vector<std::uint64_t>> seeds, const std::string& noise, std::uint64_t log_every,
                   int log_points, std::uint64_t checkpoint_every, int threads, std::optional<std::string> out,
                   bool overwrite, py::object progress) {
  const auto* two_layer = dynamic_cast<const PyTwoLayer*>(&model);
  if (two_layer == nullptr)
    throw InputError("label_noise_sgd: runs the two-layer network (TwoLayerModel); got " + model.model()->description());
  model.flatten(theta0, "theta0");
  const TwoLayerModel& net = two_layer->network().network();

  bool temporary = !out.has_value();
  std::string dir = temporary ? py::module_::import("tempfile").attr("mkdtemp")(py::arg("prefix") = "zeroloss_sgd_").cast<std::string>()
                              : *out;
  LabelNoiseSgdRunOptions options;
  const fs::path inputs = temporary ? fs::path(dir) : fs::path(dir).parent_path() / (fs::path(dir).filename().string() + "_inputs");
  fs::create_directories(inputs);
  options.problem.data = (inputs / "data.csv").string();
  options.problem.weights = (inputs / "weights.csv").string();
  options.problem.activation = two_layer->activation();
  Dataset data;
  data.X = net.X();
  data.y = net.y();
  for (int k = 0; k < net.d(); ++k) data.feature_names.push_back("x" + std::to_string(k + 1));
  write_dataset_csv(options.problem.data, data);
  write_weights_csv(options.problem.weights, theta0, net.a());

  options.learning_rate = lr;
  options.label_noise = label_noise;
  options.noise = parse_noise_kind(noise);
  options.batch = py::str(batch).cast<std::string>();
  options.steps = steps;
  options.ensemble = seeds.has_value();
  options.seeds = seeds ? *seeds : std::vector<std::uint64_t>{seed};
  options.threads = threads;
  options.log_every = log_every;
  options.log_points = log_points;
  options.checkpoint_every = checkpoint_every;
  options.figures = false;
  options.out = temporary ? (fs::path(dir) / "run").string() : dir;
  options.overwrite = overwrite;
  const std::string run_dir = options.out;

  PythonPoller poller(std::move(progress));
  LabelNoiseSgdRunSummary summary;
  {
    py::gil_scoped_release release;
    LabelNoiseSgdRun run(std::move(options));
    RunControl control;
    control.interrupt = poller.flag();
    control.progress = [&](double done) { poller.poll([&] { return py::make_tuple(done); }); };
    summary = run.run(control);
  }
  py::list per_seed;
  for (const auto& r : summary.seeds) per_seed.append(seed_result(r, r.dir.empty() ? run_dir : r.dir));
  py::object result;
  if (seeds.has_value()) {
    py::dict kw;
    kw["status"] = std::string(to_string(summary.status));
    kw["seeds"] = per_seed;
    kw["trajectory"] = read_trajectory((fs::path(run_dir) / "ensemble_trajectory.csv").string());
    kw["flow_coefficient"] = summary.flow_coefficient;
    kw["dir"] = run_dir;
    result = py::module_::import("types").attr("SimpleNamespace")(**kw);
  } else {
    result = per_seed[0];
    result.attr("flow_coefficient") = summary.flow_coefficient;
  }
  if (poller.failed()) {
    // The run stopped at a checkpoint: its folder is kept (zeroloss sgd --resume DIR continues it).
    py::module_::import("zeroloss").attr("last_result") = result;
    poller.rethrow();
  }
  if (temporary) fs::remove_all(dir);
  if (temporary) result.attr("dir") = py::none();
  return result;
}

}  // namespace

void bind_sgd(py::module_& m) {
  m.def("label_noise_sgd", &run_sgd, py::arg("model"), py::arg("theta0"), py::arg("lr"), py::arg("label_noise"),
        py::arg("batch") = 1, py::arg("steps"), py::arg("seed") = 0, py::arg("seeds") = py::none(),
        py::arg("noise") = "gaussian", py::arg("log_every") = 0, py::arg("log_points") = 200,
        py::arg("checkpoint_every") = 0, py::arg("threads") = 0, py::arg("out") = py::none(),
        py::arg("overwrite") = false, py::arg("progress") = py::none(), R"doc(
Label-noise SGD of a TwoLayerModel from theta0 (m x d), THEORY 7: each step draws a batch of B
samples, perturbs their labels y_i + s xi (xi Gaussian or Rademacher, `noise`) and takes a gradient
step of size lr (eta) on their squared loss. SGD time is t = eta^2 k; on M it follows the Riemannian
flow of T with coefficient C = s^2 / (4B) (tau = C t).

This is `zeroloss sgd` (docs/commands/sgd.md): the same seed gives the same bits as the command.
batch: an integer in [1, n] or "full". seed: one run; seeds=[...]: an ensemble (each seed
independent of `threads`). log_every / log_points: the logged steps of the trajectory.
out: keep the run folder there (run.json, trajectory.csv, final_weights.csv, checkpoints; resumable
with `zeroloss sgd --resume OUT`), with the data and start weights it reads in OUT_inputs/ beside it;
default: a temporary folder, removed afterwards.
progress: called as progress(steps_done) about every 0.1 s (return False to stop).

Returns an object with .weights (m x d final Theta, None if interrupted), .trajectory (the columns of
trajectory.csv: a pandas DataFrame when pandas is installed, else a dict of numpy arrays), .status
("completed", "diverged"), .steps_done, .seed, .flow_coefficient; for an ensemble .seeds (one such
object per seed) and .trajectory (the ensemble mean). The GIL is released while running; Ctrl-C
writes a checkpoint, stores the partial result (status "interrupted", its folder kept for a resume)
in zeroloss.last_result and raises KeyboardInterrupt.)doc");
}

}  // namespace zeroloss::python
