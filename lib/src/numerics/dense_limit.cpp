#include "zeroloss/numerics/dense_limit.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

std::uint64_t dense_limit_bytes() {
  constexpr std::uint64_t MiB = 1024ull * 1024ull;
  if (const char* env = std::getenv("ZEROLOSS_DENSE_LIMIT_MB"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    errno = 0;
    const double mb = std::strtod(env, &end);
    if (end == env || *end != '\0' || errno != 0 || !std::isfinite(mb) || !(mb > 0) || mb > 1e12) {
      throw InputError(std::string("environment variable ZEROLOSS_DENSE_LIMIT_MB = '") + env +
                       "': expected a positive number of MiB (the memory allowed for one dense object)");
    }
    return static_cast<std::uint64_t>(mb * static_cast<double>(MiB));
  }
  std::uint64_t limit = 2048ull * MiB;
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) {
    const std::uint64_t physical = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
    limit = std::min(limit, physical / 2);
  }
  return limit;
}

std::string format_bytes(long double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024.0L && u < 6) {
    bytes /= 1024.0L;
    ++u;
  }
  char buf[64];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0Lf bytes", bytes);
  else
    std::snprintf(buf, sizeof buf, "%.3Lg %s", bytes, units[u]);
  return buf;
}

void require_dense_memory(long double doubles, const std::string& what, const std::string& way_out) {
  const long double bytes = 8.0L * std::max(0.0L, doubles);
  const std::uint64_t limit = dense_limit_bytes();
  if (bytes <= static_cast<long double>(limit)) return;
  std::string message = what + " would need " + format_bytes(bytes) + " of memory, more than the dense limit of " +
                        format_bytes(static_cast<long double>(limit)) +
                        " (2 GiB or half the physical memory; set ZEROLOSS_DENSE_LIMIT_MB to change it); refused "
                        "before allocating";
  if (!way_out.empty()) message += ". " + way_out;
  throw ResourceError(message);
}

void require_dense_size(long double rows, long double cols, const std::string& what, const std::string& way_out) {
  char size[96];
  std::snprintf(size, sizeof size, " (%.0Lf x %.0Lf doubles)", rows, cols);
  require_dense_memory(rows * cols, what + size, way_out);
}

}  // namespace zeroloss
