#include "zeroloss/io/diagonal_weights_csv.hpp"

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/matrix_csv.hpp"

namespace zeroloss {

DiagonalWeights read_diagonal_weights_csv(const std::string& path, int expected_d) {
  const CsvTable t = read_csv(path, CsvHeader::Required);
  int ucol = -1, vcol = -1;
  for (size_t k = 0; k < t.header.size(); ++k) {
    const std::string& name = t.header[k];
    int& col = name == "u" ? ucol : vcol;
    if (name != "u" && name != "v") {
      throw InputError(path + ":1: column '" + name + "' in the header; a diagonal linear network's weights file has "
                       "exactly the columns u and v (one row per feature)");
    }
    if (col >= 0) throw InputError(path + ":1: the header names column '" + name + "' twice");
    col = static_cast<int>(k);
  }
  if (ucol < 0 || vcol < 0) throw InputError(path + ":1: expected the header u,v (one row per feature)");
  const int d = static_cast<int>(t.rows.size());
  if (expected_d >= 0 && d != expected_d) {
    throw InputError(path + ": " + std::to_string(d) + " rows, but the data has d = " + std::to_string(expected_d) +
                     " features; expected one row (u_k, v_k) per feature");
  }
  DiagonalWeights w;
  w.u.resize(d);
  w.v.resize(d);
  for (int k = 0; k < d; ++k) {
    w.u(k) = t.rows[static_cast<size_t>(k)][static_cast<size_t>(ucol)];
    w.v(k) = t.rows[static_cast<size_t>(k)][static_cast<size_t>(vcol)];
  }
  return w;
}

void write_diagonal_weights_csv(const std::string& path, const Eigen::Ref<const Eigen::VectorXd>& u,
                                const Eigen::Ref<const Eigen::VectorXd>& v) {
  if (u.size() != v.size()) throw InputError(path + ": u and v have different lengths");
  write_numbers_csv(path, "u,v", u.size(), 2, [&](Eigen::Index k, Eigen::Index c) { return c == 0 ? u(k) : v(k); });
}

}  // namespace zeroloss
