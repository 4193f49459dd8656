#pragma once
// Checkpoints of label-noise SGD runs (docs/formats.md#sgd-checkpoints): DIR/checkpoint.json holds
// the step, the generator states, the batch and noise drawn ahead, the status and the trajectory
// so far; the state block (the n x m pre-activations R or the m x p weights beta, dynamics/label_noise_sgd.hpp)
// is in DIR/checkpoint_<step>.csv, named by the JSON with its FNV-1a 64 checksum. The JSON is sealed
// by a checksum over every one of its fields (so also over the block's checksum): a checkpoint is
// read only when the whole of it verifies, and a reader never continues from an edited or damaged
// file.
//
// The run's accumulated wall time is not part of the state: it is kept in DIR/checkpoint_time.json
// beside it (a record of the process, as a sweep's timings are), so that checkpoint.json and its
// block are the same bytes whichever process, executor or history of interruptions wrote them.
//
// Writing: the block first, then the JSON, both atomically, then the blocks of other steps are
// removed, then the time file. A crash at any point leaves a checkpoint.json whose block exists and
// is that of its step (the time file may then be a checkpoint older: the time only informs).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "zeroloss/dynamics/label_noise_sgd.hpp"

namespace zeroloss {

// Version 4: the whole JSON is sealed ("fnv1a64" at the top level) and holds no time (it is in
// checkpoint_time.json). Version 3 (sealed, with "elapsed_seconds" inside) is still read. Versions 1
// and 2 carry no seal and are refused (read_sgd_checkpoint says so and what to do).
inline constexpr int kSgdCheckpointVersion = 4;

// "checkpoint_time.json": {"format": "zeroloss-sgd-checkpoint-time", "step": k, "elapsed_seconds": s}.
const char* sgd_checkpoint_time_name();

struct SgdCheckpoint {
  std::uint64_t seed = 0;
  std::string status;          // running | interrupted | completed | diverged
  // Wall time of the run so far, over all its processes: written to checkpoint_time.json; read from
  // it (version 4; 0 when it is missing or unreadable) or from a version 3 checkpoint.json.
  double elapsed_seconds = 0;
  std::string divergence;      // the reason, for status diverged (empty otherwise)
  // The state. read_sgd_checkpoint loads the block only for a state a run continues from (status
  // running or interrupted; after a divergence the block may hold non-finite numbers): otherwise
  // state.beta and state.preactivations are empty, and state.step and the rest are still read.
  SgdState state;
  // The logged rows so far: JSON objects, each with an unsigned "step", in increasing step order,
  // none after state.step. Their other fields belong to the caller (they are sealed, not read).
  nlohmann::json trajectory = nlohmann::json::array();
};

// checkpoint_<step>.csv
std::string sgd_checkpoint_block_name(std::uint64_t step);
// True for checkpoint_<digits>.csv and its temporary files checkpoint_<digits>.csv.tmp*.
bool is_sgd_checkpoint_block_name(const std::string& name);
// Removes the checkpoint blocks in `dir` other than the file named `keep` ("" removes all).
void remove_sgd_checkpoint_blocks(const std::string& dir, const std::string& keep);

// The seal of a checkpoint JSON: FNV-1a 64 (16 lower-case hex digits) of its compact serialisation
// (nlohmann::json::dump(): keys sorted, no spaces, numbers in shortest round-trip form) without
// the top-level key "fnv1a64".
std::string sgd_checkpoint_seal(const nlohmann::json& checkpoint);

// Writes DIR/checkpoint_<step>.csv (the block of ck.state: R if it has pre-activations, else beta)
// and then DIR/checkpoint.json, sealed; then removes the blocks of other steps. Returns the path of
// checkpoint.json. Throws InputError if a file cannot be written.
std::string write_sgd_checkpoint(const std::string& dir, const SgdCheckpoint& ck);

// Reads and verifies a checkpoint.json written by write_sgd_checkpoint, and its block (in the same
// folder). Throws InputError naming the file and saying what to do when: the file is missing or not
// JSON; it is not a checkpoint; its version is not 3 or 4; its seal does not verify (a field was changed
// after it was written); a field is missing or of the wrong type; the status is unknown; the
// trajectory's steps are not increasing or go past the state's step; a generator state is not four
// words; the batch and its noise differ in length; the block file is not named
// checkpoint_<step>.csv of the state's step, is missing, has another checksum than the recorded one,
// or (when loaded) another shape or a non-number.
SgdCheckpoint read_sgd_checkpoint(const std::string& path);

// What the run that continues a checkpoint expects of it.
struct SgdCheckpointExpectation {
  std::uint64_t seed = 0;
  std::uint64_t steps = 0;                  // the run's step count K
  std::vector<std::uint64_t> log_steps;     // the run's logged steps (ascending, ending at K)
  Eigen::Index n = 0, m = 0, p = 0;         // sizes: R is n x m, beta is m x p
};

// Checks that a verified checkpoint (read from `path`) belongs to the run `expected`: the same seed;
// a block of the run's shape (n x m pre-activations or m x p weights); a step no larger than K;
// for a running or interrupted run, trajectory rows at exactly the logged steps up to the state's
// step; for a completed run, the step K and rows at every logged step. Throws InputError naming
// `path`, what differs and what to do.
void check_sgd_checkpoint(const SgdCheckpoint& ck, const std::string& path, const SgdCheckpointExpectation& expected);

}  // namespace zeroloss
