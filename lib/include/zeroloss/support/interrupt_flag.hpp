#pragma once
// The interrupt flag of the library's long calls: a `const std::atomic<bool>*` owned by the caller
// (null: the call cannot be interrupted), set from another thread or a signal handler, and read at
// the call's checks (between units of work). A set flag makes the call throw InterruptedError (not in
// support/errors.hpp, which every file includes: only the files that check the flag see it).

#include <atomic>
#include <string>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

// The caller asked a long call to stop (its interrupt flag, e.g. RunControl::interrupt or
// ConvexityOptions::interrupt, became true) and it stopped at its next check without a result. What it
// had written is left as its documentation says (an output folder is marked "interrupted").
class InterruptedError : public Error {
 public:
  explicit InterruptedError(const std::string& what) : Error(what) {}
};

inline bool interrupt_requested(const std::atomic<bool>* flag) {
  return flag != nullptr && flag->load(std::memory_order_relaxed);
}

// Throws InterruptedError("<where>: interrupted") when the flag is set.
inline void throw_if_interrupted(const std::atomic<bool>* flag, const char* where) {
  if (interrupt_requested(flag)) throw InterruptedError(std::string(where) + ": interrupted");
}

}  // namespace zeroloss
