#pragma once
// Reduced weights files: the m x p block beta = Theta U and the basis U (d x p) of THEORY 4, so a
// large network (m = d = 10^4: an 800 MB Theta) is saved and read back without ever forming the
// m x d matrix. Written by `zeroloss sgd` (always with --init, on request with --save-reduced).
//
// Format (three files in one folder, see docs/formats.md#reduced-weights):
//   <name>.json       manifest: {"format": "zeroloss-reduced-weights", "version": 1, "m": m, "d": d,
//                     "p": p, "weights": "<name>.csv", "basis": "<name>_basis.csv",
//                     "perpendicular": "zero" | "dropped"}; file names relative to the manifest.
//   <name>.csv        header b1..bp,a; row j = beta_j (coordinates of theta_j in the basis), a_j.
//   <name>_basis.csv  header u1..up; row k = row k of U (d rows), orthonormal columns.
// The weights they stand for are Theta = beta U^T. "perpendicular": "dropped" records that the
// source Theta had a part orthogonal to the basis that was not stored (it never moves under SGD or
// the flows, and no quantity of THEORY depends on it: f_i, T, J only see x_i . theta_j).

#include <Eigen/Dense>

#include <string>

namespace zeroloss {

struct ReducedWeights {
  Eigen::MatrixXd beta;   // m x p
  Eigen::VectorXd a;      // m
  Eigen::MatrixXd basis;  // d x p
  bool perpendicular_dropped = false;
};

// True if `path` names a reduced-weights manifest (ends in ".json").
bool is_reduced_weights_path(const std::string& path);

// Writes the three files atomically; `manifest_path` must end in ".json". Throws InputError on
// mismatched shapes, non-finite values or a file that cannot be written.
void write_reduced_weights(const std::string& manifest_path, const ReducedWeights& w);
// The same from the parts, without copying them into a ReducedWeights (each is 8 MB at m = d = 10^4).
void write_reduced_weights(const std::string& manifest_path, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                           const Eigen::Ref<const Eigen::VectorXd>& a, const Eigen::Ref<const Eigen::MatrixXd>& basis,
                           bool perpendicular_dropped);

// Several manifests in one folder may share one basis file (zeroloss convexity's search points):
// write_reduced_basis writes it (header u1..up, d rows), and write_reduced_weights_sharing_basis
// writes a manifest and its weights CSV that name it. `basis_name` is a file name in the manifest's
// folder; `basis` must be what that file holds (its shape goes into the manifest).
void write_reduced_basis(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& basis);
void write_reduced_weights_sharing_basis(const std::string& manifest_path, const Eigen::Ref<const Eigen::MatrixXd>& beta,
                                         const Eigen::Ref<const Eigen::VectorXd>& a,
                                         const Eigen::Ref<const Eigen::MatrixXd>& basis,
                                         const std::string& basis_name, bool perpendicular_dropped);

// Reads and validates a manifest and its two files (shapes against the manifest, expected_d >= 0
// checked against d, finite values, nonzero a, U^T U = I to 1e-8). Throws InputError naming the file.
ReducedWeights read_reduced_weights(const std::string& manifest_path, int expected_d = -1);

}  // namespace zeroloss
