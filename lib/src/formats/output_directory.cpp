#include "zeroloss/formats/output_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/json_file.hpp"

namespace zeroloss {

namespace fs = std::filesystem;
using nlohmann::json;

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::Running: return "running";
    case RunStatus::Completed: return "completed";
    case RunStatus::Failed: return "failed";
    case RunStatus::Interrupted: return "interrupted";
  }
  return "failed";
}

struct OutputDirectory::State {
  std::string dir;  // as given
  fs::path root;    // absolute, lexically normal
  std::string command;
  int lock_fd = -1;
  std::string status = "running";
  std::string error;
  std::string started;
  std::string finished;
  std::set<std::string> files;    // relative, generic form
  std::set<std::string> subruns;  // relative folders written by other processes
  std::map<std::string, int> pending;  // writes in progress (entries kept while their file is absent)
  bool done = false;
};

namespace {

// Every open folder of this process; guards their State.
// Installs the observer that records writes into open run folders (defined at the end).
void install_run_folder_writes();

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}
std::vector<OutputDirectory::State*>& registry() {
  static std::vector<OutputDirectory::State*> r;
  return r;
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

fs::path normal_absolute(const std::string& path) { return fs::absolute(fs::path(path)).lexically_normal(); }

// `path` relative to `root` when it lies inside it (not root itself), else empty.
std::string inside(const fs::path& root, const fs::path& path) {
  const fs::path rel = path.lexically_relative(root);
  if (rel.empty() || rel == "." || rel.is_absolute()) return "";
  const std::string s = rel.generic_string();
  if (s == ".." || s.compare(0, 3, "../") == 0) return "";
  return s;
}

bool is_bookkeeping(const std::string& rel) {
  return rel == OutputDirectory::kManifestName || rel == OutputDirectory::kLockName;
}

// A recorded name is used to remove files only when it stays inside the folder.
bool safe_relative(const std::string& rel) {
  if (rel.empty() || rel[0] == '/' || is_bookkeeping(rel)) return false;
  const fs::path p(rel);
  for (const auto& part : p)
    if (part == ".." || part == ".") return false;
  return true;
}

// The manifest is written like every output (temporary file, then rename) but never records itself.
void write_manifest(const OutputDirectory::State& s) {
  nlohmann::ordered_json j = {{"format", "zeroloss-run"},
            {"version", 1},
            {"command", s.command},
            {"status", s.status},
            {"pid", static_cast<long long>(::getpid())},
            {"started", s.started},
            {"files", std::vector<std::string>(s.files.begin(), s.files.end())}};
  if (!s.subruns.empty()) j["subruns"] = std::vector<std::string>(s.subruns.begin(), s.subruns.end());
  if (!s.finished.empty()) j["finished"] = s.finished;
  if (!s.error.empty()) j["error"] = s.error;
  const fs::path target = s.root / OutputDirectory::kManifestName;
  const fs::path tmp = s.root / (std::string(OutputDirectory::kManifestName) + ".tmp." + std::to_string(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw InputError(target.string() + ": cannot write the run manifest");
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(target.string() + ": cannot write the run manifest");
  }
}

// Drops recorded files that no longer exist (removed by the run itself, e.g. older checkpoint
// blocks), except those being written.
void prune(OutputDirectory::State& s) {
  for (auto it = s.files.begin(); it != s.files.end();) {
    std::error_code ec;
    if (s.pending.count(*it) == 0 && !fs::exists(s.root / *it, ec))
      it = s.files.erase(it);
    else
      ++it;
  }
}

RunManifest parse_manifest(const fs::path& root) {
  RunManifest m;
  const std::optional<json> read = read_json_file_if_valid((root / OutputDirectory::kManifestName).string());
  if (!read) return m;
  try {
    const json& j = *read;
    if (j.value("format", "") != "zeroloss-run") return m;
    m.command = j.value("command", "");
    m.status = j.value("status", "");
    m.error = j.value("error", "");
    for (const auto& f : j.value("files", json::array())) m.files.push_back(f.get<std::string>());
    for (const auto& f : j.value("subruns", json::array())) m.files.push_back(f.get<std::string>() + "/");
    m.present = true;
  } catch (const std::exception&) {
    m = RunManifest();
  }
  return m;
}

// Entries of the folder other than the manifest and the lock, sorted.
std::vector<std::string> folder_entries(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_bookkeeping(name)) names.push_back(it->is_directory() ? name + "/" : name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string some_names(const std::vector<std::string>& names, std::size_t shown = 4) {
  std::string s;
  for (std::size_t k = 0; k < names.size() && k < shown; ++k) s += (k ? ", " : "") + names[k];
  if (names.size() > shown) s += " and " + std::to_string(names.size() - shown) + " more";
  return s;
}

int take_lock(const fs::path& root, bool create) {
  const std::string path = (root / OutputDirectory::kLockName).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd < 0) {
    if (!create && errno == ENOENT) return -2;
    throw InputError(root.string() + ": cannot open the lock file " + path + " (" + std::strerror(errno) + ")");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return -1;
    throw InputError(root.string() + ": cannot lock " + path + " (" + std::strerror(err) + ")");
  }
  return fd;
}

std::string busy_message(const fs::path& root) {
  std::string who = "another zeroloss process";
  try {
    const std::optional<json> j = read_json_file_if_valid((root / OutputDirectory::kManifestName).string());
    if (j)
      who = "another zeroloss process (" + j->value("command", std::string("?")) + ", pid " +
            std::to_string(j->value("pid", 0LL)) + ")";
  } catch (const std::exception&) {
  }
  return root.string() + ": " + who + " is writing into this folder (it holds " +
         (root / OutputDirectory::kLockName).string() + "); wait for it to finish or choose another folder";
}

// Removes what the manifest of `root` lists (files with their temporary files, subruns through their
// own manifests), then the subfolders left empty. Never touches other files.
void clean_recorded(const fs::path& root, const RunManifest& m) {
  std::set<fs::path> parents;
  for (const std::string& entry : m.files) {
    const bool subrun = !entry.empty() && entry.back() == '/';
    const std::string rel = subrun ? entry.substr(0, entry.size() - 1) : entry;
    if (!safe_relative(rel)) continue;
    const fs::path p = root / rel;
    std::error_code ec;
    if (subrun) {
      if (!fs::is_directory(p, ec)) continue;
      const int fd = take_lock(p, false);
      if (fd == -1) throw InputError(busy_message(p));
      clean_recorded(p, parse_manifest(p));
      fs::remove(p / OutputDirectory::kManifestName, ec);
      fs::remove(p / OutputDirectory::kLockName, ec);
      if (fd >= 0) ::close(fd);
      parents.insert(p);
    } else {
      if (fs::is_directory(fs::symlink_status(p, ec))) continue;
      fs::remove(p, ec);
      const std::string prefix = p.filename().string() + ".tmp";
      for (fs::directory_iterator it(p.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.compare(0, prefix.size(), prefix) == 0) {
          std::error_code ignored;
          fs::remove(it->path(), ignored);
        }
      }
    }
    for (fs::path q = p.parent_path(); q != root && inside(root, q) != ""; q = q.parent_path()) parents.insert(q);
  }
  // Deepest first: a folder is removed only when it is empty.
  std::vector<fs::path> order(parents.begin(), parents.end());
  std::sort(order.begin(), order.end(), [](const fs::path& a, const fs::path& b) {
    return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
  });
  for (const auto& q : order) {
    std::error_code ec;
    if (fs::is_directory(q, ec) && fs::is_empty(q, ec)) fs::remove(q, ec);
  }
}

}  // namespace

void ensure_directory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw InputError(dir + ": cannot create output directory (" + ec.message() + ")");
}

