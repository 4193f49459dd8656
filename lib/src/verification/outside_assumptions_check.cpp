// Claim 6: outside the theory's assumptions (phi' > 0 and phi''' > 0 fail for tanh and softplus;
// n > d leaves no closed form) nothing is asserted: the flow is run to (near) stationarity and the
// end point is reported (rank, T, gradient norm, which assumption fails and where), read with
// outside_assumptions_rule.hpp.

#include <algorithm>
#include <cmath>
#include <sstream>

#include "zeroloss/csv.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/number_text.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/outside_assumptions_rule.hpp"
#include "zeroloss/verification/shell_command.hpp"

namespace zeroloss {

using nlohmann::json;

Verdict check_outside_assumptions(VerificationContext& ctx) {
  Verdict v;
  v.key = "outside_assumptions";
  v.claim = "Outside the assumptions (tanh, softplus, n > d): what the flow ends at (reported, not asserted)";
  v.status = VerdictStatus::Reported;
  const json& cfg = ctx.config()["outside_assumptions"];
  const size_t first = ctx.begin_block();
  const std::string dir = ctx.dir("outside_assumptions");
  size_t first_case_end = 0;  // the reproduce block shows the first case's commands
  json cases = json::array();
  std::ostringstream ev, table;
  table << "case,activation,n,d,m,status,sharpness,grad_norm,sigma2_over_sigma1_R,sigma2_over_sigma1_phi,assumptions\n";
  int k = 0;
  for (json c : cfg["cases"]) {
    const std::string name = c["name"].get<std::string>();
    const std::string act = c["activation"].get<std::string>();
    const std::string sub = "case" + std::to_string(k);
    const std::string data = dir + "/" + sub + "_data.csv";
    ctx.progress("outside the assumptions: " + name);
    json rec = {{"name", name}, {"activation", act}, {"n", c["n"]}, {"d", c["d"]}, {"m", c["m"]}};
    try {
      ctx.run("outside_" + sub + "_data", {"data",
                                           "--generator",
                                           "gaussian",
                                           "--n",
                                           std::to_string(c["n"].get<int>()),
                                           "--d",
                                           std::to_string(c["d"].get<int>()),
                                           "--labels",
                                           c.value("labels", std::string("random")),
                                           "--teacher-activation",
                                           act,
                                           "--teacher-width",
                                           std::to_string(c["m"].get<int>()),
                                           "--label-scale",
                                           format_double(c.value("label_scale", 1.0)),
                                           "--seed",
                                           std::to_string(ctx.config()["problem"]["data_seed"].get<int>()),
                                           "--out",
                                           data,
                                           "--weights-out",
                                           dir + "/" + sub + "_w0.csv",
                                           "--m",
                                           std::to_string(c["m"].get<int>()),
                                           "--init-scale",
                                           format_double(ctx.config()["problem"]["init_scale"].get<double>())});
      std::string printed;
      const int rc = ctx.try_run("outside_" + sub + "_flow",
                                 {"flow", "--data", data, "--weights", dir + "/" + sub + "_w0.csv", "--activation", act,
                                  "--coefficient", "1", "--time", format_double(cfg["flow_time"].get<double>()),
                                  "--until-grad", format_double(cfg["until_gradient"].get<double>()), "--log-points",
                                  "100", "--no-figures", "--out", dir + "/" + sub + "_flow"},
                                 &printed);
      if (rc != 0) {
        rec["status"] = "flow failed";
        rec["message"] = tail_of_file(ctx.out() + "/logs/outside_" + sub + "_flow.err", 3);
        ev << name << ": the flow failed (exit " << rc << "): " << rec["message"].get<std::string>() << " ";
        table << name << "," << act << "," << c["n"] << "," << c["d"] << "," << c["m"] << ",flow failed,,,,,\n";
      } else {
        json s = read_json_file(dir + "/" + sub + "_flow/summary.json");
        json fin = s["final"];
        const auto& svR = fin["preactivation_singular_values"];
        const auto& svP = fin["feature_singular_values"];
        const double rR = svR.size() > 1 ? svR[1].get<double>() / svR[0].get<double>() : 0.0;
        const double rP = svP.size() > 1 ? svP[1].get<double>() / svP[0].get<double>() : 0.0;
        const double g = fin["grad_norm"].get<double>();
        OutsideAssumptionsThresholds thresholds;
        thresholds.until_gradient = cfg["until_gradient"].get<double>();
        const OutsideAssumptionsCase end_point{g, rR};
        const bool stationary = reached_stationary_point(end_point, thresholds);
        rec["status"] = stationary ? "reached a stationary point" : "stopped before stationarity";
        rec["final"] = fin;
        const json assumptions = s.contains("assumptions_at_end") ? s["assumptions_at_end"] : json(nullptr);
        const std::string described = assumptions.is_object() && assumptions.contains("description")
                                          ? assumptions["description"].get<std::string>()
                                          : std::string("assumptions at the end point not reported");
        rec["assumptions_at_end"] = assumptions;
        rec["tau"] = fin["tau"];
        ev << name << ": flow " << (stationary ? "reached ||grad_M T|| = " : "stopped at ||grad_M T|| = ")
           << short_number(g, 3) << " at tau = " << short_number(fin["tau"].get<double>(), 4)
           << ", T = " << short_number(fin["sharpness"].get<double>(), 6) << ", sigma_2/sigma_1 of R "
           << short_number(rR, 3) << " ("
           << (described_as_rank_one(end_point, thresholds) ? "rank one" : "not rank one") << "); " << described
           << ". ";
        table << name << "," << act << "," << c["n"] << "," << c["d"] << "," << c["m"] << ","
              << (stationary ? "stationary" : "not stationary") << "," << format_double(fin["sharpness"].get<double>())
              << "," << format_double(g) << "," << format_double(rR) << "," << format_double(rP) << ",\"" << described
              << "\"\n";
      }
    } catch (const std::exception& e) {
      rec["status"] = "error";
      rec["message"] = e.what();
      ev << name << ": " << e.what() << " ";
    }
    cases.push_back(rec);
    if (k == 0) first_case_end = ctx.commands().size();
    ++k;
  }
  write_file_atomic(dir + "/cases.csv", table.str());
  v.command =
      join_commands({ctx.commands().begin() + first, ctx.commands().begin() + std::max(first, first_case_end)}) +
      "\n# and the same for each case (all commands in logs/)";
  v.numbers = {{"cases", cases}};
  v.evidence = ev.str();
  return v;
}

}  // namespace zeroloss
