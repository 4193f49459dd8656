#include "zeroloss/reduced_weights.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/errors.hpp"
#include "zeroloss/weights.hpp"

namespace zeroloss {
namespace {

namespace fs = std::filesystem;

// A CSV of `rows` x `cols` numbers with header <prefix>1..<prefix>cols (and ",a" when a is given),
// built in one reserved string (the files can hold 10^6 numbers).
std::string matrix_csv(const Eigen::MatrixXd& M, const char* prefix, const Eigen::VectorXd* a) {
  std::string out;
  out.reserve(static_cast<std::size_t>(M.size() + (a ? a->size() : 0)) * 24 + 16 * M.cols() + 16);
  for (Eigen::Index k = 0; k < M.cols(); ++k) {
    if (k > 0) out += ',';
    out += prefix;
    out += std::to_string(k + 1);
  }
  if (a) out += ",a";
  out += '\n';
  for (Eigen::Index r = 0; r < M.rows(); ++r) {
    for (Eigen::Index k = 0; k < M.cols(); ++k) {
      if (k > 0) out += ',';
      out += format_double(M(r, k));
    }
    if (a) {
      out += ',';
      out += format_double((*a)(r));
    }
    out += '\n';
  }
  return out;
}

}  // namespace

bool is_reduced_weights_path(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
}

void write_reduced_weights(const std::string& manifest_path, const ReducedWeights& w) {
  if (!is_reduced_weights_path(manifest_path))
    throw InputError(manifest_path + ": a reduced-weights manifest must end in .json");
  const Eigen::Index m = w.beta.rows(), p = w.beta.cols(), d = w.basis.rows();
  if (w.a.size() != m || w.basis.cols() != p || p < 1 || m < 1) {
    throw InputError(manifest_path + ": reduced weights of inconsistent shape (beta " + std::to_string(m) + " x " +
                     std::to_string(p) + ", a " + std::to_string(w.a.size()) + ", basis " + std::to_string(d) +
                     " x " + std::to_string(w.basis.cols()) + ")");
  }
  if (!w.beta.allFinite() || !w.basis.allFinite() || !w.a.allFinite())
    throw InputError(manifest_path + ": refusing to write non-finite reduced weights");
  const fs::path manifest(manifest_path);
  const std::string stem = manifest.stem().string();
  const fs::path folder = manifest.parent_path();
  const std::string weights_name = stem + ".csv", basis_name = stem + "_basis.csv";
  write_file_atomic((folder / basis_name).string(), matrix_csv(w.basis, "u", nullptr));
  write_file_atomic((folder / weights_name).string(), matrix_csv(w.beta, "b", &w.a));
  const nlohmann::json j = {{"format", "zeroloss-reduced-weights"},
                            {"version", 1},
                            {"m", m},
                            {"d", d},
                            {"p", p},
                            {"weights", weights_name},
                            {"basis", basis_name},
                            {"perpendicular", w.perpendicular_dropped ? "dropped" : "zero"}};
  write_file_atomic(manifest_path, j.dump(2) + "\n");
}

ReducedWeights read_reduced_weights(const std::string& manifest_path, int expected_d) {
  std::ifstream in(manifest_path);
  if (!in) throw InputError(manifest_path + ": cannot open the reduced-weights manifest");
  nlohmann::json j;
  int m = 0, d = 0, p = 0;
  std::string weights_name, basis_name, perpendicular;
  try {
    in >> j;
    if (j.value("format", "") != "zeroloss-reduced-weights")
      throw InputError(manifest_path + ": not a reduced-weights manifest (expected \"format\": \"zeroloss-reduced-weights\")");
    m = j.at("m").get<int>();
    d = j.at("d").get<int>();
    p = j.at("p").get<int>();
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
    Weights block = read_weights_csv(weights_path, p);
    if (block.theta.rows() != m)
      throw InputError(weights_path + ": " + std::to_string(block.theta.rows()) + " rows; the manifest says m = " +
                       std::to_string(m));
    w.beta = std::move(block.theta);
    w.a = std::move(block.a);
  }
  {
    const CsvTable t = read_csv(basis_path, CsvHeader::Required);
    if (static_cast<int>(t.rows.size()) != d || static_cast<int>(t.rows.front().size()) != p)
      throw InputError(basis_path + ": " + std::to_string(t.rows.size()) + " x " + std::to_string(t.rows.front().size()) +
                       " numbers; the manifest says d x p = " + std::to_string(d) + " x " + std::to_string(p));
    w.basis.resize(d, p);
    for (int r = 0; r < d; ++r)
      for (int k = 0; k < p; ++k) w.basis(r, k) = t.rows[r][k];
  }
  const double orthonormality = (w.basis.transpose() * w.basis - Eigen::MatrixXd::Identity(p, p)).cwiseAbs().maxCoeff();
  if (!(orthonormality <= 1e-8))
    throw InputError(basis_path + ": the basis columns are not orthonormal (max |U^T U - I| = " +
                     format_double(orthonormality) + "; expected <= 1e-8)");
  w.perpendicular_dropped = perpendicular == "dropped";
  return w;
}

}  // namespace zeroloss
