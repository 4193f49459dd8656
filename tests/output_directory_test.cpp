// Output folders never mix runs (zeroloss/formats/output_directory.hpp): a folder holding an earlier run or
// other files is refused unless --overwrite, which removes only the files zeroloss recorded; a lock
// refuses a second concurrent run; a run that fails is marked so in its manifest; writes are atomic.
// Library tests first, then the program as a user runs it.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/formats/output_directory.hpp"

namespace fs = std::filesystem;
using zeroloss::InputError;
using zeroloss::OutputDirectory;
using zeroloss::OutputDirectoryOptions;
using zeroloss::read_run_manifest;
using zeroloss::RunStatus;
using zeroloss::write_file_atomic;
using zeroloss::test::run_command;
using zeroloss::test::temp_dir;
using zeroloss::test::zeroloss_binary;

namespace {

using zeroloss::test::slurp;

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    names.push_back(fs::relative(e.path(), dir).generic_string());
  std::sort(names.begin(), names.end());
  return names;
}

// The message of the InputError `f` throws ("" if it throws none).
template <class F>
std::string input_error(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

OutputDirectoryOptions overwrite() {
  OutputDirectoryOptions o;
  o.overwrite = true;
  return o;
}

OutputDirectoryOptions resume() {
  OutputDirectoryOptions o;
  o.resume = true;
  return o;
}

// A completed run of "demo" in DIR/run with a.csv and sub/b.csv.
std::string completed_run(const std::string& name) {
  const std::string dir = temp_dir(name) + "/run";
  OutputDirectory out(dir, "demo");
  write_file_atomic(dir + "/a.csv", "a\n1\n");
  fs::create_directories(dir + "/sub");
  write_file_atomic(dir + "/sub/b.csv", "b\n2\n");
  out.finish(RunStatus::Completed);
  return dir;
}

TEST(OutputDirectory, RecordsEveryFileWrittenInsideAndTheFinalStatus) {
  const std::string dir = temp_dir("outdir-record") + "/new/run";  // created with its parents
  {
    OutputDirectory out(dir, "demo");
    EXPECT_EQ(read_run_manifest(dir).status, "running");
    write_file_atomic(dir + "/a.csv", "a\n");
    fs::create_directories(dir + "/sub");
    write_file_atomic(dir + "/sub/b.csv", "b\n");
    write_file_atomic(dir + "/a.csv", "a again\n");                  // recorded once
    write_file_atomic(temp_dir("outdir-record-elsewhere") + "/c.csv", "c\n");  // not in the folder
    write_file_atomic(dir + "/gone.csv", "x\n");
    fs::remove(dir + "/gone.csv");  // removed by the run itself: dropped from the list
    out.finish(RunStatus::Completed);
  }
  const auto m = read_run_manifest(dir);
  ASSERT_TRUE(m.present);
  EXPECT_EQ(m.command, "demo");
  EXPECT_EQ(m.status, "completed");
  EXPECT_EQ(m.files, std::vector<std::string>({"a.csv", "sub/b.csv"}));
  EXPECT_EQ(listing(dir), std::vector<std::string>({".zeroloss-run.json", ".zeroloss-run.lock", "a.csv", "sub",
                                                    "sub/b.csv"}));  // no temporary file left
}

TEST(OutputDirectory, ResumingRemovesTheTemporaryFilesOfAKilledProcessAndNothingElse) {
  // A process killed between writing FILE.tmp.<pid>[.<k>] and renaming it leaves the temporary
  // behind; the resumed run (holding the lock, so no live writer owns them) removes them.
  const std::string dir = temp_dir("outdir-stale-tmp") + "/run";
  {
    OutputDirectory out(dir, "demo");
    write_file_atomic(dir + "/a.csv", "a\n");
    out.finish(RunStatus::Interrupted);
  }
  for (const char* name : {".zeroloss-run.json.tmp.4242", "checkpoint_time.json.tmp.4242.7", "notes.tmp.txt", "x.tmp."})
    std::ofstream(dir + "/" + name) << "partial\n";
  { OutputDirectory out(dir, "demo", resume()); }
  EXPECT_EQ(listing(dir), std::vector<std::string>({".zeroloss-run.json", ".zeroloss-run.lock", "a.csv",
                                                    "notes.tmp.txt", "x.tmp."}));
}

TEST(OutputDirectory, AFolderHoldingAnEarlierRunIsRefusedWithoutOverwrite) {
  const std::string dir = completed_run("outdir-rerun");
  const std::string msg = input_error([&] { OutputDirectory again(dir, "other"); });
  EXPECT_NE(msg.find(dir + ": holds the files of an earlier `zeroloss demo` run (completed: a.csv, sub/)"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("--overwrite"), std::string::npos) << msg;
  EXPECT_EQ(read_run_manifest(dir).status, "completed");  // untouched
  EXPECT_EQ(slurp(dir + "/a.csv"), "a\n1\n");
}

TEST(OutputDirectory, OverwriteRemovesOnlyTheFilesZerolossWrote) {
  const std::string dir = completed_run("outdir-overwrite");
  write_text(dir + "/notes.txt", "mine");
  write_text(dir + "/sub/mine.csv", "mine too");
  write_text(dir + "/a.csv.tmp.999.0", "left by a crash while a.csv was written");
  fs::create_directories(dir + "/empty_of_mine");
  {
    OutputDirectory out(dir, "demo", overwrite());
    EXPECT_EQ(listing(dir), std::vector<std::string>({".zeroloss-run.json", ".zeroloss-run.lock", "empty_of_mine",
                                                      "notes.txt", "sub", "sub/mine.csv"}));
    const auto m = read_run_manifest(dir);
    EXPECT_EQ(m.status, "running");
    EXPECT_TRUE(m.files.empty());
    out.finish(RunStatus::Completed);
  }
  EXPECT_EQ(slurp(dir + "/notes.txt"), "mine");
  // A subfolder left empty by the removal goes too.
  const std::string d2 = completed_run("outdir-overwrite-2");
  { OutputDirectory out(d2, "demo", overwrite()); }
  EXPECT_EQ(listing(d2), std::vector<std::string>({".zeroloss-run.json", ".zeroloss-run.lock"}));
}

TEST(OutputDirectory, AFolderOfOtherFilesIsRefusedAndKeptWithOverwrite) {
  const std::string dir = temp_dir("outdir-foreign");
  write_text(dir + "/data.csv", "x,y\n1,2\n");
  const std::string msg = input_error([&] { OutputDirectory out(dir, "demo"); });
  EXPECT_NE(msg.find(dir + ": is not empty (it holds data.csv) and has no zeroloss run manifest"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("--overwrite"), std::string::npos) << msg;
  {
    OutputDirectory out(dir, "demo", overwrite());
    out.finish(RunStatus::Completed);
  }
  EXPECT_EQ(slurp(dir + "/data.csv"), "x,y\n1,2\n");
  // An empty folder is used as it is.
  const std::string empty = temp_dir("outdir-empty");
  EXPECT_EQ(input_error([&] { OutputDirectory out(empty, "demo"); }), "");
}

TEST(OutputDirectory, ASecondOpenerIsRefusedWhileTheLockIsHeld) {
  const std::string dir = temp_dir("outdir-lock") + "/run";
  {
    OutputDirectory first(dir, "demo");
    for (const auto& options : {OutputDirectoryOptions{}, overwrite(), resume()}) {
      const std::string msg = input_error([&] { OutputDirectory second(dir, "demo", options); });
      EXPECT_NE(msg.find(dir + ": another zeroloss process (demo, pid " + std::to_string(::getpid()) +
                         ") is writing into this folder"),
                std::string::npos)
          << msg;
    }
    first.finish(RunStatus::Completed);
  }
  // Released with the object.
  EXPECT_EQ(input_error([&] { OutputDirectory again(dir, "demo", overwrite()); }), "");
}

TEST(OutputDirectory, ARunThatThrowsIsMarkedFailed) {
  const std::string dir = temp_dir("outdir-failed") + "/run";
  try {
    OutputDirectory out(dir, "demo");
    write_file_atomic(dir + "/trajectory.csv", "t\n0\n");
    throw std::runtime_error("something broke");
  } catch (const std::runtime_error&) {
  }
  const auto m = read_run_manifest(dir);
  EXPECT_EQ(m.status, "failed");
  EXPECT_EQ(m.files, std::vector<std::string>({"trajectory.csv"}));
  EXPECT_FALSE(m.error.empty());
  // An explicit failure keeps its message.
  {
    OutputDirectory out(dir, "demo", overwrite());
    out.finish(RunStatus::Failed, "diverged at step 7");
  }
  EXPECT_EQ(read_run_manifest(dir).error, "diverged at step 7");
}

TEST(OutputDirectory, ResumeReopensAnUnfinishedRunOfTheSameCommandOnly) {
  const std::string dir = temp_dir("outdir-resume") + "/run";
  EXPECT_NE(input_error([&] { OutputDirectory out(dir, "demo", resume()); }).find(dir + ": no such folder"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir));
  {
    OutputDirectory out(dir, "demo");
    write_file_atomic(dir + "/checkpoint.json", "{}");
    out.finish(RunStatus::Interrupted);
  }
  EXPECT_NE(input_error([&] { OutputDirectory out(dir, "other", resume()); })
                .find(dir + ": holds a `zeroloss demo` run, not a other run"),
            std::string::npos);
  {
    OutputDirectory out(dir, "demo", resume());
    EXPECT_EQ(out.files(), std::vector<std::string>({"checkpoint.json"}));  // kept
    write_file_atomic(dir + "/summary.json", "{}");
    out.finish(RunStatus::Completed);
  }
  EXPECT_EQ(read_run_manifest(dir).files, std::vector<std::string>({"checkpoint.json", "summary.json"}));
  const std::string msg = input_error([&] { OutputDirectory out(dir, "demo", resume()); });
  EXPECT_NE(msg.find(dir + ": the demo run there completed; there is nothing to resume"), std::string::npos) << msg;
}

TEST(AtomicWrite, AWriteThatThrowsLeavesNoFileAndKeepsTheOldOne) {
  const std::string dir = temp_dir("atomic-throw");
  const std::string path = dir + "/out.csv";
  auto failing = [](std::ostream& out) {
    out << "1,2,3\n4,5";
    throw std::runtime_error("disk full");
  };
  EXPECT_THROW(zeroloss::write_file_atomic_stream(path, failing), std::runtime_error);
  EXPECT_TRUE(fs::is_empty(dir));  // neither the file nor its temporary file
  write_file_atomic(path, "old\n");
  EXPECT_THROW(zeroloss::write_file_atomic_stream(path, failing), std::runtime_error);
  EXPECT_EQ(slurp(path), "old\n");
  EXPECT_EQ(listing(dir), std::vector<std::string>({"out.csv"}));
}

TEST(AtomicWrite, ConcurrentWritersOfOnePathEachInstallAWholeFile) {
  // A second write of the same path starts while the first one is half done (two processes writing
  // one --out file): each must go to its own temporary file, so both renames install whole files.
  const std::string dir = temp_dir("atomic-concurrent");
  const std::string path = dir + "/w.csv";
  zeroloss::write_file_atomic_stream(path, [&](std::ostream& out) {
    out << "first,";
    write_file_atomic(path, "second\n");
    out << "whole\n";
  });
  EXPECT_EQ(slurp(path), "first,whole\n");
  EXPECT_EQ(listing(dir), std::vector<std::string>({"w.csv"}));
}

// The program.
struct Problem {
  std::string dir, data, weights;
};
Problem problem(const std::string& name) {
  Problem p;
  p.dir = temp_dir(name);
  p.data = p.dir + "/data.csv";
  p.weights = p.dir + "/w0.csv";
  EXPECT_EQ(run_command(zeroloss_binary() + " data --generator uniform01 --n 3 --d 3 --seed 1 --out " + p.data +
                        " --weights-out " + p.weights + " --m 6 --init-scale 0.5"),
            0);
  return p;
}
std::string sgd(const Problem& p, const std::string& out, const std::string& extra = "") {
  return zeroloss_binary() + " sgd --data " + p.data + " --weights " + p.weights +
         " --lr 0.05 --label-noise 0.1 --steps 200 --seed 3 --log-points 4 --no-figures --out " + out + " " + extra;
}

TEST(OutputDirectoryCli, ARerunIsRefusedAndOverwriteReplacesOnlyTheToolsFiles) {
  const Problem p = problem("outdir-cli-rerun");
  const std::string out = p.dir + "/run";
  std::string o, err;
  ASSERT_EQ(run_command(sgd(p, out, "--save-reduced"), &o, &err), 0) << err;
  ASSERT_TRUE(fs::exists(out + "/final_reduced.json"));
  const std::string summary = slurp(out + "/summary.json");
  // The same command again, and another command into the same folder: refused, nothing changed.
  EXPECT_EQ(run_command(sgd(p, out), &o, &err), 2);
  EXPECT_NE(err.find("zeroloss sgd: error: " + out + ": holds the files of an earlier `zeroloss sgd` run (completed:"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("give --overwrite"), std::string::npos) << err;
  EXPECT_EQ(run_command(zeroloss_binary() + " flow --data " + p.data + " --weights " + p.weights +
                            " --coefficient 1 --time 0.01 --no-figures --out " + out,
                        &o, &err),
            2);
  EXPECT_NE(err.find(out + ": holds the files of an earlier `zeroloss sgd` run"), std::string::npos) << err;
  EXPECT_EQ(slurp(out + "/summary.json"), summary);
  // --overwrite: the earlier run's files go (final_reduced.* is not written by this run), the user's stay.
  write_text(out + "/my_notes.txt", "keep me");
  ASSERT_EQ(run_command(sgd(p, out, "--overwrite"), &o, &err), 0) << err;
  EXPECT_FALSE(fs::exists(out + "/final_reduced.json"));
  EXPECT_FALSE(fs::exists(out + "/final_reduced.csv"));
  EXPECT_FALSE(fs::exists(out + "/final_reduced_basis.csv"));
  EXPECT_EQ(slurp(out + "/my_notes.txt"), "keep me");
  const auto m = read_run_manifest(out);
  EXPECT_EQ(m.command, "sgd");
  EXPECT_EQ(m.status, "completed");
  for (const char* f : {"run.json", "trajectory.csv", "final_weights.csv", "summary.json"})
    EXPECT_TRUE(std::find(m.files.begin(), m.files.end(), f) != m.files.end()) << f;
  for (const auto& f : m.files) EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  EXPECT_TRUE(std::find(m.files.begin(), m.files.end(), "my_notes.txt") == m.files.end());
}

TEST(OutputDirectoryCli, ASecondRunIntoALockedFolderIsRefused) {
  const Problem p = problem("outdir-cli-lock");
  const std::string out = p.dir + "/run";
  fs::create_directories(out);
  const int fd = ::open((out + "/.zeroloss-run.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // as a running zeroloss process holds it
  std::string o, err;
  EXPECT_EQ(run_command(sgd(p, out, "--overwrite"), &o, &err), 2);
  EXPECT_NE(err.find(out + ": another zeroloss process is writing into this folder"), std::string::npos) << err;
  EXPECT_EQ(listing(out), std::vector<std::string>({".zeroloss-run.lock"}));
  ::close(fd);
  EXPECT_EQ(run_command(sgd(p, out), &o, &err), 0) << err;
}

TEST(OutputDirectoryCli, AFailedRunIsMarkedFailedAndLeavesNoSummary) {
  const Problem p = problem("outdir-cli-failed");
  const std::string out = p.dir + "/run";
  // summary.json cannot be written (a folder of that name is in the way): the run fails at its end.
  fs::create_directories(out + "/summary.json");
  std::string o, err;
  EXPECT_EQ(run_command(zeroloss_binary() + " flow --data " + p.data + " --weights " + p.weights +
                            " --coefficient 1 --time 0.01 --no-figures --overwrite --out " + out,
                        &o, &err),
            2);
  EXPECT_NE(err.find("summary.json"), std::string::npos) << err;
  EXPECT_FALSE(fs::is_regular_file(out + "/summary.json"));
  const auto m = read_run_manifest(out);
  EXPECT_EQ(m.command, "flow");
  EXPECT_EQ(m.status, "failed");
  EXPECT_TRUE(std::find(m.files.begin(), m.files.end(), "trajectory.csv") != m.files.end());
}

TEST(OutputDirectoryCli, ResumeRefusesAnotherCommandsFolderAndACompletedRun) {
  const Problem p = problem("outdir-cli-resume");
  std::string o, err;
  ASSERT_EQ(run_command(zeroloss_binary() + " flow --data " + p.data + " --weights " + p.weights +
                            " --coefficient 1 --time 0.01 --no-figures --out " + p.dir + "/flow",
                        &o, &err),
            0)
      << err;
  EXPECT_EQ(run_command(zeroloss_binary() + " sgd --resume " + p.dir + "/flow", &o, &err), 2);
  EXPECT_NE(err.find(p.dir + "/flow: holds a `zeroloss flow` run, not a sgd run"), std::string::npos) << err;
  ASSERT_EQ(run_command(sgd(p, p.dir + "/sgd"), &o, &err), 0) << err;
  const std::string weights = slurp(p.dir + "/sgd/final_weights.csv");
  EXPECT_EQ(run_command(zeroloss_binary() + " sgd --resume " + p.dir + "/sgd", &o, &err), 2);
  EXPECT_NE(err.find(p.dir + "/sgd: the sgd run there completed; there is nothing to resume"), std::string::npos)
      << err;
  EXPECT_EQ(slurp(p.dir + "/sgd/final_weights.csv"), weights);
  EXPECT_EQ(read_run_manifest(p.dir + "/sgd").status, "completed");
}

}  // namespace
