#include "zeroloss/io/weights.hpp"

#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/matrix_csv.hpp"

namespace zeroloss {

Weights read_weights_csv(const std::string& path, int expected_d) {
  const CsvTable t = read_csv(path, CsvHeader::Optional);
  int acol = -1;
  for (size_t k = 0; k < t.header.size(); ++k)
    if (t.header[k] == "a") {
      if (acol >= 0) throw InputError(path + ":1: the header names column 'a' twice");
      acol = static_cast<int>(k);
    }
  const int width = static_cast<int>(t.rows.front().size());
  const int d = width - (acol >= 0 ? 1 : 0);
  if (d < 1) throw InputError(path + ": no weight columns; expected d numbers per neuron");
  if (expected_d >= 0 && d != expected_d) {
    throw InputError(path + ": " + std::to_string(d) + " weight columns per neuron, but the data has d = " +
                     std::to_string(expected_d) + " features; expected one column per feature" +
                     std::string(acol >= 0 ? " plus the 'a' column" : " (and optionally a column 'a')"));
  }
  const int m = static_cast<int>(t.rows.size());
  Weights w;
  w.theta.resize(m, d);
  w.a = Eigen::VectorXd::Ones(m);
  w.has_second_layer_column = acol >= 0;
  for (int j = 0; j < m; ++j) {
    int c = 0;
    for (int k = 0; k < width; ++k) {
      if (k == acol) {
        w.a(j) = t.rows[j][k];
        if (w.a(j) == 0.0) {
          throw InputError(path + ":" + std::to_string(t.line_numbers[j]) + ": column 'a' is 0 for neuron " +
                           std::to_string(j + 1) + "; every second-layer weight must be nonzero");
        }
      } else {
        w.theta(j, c++) = t.rows[j][k];
      }
    }
  }
  return w;
}

void write_weights_csv(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& theta,
                       const Eigen::Ref<const Eigen::VectorXd>& a) {
  if (theta.rows() != a.size()) throw InputError(path + ": weights and second layer have different neuron counts");
  // Streamed: no text of the m x d numbers in memory.
  std::string header;
  for (Eigen::Index k = 0; k < theta.cols(); ++k) header += "w" + std::to_string(k + 1) + ",";
  header += "a";
  const Eigen::Index d = theta.cols();
  write_numbers_csv(path, header, theta.rows(), d + 1,
                    [&](Eigen::Index j, Eigen::Index k) { return k < d ? theta(j, k) : a(j); });
}

}  // namespace zeroloss