RunManifest read_run_manifest(const std::string& dir) {
  RunManifest m = parse_manifest(normal_absolute(dir));
  // Subruns are reported with a trailing '/' in files.
  return m;
}

OutputDirectory::OutputDirectory(const std::string& dir, const std::string& command,
                                 const OutputDirectoryOptions& options)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.dir = dir;
  s.command = command;
  if (dir.empty()) throw InputError("the output folder name is empty");
  s.root = normal_absolute(dir);
  std::error_code ec;
  const bool existed = fs::exists(s.root, ec);
  if (existed && !fs::is_directory(s.root, ec))
    throw InputError(dir + ": exists and is not a folder; expected a folder for the outputs");
  if (options.resume && !existed) throw InputError(dir + ": no such folder; there is no run to resume");
  fs::create_directories(s.root, ec);
  if (ec || !fs::is_directory(s.root))
    throw InputError(dir + ": cannot create output folder (" + (ec ? ec.message() : "not a folder") + ")");
  s.lock_fd = take_lock(s.root, true);
  if (s.lock_fd < 0) throw InputError(busy_message(s.root));
  try {
    const RunManifest earlier = parse_manifest(s.root);
    const std::vector<std::string> entries = folder_entries(s.root);
    if (options.resume) {
      if (earlier.present && earlier.command != command) {
        throw InputError(dir + ": holds a `zeroloss " + earlier.command + "` run, not a " + command +
                         " run; there is nothing to resume there");
      }
      if (!earlier.present && !entries.empty() &&
          (options.resume_marker.empty() || !fs::exists(s.root / options.resume_marker))) {
        throw InputError(dir + ": holds no zeroloss " + command + " run (no " + kManifestName +
                         (options.resume_marker.empty() ? std::string() : ", no " + options.resume_marker) +
                         "); there is nothing to resume there");
      }
      if (!earlier.present && entries.empty())
        throw InputError(dir + ": is empty; there is no " + command + " run to resume there");
      if (earlier.present && earlier.status == "completed" && !options.resume_completed) {
        throw InputError(dir + ": the " + command +
                         " run there completed; there is nothing to resume (start a new run in another folder, or "
                         "in this one with " + options.overwrite_option + ")");
      }
      // Temporary files of atomic writes (FILE.tmp.<pid> of the manifest, FILE.tmp.<pid>.<k> of
      // write_file_atomic) that a killed process left: we hold the lock, so no live writer owns them.
      for (const auto& e : entries) {
        const std::size_t at = e.rfind(".tmp.");
        if (at == std::string::npos || at + 5 == e.size()) continue;
        if (e.find_first_not_of("0123456789.", at + 5) != std::string::npos) continue;
        std::error_code ignored;
        fs::remove(s.root / e, ignored);
      }
      for (const auto& f : earlier.files) {
        if (!f.empty() && f.back() == '/')
          s.subruns.insert(f.substr(0, f.size() - 1));
        else if (safe_relative(f))
          s.files.insert(f);
      }
    } else if (!entries.empty()) {
      if (!options.overwrite) {
        if (earlier.present) {
          std::size_t foreign = 0;
          std::set<std::string> tops;
          for (const auto& f : earlier.files) tops.insert(f.substr(0, f.find('/')) + (f.find('/') != std::string::npos ? "/" : ""));
          for (const auto& e : entries) foreign += tops.count(e) == 0;
          throw InputError(dir + ": holds the files of an earlier `zeroloss " + earlier.command + "` run (" +
                           (earlier.status.empty() ? std::string("status unknown") : earlier.status) + ": " +
                           some_names(entries) + ")" +
                           (foreign ? " and " + std::to_string(foreign) + " entries zeroloss did not write" : "") +
                           "; give " + options.overwrite_option +
                           " to remove that run's files first (files zeroloss did not write are kept), or choose "
                           "another folder");
        }
        throw InputError(dir + ": is not empty (it holds " + some_names(entries) +
                         ") and has no zeroloss run manifest (" + kManifestName +
                         "); choose a new or empty folder, or give " + options.overwrite_option +
                         " to write there anyway (files zeroloss did not write are never removed)");
      }
      if (earlier.present) clean_recorded(s.root, earlier);
    }
    s.started = now_utc();
    install_run_folder_writes();
    std::lock_guard<std::mutex> lock(registry_mutex());
    write_manifest(s);
    registry().push_back(&s);
  } catch (...) {
    ::close(s.lock_fd);
    throw;
  }
}

