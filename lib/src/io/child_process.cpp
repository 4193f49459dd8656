#include "zeroloss/io/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "zeroloss/support/errors.hpp"

extern char** environ;

namespace zeroloss {
namespace {

// Waits for `pid` polling `interrupt`: SIGINT once it is set, SIGKILL 10 s later.
void wait_interruptible(pid_t pid, const std::string& program, const std::atomic<bool>& interrupt, int& status) {
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> interrupted;
  bool killed = false;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return;
    if (r < 0 && errno != EINTR) throw Error("waiting for the child process " + program + " failed: " + std::strerror(errno));
    if (!interrupted && interrupt.load(std::memory_order_relaxed)) {
      ::kill(pid, SIGINT);
      interrupted = Clock::now();
    } else if (interrupted && !killed && Clock::now() - *interrupted > std::chrono::seconds(10)) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

std::string current_executable() {
  char buf[4096];
  const ssize_t len = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (len <= 0) throw Error("cannot locate the running executable through /proc/self/exe");
  buf[len] = '\0';
  return buf;
}

ChildResult run_child_process(const std::string& program, const std::vector<std::string>& args,
                              const std::string& stdout_path, const std::string& stderr_path,
                              const std::string& working_directory, const std::atomic<bool>* interrupt) {
  std::vector<std::string> all;
  // posix_spawn resolves a relative program path after the change of directory: make it absolute.
  all.push_back(working_directory.empty() || program.find('/') == std::string::npos
                    ? program
                    : std::filesystem::absolute(program).string());
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (stderr_path == stdout_path)
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  else
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // Last, so that the files above are opened relative to the caller's directory.
  if (!working_directory.empty()) posix_spawn_file_actions_addchdir_np(&actions, working_directory.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, all.front().c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error("cannot start " + program + ": " + std::strerror(rc));
  int status = 0;
  if (interrupt == nullptr) {
    while (::waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) throw Error("waiting for the child process " + program + " failed: " + std::strerror(errno));
    }
  } else {
    wait_interruptible(pid, program, *interrupt, status);
  }
  ChildResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string tail_of_file(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

}  // namespace zeroloss
