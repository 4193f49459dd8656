// The machinery of the verification report, called directly: the child-process runner, shell
// quoting (read back through a real shell), the context that records reproduce blocks, the readers
// of the commands' outputs, and verdicts as JSON.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/report_document.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/sweep/command_batch.hpp"
#include "zeroloss/verification/shell_command.hpp"
#include "zeroloss/verification/verification_context.hpp"
#include "zeroloss/verification/verification_report.hpp"
#include "zeroloss/verification/verification_config.hpp"

namespace {

using namespace zeroloss;
using nlohmann::json;
using zeroloss::test::slurp;
using zeroloss::test::temp_dir;

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

TEST(ChildProcess, ReturnsTheExitCodeAndCapturesBothStreams) {
  const std::string dir = temp_dir("child-streams");
  const ChildResult r =
      run_child_process("/bin/sh", {"-c", "printf out; printf err >&2; exit 3"}, dir + "/o", dir + "/e");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_GE(r.seconds, 0);
  EXPECT_EQ(slurp(dir + "/o"), "out");
  EXPECT_EQ(slurp(dir + "/e"), "err");
  // One file for both streams interleaves them in order; stdin is empty.
  EXPECT_EQ(
      run_child_process("/bin/sh", {"-c", "echo a; echo b >&2; cat; echo c"}, dir + "/both", dir + "/both").exit_code,
      0);
  EXPECT_EQ(slurp(dir + "/both"), "a\nb\nc\n");
}

TEST(ChildProcess, ASignalGivesOneHundredTwentyEightPlusItsNumber) {
  const std::string dir = temp_dir("child-signal");
  EXPECT_EQ(run_child_process("/bin/sh", {"-c", "kill -TERM $$"}, dir + "/o", dir + "/e").exit_code, 128 + 15);
}

TEST(ChildProcess, AProgramThatCannotStartThrows) {
  const std::string dir = temp_dir("child-missing");
  EXPECT_THROW(run_child_process(dir + "/no-such-program", {}, dir + "/o", dir + "/e"), Error);
  EXPECT_FALSE(current_executable().empty());
  EXPECT_TRUE(std::filesystem::exists(current_executable()));
}

TEST(ChildProcess, StartsInTheWorkingDirectoryWithTheProgramAndFilesFromTheCallers) {
  namespace fs = std::filesystem;
  const std::string dir = temp_dir("child-cwd");
  fs::create_directories(dir + "/sub");
  write_text(dir + "/sub/data", "inside");
  write_text(dir + "/tool.sh", "#!/bin/sh\npwd\ncat \"$1\"\n");
  fs::permissions(dir + "/tool.sh", fs::perms::owner_all);
  // The program by a path relative to the caller's directory, its argument relative to the child's.
  const std::string relative_tool = fs::relative(dir + "/tool.sh", fs::current_path()).string();
  ASSERT_EQ(run_child_process(relative_tool, {"data"}, dir + "/o", dir + "/e", dir + "/sub").exit_code, 0)
      << slurp(dir + "/e");
  EXPECT_EQ(slurp(dir + "/o"), fs::canonical(dir + "/sub").string() + "\ninside");
  EXPECT_THROW(run_child_process("/bin/sh", {"-c", "true"}, dir + "/o", dir + "/e", dir + "/no-such-folder"), Error);
}

TEST(ChildProcess, TailOfFileKeepsTheLastLines) {
  const std::string dir = temp_dir("child-tail");
  write_text(dir + "/f", "1\n2\n3\n4\n");
  EXPECT_EQ(tail_of_file(dir + "/f", 2), "3\n4\n");
  EXPECT_EQ(tail_of_file(dir + "/missing", 2), "");
}

// The shell reads every quoted word back as the word itself.
TEST(ShellCommand, QuotedWordsReadBackThroughTheShell) {
  const std::string dir = temp_dir("shell-quote");
  const std::vector<std::string> words = {"plain",      "report/flow_rate/start.csv",
                                          "two words",  "it's",
                                          "a#b",        "#c",
                                          "~x",         "{a,b}",
                                          "[ab]",       "*",
                                          "$HOME",      "back\\slash",
                                          "",           "new\nline",
                                          "semi;colon", "pipe|",
                                          "tab\there",  "\"dq\""};
  for (const auto& w : words) {
    ASSERT_EQ(run_child_process("/bin/sh", {"-c", "printf %s " + shell_quote(w)}, dir + "/o", dir + "/e").exit_code, 0)
        << w;
    EXPECT_EQ(slurp(dir + "/o"), w) << shell_quote(w);
  }
  EXPECT_EQ(shell_quote("plain"), "plain");
  EXPECT_EQ(zeroloss_command_line({"data", "--out", "a b", "--n", "3"}), "zeroloss data --out 'a b' --n 3");
  EXPECT_EQ(join_commands({"mkdir -p x", "zeroloss data"}), "mkdir -p x && zeroloss data");
  EXPECT_EQ(join_commands({}), "");
}

TEST(VerificationContext, RecordsCommandsAndLogsAndThrowsOnFailure) {
  const std::string dir = temp_dir("context-run");
  VerificationContext ctx(json::object(), dir + "/report", "/bin/sh", nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/report/logs"));
  const size_t first = ctx.begin_block();
  EXPECT_EQ(ctx.run("hello", {"-c", "echo hi"}), "hi\n");
  EXPECT_EQ(ctx.commands().back(), "zeroloss -c 'echo hi'");
  EXPECT_EQ(slurp(dir + "/report/logs/hello.out"), "hi\n");
  std::string printed;
  EXPECT_EQ(ctx.try_run("four", {"-c", "echo x; exit 4"}, &printed), 4);
  EXPECT_EQ(printed, "x\n");
  try {
    ctx.run("bad", {"-c", "echo first >&2; echo oops >&2; exit 5"});
    ADD_FAILURE() << "no exception";
  } catch (const CommandFailedError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("`zeroloss -c 'echo first >&2; echo oops >&2; exit 5'` exited with code 5"), std::string::npos)
        << what;
    EXPECT_NE(what.find("oops"), std::string::npos) << what;
    EXPECT_NE(what.find(dir + "/report/logs/bad.out/.err"), std::string::npos) << what;
  }
  EXPECT_EQ(ctx.run_json("json", {"-c", "echo '{\"a\": 1}'"})["a"], 1);
  EXPECT_THROW(ctx.run_json("notjson", {"-c", "echo not json"}), CommandFailedError);
  EXPECT_EQ(ctx.runs(), 5u);
  EXPECT_EQ(ctx.commands_since(first).substr(0, 31), "zeroloss -c 'echo hi' && zerolo");
}

TEST(VerificationContext, ABatchRunsInParallelAndIsRecordedInItsOrder) {
  const std::string dir = temp_dir("context-batch");
  VerificationContext ctx(json::object(), dir + "/report", "/bin/sh", nullptr);
  // Two commands that each wait for the other's file: they finish only if they run at the same time.
  const std::string a = dir + "/a", b = dir + "/b";
  const std::vector<VerificationContext::Command> batch = {
      {"first", {"-c", "touch " + a + "; for i in $(seq 40); do [ -e " + b + " ] && exit 0; sleep 0.05; done; exit 7"}},
      {"second", {"-c", "touch " + b + "; for i in $(seq 40); do [ -e " + a + " ] && echo two && exit 3; sleep 0.05; done"}},
      {"third", {"-c", "echo three"}}};
  EXPECT_EQ(ctx.try_run_parallel(batch, 2), (std::vector<int>{0, 3, 0}));
  ASSERT_EQ(ctx.commands().size(), 3u);
  EXPECT_NE(ctx.commands()[0].find("touch " + a), std::string::npos);
  EXPECT_NE(ctx.commands()[1].find("touch " + b), std::string::npos);
  EXPECT_EQ(ctx.commands()[2], "zeroloss -c 'echo three'");
  EXPECT_EQ(ctx.runs(), 3u);
  EXPECT_EQ(slurp(dir + "/report/logs/second.out"), "two\n");
  EXPECT_EQ(slurp(dir + "/report/logs/third.out"), "three\n");
  // One worker runs them one after the other (the first then waits in vain and exits 7).
  std::filesystem::remove(a);
  std::filesystem::remove(b);
  EXPECT_EQ(ctx.try_run_parallel({batch[0]}, 1), (std::vector<int>{7}));
  EXPECT_TRUE(ctx.try_run_parallel({}, 2).empty());
  EXPECT_THROW(ctx.try_run_parallel({batch[2]}, 0), InputError);
  EXPECT_THROW(ctx.try_run_parallel({batch[2]}, 1, {1.0, 2.0}), InputError);  // one cost per command
}

// An executor that records the batch it is given and answers with fixed codes: the context hands
// its batches to it (as it does to the MPI executor), costs give the order, codes come back in the
// caller's order, and a command that could not be started is an error.
class RecordingExecutor : public CommandBatchExecutor {
 public:
  CommandBatch seen;
  int threads = 0;
  std::vector<int> codes;
  std::vector<std::string> errors;
  CommandBatchResult run(const CommandBatch& batch, int t) override {
    seen = batch;
    threads = t;
    return {codes, errors};
  }
};

TEST(VerificationContext, ABatchGoesToItsExecutorLongestFirst) {
  const std::string dir = temp_dir("context-executor");
  auto executor = std::make_shared<RecordingExecutor>();
  executor->codes = {5, 6, 7};
  executor->errors = {"", "", ""};
  VerificationContext ctx(json::object(), dir + "/report", "/bin/prog", nullptr, executor);
  const std::vector<VerificationContext::Command> batch = {
      {"a", {"flow", "--out", dir + "/fa"}}, {"b", {"optimum", "--json"}}, {"c", {"sgd", "--out", dir + "/sa"}}};
  EXPECT_EQ(ctx.try_run_parallel(batch, 4, {1.0, 3.0, 2.0}), (std::vector<int>{5, 6, 7}));
  EXPECT_EQ(executor->threads, 4);
  EXPECT_EQ(executor->seen.program, "/bin/prog");
  EXPECT_EQ(executor->seen.order, (std::vector<std::size_t>{1, 2, 0}));
  ASSERT_EQ(executor->seen.commands.size(), 3u);
  EXPECT_EQ(executor->seen.commands[0].args, (std::vector<std::string>{"flow", "--out", dir + "/fa", "--overwrite"}));
  EXPECT_EQ(executor->seen.commands[1].args, (std::vector<std::string>{"optimum", "--json"}));
  EXPECT_EQ(executor->seen.commands[1].stdout_path, dir + "/report/logs/b.out");
  EXPECT_EQ(executor->seen.commands[1].stderr_path, dir + "/report/logs/b.err");
  EXPECT_EQ(ctx.commands()[2], "zeroloss sgd --out " + dir + "/sa");
  executor->errors = {"", "could not start on rank 1", ""};
  try {
    ctx.try_run_parallel(batch, 1);
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "could not start on rank 1");
  }
  EXPECT_EQ(executor->seen.order, (std::vector<std::size_t>{0, 1, 2}));  // no costs: the given order
}

