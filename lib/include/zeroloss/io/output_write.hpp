#pragma once
// Output files being written, announced to whoever keeps a list of them. The run folders of
// formats/output_directory.hpp keep such a list (their manifest, written before a file exists, so that an
// interrupted run knows what it owned); the numerical core's writers (the atomic CSV writers of
// io/csv.hpp) announce every file through OutputWrite without knowing about run folders.

#include <string>

namespace zeroloss {

// Receives the announcements. begin(path) returns a key ("" = not tracked) that end(key) gets back.
// Implementations must be thread-safe; the one installed lives for the rest of the program.
class OutputWriteObserver {
 public:
  virtual ~OutputWriteObserver() = default;
  virtual std::string begin(const std::string& path) = 0;
  virtual void end(const std::string& key) noexcept = 0;
};

// Installs the program's observer (formats/output_directory.cpp installs its own when the first run folder
// opens). Thread-safe; the observer must outlive every OutputWrite.
void set_output_write_observer(OutputWriteObserver* observer);

// Bracket of one write: the constructor announces `path` (and may throw what the observer throws,
// e.g. when a manifest cannot be written), the destructor ends it. Without an observer, nothing.
class OutputWrite {
 public:
  explicit OutputWrite(const std::string& path);
  ~OutputWrite();
  OutputWrite(const OutputWrite&) = delete;
  OutputWrite& operator=(const OutputWrite&) = delete;

 private:
  OutputWriteObserver* observer_ = nullptr;
  std::string key_;
};

}  // namespace zeroloss
