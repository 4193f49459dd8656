#pragma once
// An output folder owned by one run of one command, so that folders never mix runs.
//
// Opening a folder (OutputDirectory) creates it and takes an advisory lock, flock(2) on
// DIR/.zeroloss-run.lock, held until the object is destroyed: a second process that opens the same
// folder is refused (InputError) while the first one runs. The run manifest DIR/.zeroloss-run.json
// (docs/formats.md#run-manifest) names the command, the status (running, completed, failed,
// interrupted) and every file the run wrote there. While the object lives, every file written
// through write_file_atomic / write_file_atomic_stream (io/csv.hpp) or write_svg_plot inside the folder
// (subfolders included) is recorded in the manifest before its temporary file is created, so a crash
// at any point leaves a manifest that lists it. Only the manifest says whether a folder holds a
// finished result: a run that throws is marked "failed" when the object is destroyed.
//
// A folder that holds anything (an earlier run's files or files zeroloss did not write) is refused
// unless `overwrite` is set; --overwrite removes the files the earlier manifest lists (and their
// temporary files, and the subfolders left empty), never other files. `resume` reopens a folder
// written by the same command whose run did not complete, keeping its files.

#include <memory>
#include <string>
#include <vector>
#include "zeroloss/io/output_write.hpp"

namespace zeroloss {

struct OutputDirectoryOptions {
  bool overwrite = false;  // remove the files an earlier run recorded, then start afresh
  bool resume = false;     // continue the run in the folder (same command, not completed)
  bool resume_completed = false;  // with resume: a completed run may be reopened too
  // With resume: a folder without a manifest (written before manifests existed) is reopened only
  // when it holds this file (e.g. "run.json"); empty: never.
  std::string resume_marker;
  // The option that asks for overwrite, named in the refusal message ("--overwrite").
  std::string overwrite_option = "--overwrite";

  // A new run, replacing an earlier one's files when `overwrite`.
  static OutputDirectoryOptions fresh(bool overwrite) {
    OutputDirectoryOptions o;
    o.overwrite = overwrite;
    return o;
  }
};

enum class RunStatus { Running, Completed, Failed, Interrupted };
const char* to_string(RunStatus status);

// What a folder's manifest says (read_run_manifest).
struct RunManifest {
  bool present = false;  // a readable manifest exists
  std::string command;
  std::string status;
  std::vector<std::string> files;  // relative to the folder, '/'-separated
  std::string error;               // the message of a failed run, when known
};

class OutputDirectory {
 public:
  static constexpr const char* kManifestName = ".zeroloss-run.json";
  static constexpr const char* kLockName = ".zeroloss-run.lock";

  // Opens `dir` for `command` (e.g. "sgd"): creates it, locks it, applies `options` and writes a
  // manifest with status "running". Throws InputError naming the folder, what is in it and the way
  // out (--overwrite, another folder, waiting for the other process).
  OutputDirectory(const std::string& dir, const std::string& command, const OutputDirectoryOptions& options = {});
  // Marks the run "failed" if finish() was not called (an exception, an early return), then
  // releases the lock.
  ~OutputDirectory();
  OutputDirectory(const OutputDirectory&) = delete;
  OutputDirectory& operator=(const OutputDirectory&) = delete;

  const std::string& dir() const;
  // DIR/name (no recording: the writers record what they write).
  std::string file(const std::string& name) const;
  // Sets the final status (Completed, Failed, Interrupted) and, for a failure, its message.
  void finish(RunStatus status, const std::string& message = "");
  // The files the run recorded so far, relative to dir().
  std::vector<std::string> files() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

// Records in the manifest of the open folder that holds `path` (nothing when none does) output that
// another process writes there for this run, e.g. the commands `zeroloss run` starts: a file, or a
// subfolder that process opens as its own run (its own manifest), which --overwrite later cleans
// through that manifest.
void record_output_file(const std::string& path);
void record_output_subrun(const std::string& path);

// Makes `dir` (and parents) exist; throws InputError naming it if it cannot.
void ensure_directory(const std::string& dir);

// Reads DIR/.zeroloss-run.json; present = false when there is none or it cannot be parsed.
RunManifest read_run_manifest(const std::string& dir);

// OutputWrite (io/output_write.hpp) brackets one write: while a folder is open as an OutputDirectory in
// this process, a write into it is recorded in its manifest before the file exists, and the entry is
// kept until the write ends.

}  // namespace zeroloss