// A queue that hands out only some indices, as one rank of several sees it.
class SomeIndices : public SweepTaskQueue {
 public:
  explicit SomeIndices(std::vector<std::size_t> indices) : indices_(std::move(indices)) {}
  std::optional<std::size_t> next() override {
    if (k_ >= indices_.size()) return std::nullopt;
    return indices_[k_++];
  }

 private:
  std::vector<std::size_t> indices_;
  std::size_t k_ = 0;
};

TEST(CommandBatch, AWorkerRunsTheQueueIndicesThroughTheOrderAndLeavesTheRest) {
  const std::string dir = temp_dir("command-batch");
  CommandBatch batch;
  batch.program = "/bin/sh";
  for (int k = 0; k < 4; ++k)
    batch.commands.push_back({{"-c", "echo " + std::to_string(k) + "; exit " + std::to_string(10 + k)},
                              dir + "/" + std::to_string(k) + ".out", dir + "/" + std::to_string(k) + ".err"});
  batch.order = {3, 1, 0, 2};
  CommandBatchResult r;
  r.exit_codes.assign(4, -100);
  r.errors.assign(4, "");
  SomeIndices mine({0, 2});  // queue positions 0 and 2: commands 3 and 0
  run_command_tasks(batch, mine, 2, r);
  EXPECT_EQ(r.exit_codes, (std::vector<int>{10, -100, -100, 13}));
  EXPECT_EQ(slurp(dir + "/3.out"), "3\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/1.out"));
  // The local executor runs all of them; a program that cannot start is an error, not an exit code.
  EXPECT_EQ(LocalCommandBatchExecutor().run(batch, 3).exit_codes, (std::vector<int>{10, 11, 12, 13}));
  batch.program = dir + "/no-such-program";
  const CommandBatchResult bad = LocalCommandBatchExecutor().run(batch, 1);
  EXPECT_EQ(bad.exit_codes[2], CommandBatchResult::kNotStarted);
  EXPECT_FALSE(bad.errors[2].empty());
  batch.order = {0, 1, 1, 2};
  EXPECT_THROW(LocalCommandBatchExecutor().run(batch, 1), InputError);
}