OutputDirectory::~OutputDirectory() {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto& r = registry();
  r.erase(std::remove(r.begin(), r.end(), &s), r.end());
  if (!s.done) {
    s.status = to_string(RunStatus::Failed);
    if (s.error.empty()) s.error = "the run ended with an error before it finished (see the message it printed)";
    s.finished = now_utc();
    try {
      prune(s);
      write_manifest(s);
    } catch (...) {
    }
  }
  ::close(s.lock_fd);  // releases the lock
}

const std::string& OutputDirectory::dir() const { return state_->dir; }

std::string OutputDirectory::file(const std::string& name) const { return (fs::path(state_->dir) / name).string(); }


void OutputDirectory::finish(RunStatus status, const std::string& message) {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(registry_mutex());
  s.status = to_string(status);
  s.error = message;
  s.finished = status == RunStatus::Running ? "" : now_utc();
  s.done = status != RunStatus::Running;
  prune(s);
  write_manifest(s);
}

std::vector<std::string> OutputDirectory::files() const {
  std::lock_guard<std::mutex> lock(registry_mutex());
  return std::vector<std::string>(state_->files.begin(), state_->files.end());
}

namespace {
// The innermost open folder holding `abs` and the path relative to it (registry mutex held).
OutputDirectory::State* holder(const fs::path& abs, std::string& rel) {
  OutputDirectory::State* best = nullptr;
  for (auto* s : registry()) {
    const std::string r = inside(s->root, abs);
    if (!r.empty() && (!best || s->root.native().size() > best->root.native().size())) {
      best = s;
      rel = r;
    }
  }
  return best && !is_bookkeeping(rel) && safe_relative(rel) ? best : nullptr;
}
}  // namespace

