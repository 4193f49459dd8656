#pragma once
// Data sets: CSV input/output and the generators used in experiments.
//
// CSV format: a header row; the column named `y` is the label, every other column is a feature,
// in file order. One sample per row.

#include <Eigen/Dense>

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/model/activation.hpp"

namespace zeroloss {

struct Dataset {
  Eigen::MatrixXd X;                       // n x d
  Eigen::VectorXd y;                       // n
  std::vector<std::string> feature_names;  // d names (x1..xd when generated)
  std::vector<int> line_numbers;           // file line of each row (read_dataset_csv); empty when generated
};

// Reads a data CSV; throws InputError (file, line, column) on any malformed input.
Dataset read_dataset_csv(const std::string& path);
// Writes a data CSV atomically (features then y).
void write_dataset_csv(const std::string& path, const Dataset& data);

enum class DataGenerator { Gaussian, Uniform01, Orthonormal };
enum class LabelKind { Random, Given, Teacher };

struct DataOptions {
  int n = 3;
  int d = 3;
  DataGenerator generator = DataGenerator::Uniform01;
  LabelKind labels = LabelKind::Random;
  double label_scale = 1.0;         // Random: y_i ~ label_scale * N(0, 1)
  std::vector<double> given_labels;  // Given: exactly n values
  int teacher_width = 1;            // Teacher: y = sum_k phi(x . w_k), w_k ~ N(0, I/d)
  Activation teacher_activation = Activation::cubic();
  std::uint64_t seed = 0;
};

// Generates a data set: Gaussian rows N(0, I/d); Uniform01 entries on [0, 1] (the paper's Figure 1
// setting); Orthonormal rows (n <= d, rows of a random orthogonal matrix). Deterministic in seed.
Dataset generate_dataset(const DataOptions& options);

DataGenerator parse_generator(const std::string& name);
LabelKind parse_label_kind(const std::string& name);

// Rank (numerical, tolerance max(n,d) eps sigma_max) and condition number of X.
struct DataSummary {
  int n = 0, d = 0, rank = 0;
  double condition = 0;  // sigma_max / sigma_min over min(n, d) singular values
  bool rows_independent() const { return rank == n; }
};
DataSummary summarize_data(const Eigen::Ref<const Eigen::MatrixXd>& X);

}  // namespace zeroloss
