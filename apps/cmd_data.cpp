// zeroloss data: writes a data set CSV from a generator (and optionally a random starting weights file).

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>

#include "command.hpp"
#include "common.hpp"
#include "diagonal_linear.hpp"
#include "option_checks.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"

namespace zeroloss::cli {
namespace {

struct DataCommandOptions {
  std::string generator = "uniform01";
  int n = 0;
  int d = 0;
  std::string labels = "random";
  std::vector<double> label_values;
  double label_scale = 1.0;
  int teacher_width = 1;
  std::string teacher_activation = "cubic";
  std::uint64_t seed = 0;
  std::string out;
  std::string weights_out;
  int m = 0;
  double init_scale = 1.0;
  bool a_mixed = false;
  ModelKind model = ModelKind::TwoLayer;
};

// The folder a file will be written into must exist: checked for every output before anything is
// written, so that a bad second path never leaves the first file behind.
void require_writable_parent(const std::string& path, const std::string& option) {
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent)) {
    throw InputError(option + " " + path + ": the folder " + parent.string() + " does not exist");
  }
  if (fs::is_directory(path)) throw InputError(option + " " + path + ": is a folder; expected a file name");
}

std::string fmt(double x, int precision = 6) {
  std::ostringstream s;
  s << std::setprecision(precision) << x;
  return s.str();
}

// Random starting weights: theta_jk ~ N(0, s^2 / mean_i ||x_i||^2), so that a pre-activation
// r_ij = x_i . theta_j has standard deviation about s on typical rows; a = 1, or with --a-mixed
// alternating signs (+, -, +, ...) with magnitudes uniform on [0.5, 1.5]. Independent stream of the seed.
void random_weights(const Dataset& data, const DataCommandOptions& o, Eigen::MatrixXd& theta, Eigen::VectorXd& a) {
  std::seed_seq seq{static_cast<unsigned>(o.seed & 0xffffffffu), static_cast<unsigned>(o.seed >> 32), 0x77u};
  std::mt19937_64 rng(seq);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.5, 1.5);
  const double mean_norm2 = data.X.rowwise().squaredNorm().mean();
  const double sd = o.init_scale / std::sqrt(mean_norm2 > 0 ? mean_norm2 : 1.0);
  const int d = static_cast<int>(data.X.cols());
  theta.resize(o.m, d);
  for (int j = 0; j < o.m; ++j)
    for (int k = 0; k < d; ++k) theta(j, k) = sd * normal(rng);
  a = Eigen::VectorXd::Ones(o.m);
  if (o.a_mixed)
    for (int j = 0; j < o.m; ++j) a(j) = (j % 2 ? -1.0 : 1.0) * uniform(rng);
}

void run_data(const DataCommandOptions& o, bool labels_given_explicitly) {
  DataOptions opt;
  opt.n = o.n;
  opt.d = o.d;
  opt.generator = parse_generator(o.generator);
  // --label-values alone implies --labels given.
  std::string labels = o.labels;
  if (!labels_given_explicitly && !o.label_values.empty()) labels = "given";
  opt.labels = parse_label_kind(labels);
  if (opt.labels != LabelKind::Given && !o.label_values.empty()) {
    throw InputError("--label-values is only used with --labels given (got --labels " + labels + ")");
  }
  opt.given_labels = o.label_values;
  for (size_t i = 0; i < o.label_values.size(); ++i)
    if (!std::isfinite(o.label_values[i]))
      throw InputError("--label-values: value " + std::to_string(i + 1) + " is not finite");
  if (!(std::isfinite(o.label_scale) && o.label_scale >= 0))
    throw InputError("--label-scale must be a finite number >= 0 (got " + fmt(o.label_scale) + ")");
  opt.label_scale = o.label_scale;
  opt.teacher_width = o.teacher_width;
  opt.teacher_activation = Activation::from_name(o.teacher_activation);
  opt.seed = o.seed;
  const bool want_weights = !o.weights_out.empty();
  if (want_weights) {
    if (o.model == ModelKind::TwoLayer && o.m < 1)
      throw InputError("--weights-out needs --m M with M >= 1 neurons (got --m " + std::to_string(o.m) + ")");
    if (o.model == ModelKind::DiagonalLinear && (o.m != 0 || o.a_mixed))
      throw InputError("--m and --a-mixed describe two-layer weights; the diagonal linear network has one (u_k, v_k) "
                       "per feature: leave them out");
    if (!(std::isfinite(o.init_scale) && o.init_scale > 0))
      throw InputError("--init-scale must be a finite number > 0 (got " + fmt(o.init_scale) + ")");
    std::error_code e1, e2;
    const auto p1 = std::filesystem::weakly_canonical(o.weights_out, e1);
    const auto p2 = std::filesystem::weakly_canonical(o.out, e2);
    if (!e1 && !e2 && p1 == p2)
      throw InputError("--weights-out and --out name the same file " + o.out);
  }
  require_writable_parent(o.out, "--out");
  if (want_weights) require_writable_parent(o.weights_out, "--weights-out");

  const Dataset data = generate_dataset(opt);
  const DataSummary s = summarize_data(data.X);
  Eigen::MatrixXd theta;
  Eigen::VectorXd a;
  if (want_weights && o.model == ModelKind::TwoLayer) random_weights(data, o, theta, a);

  write_dataset_csv(o.out, data);
  if (want_weights) {
    try {
      if (o.model == ModelKind::DiagonalLinear) {
        const int d = static_cast<int>(data.X.cols());
        const Eigen::VectorXd uv = random_diagonal_start(d, o.init_scale, o.seed);
        write_diagonal_weights_csv(o.weights_out, uv.head(d), uv.tail(d));
      } else {
        write_weights_csv(o.weights_out, theta, a);
      }
    } catch (...) {
      std::filesystem::remove(o.out);  // no partial output: both files or none
      throw;
    }
  }

  std::cout << "wrote " << o.out << ": n = " << s.n << " samples, d = " << s.d << " features (generator "
            << o.generator << ", labels " << labels;
  if (opt.labels == LabelKind::Teacher)
    std::cout << " from a width-" << o.teacher_width << " " << opt.teacher_activation.name() << " teacher";
  std::cout << ", seed " << o.seed << ")\n";
  std::cout << "X: rank " << s.rank << ", condition number " << fmt(s.condition) << " (sigma_max / sigma_min over "
            << std::min(s.n, s.d) << " singular values)\n";
  if (!s.rows_independent()) {
    std::cout << "note: the rows of X are linearly dependent (rank p = " << s.rank << " < n = " << s.n
              << "): J J^T = G o (D D^T) can only be invertible when m*p >= n (m neurons, p = rank X; never with two "
                 "identical rows), and the closed-form optimum of T (THEORY 5) assumes independent rows\n";
  }
  std::cout << "labels: min " << fmt(data.y.minCoeff()) << ", max " << fmt(data.y.maxCoeff()) << "\n";
  if (want_weights && o.model == ModelKind::DiagonalLinear) {
    std::cout << "wrote " << o.weights_out << ": u_k, v_k ~ uniform on [s/2, 3s/2] with s = " << fmt(o.init_scale)
              << " (diagonal linear network; not on the zero-loss manifold: `zeroloss project --model diagonal-linear "
                 "--method newton` puts it there)\n";
  } else if (want_weights) {
    std::cout << "wrote " << o.weights_out << ": m = " << o.m << " neurons, theta_jk ~ N(0, s^2 / mean ||x_i||^2) "
              << "with s = " << fmt(o.init_scale) << ", a " << (o.a_mixed ? "mixed signs" : "= 1")
              << " (a random start, not on the zero-loss manifold; `zeroloss project` puts it there)\n";
  }
}

