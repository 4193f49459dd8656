#include "zeroloss/io/matrix_csv.hpp"

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/printable_text.hpp"

namespace zeroloss {
namespace {

std::string header_text(const std::string& prefix, Eigen::Index cols, const std::string& last_name) {
  std::string h;
  for (Eigen::Index k = 0; k < cols; ++k) {
    if (k > 0) h += ',';
    h += prefix;
    h += std::to_string(k + 1);
  }
  if (!last_name.empty()) {
    h += ',';
    h += last_name;
  }
  return h;
}

// At most `limit` characters of a header for a message.
std::string shorten(const std::string& s, std::size_t limit = 80) {
  return s.size() <= limit ? s : s.substr(0, limit) + "...";
}

std::string_view trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

}  // namespace

std::uint64_t fnv1a64(const char* data, std::size_t size, std::uint64_t hash) {
  for (std::size_t k = 0; k < size; ++k) {
    hash ^= static_cast<unsigned char>(data[k]);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::uint64_t file_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file for reading");
  std::uint64_t h = kFnv1aOffset;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = fnv1a64(buf.data(), static_cast<std::size_t>(in.gcount()), h);
  }
  if (in.bad()) throw InputError(path + ": read error");
  return h;
}

std::uint64_t write_numbers_csv(const std::string& path, const std::string& header, Eigen::Index rows,
                                Eigen::Index cols, const std::function<double(Eigen::Index, Eigen::Index)>& value) {
  std::uint64_t hash = kFnv1aOffset;
  write_file_atomic_stream(path, [&](std::ostream& out) {
    std::vector<char> buf(1 << 16);
    std::size_t used = 0;
    auto flush = [&]() {
      hash = fnv1a64(buf.data(), used, hash);
      out.write(buf.data(), static_cast<std::streamsize>(used));
      used = 0;
    };
    const std::string line = header + "\n";
    hash = fnv1a64(line.data(), line.size(), hash);
    out << line;
    for (Eigen::Index r = 0; r < rows; ++r) {
      for (Eigen::Index k = 0; k < cols; ++k) {
        if (buf.size() - used < static_cast<std::size_t>(kFormatDoubleChars) + 2) flush();
        if (k > 0) buf[used++] = ',';
        used = static_cast<std::size_t>(format_double_to(buf.data() + used, value(r, k)) - buf.data());
      }
      buf[used++] = '\n';
    }
    flush();
  });
  return hash;
}

std::uint64_t write_matrix_csv(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& M,
                               const std::string& prefix, const Eigen::VectorXd* last, const std::string& last_name) {
  if (last && last->size() != M.rows())
    throw InputError(path + ": " + std::to_string(M.rows()) + " rows but " + std::to_string(last->size()) + " entries of '" +
                     last_name + "'");
  if (!M.allFinite() || (last && !last->allFinite())) throw InputError(path + ": refusing to write non-finite numbers");
  const Eigen::Index cols = M.cols();
  return write_numbers_csv(path, header_text(prefix, cols, last ? last_name : std::string()), M.rows(),
                           cols + (last ? 1 : 0),
                           [&](Eigen::Index r, Eigen::Index k) { return k < cols ? M(r, k) : (*last)(r); });
}

MatrixCsv read_matrix_csv(const std::string& path, const std::string& prefix, Eigen::Index cols, Eigen::Index rows,
                          const std::string& last_name) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file for reading");
  // The header and every data row hold at least 2 cols - 1 bytes (one character per cell and the
  // commas): a file too small for them is refused before the header text or the rows x cols matrix
  // is built (a manifest or checkpoint naming 10^9 rows or columns must not allocate for them).
  std::error_code ec;
  const std::uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (!ec && bytes == 0)
    throw InputError(path + ": empty file; expected the header " + prefix + "1,...," + prefix + std::to_string(cols) +
                     " and " + std::to_string(rows) + " rows");
  if (!ec && static_cast<long double>(bytes) < (rows + 1.0L) * (2.0L * cols - 1))
    throw InputError(path + ": " + std::to_string(bytes) + " bytes cannot hold a header and " + std::to_string(rows) +
                     " rows of " + std::to_string(cols) + " numbers (the file is truncated or belongs to another run)");
  const std::string expected = header_text(prefix, cols, std::string());
  const std::string expected_last = last_name.empty() ? expected : expected + "," + last_name;
  const std::string what = "the header " + shorten(expected) +
                           (last_name.empty() ? std::string() : " (optionally followed by ," + last_name + ")") +
                           " and " + std::to_string(rows) + " rows";
  MatrixCsv out;
  out.values.resize(rows, cols);
  std::string line;
  int lineno = 0;
  Eigen::Index width = -1;  // cells per row, known after the header
  Eigen::Index r = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string_view text = trim(line);
    if (text.empty()) continue;
    if (width < 0) {
      // The header, compared cell by cell without spaces.
      std::string h;
      for (std::size_t start = 0;;) {
        const std::size_t comma = text.find(',', start);
        h += trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) break;
        h += ',';
        start = comma + 1;
      }
      if (h == expected) {
        width = cols;
      } else if (!last_name.empty() && h == expected_last) {
        width = cols + 1;
        out.last = Eigen::VectorXd(rows);
      } else {
        throw InputError(path + ":" + std::to_string(lineno) + ": header '" + printable_text(h) + "'; expected " + what);
      }
      continue;
    }
    if (r >= rows)
      throw InputError(path + ":" + std::to_string(lineno) + ": more than the expected " + std::to_string(rows) +
                       " rows; expected " + what);
    Eigen::Index k = 0;
    for (std::size_t start = 0;; ++k) {
      const std::size_t comma = text.find(',', start);
      const std::string_view cell =
          trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      if (k < width) {
        double v = 0;
        if (!parse_double(cell, v) || !std::isfinite(v))
          throw InputError(path + ":" + std::to_string(lineno) + ": column " + std::to_string(k + 1) + ": '" +
                           printable_text(cell) + "' is not a finite number");
        if (k < cols)
          out.values(r, k) = v;
        else
          (*out.last)(r) = v;
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (k + 1 != width)
      throw InputError(path + ":" + std::to_string(lineno) + ": " + std::to_string(k + 1) + " cells, expected " +
                       std::to_string(width) + " (as in the header)");
    ++r;
  }
  if (in.bad()) throw InputError(path + ": read error");
  if (width < 0) throw InputError(path + ": empty file; expected " + what);
  if (r < rows)
    throw InputError(path + ": " + std::to_string(r) + " rows, expected " + std::to_string(rows) +
                     " (the file is truncated or belongs to another run)");
  return out;
}

}  // namespace zeroloss
