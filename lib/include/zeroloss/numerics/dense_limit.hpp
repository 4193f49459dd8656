#pragma once
// The memory guard of the dense paths. Every computation that forms a dense object whose size grows
// like (m p)^2 or (m d)^2 (the Riemannian Hessian and its tangent basis, full Q factors of the
// constraint Jacobian, KKT systems) asks here first and is refused with a ResourceError, before
// anything is allocated, when the object would exceed the dense limit.
//
// The limit is 2 GiB or half of the physical memory (sysconf), whichever is smaller; the environment
// variable ZEROLOSS_DENSE_LIMIT_MB (a positive number of MiB) replaces it, e.g. to allow more on a
// large machine or to test the guard with a tiny limit.

#include <cstdint>
#include <string>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

// A dense object (a matrix of size (m p)^2, md x md, ...) would need more memory than the dense
// limit: the computation was refused before allocating. The message names the object, its size,
// the memory it needs, the limit and what to do instead. The program exits with code 10.
class ResourceError : public Error {
 public:
  explicit ResourceError(const std::string& what) : Error(what) {}
};

// The dense limit in bytes (see above). Throws InputError if ZEROLOSS_DENSE_LIMIT_MB is set but not a
// positive number.
std::uint64_t dense_limit_bytes();

// Throws ResourceError unless `doubles` doubles (8 bytes each) fit the dense limit. `what` names the
// object and its size ("the dense Riemannian Hessian (m p - n = 99900 square) and its tangent basis"),
// `way_out` says what to do instead ("use --no-hessian"); both appear in the message with the
// memory needed and the limit.
void require_dense_memory(long double doubles, const std::string& what, const std::string& way_out);

// The same for one rows x cols matrix of doubles; `what` is completed with the size.
void require_dense_size(long double rows, long double cols, const std::string& what, const std::string& way_out);

// "1.5 GiB", "80 GB"-style byte counts for messages (binary units).
std::string format_bytes(long double bytes);

}  // namespace zeroloss
