// zeroloss run: the verification report (the main job of scripts/run). Parses the options, runs
// the report (zeroloss/verification/verification_report.hpp) and prints the verdicts; the exit code
// tells the outcome.

#include <cstdio>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "common.hpp"
#include "dynamics_common.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/verification/verification_report.hpp"
#include "zeroloss/verification/verification_config.hpp"
#ifdef ZEROLOSS_WITH_MPI
#include "zeroloss/sweep_mpi/mpi_command_batch.hpp"
#endif

namespace zeroloss::cli {
namespace {

using nlohmann::json;

// Exit codes of `zeroloss run` beyond main.cpp's 1-7 (documented in docs/report.md and docs/cli.md):
// 0 every asserted claim passed (reported and not-applicable claims assert nothing),
// 8 at least one claim failed, 9 no claim failed but at least one check could not be completed.
constexpr int kExitClaimFailed = 8;
constexpr int kExitCheckIncomplete = 9;

struct RunOptions {
  std::string config;
  std::string out = "zeroloss-out/report";
  bool quick = false;
  bool print_config = false;
  bool resume = false;
  bool overwrite = false;
};

void report_on_this_process(const RunOptions& o, const json& cfg,
                            std::shared_ptr<CommandBatchExecutor> batches = nullptr);

void run_report(const RunOptions& o) {
  // The whole configuration is validated here, before any directory is created or command run.
  const json cfg = read_verification_config(o.config, o.quick);
  if (o.print_config) {
    std::cout << default_verification_config().dump(2) << "\n";
    return;
  }
#ifdef ZEROLOSS_WITH_MPI
  // Under mpirun/srun rank 0 writes the report and the other ranks run its batches of commands
  // (docs/sweeps.md); rank 0 releases them when it is done, also when it fails.
  if (started_by_mpi_launcher()) {
    MpiSession session;
    if (session.rank() != 0) return serve_command_batches(session);
    const auto ranks = std::make_shared<MpiCommandBatchExecutor>(session);
    const auto release = [&] {
      ranks->finish();
      std::cerr << "zeroloss run: " << session.size() << " MPI ranks ran the report's batches of commands (per rank:";
      for (long n : ranks->commands_per_rank()) std::cerr << " " << n;
      std::cerr << ")\n";
    };
    try {
      report_on_this_process(o, cfg, ranks);
    } catch (...) {
      release();
      throw;
    }
    release();
    return;
  }
#endif
  report_on_this_process(o, cfg);
}

void report_on_this_process(const RunOptions& o, const json& cfg, std::shared_ptr<CommandBatchExecutor> batches) {
  VerificationReportOptions options;
  options.command_batches = std::move(batches);
  options.out = o.out;
  options.resume = o.resume;
  options.overwrite = o.overwrite;
  options.program = current_executable();
  options.interrupt = &interrupt_flag();  // SIGINT/SIGTERM stop the report (the MPI ranks keep the default)
  VerificationReportResult r;
  run_interruptible("run", [&] {
    r = write_verification_report(cfg, options, [](const std::string& line) { std::cerr << line << "\n"; });
  });
  const ReportDocument& doc = r.document;
  std::cout << "\nVerdicts (" << cfg["mode"].get<std::string>() << " mode, " << short_number(r.seconds, 3)
            << " s):\n";
  for (size_t k = 0; k < doc.verdicts.size(); ++k) {
    const Verdict& v = doc.verdicts[k];
    std::printf("  %zu. %-15s %s\n", k + 1, to_string(v.status).c_str(), v.claim.c_str());
  }
  std::cout << "\nreport: " << o.out << "/report.html (also report.md, summary.json; figures and CSVs beside them)\n";
  // The exit code tells CI the outcome: a definite negative verdict first, then incomplete checks.
  const std::string failed = verdict_keys_with_status(doc, VerdictStatus::Fail);
  const std::string incomplete = verdict_keys_with_status(doc, VerdictStatus::Error);
  if (!failed.empty())
    throw CommandFailure("claim failed: " + failed +
                             (incomplete.empty() ? "" : "; check not completed: " + incomplete) + " (see " + o.out +
                             "/report.html)",
                         kExitClaimFailed);
  if (!incomplete.empty())
    throw CommandFailure(
        "check not completed: " + incomplete + " (see " + o.out + "/report.html and " + o.out + "/logs/)",
        kExitCheckIncomplete);
  const std::string inconclusive = verdict_keys_with_status(doc, VerdictStatus::Inconclusive);
  if (!inconclusive.empty())
    throw CommandFailure("claim inconclusive (not tested enough, or its rule also passed a falsified variant): " +
                             inconclusive + " (see " +
                             o.out + "/report.html)",
                         kExitCheckIncomplete);
}

CommandRegistration reg(
    {"run", "The verification report: check every claim of the paper and write report.html/.md/summary.json",
     [](CLI::App& app) {
       auto o = std::make_shared<RunOptions>();
       app.description(
           "Check each claim of Gatmiry-Li-Reddi-Jegelka (ICML 2024) numerically and write a report:\n"
           "  1. every stationary point of T on M is the global, rank-one minimum (flow + L-BFGS from random starts);\n"
           "  2. the flow converges exponentially (fitted rate and fit quality);\n"
           "  3. label-noise SGD tracks the flow as eta shrinks (fitted order in eta);\n"
           "  4. label-noise SGD reaches a rank-one feature matrix (the paper's Figure 1 setting);\n"
           "  5. local geodesic convexity (threshold, adversarial search, THEORY 6's counterexample);\n"
           "  6. outside the assumptions (tanh, softplus, n > d): reported, not asserted;\n"
           "  7. label-noise SGD on the diagonal linear network reaches the weighted-l1 interpolator (population);\n"
           "  8. at scale (n = 100, d = m = 1000): flow and trust region reach T*, rank one, lambda_min > 0, convex near it.\n"
           "Without CONFIG the embedded default runs (see --print-config); a CONFIG file is merged over it key by key "
           "(unknown keys are errors). Every verdict is computed by running zeroloss commands (listed with it).\n"
           "Outputs in --out: report.html (self-contained, figures inline), report.md, summary.json (verdicts: one "
           "entry per claim with status pass/fail/reported and its key numbers), the CSVs and SVGs behind each figure, "
           "logs/ (every command's output) and verdicts/ (per-claim results, reused by --resume).\n"
           "The configuration is validated as a whole before any work (bad values exit 2 naming the file and key).\n"
           "Exit codes: 0 every asserted claim passed (claims with status reported or not-applicable assert "
           "nothing); 8 some claim failed; 9 no claim failed but some check could not be completed (status error) "
           "or was inconclusive (not tested enough, or its rule also passed a falsified variant); "
           "1 usage error; 2 bad configuration. The report is written in all three cases 0, 8 and 9.");
       app.add_option("config", o->config, "Configuration JSON merged over the default (optional)")
           ->check(CLI::ExistingFile);
       app.add_flag("--quick", o->quick, "Short version (fewer starts, seeds and steps; under two minutes on 2 cores)");
       app.add_option("--out", o->out, "Output directory")->capture_default_str();
       add_overwrite_flag(app, o->overwrite);
       app.add_flag("--print-config", o->print_config,
                    "Print the embedded default configuration (with its 'quick' overrides) and exit");
       app.add_flag("--resume", o->resume,
                    "Reuse the claims already finished in --out with the same configuration (after an interruption)");
       return std::function<void()>([o]() { run_report(*o); });
     },
     5});

}  // namespace
}  // namespace zeroloss::cli