void record_output_file(const std::string& path) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::string rel;
  if (auto* s = holder(normal_absolute(path), rel))
    if (s->files.insert(rel).second) write_manifest(*s);
}

void record_output_subrun(const std::string& path) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::string rel;
  if (auto* s = holder(normal_absolute(path), rel))
    if (s->subruns.insert(rel).second) write_manifest(*s);
}

namespace {

// The run folders' observer of output writes (io/output_write.hpp): a write into an open folder is
// recorded in its manifest before the file (or its temporary file) exists.
class RunFolderWrites final : public OutputWriteObserver {
 public:
  std::string begin(const std::string& path) override {
    std::lock_guard<std::mutex> lock(registry_mutex());
    if (registry().empty()) return "";
    const fs::path abs = normal_absolute(path);
    std::string rel;
    OutputDirectory::State* best = holder(abs, rel);
    if (!best) return "";
    ++best->pending[rel];
    if (best->files.count(rel) == 0) {
      prune(*best);
      best->files.insert(rel);
      try {
        write_manifest(*best);
      } catch (...) {
        if (--best->pending[rel] == 0) best->pending.erase(rel);
        throw;
      }
    }
    return abs.string();
  }

  void end(const std::string& key) noexcept override {
    std::lock_guard<std::mutex> lock(registry_mutex());
    const fs::path abs(key);
    for (auto* s : registry()) {
      const std::string r = inside(s->root, abs);
      auto it = s->pending.find(r);
      if (!r.empty() && it != s->pending.end()) {
        if (--it->second == 0) s->pending.erase(it);
        return;
      }
    }
  }
};

}  // namespace

namespace {

void install_run_folder_writes() {
  static RunFolderWrites observer;
  set_output_write_observer(&observer);
}

}  // namespace

}  // namespace zeroloss
