// Data CSV files (zeroloss/io/dataset.hpp: read_dataset_csv).
#include "fuzz_reader.hpp"
#include "zeroloss/io/dataset.hpp"

void zeroloss::fuzz::read_input(const Input& input) {
  const Dataset ds = read_dataset_csv(input.write("data.csv", input.bytes()));
  if (ds.X.rows() != ds.y.size() || ds.X.rows() < 1 || ds.X.cols() < 1 ||
      static_cast<std::size_t>(ds.X.cols()) != ds.feature_names.size() || !ds.X.allFinite() || !ds.y.allFinite())
    __builtin_trap();  // read_dataset_csv's documented result
}
