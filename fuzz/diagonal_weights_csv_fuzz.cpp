// Diagonal linear weights files (zeroloss/io/diagonal_weights_csv.hpp: read_diagonal_weights_csv),
// without and with an expected d.
#include "fuzz_reader.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/diagonal_weights_csv.hpp"

void zeroloss::fuzz::read_input(const Input& input) {
  const std::string path = input.write("uv.csv", input.bytes());
  for (const int expected_d : {-1, 3}) {
    try {
      const DiagonalWeights w = read_diagonal_weights_csv(path, expected_d);
      if (w.u.size() != w.v.size() || w.u.size() < 1 || (expected_d >= 0 && w.u.size() != expected_d) ||
          !w.u.allFinite() || !w.v.allFinite())
        __builtin_trap();  // read_diagonal_weights_csv's documented result
    } catch (const InputError&) {
    }
  }
}