TEST(VerificationContext, AFolderIsRecordedOncePerBlock) {
  const std::string dir = temp_dir("context-dir");
  VerificationContext ctx(json::object(), dir + "/r", "/bin/sh", nullptr);
  const size_t first = ctx.begin_block();
  EXPECT_EQ(ctx.dir("claim"), dir + "/r/claim");
  ctx.dir("claim");
  EXPECT_EQ(ctx.commands_since(first), "mkdir -p " + dir + "/r/claim");
  const size_t second = ctx.begin_block();
  ctx.dir("claim");
  EXPECT_EQ(ctx.commands_since(second), "mkdir -p " + dir + "/r/claim");
  EXPECT_EQ(ctx.runs(), 0u);
}

// The recorded printf command recreates the file byte for byte when a shell runs it.
TEST(VerificationContext, ARecordedFileIsRecreatedByItsCommand) {
  const std::string dir = temp_dir("context-record");
  VerificationContext ctx(json::object(), dir + "/r", "/bin/sh", nullptr);
  const std::string path = dir + "/r/start file.csv";
  const std::string content = "theta_1,theta_2,a\n0.5,-1e-3,1\nit's $HOME `x` \\ %s %%,#,~\n\n";
  write_text(path, content);
  ctx.record_file(path);
  const std::string command = ctx.commands().back();
  std::filesystem::remove(path);
  ASSERT_EQ(run_child_process("/bin/sh", {"-c", command}, dir + "/o", dir + "/e").exit_code, 0) << slurp(dir + "/e");
  EXPECT_EQ(slurp(path), content);
  EXPECT_THROW(ctx.record_file(dir + "/missing.csv"), InputError);
}

