#pragma once
// The verification report (`zeroloss run`, docs/report.md) as a whole: every selected claim checked
// in order (claims.hpp), each verdict saved as it is decided (out/verdicts/<key>.json, reused by
// resume), then report.html, report.md and summary.json written (presentation/report_document.hpp).

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zeroloss/presentation/report_document.hpp"
#include "zeroloss/sweep/command_batch.hpp"

namespace zeroloss {

struct VerificationReportOptions {
  std::string out = "zeroloss-out/report";  // the report's folder (an OutputDirectory of command "run")
  // Reuse the verdicts already in out/verdicts decided with the same configuration; a folder that
  // holds no report yet is started afresh.
  bool resume = false;
  bool overwrite = false;  // replace an earlier report's files (formats/output_directory.hpp)
  std::string program;     // the zeroloss executable the claims run (e.g. current_executable())
  // Runs the claims' batches of independent commands (sweep/command_batch.hpp; the program passes
  // the MPI ranks' executor under mpirun); null: local threads.
  std::shared_ptr<CommandBatchExecutor> command_batches;
  // When it becomes true the report stops at its next check (before each claim and each command; a
  // running command is sent SIGINT): the verdicts decided so far stay in out/verdicts (resume reuses
  // them), the folder is marked interrupted, no report.* is written, and write_verification_report
  // throws InterruptedError. May be null. (The MPI executor's ranks do not see it: a batch sent to
  // them runs to its end.)
  const std::atomic<bool>* interrupt = nullptr;
};

struct VerificationReportResult {
  ReportDocument document;  // as written
  double seconds = 0;       // wall time of the whole report
};

// Runs the report on `config` (a resolved configuration, verification/verification_config.hpp) and writes it.
// `progress` receives each progress line as the program prints it ("[1/6] <title>", "    -> pass
// (1.2 s)", "  <step>"); may be empty. A claim whose check throws gets status Error with the message
// in its evidence; the folder's own errors (locked, not empty) throw InputError before any command;
// InterruptedError once options.interrupt is set.
VerificationReportResult write_verification_report(const nlohmann::json& config,
                                                   const VerificationReportOptions& options,
                                                   const std::function<void(const std::string&)>& progress);

// The keys of the verdicts with `status`, in report order, joined with ", " (empty if none).
std::string verdict_keys_with_status(const ReportDocument& document, VerdictStatus status);

}  // namespace zeroloss
