#pragma once
// Starting a program as a child process and waiting for it (posix_spawn). The verification report
// is made of real zeroloss commands run this way, so the command printed next to each verdict is
// exactly what produced its evidence. This is the project's one way of starting processes.

#include <atomic>
#include <string>
#include <vector>

namespace zeroloss {

struct ChildResult {
  int exit_code = 0;   // the child's exit status, or 128 + the signal that ended it
  double seconds = 0;  // wall time from start to exit
};

// Path of the running executable (from /proc/self/exe). Throws Error if it cannot be read.
std::string current_executable();

// Runs `program args...` (argv[0] = program; no shell, no PATH search) with stdin from /dev/null,
// stdout to `stdout_path` and stderr to `stderr_path` (both truncated; the same path for both
// interleaves them), and waits for it. With a non-empty `working_directory` the child starts there;
// `program`, `stdout_path` and `stderr_path` are still resolved from the caller's directory, the
// arguments from the child's. Throws Error if the process cannot be started.
// With an `interrupt` flag: the wait polls it (every 10 ms); once it is true the child is sent SIGINT
// (a zeroloss command stops at its next check: sgd after writing a checkpoint), and SIGKILL if it has
// not ended 10 s later; the result is then its exit status (128 + the signal when it died of it).
ChildResult run_child_process(const std::string& program, const std::vector<std::string>& args,
                              const std::string& stdout_path, const std::string& stderr_path,
                              const std::string& working_directory = "",
                              const std::atomic<bool>* interrupt = nullptr);

// The last `lines` lines of a text file, each ending in '\n' (empty if the file cannot be read);
// for error messages that quote a child's stderr.
std::string tail_of_file(const std::string& path, int lines = 5);

}  // namespace zeroloss