TEST(CsvColumn, ReadsOneColumnAmongTextColumns) {
  const std::string dir = temp_dir("csv-column");
  write_text(dir + "/p.csv", "scheme,tau,x\r\ngiven,1,\r\n\r\nrandom,2.5,3e-1\r\n");
  EXPECT_EQ(read_csv_column(dir + "/p.csv", "tau"), (std::vector<double>{1, 2.5}));
  const std::vector<double> x = read_csv_column(dir + "/p.csv", "x");
  ASSERT_EQ(x.size(), 2u);
  EXPECT_TRUE(std::isnan(x[0]));  // an empty cell: not measured at that row
  EXPECT_EQ(x[1], 0.3);
}

TEST(CsvColumn, RefusesWhatIsNotThere) {
  const std::string dir = temp_dir("csv-column-bad");
  write_text(dir + "/bad.csv", "tau,T\n1,2\nzero,3\n");
  write_text(dir + "/short.csv", "tau,T\n1,2\n3\n");
  write_text(dir + "/empty.csv", "");
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no InputError");
  };
  EXPECT_EQ(message([&] { read_csv_column(dir + "/bad.csv", "tau"); }),
            dir + "/bad.csv:3: column 1 ('tau'): 'zero' is not a number");
  EXPECT_EQ(read_csv_column(dir + "/bad.csv", "T"), (std::vector<double>{2, 3}));
  EXPECT_EQ(message([&] { read_csv_column(dir + "/bad.csv", "sharpness"); }),
            dir + "/bad.csv: no column 'sharpness' in the header");
  EXPECT_EQ(message([&] { read_csv_column(dir + "/short.csv", "T"); }),
            dir + "/short.csv:3: 1 cells, expected 2 (as in the header)");
  EXPECT_NE(message([&] { read_csv_column(dir + "/empty.csv", "T"); }).find("empty file"), std::string::npos);
  EXPECT_NE(message([&] { read_csv_column(dir + "/missing.csv", "T"); }).find("cannot open"), std::string::npos);
}

TEST(JsonFile, ReadsAndNamesTheFileOnErrors) {
  const std::string dir = temp_dir("json-file");
  write_text(dir + "/ok.json", "{\"a\": [1, 2]}");
  write_text(dir + "/bad.json", "{\"a\": ");
  EXPECT_EQ(read_json_file(dir + "/ok.json")["a"][1], 2);
  EXPECT_THROW(read_json_file(dir + "/bad.json"), InputError);
  EXPECT_THROW(read_json_file(dir + "/missing.json"), InputError);
}

Verdict sample_verdict(const std::string& key, VerdictStatus status) {
  Verdict v;
  v.key = key;
  v.claim = "a claim";
  v.status = status;
  v.evidence = "measured";
  v.command = "zeroloss data && zeroloss flow";
  v.numbers = {{"x", 1.5}};
  v.figures.push_back({"k/f.svg", "a caption", "k/f.csv"});
  v.seconds = 2.25;
  return v;
}

