// The generic CSV reader (zeroloss/io/csv.hpp) in its three header modes.
#include "fuzz_reader.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"

void zeroloss::fuzz::read_input(const Input& input) {
  const std::string path = input.write("table.csv", input.bytes());
  for (const CsvHeader mode : {CsvHeader::Required, CsvHeader::Optional, CsvHeader::None}) {
    try {
      const CsvTable t = read_csv(path, mode);
      for (const auto& row : t.rows)
        if (row.size() != t.rows.front().size()) __builtin_trap();  // the documented rectangle
    } catch (const InputError&) {
    }
  }
}
