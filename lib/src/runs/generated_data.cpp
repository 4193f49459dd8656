#include "zeroloss/runs/generated_data.hpp"

#include <cmath>
#include <filesystem>
#include <system_error>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"
#include "zeroloss/model/two_layer_random_start.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss {
namespace {

namespace fs = std::filesystem;

// The folder a file will be written into must exist, and the file may not be a folder.
void require_writable_parent(const std::string& path, const std::string& option) {
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent))
    throw InputError(option + " " + path + ": the folder " + parent.string() + " does not exist");
  if (fs::is_directory(path)) throw InputError(option + " " + path + ": is a folder; expected a file name");
}

}  // namespace

const char* generator_name(DataGenerator generator) {
  switch (generator) {
    case DataGenerator::Gaussian: return "gaussian";
    case DataGenerator::Uniform01: return "uniform01";
    case DataGenerator::Orthonormal: break;
  }
  return "orthonormal";
}

const char* label_kind_name(LabelKind kind) {
  switch (kind) {
    case LabelKind::Random: return "random";
    case LabelKind::Given: return "given";
    case LabelKind::Teacher: break;
  }
  return "teacher";
}

void GeneratedDataOptions::validate() const {
  if (data.labels != LabelKind::Given && !data.given_labels.empty())
    throw InputError(std::string("--label-values is only used with --labels given (got --labels ") +
                     label_kind_name(data.labels) + ")");
  for (size_t i = 0; i < data.given_labels.size(); ++i)
    if (!std::isfinite(data.given_labels[i]))
      throw InputError("--label-values: value " + std::to_string(i + 1) + " is not finite");
  if (!(std::isfinite(data.label_scale) && data.label_scale >= 0))
    throw InputError("--label-scale must be a finite number >= 0 (got " + short_number(data.label_scale, 6) + ")");
  if (weights_out.empty()) return;
  if (model == ModelKind::TwoLayer && m < 1)
    throw InputError("--weights-out needs --m M with M >= 1 neurons (got --m " + std::to_string(m) + ")");
  if (model == ModelKind::DiagonalLinear && (m != 0 || mixed_signs))
    throw InputError("--m and --a-mixed describe two-layer weights; the diagonal linear network has one (u_k, v_k) "
                     "per feature: leave them out");
  if (!(std::isfinite(init_scale) && init_scale > 0))
    throw InputError("--init-scale must be a finite number > 0 (got " + short_number(init_scale, 6) + ")");
  std::error_code e1, e2;
  const auto p1 = fs::weakly_canonical(weights_out, e1);
  const auto p2 = fs::weakly_canonical(out, e2);
  if (!e1 && !e2 && p1 == p2) throw InputError("--weights-out and --out name the same file " + out);
}

GeneratedDataSummary write_generated_data(const GeneratedDataOptions& o) {
  o.validate();
  const bool want_weights = !o.weights_out.empty();
  require_writable_parent(o.out, "--out");
  if (want_weights) require_writable_parent(o.weights_out, "--weights-out");

  const Dataset data = generate_dataset(o.data);
  GeneratedDataSummary s;
  s.x = summarize_data(data.X);
  s.label_min = data.y.minCoeff();
  s.label_max = data.y.maxCoeff();
  Weights start;
  if (want_weights && o.model == ModelKind::TwoLayer)
    start = random_two_layer_start(data.X, o.m, o.init_scale, o.mixed_signs, o.data.seed);

  write_dataset_csv(o.out, data);
  if (!want_weights) return s;
  try {
    if (o.model == ModelKind::DiagonalLinear) {
      const int d = static_cast<int>(data.X.cols());
      const Eigen::VectorXd uv = random_diagonal_start(d, o.init_scale, o.data.seed);
      write_diagonal_weights_csv(o.weights_out, uv.head(d), uv.tail(d));
    } else {
      write_weights_csv(o.weights_out, start.theta, start.a);
    }
  } catch (...) {
    fs::remove(o.out);  // no partial output: both files or none
    throw;
  }
  return s;
}

}  // namespace zeroloss