TEST(VerdictJson, RoundTripsAndRefusesIncompleteVerdicts) {
  const Verdict v = sample_verdict("flow_rate", VerdictStatus::NotApplicable);
  const Verdict back = verdict_from_json(verdict_json(v));
  EXPECT_EQ(back.key, v.key);
  EXPECT_EQ(back.claim, v.claim);
  EXPECT_EQ(back.status, v.status);
  EXPECT_EQ(back.evidence, v.evidence);
  EXPECT_EQ(back.command, v.command);
  EXPECT_EQ(back.numbers, v.numbers);
  ASSERT_EQ(back.figures.size(), 1u);
  EXPECT_EQ(back.figures[0].file, "k/f.svg");
  EXPECT_EQ(back.figures[0].caption, "a caption");
  EXPECT_EQ(back.figures[0].data, "k/f.csv");
  EXPECT_EQ(back.seconds, v.seconds);
  json j = verdict_json(v);
  j.erase("evidence");
  EXPECT_THROW(verdict_from_json(j), InputError);
  j = verdict_json(v);
  j["status"] = "passed";
  EXPECT_THROW(verdict_from_json(j), InputError);
}

TEST(VerdictJson, KeysWithAStatusInReportOrder) {
  ReportDocument doc;
  doc.verdicts = {sample_verdict("a", VerdictStatus::Fail), sample_verdict("b", VerdictStatus::Pass),
                  sample_verdict("c", VerdictStatus::Fail), sample_verdict("d", VerdictStatus::Error)};
  EXPECT_EQ(verdict_keys_with_status(doc, VerdictStatus::Fail), "a, c");
  EXPECT_EQ(verdict_keys_with_status(doc, VerdictStatus::Error), "d");
  EXPECT_EQ(verdict_keys_with_status(doc, VerdictStatus::Reported), "");
}

}  // namespace

namespace {

// The report assembly called in-process, with a program that fails every command: each selected
// claim ends with status error (the check could not be completed), the report is still written,
// the progress lines are those `zeroloss run` prints, and resume reuses the saved verdict.
TEST(VerificationReport, ACommandThatFailsGivesStatusErrorAndResumeReusesIt) {
  const std::string dir = temp_dir("report-assembly");
  const json config = zeroloss::resolve_verification_config(json{{"claims", {"flow_rate"}}}, "test.json", true);
  VerificationReportOptions options;
  options.out = dir + "/report";
  options.program = "/bin/false";
  std::vector<std::string> lines;
  const VerificationReportResult r =
      write_verification_report(config, options, [&](const std::string& line) { lines.push_back(line); });
  ASSERT_EQ(r.document.verdicts.size(), 1u);
  const Verdict& v = r.document.verdicts[0];
  EXPECT_EQ(v.key, "flow_rate");
  EXPECT_EQ(v.status, VerdictStatus::Error);
  EXPECT_EQ(v.evidence.rfind("The check could not be completed: `zeroloss data --generator gaussian", 0), 0u)
      << v.evidence;
  EXPECT_EQ(v.command.rfind("zeroloss data ", 0), 0u) << v.command;
  EXPECT_EQ(verdict_keys_with_status(r.document, VerdictStatus::Error), "flow_rate");
  // The claim's title, its own progress lines (none or some), then the outcome.
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "[1/1] the flow reaches T* at the predicted rate");
  EXPECT_EQ(lines.back().rfind("    -> error (", 0), 0u) << lines.back();
  const json summary = read_json_file(dir + "/report/summary.json");
  EXPECT_EQ(summary["verdicts"]["flow_rate"]["status"], "error");
  EXPECT_EQ(summary["environment"]["commands_run"], 1);
  EXPECT_TRUE(std::filesystem::exists(dir + "/report/report.html"));

  lines.clear();
  options.resume = true;
  const VerificationReportResult again =
      write_verification_report(config, options, [&](const std::string& line) { lines.push_back(line); });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "[1/1] the flow reaches T* at the predicted rate: reused from " + dir + "/report/verdicts/flow_rate.json");
  ASSERT_EQ(again.document.verdicts.size(), 1u);
  EXPECT_EQ(again.document.verdicts[0].evidence, v.evidence);
  EXPECT_EQ(again.document.verdicts[0].seconds, v.seconds);
}

}  // namespace
