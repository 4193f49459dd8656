#pragma once
// How an error message names an option: as the command line's flag or as a keyword argument (the
// Python module). The library's option checks take the spelling from their caller, so one check
// serves both ("--steps must be at least 1" for `zeroloss sgd`, "steps must be at least 1" for
// zeroloss.label_noise_sgd).

#include <string>

namespace zeroloss {

enum class OptionSpelling { CommandLine, Keyword };

// `name` in the command line's spelling without the dashes ("label-noise"): "--label-noise" or
// "label_noise".
inline std::string option_name(const std::string& name, OptionSpelling spelling) {
  if (spelling == OptionSpelling::CommandLine) return "--" + name;
  std::string keyword = name;
  for (char& c : keyword)
    if (c == '-') c = '_';
  return keyword;
}

}  // namespace zeroloss
