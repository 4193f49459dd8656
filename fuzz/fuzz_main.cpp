// LLVMFuzzerTestOneInput for every harness: a fresh scratch folder per input, then read_input; an
// InputError is the expected answer to bad bytes, anything else escapes to libFuzzer as a finding.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz_reader.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss::fuzz {

namespace fs = std::filesystem;

std::string Input::write(const std::string& name, std::string_view contents) const {
  const std::string p = path(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) std::abort();  // the harness's own failure, not the reader's
  return p;
}

std::vector<std::string_view> Input::parts(std::size_t count) const {
  std::vector<std::string_view> out;
  std::string_view rest = bytes_;
  while (out.size() + 1 < count) {
    const std::size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) break;
    out.push_back(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
  }
  out.push_back(rest);
  out.resize(count);  // missing parts are empty files
  return out;
}

namespace {

// One scratch folder per process under $TMPDIR (scripts/fuzz points TMPDIR into the build folder),
// removed at exit. Never destroyed, so the exit handler can still read it.
const std::string& scratch_folder() {
  static const std::string* const folder = [] {
    std::string pattern = (fs::temp_directory_path() / "zeroloss-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    return new std::string(pattern);
  }();
  static const bool registered = std::atexit([] {
    std::error_code ec;
    fs::remove_all(*folder, ec);
  }) == 0;
  (void)registered;
  return *folder;
}

}  // namespace
}  // namespace zeroloss::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  const std::string& folder = zeroloss::fuzz::scratch_folder();
  for (const auto& entry : fs::directory_iterator(folder)) fs::remove_all(entry.path());
  try {
    zeroloss::fuzz::read_input(zeroloss::fuzz::Input(data, size, folder));
  } catch (const zeroloss::InputError&) {
    // The documented answer to bad input.
  }
  return 0;
}
