#include "zeroloss/support/printable_text.hpp"

#include <cstdint>

namespace zeroloss {

std::string printable_text(std::string_view text, std::size_t limit) {
  std::string out;
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t k = 0;
  while (k < n && k < limit) {
    const unsigned char c = s[k];
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++k;
      continue;
    }
    // A well-formed UTF-8 sequence of a code point >= U+00A0 (no C1 controls, no overlong forms,
    // no surrogates) is kept as it is.
    const std::size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    bool ok = len > 0 && k + len <= n;
    std::uint32_t cp = ok ? c & (0x7f >> len) : 0;
    for (std::size_t j = 1; ok && j < len; ++j) {
      ok = (s[k + j] & 0xc0) == 0x80;
      cp = (cp << 6) | (s[k + j] & 0x3f);
    }
    ok = ok && cp >= 0xa0 && !(cp >= 0xd800 && cp <= 0xdfff) && cp <= 0x10ffff &&
         !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000);
    if (ok) {
      out.append(text.substr(k, len));
      k += len;
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
      ++k;
    }
  }
  if (k < n) out += "...";
  return out;
}

}  // namespace zeroloss
