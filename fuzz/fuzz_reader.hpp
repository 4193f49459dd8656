#pragma once
// The contract every libFuzzer harness of fuzz/ checks: a reader given any bytes either returns or
// throws zeroloss::InputError. Any other exception, a crash, a sanitizer report (ASan, UBSan), an
// allocation beyond libFuzzer's -malloc_limit_mb or a hang is a finding.
//
// A harness is one file fuzz/<reader>_fuzz.cpp that defines zeroloss::fuzz::read_input (below) and
// nothing else; fuzz/CMakeLists.txt turns every such file into the program <reader>_fuzz and a ctest
// test fuzz.<reader> (label "fuzz") seeded from fuzz/corpus/<reader>/. See fuzz/README.md.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zeroloss::fuzz {

// The bytes of one fuzz input and a scratch folder (one per process, emptied before every input)
// into which the harness writes them, since the readers take file paths.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size, std::string folder)
      : bytes_(reinterpret_cast<const char*>(data), size), folder_(std::move(folder)) {}
  std::string_view bytes() const { return bytes_; }
  // Writes `contents` to the file `name` in the scratch folder and returns its path.
  std::string write(const std::string& name, std::string_view contents) const;
  // The path of `name` in the scratch folder (whether or not it exists).
  std::string path(const std::string& name) const { return folder_ + "/" + name; }
  // The input cut at every NUL byte: for readers that read several files (a manifest and its parts).
  std::vector<std::string_view> parts(std::size_t count) const;

 private:
  std::string_view bytes_;
  std::string folder_;
};

// Defined by each harness: write the input to files and call the reader on them.
void read_input(const Input& input);

}  // namespace zeroloss::fuzz
