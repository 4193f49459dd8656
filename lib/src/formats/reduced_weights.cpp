#include "zeroloss/formats/reduced_weights.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/matrix_csv.hpp"
#include "zeroloss/presentation/json_file.hpp"

namespace zeroloss {

namespace fs = std::filesystem;

namespace {

// The manifest's count `key`: a whole number from 1 to INT_MAX (not 2.5, "3", 1e20 or -1).
int manifest_count(const std::string& manifest_path, const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  const bool in_range = v.is_number_unsigned()  ? v.get<std::uint64_t>() >= 1 && v.get<std::uint64_t>() <= 0x7fffffffULL
                        : v.is_number_integer() ? v.get<std::int64_t>() >= 1 && v.get<std::int64_t>() <= 0x7fffffff
                                                : false;
  if (!in_range)
    throw InputError(manifest_path + ": \"" + key + "\" is " + v.dump() + "; expected a whole number from 1 to 2147483647");
  return v.get<int>();
}

// Shapes (beta m x p, a m, basis d x p) and finite values.
void check_reduced_weights(const std::string& manifest_path, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                           const Eigen::Ref<const Eigen::VectorXd>& a, const Eigen::Ref<const Eigen::MatrixXd>& basis) {
  const Eigen::Index m = beta.rows(), p = beta.cols(), d = basis.rows();
  if (a.size() != m || basis.cols() != p || p < 1 || m < 1) {
    throw InputError(manifest_path + ": reduced weights of inconsistent shape (beta " + std::to_string(m) + " x " +
                     std::to_string(p) + ", a " + std::to_string(a.size()) + ", basis " + std::to_string(d) +
                     " x " + std::to_string(basis.cols()) + ")");
  }
  if (!beta.allFinite() || !basis.allFinite() || !a.allFinite())
    throw InputError(manifest_path + ": refusing to write non-finite reduced weights");
}

}  // namespace

bool is_reduced_weights_path(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

void write_reduced_weights(const std::string& manifest_path, const ReducedWeights& w) {
  write_reduced_weights(manifest_path, w.beta, w.a, w.basis, w.perpendicular_dropped);
}

void write_reduced_weights(const std::string& manifest_path, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                           const Eigen::Ref<const Eigen::VectorXd>& a, const Eigen::Ref<const Eigen::MatrixXd>& basis,
                           bool perpendicular_dropped) {
  if (!is_reduced_weights_path(manifest_path))
    throw InputError(manifest_path + ": a reduced-weights manifest must end in .json");
  const fs::path manifest(manifest_path);
  const std::string basis_name = manifest.stem().string() + "_basis.csv";
  // The checks first, so that no basis file is left behind by a refused write.
  check_reduced_weights(manifest_path, beta, a, basis);
  write_reduced_basis((manifest.parent_path() / basis_name).string(), basis);
  write_reduced_weights_sharing_basis(manifest_path, beta, a, basis, basis_name, perpendicular_dropped);
}

void write_reduced_basis(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& basis) {
  if (basis.cols() < 1 || basis.rows() < basis.cols() || !basis.allFinite())
    throw InputError(path + ": refusing to write a basis of shape " + std::to_string(basis.rows()) + " x " +
                     std::to_string(basis.cols()) + " or with non-finite entries");
  // Streamed (10^6 numbers at d = 10^4, p = 100).
  write_matrix_csv(path, basis, "u");
}

void write_reduced_weights_sharing_basis(const std::string& manifest_path, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                         const Eigen::Ref<const Eigen::VectorXd>& a,
                                         const Eigen::Ref<const Eigen::MatrixXd>& basis,
                                         const std::string& basis_name, bool perpendicular_dropped) {
  if (!is_reduced_weights_path(manifest_path))
    throw InputError(manifest_path + ": a reduced-weights manifest must end in .json");
  check_reduced_weights(manifest_path, beta, a, basis);
  const fs::path manifest(manifest_path);
  const std::string weights_name = manifest.stem().string() + ".csv";
  const Eigen::VectorXd second_layer = a;
  write_matrix_csv((manifest.parent_path() / weights_name).string(), beta, "b", &second_layer, "a");
  const nlohmann::json j = {{"format", "zeroloss-reduced-weights"},
                            {"version", 1},
                            {"m", beta.rows()},
                            {"d", basis.rows()},
                            {"p", beta.cols()},
                            {"weights", weights_name},
                            {"basis", basis_name},
                            {"perpendicular", perpendicular_dropped ? "dropped" : "zero"}};
  write_file_atomic(manifest_path, j.dump(2) + "\n");
}

ReducedWeights read_reduced_weights(const std::string& manifest_path, int expected_d) {
  JsonReading reading;
  reading.malformed = "malformed reduced-weights manifest";
  reading.when_missing = "cannot open the reduced-weights manifest";
  const nlohmann::json j = read_json_file(manifest_path, reading);
  int m = 0, d = 0, p = 0;
  std::string weights_name, basis_name, perpendicular;
  try {
    if (j.value("format", "") != "zeroloss-reduced-weights")
      throw InputError(manifest_path + ": not a reduced-weights manifest (expected \"format\": \"zeroloss-reduced-weights\")");
    m = manifest_count(manifest_path, j, "m");
    d = manifest_count(manifest_path, j, "d");
    p = manifest_count(manifest_path, j, "p");
    weights_name = j.at("weights").get<std::string>();
    basis_name = j.at("basis").get<std::string>();
    perpendicular = j.value("perpendicular", "zero");
  } catch (const nlohmann::json::exception& e) {
    throw InputError(manifest_path + ": malformed reduced-weights manifest (" + e.what() + ")");
  }
  if (m < 1 || p < 1 || d < p)
    throw InputError(manifest_path + ": m = " + std::to_string(m) + ", d = " + std::to_string(d) + ", p = " +
                     std::to_string(p) + "; expected m >= 1 and 1 <= p <= d");
  if (expected_d >= 0 && d != expected_d)
    throw InputError(manifest_path + ": the basis has d = " + std::to_string(d) + " rows, but the data has d = " +
                     std::to_string(expected_d) + " features");
  const fs::path folder = fs::path(manifest_path).parent_path();
  const std::string weights_path = (folder / weights_name).string(), basis_path = (folder / basis_name).string();
  ReducedWeights w;
  {
    MatrixCsv block = read_matrix_csv(weights_path, "b", p, m, "a");
    w.beta = std::move(block.values);
    w.a = block.last ? std::move(*block.last) : Eigen::VectorXd::Ones(m);
    for (int j = 0; j < m; ++j)
      if (w.a(j) == 0.0)
        throw InputError(weights_path + ": column 'a' is 0 for neuron " + std::to_string(j + 1) +
                         "; every second-layer weight must be nonzero");
  }
  w.basis = read_matrix_csv(basis_path, "u", p, d).values;
  const double orthonormality = (w.basis.transpose() * w.basis - Eigen::MatrixXd::Identity(p, p)).cwiseAbs().maxCoeff();
  if (!(orthonormality <= 1e-8))
    throw InputError(basis_path + ": the basis columns are not orthonormal (max |U^T U - I| = " +
                     format_double(orthonormality) + "; expected <= 1e-8)");
  w.perpendicular_dropped = perpendicular == "dropped";
  return w;
}

}  // namespace zeroloss
