#include "zeroloss/verification/verification_report.hpp"

#include <sys/utsname.h>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <thread>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/formats/output_directory.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/support/interrupt_flag.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/verification_context.hpp"

namespace zeroloss {

using nlohmann::json;

const std::vector<ReportClaim>& report_claims() {
  static const std::vector<ReportClaim> claims = {
      {"global_minimum", "stationary points are the global, rank-one minimum", &check_global_minimum},
      {"flow_rate", "the flow reaches T* at the predicted rate", &check_flow_rate},
      {"sgd_tracks_flow", "label-noise SGD tracks the flow", &check_sgd_tracks_flow},
      {"rank_one_sgd", "label-noise SGD reaches rank one (Figure 1)", &check_rank_one_sgd},
      {"local_convexity", "local geodesic convexity", &check_local_convexity},
      {"outside_assumptions", "outside the assumptions", &check_outside_assumptions},
      {"diagonal_sparse_interpolator", "label-noise SGD on the diagonal network reaches the weighted-l1 interpolator",
       &check_diagonal_sparse_interpolator},
      {"claims_at_scale", "the claims at scale (matrix-free)", &check_claims_at_scale},
  };
  return claims;
}

namespace {

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// One claim: its saved verdict when resuming with the same configuration, else a fresh check.
Verdict decide_claim(const ReportClaim& c, VerificationContext& ctx, const json& cfg, const std::string& saved,
                     bool resume, const std::string& counter, const std::function<void(const std::string&)>& say) {
  if (resume && std::filesystem::exists(saved)) {
    const json j = read_json_file(saved);
    if (j.contains("config") && j["config"] == cfg) {
      say(counter + " " + c.title + ": reused from " + saved);
      return verdict_from_json(j["verdict"]);
    }
  }
  throw_if_interrupted(ctx.interrupt(), "the report");
  say(counter + " " + c.title);
  const auto c0 = std::chrono::steady_clock::now();
  Verdict v;
  try {
    v = c.check(ctx);
  } catch (const InterruptedError&) {
    throw;
  } catch (const std::exception& e) {
    v.key = c.key;
    v.claim = c.title;
    v.status = VerdictStatus::Error;
    v.evidence = std::string("The check could not be completed: ") + e.what();
    v.command = ctx.commands().empty() ? "" : ctx.commands().back();
  }
  // A check that swallowed the interruption (a member marked failed) decided on partial evidence.
  throw_if_interrupted(ctx.interrupt(), "the report");
  v.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
  say("    -> " + to_string(v.status) + " (" + short_number(v.seconds, 3) + " s)");
  write_file_atomic(saved, json({{"config", cfg}, {"verdict", verdict_json(v)}}).dump(2) + "\n");
  return v;
}

json environment(const json& cfg, const std::vector<Verdict>& verdicts, double seconds, size_t commands_run) {
  struct utsname u {};
  ::uname(&u);
  json timings = json::object();
  for (const auto& v : verdicts) timings[v.key] = v.seconds;
  return {{"zeroloss_version", ZEROLOSS_VERSION},
          {"compiler", std::string("g++ ") + __VERSION__},
          {"eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                        std::to_string(EIGEN_MINOR_VERSION)},
          {"machine", std::string(u.sysname) + " " + u.release + " " + u.machine},
          {"hardware_threads", std::thread::hardware_concurrency()},
          {"gnuplot", gnuplot_program().empty() ? "not found (no figures)" : gnuplot_program()},
          {"finished", now_utc()},
          {"seed", cfg["seed"]},
          {"total_seconds", seconds},
          {"claim_seconds", timings},
          {"commands_run", commands_run}};
}

}  // namespace

VerificationReportResult write_verification_report(const json& cfg, const VerificationReportOptions& o,
                                                   const std::function<void(const std::string&)>& progress) {
  const auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  const auto t0 = std::chrono::steady_clock::now();
  OutputDirectoryOptions folder;
  folder.overwrite = o.overwrite;
  // Resuming a report not started yet starts one; resuming a finished one reuses every verdict.
  folder.resume = o.resume && std::filesystem::exists(o.out) && !std::filesystem::is_empty(o.out);
  folder.resume_completed = true;
  folder.resume_marker = "verdicts";  // a report written before run manifests existed
  OutputDirectory out_dir(o.out, "run", folder);
  ensure_directory(o.out + "/verdicts");
  const std::vector<std::string> selected = cfg["claims"];
  VerificationContext ctx(cfg, o.out, o.program, [&](const std::string& msg) { say("  " + msg); },
                          o.command_batches);
  ctx.set_interrupt(o.interrupt);
  VerificationReportResult result;
  ReportDocument& doc = result.document;
  doc.title = "zeroloss verification report: Simplicity Bias via Global Convergence of Sharpness Minimization";
  doc.introduction =
      "Each row checks one claim of Gatmiry, Li, Reddi and Jegelka (ICML 2024) numerically with the zeroloss "
      "toolkit, on the configuration shown at the end. Conventions (loss 1/(2n) sum (f_i - y_i)^2, sharpness "
      "T = tr Hess L on the zero-loss manifold, flow time tau = s^2/(4B) eta^2 k) are those of docs/theory.md. "
      "Every verdict is computed from the runs listed with it; every command ran as written (logs in logs/). "
      "Mode: " +
      cfg["mode"].get<std::string>() + ".";
  const auto is_selected = [&](const ReportClaim& c) {
    return std::find(selected.begin(), selected.end(), c.key) != selected.end();
  };
  const auto total = std::count_if(report_claims().begin(), report_claims().end(), is_selected);
  int index = 0;
  for (const auto& c : report_claims()) {
    if (!is_selected(c)) continue;
    ++index;
    const std::string counter = "[" + std::to_string(index) + "/" + std::to_string(total) + "]";
    try {
      doc.verdicts.push_back(decide_claim(c, ctx, cfg, o.out + "/verdicts/" + c.key + ".json", o.resume, counter, say));
    } catch (const InterruptedError&) {
      say(counter + " " + c.title + ": interrupted (the verdicts decided so far are kept for --resume)");
      out_dir.finish(RunStatus::Interrupted);
      throw;
    }
  }
  doc.configuration = cfg;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  doc.environment = environment(cfg, doc.verdicts, result.seconds, ctx.runs());
  write_report(o.out, doc);
  out_dir.finish(RunStatus::Completed);
  return result;
}

std::string verdict_keys_with_status(const ReportDocument& document, VerdictStatus status) {
  std::string keys;
  for (const auto& v : document.verdicts)
    if (v.status == status) keys += (keys.empty() ? "" : ", ") + v.key;
  return keys;
}

}  // namespace zeroloss
