#include "zeroloss/support/instruction_set.hpp"

#include <string>

#include "zeroloss/support/errors.hpp"

namespace zeroloss {

const char* to_string(InstructionSet set) {
  switch (set) {
    case InstructionSet::Auto:
      return "auto";
    case InstructionSet::Baseline:
      return "baseline";
    case InstructionSet::Avx2:
      return "avx2";
  }
  return "unknown";
}

bool cpu_has_avx2() {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

bool use_avx2(InstructionSet set, const char* who) {
  switch (set) {
    case InstructionSet::Auto:
      return cpu_has_avx2();
    case InstructionSet::Baseline:
      return false;
    case InstructionSet::Avx2:
      if (!cpu_has_avx2())
        throw InputError(std::string(who) + ": the AVX2 kernel was requested but this processor has no AVX2");
      return true;
  }
  return false;
}

}  // namespace zeroloss
