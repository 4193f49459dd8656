#pragma once
// Runs the zeroloss program itself as a child process (the verification report is made of real
// zeroloss commands, so the command printed next to each verdict is exactly what produced it).

#include <string>
#include <vector>

namespace zeroloss::cli {

struct ChildResult {
  int exit_code = 0;   // the child's exit status, or 128 + signal
  double seconds = 0;  // wall time
  std::string log;     // path of the file holding the child's stdout and stderr
};

// Path of the running executable (from /proc/self/exe).
std::string self_executable();

// Runs `self_executable() args...` with stdout to `stdout_path` and stderr to `stderr_path` (both
// overwritten; pass the same path for both to interleave them). Throws zeroloss::Error if the process
// cannot be started.
ChildResult run_self(const std::vector<std::string>& args, const std::string& stdout_path,
                     const std::string& stderr_path);

// The command as a user would type it: "zeroloss arg1 arg2 ..." with shell quoting where needed.
std::string command_line(const std::vector<std::string>& args);

// The last `lines` lines of a text file (for error messages).
std::string tail_of_file(const std::string& path, int lines = 5);

}  // namespace zeroloss::cli
