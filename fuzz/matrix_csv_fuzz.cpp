// Streamed matrix CSV files (zeroloss/io/matrix_csv.hpp: read_matrix_csv). The first two bytes choose
// the expected shape (the caller's arguments), the rest is the file:
//   byte 0: cols = 1 + (b0 & 7); bit 7 set: the optional extra column "a" is allowed
//   byte 1: rows = b1 & 15;      bit 7 set: prefix "u" (a basis), else "b" (a weight block)
#include "fuzz_reader.hpp"
#include "zeroloss/io/matrix_csv.hpp"

void zeroloss::fuzz::read_input(const Input& input) {
  std::string_view bytes = input.bytes();
  if (bytes.size() < 2) return;
  const auto b0 = static_cast<unsigned char>(bytes[0]), b1 = static_cast<unsigned char>(bytes[1]);
  const Eigen::Index cols = 1 + (b0 & 7), rows = b1 & 15;
  const std::string last_name = (b0 & 0x80) ? "a" : "", prefix = (b1 & 0x80) ? "u" : "b";
  bytes.remove_prefix(2);
  const MatrixCsv m = read_matrix_csv(input.write("matrix.csv", bytes), prefix, cols, rows, last_name);
  if (m.values.rows() != rows || m.values.cols() != cols || !m.values.allFinite() ||
      (m.last && (last_name.empty() || m.last->size() != rows || !m.last->allFinite())))
    __builtin_trap();  // read_matrix_csv's documented result
}
