#pragma once
// The two files that let a label-noise SGD run of the diagonal linear network (runs/diagonal_sgd_run.hpp)
// continue after an interruption (docs/formats.md#diagonal-sgd-run-files):
//
//   DIR/run.json         format "zeroloss-diagonal-sgd-run", version 1: the options, the absolute
//                        input paths and the FNV-1a 64 checksums of the inputs (a resume refuses
//                        changed inputs).
//   DIR/checkpoint.json  format "zeroloss-diagonal-sgd-checkpoint", version 1: the status, the
//                        generic SGD state (step, theta = (u, v), the batch and noise generators)
//                        and the logged rows so far, sealed like the two-layer checkpoint
//                        (sgd_checkpoint_seal: FNV-1a 64 over every other field), so that a reader
//                        never continues from an edited or damaged file.
//
// Doubles are JSON numbers in shortest round-trip form, so a written state reads back bit for bit.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/dynamics/generic_label_noise_sgd.hpp"
#include "zeroloss/runs/diagonal_sgd_run.hpp"

namespace zeroloss {

// The JSON of DIR/run.json for `options` (input paths made absolute, their checksums recorded).
nlohmann::json diagonal_sgd_run_json(const DiagonalSgdRunOptions& options);

// True when DIR/run.json exists and is a diagonal run file (the CLI's --resume picks the model by it).
bool holds_diagonal_sgd_run(const std::string& dir);

// Reads DIR/run.json back into options (out = dir, overwrite false) and checks that the inputs still
// exist and have the recorded checksums. Throws InputError naming the file and what to do when it is
// missing, not JSON, not a diagonal run file, malformed, or an input changed.
DiagonalSgdRunOptions read_diagonal_sgd_run_file(const std::string& dir);

// Running: written every checkpoint_every steps; the others when the run ended that way. A run
// continues only from Running or Interrupted.
enum class DiagonalSgdCheckpointStatus { Running, Interrupted, Completed, Diverged };
// "running", "interrupted", "completed", "diverged" (the words of checkpoint.json).
const char* to_string(DiagonalSgdCheckpointStatus status);

struct DiagonalSgdCheckpoint {
  std::uint64_t seed = 0;
  DiagonalSgdCheckpointStatus status = DiagonalSgdCheckpointStatus::Running;
  GenericLabelNoiseSgd::State state;
  std::vector<DiagonalSgdRow> rows;  // the logged rows up to state.step, in step order
};

// Writes DIR/checkpoint.json atomically, sealed. Throws InputError if it cannot be written.
void write_diagonal_sgd_checkpoint(const std::string& dir, const DiagonalSgdCheckpoint& checkpoint);

// Reads and verifies DIR/checkpoint.json. Throws InputError naming the file when it is missing, not
// JSON, not a diagonal checkpoint, of another version, its seal does not verify, a field is missing
// or malformed, its rows are not in increasing step order or go past the state's step, or its seed is
// not `seed` or its theta not 2 d numbers (`dimension` = d).
DiagonalSgdCheckpoint read_diagonal_sgd_checkpoint(const std::string& dir, std::uint64_t seed, int dimension);

}  // namespace zeroloss
