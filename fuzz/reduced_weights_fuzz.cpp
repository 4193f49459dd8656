// Reduced-weights manifests and their two files (zeroloss/formats/reduced_weights.hpp). The input is three
// parts separated by NUL bytes: the manifest (written as r.json), then the files r.csv and
// r_basis.csv, the names the writer gives them; a manifest may name other files.
#include "fuzz_reader.hpp"
#include "zeroloss/formats/reduced_weights.hpp"

void zeroloss::fuzz::read_input(const Input& input) {
  const auto parts = input.parts(3);
  const std::string manifest = input.write("r.json", parts[0]);
  input.write("r.csv", parts[1]);
  input.write("r_basis.csv", parts[2]);
  const ReducedWeights w = read_reduced_weights(manifest);
  if (w.beta.rows() != w.a.size() || w.beta.cols() != w.basis.cols() || w.beta.rows() < 1 || w.basis.cols() < 1 ||
      w.basis.rows() < w.basis.cols() || (w.a.array() == 0.0).any())
    __builtin_trap();  // read_reduced_weights's documented result
}
