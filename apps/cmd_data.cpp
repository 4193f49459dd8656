// zeroloss data: writes a data set CSV from a generator (and optionally a random starting weights file).

#include <iostream>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "option_checks.hpp"
#include "zeroloss/presentation/generated_data_outputs.hpp"
#include "zeroloss/runs/generated_data.hpp"

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

void run_data(const DataCommandOptions& o, bool labels_given_explicitly) {
  GeneratedDataOptions g;
  g.data.n = o.n;
  g.data.d = o.d;
  g.data.generator = parse_generator(o.generator);
  // --label-values alone implies --labels given.
  g.data.labels = parse_label_kind(!labels_given_explicitly && !o.label_values.empty() ? "given" : o.labels);
  g.data.given_labels = o.label_values;
  g.data.label_scale = o.label_scale;
  g.data.teacher_width = o.teacher_width;
  g.data.teacher_activation = Activation::from_name(o.teacher_activation);
  g.data.seed = o.seed;
  g.out = o.out;
  g.weights_out = o.weights_out;
  g.model = o.model;
  g.m = o.m;
  g.init_scale = o.init_scale;
  g.mixed_signs = o.a_mixed;
  const GeneratedDataSummary summary = write_generated_data(g);
  print_generated_data(std::cout, g, summary);
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
