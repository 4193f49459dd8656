#include "zeroloss/io/dataset.hpp"

#include <cmath>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/random/portable_distributions.hpp"
#include "zeroloss/io/matrix_csv.hpp"

namespace zeroloss {

Dataset read_dataset_csv(const std::string& path) {
  const CsvTable t = read_csv(path, CsvHeader::Required);
  int ycol = -1;
  for (size_t k = 0; k < t.header.size(); ++k) {
    if (t.header[k] == "y") {
      if (ycol >= 0) throw InputError(path + ":1: the header names column 'y' twice");
      ycol = static_cast<int>(k);
    }
  }
  if (ycol < 0) {
    throw InputError(path + ":1: no column named 'y' in the header; expected the labels in a column 'y' and the "
                            "features in the other columns");
  }
  const int d = static_cast<int>(t.header.size()) - 1;
  if (d < 1) throw InputError(path + ":1: only a 'y' column; expected at least one feature column");
  Dataset ds;
  const int n = static_cast<int>(t.rows.size());
  ds.X.resize(n, d);
  ds.y.resize(n);
  ds.line_numbers = t.line_numbers;
  for (size_t k = 0; k < t.header.size(); ++k)
    if (static_cast<int>(k) != ycol) ds.feature_names.push_back(t.header[k]);
  for (int i = 0; i < n; ++i) {
    int c = 0;
    for (size_t k = 0; k < t.rows[i].size(); ++k) {
      if (static_cast<int>(k) == ycol)
        ds.y(i) = t.rows[i][k];
      else
        ds.X(i, c++) = t.rows[i][k];
    }
  }
  return ds;
}

void write_dataset_csv(const std::string& path, const Dataset& data) {
  if (data.X.rows() != data.y.size()) throw InputError(path + ": X and y have different numbers of rows");
  std::string header;
  for (Eigen::Index k = 0; k < data.X.cols(); ++k) {
    header += static_cast<size_t>(k) < data.feature_names.size() ? data.feature_names[k] : "x" + std::to_string(k + 1);
    header += ',';
  }
  header += 'y';
  const Eigen::Index d = data.X.cols();
  // Streamed: no text of the n x d numbers in memory.
  write_numbers_csv(path, header, data.X.rows(), d + 1,
                    [&](Eigen::Index i, Eigen::Index k) { return k < d ? data.X(i, k) : data.y(i); });
}

DataGenerator parse_generator(const std::string& name) {
  if (name == "gaussian") return DataGenerator::Gaussian;
  if (name == "uniform01") return DataGenerator::Uniform01;
  if (name == "orthonormal") return DataGenerator::Orthonormal;
  throw InputError("unknown data generator '" + name + "'; expected gaussian, uniform01 or orthonormal");
}

LabelKind parse_label_kind(const std::string& name) {
  if (name == "random") return LabelKind::Random;
  if (name == "given") return LabelKind::Given;
  if (name == "teacher") return LabelKind::Teacher;
  throw InputError("unknown label kind '" + name + "'; expected random, given or teacher");
}

Dataset generate_dataset(const DataOptions& o) {
  if (o.n < 1 || o.d < 1) throw InputError("data generator: n and d must be at least 1");
  std::mt19937_64 rng(o.seed);
  StandardNormal normal;
  UniformDistribution uniform(0.0, 1.0);
  Dataset ds;
  ds.X.resize(o.n, o.d);
  switch (o.generator) {
    case DataGenerator::Gaussian:
      for (int i = 0; i < o.n; ++i)
        for (int k = 0; k < o.d; ++k) ds.X(i, k) = normal(rng) / std::sqrt(static_cast<double>(o.d));
      break;
    case DataGenerator::Uniform01:
      for (int i = 0; i < o.n; ++i)
        for (int k = 0; k < o.d; ++k) ds.X(i, k) = uniform(rng);
      break;
    case DataGenerator::Orthonormal: {
      if (o.n > o.d) {
        throw InputError("data generator orthonormal: needs n <= d (got n = " + std::to_string(o.n) +
                         ", d = " + std::to_string(o.d) + ")");
      }
      Eigen::MatrixXd G(o.d, o.n);
      for (int k = 0; k < o.d; ++k)
        for (int i = 0; i < o.n; ++i) G(k, i) = normal(rng);
      Eigen::HouseholderQR<Eigen::MatrixXd> qr(G);
      const Eigen::MatrixXd Q = qr.householderQ() * Eigen::MatrixXd::Identity(o.d, o.n);
      ds.X = Q.transpose();
      break;
    }
  }
  ds.y.resize(o.n);
  switch (o.labels) {
    case LabelKind::Random:
      for (int i = 0; i < o.n; ++i) ds.y(i) = o.label_scale * normal(rng);
      break;
    case LabelKind::Given:
      if (static_cast<int>(o.given_labels.size()) != o.n) {
        throw InputError("data generator: " + std::to_string(o.given_labels.size()) + " given labels for n = " +
                         std::to_string(o.n) + " samples");
      }
      for (int i = 0; i < o.n; ++i) ds.y(i) = o.given_labels[i];
      break;
    case LabelKind::Teacher: {
      if (o.teacher_width < 1) throw InputError("data generator: teacher width must be at least 1");
      Eigen::MatrixXd W(o.teacher_width, o.d);
      for (int j = 0; j < o.teacher_width; ++j)
        for (int k = 0; k < o.d; ++k) W(j, k) = normal(rng) / std::sqrt(static_cast<double>(o.d));
      const Eigen::MatrixXd R = ds.X * W.transpose();
      for (int i = 0; i < o.n; ++i) {
        double s = 0;
        for (int j = 0; j < o.teacher_width; ++j) s += o.teacher_activation.value(R(i, j));
        ds.y(i) = s;
      }
      break;
    }
  }
  for (int k = 0; k < o.d; ++k) ds.feature_names.push_back("x" + std::to_string(k + 1));
  return ds;
}

DataSummary summarize_data(const Eigen::Ref<const Eigen::MatrixXd>& X) {
  DataSummary s;
  s.n = static_cast<int>(X.rows());
  s.d = static_cast<int>(X.cols());
  Eigen::BDCSVD<Eigen::MatrixXd> svd(X);
  const Eigen::VectorXd sv = svd.singularValues();
  const double tol = static_cast<double>(std::max(X.rows(), X.cols())) * std::numeric_limits<double>::epsilon();
  s.rank = 0;
  for (Eigen::Index k = 0; k < sv.size(); ++k)
    if (sv(k) > tol * sv(0)) ++s.rank;
  const double lo = sv(sv.size() - 1);
  s.condition = lo > 0 ? sv(0) / lo : std::numeric_limits<double>::infinity();
  return s;
}

}  // namespace zeroloss