CommandRegistration reg({"data", "Write a data set CSV (gaussian, uniform01 or orthonormal rows; random, given or teacher labels)",
                         [](CLI::App& app) {
                           auto o = std::make_shared<DataCommandOptions>();
                           app.add_option("--generator", o->generator,
                                          "Rows of X: gaussian (entries N(0, 1/d), so ||x_i|| ~ 1), uniform01 "
                                          "(entries uniform on [0, 1], the paper's Figure 1), orthonormal "
                                          "(orthonormal rows, needs n <= d)")
                               ->capture_default_str()
                               ->check(checks::one_of({"gaussian", "uniform01", "orthonormal"}));
                           app.add_option("--n", o->n, "Number of samples n (rows), >= 1")
                               ->required()
                               ->check(checks::positive_integer<int>());
                           app.add_option("--d", o->d, "Number of features d (columns), >= 1")
                               ->required()
                               ->check(checks::positive_integer<int>());
                           auto* labels = app.add_option("--labels", o->labels,
                                                         "Labels y: random (N(0, label-scale^2)), given (--label-values), "
                                                         "teacher (y_i = sum_k phi(x_i . w_k), w_k ~ N(0, I/d))")
                                              ->capture_default_str()
                                              ->check(checks::one_of({"random", "given", "teacher"}));
                           app.add_option("--label-values", o->label_values,
                                          "The n labels for --labels given, comma- or space-separated (implies "
                                          "--labels given)")
                               ->delimiter(',')
                               ->check(checks::finite_number());
                           app.add_option("--label-scale", o->label_scale, "Standard deviation of random labels, >= 0")
                               ->capture_default_str()
                               ->check(checks::non_negative_number());
                           app.add_option("--teacher-width", o->teacher_width, "Teacher network width K >= 1")
                               ->capture_default_str()
                               ->check(checks::positive_integer<int>());
                           app.add_option("--teacher-activation", o->teacher_activation,
                                          "Teacher activation: " + Activation::known_names())
                               ->capture_default_str()
                               ->check(checks::activation_name());
                           app.add_option("--seed", o->seed, "Random seed, an integer >= 0 (same seed -> same bits)")
                               ->capture_default_str()
                               ->check(checks::non_negative_integer<std::uint64_t>());
                           app.add_option("--out", o->out,
                                          "Output data CSV (header x1..xd,y; each number in the shortest form "
                                          "that reads back to the same double)")
                               ->required();
                           add_model_option(app, o->model);
                           app.add_option("--weights-out", o->weights_out,
                                          "Also write a random starting weights CSV (header w1..wd,a; one row per neuron; "
                                          "with --model diagonal-linear: header u,v, one row per feature)");
                           app.add_option("--m", o->m, "Number of neurons m >= 1 of the starting weights (with --weights-out)")
                               ->check(checks::positive_integer<int>());
                           app.add_option("--init-scale", o->init_scale,
                                          "Starting weights theta_jk ~ N(0, s^2 / mean_i ||x_i||^2): pre-activations "
                                          "have standard deviation about s; s > 0. --model diagonal-linear: u_k, v_k "
                                          "uniform on [s/2, 3s/2]")
                               ->capture_default_str()
                               ->check(checks::positive_number());
                           app.add_flag("--a-mixed", o->a_mixed,
                                        "Mixed-sign second layer: a_j = +-u_j with alternating signs, u_j uniform on "
                                        "[0.5, 1.5] (default a = 1)");
                           return std::function<void()>([o, labels]() { run_data(*o, labels->count() > 0); });
                         },
                         10});

}  // namespace
}  // namespace zeroloss::cli
