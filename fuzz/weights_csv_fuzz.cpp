// Weights CSV files (zeroloss/io/weights.hpp: read_weights_csv), without and with an expected d.
#include "fuzz_reader.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/weights.hpp"

void zeroloss::fuzz::read_input(const Input& input) {
  const std::string path = input.write("weights.csv", input.bytes());
  for (const int expected_d : {-1, 2}) {
    try {
      const Weights w = read_weights_csv(path, expected_d);
      if (w.theta.rows() != w.a.size() || w.theta.rows() < 1 || w.theta.cols() < 1 ||
          (expected_d >= 0 && w.theta.cols() != expected_d) || !w.theta.allFinite() || !w.a.allFinite() ||
          (w.a.array() == 0.0).any())
        __builtin_trap();  // read_weights_csv's documented result
    } catch (const InputError&) {
    }
  }
}
