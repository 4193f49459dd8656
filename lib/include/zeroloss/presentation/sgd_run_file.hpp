#pragma once
// DIR/run.json of a label-noise SGD run (docs/formats.md): the options a resume reads, with the
// absolute input paths and FNV-1a 64 fingerprints of the inputs, so that a resume refuses changed
// inputs.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "zeroloss/runs/label_noise_sgd_run_options.hpp"

namespace zeroloss {

// The JSON of run.json (format "zeroloss-sgd-run", version 1) for `options`.
nlohmann::json sgd_run_json(const LabelNoiseSgdRunOptions& options);

struct SgdRunFile {
  LabelNoiseSgdRunOptions options;  // out is left empty (the folder the file is in)
  std::uint64_t data_fingerprint = 0;
  std::uint64_t weights_fingerprint = 0;
  bool has_weights_files_fingerprint = false;  // absent in files written before it existed
  std::uint64_t weights_files_fingerprint = 0;
};

// Reads run.json at `path`. Throws InputError naming it when it is not JSON, not a zeroloss sgd run
// file, or malformed (a field missing or of the wrong type). Fields added after version 1 default
// to the behaviour before them (coordinates auto, no random start, ...).
SgdRunFile read_sgd_run_file(const std::string& path);

// An input path as run.json records it, as a path to open: an absolute path (what the runs write)
// as it is, a relative one (what a sweep's finished tasks record, so that its folder can move)
// relative to the folder of `run_file`; "" stays "".
std::string run_input_path(const std::string& recorded, const std::string& run_file);

// FNV-1a 64 over the checksums of the weight block and the basis a reduced-weights manifest names
// (0 when they cannot be found: loading the manifest then reports the problem).
std::uint64_t reduced_files_fingerprint(const std::string& manifest);

}  // namespace zeroloss
