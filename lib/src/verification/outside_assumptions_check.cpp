// Claim 6: outside the theory's assumptions (phi' > 0 and phi''' > 0 fail for tanh and softplus;
// n > d leaves no closed form) nothing is asserted. For each case the flow runs from `starts` random
// starts until ||grad_M T|| < until_gradient or the flow time ends, and each end is classified with
// outside_assumptions_rule.hpp: a stationary point (then `zeroloss inspect` gives the inertia of the
// Riemannian Hessian there, and the distinct stationary points are reported with how many starts
// reached each), an escape to infinity (||R||_F still growing over the second half of the run), or
// not converged (never reported as where the flow ends).

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/verification/claims.hpp"
#include "zeroloss/verification/outside_assumptions_rule.hpp"
#include "zeroloss/verification/report_inputs.hpp"
#include "zeroloss/verification/shell_command.hpp"
#include "zeroloss/verification/stationary_point_census.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

// ||R||_F at every logged state of a flow's trajectory.csv (from its columns sv_R_1, sv_R_2, ...).
std::vector<double> preactivation_norms(const std::string& trajectory) {
  std::ifstream in(trajectory);
  std::string header;
  std::getline(in, header);
  std::vector<double> sum;
  for (int k = 1; header.find("sv_R_" + std::to_string(k)) != std::string::npos; ++k) {
    const std::vector<double> sv = read_csv_column(trajectory, "sv_R_" + std::to_string(k));
    if (sum.empty()) sum.assign(sv.size(), 0.0);
    for (size_t i = 0; i < sv.size() && i < sum.size(); ++i) sum[i] += sv[i] * sv[i];
  }
  for (double& x : sum) x = std::sqrt(x);
  return sum;
}

std::string inertia_text(const HessianInertia& in) {
  std::string kind = in.negative > 0 ? "a saddle" : in.zero > 0 ? "degenerate (zero eigenvalues)" : "a strict local minimum";
  return "inertia " + std::to_string(in.negative) + " negative, " + std::to_string(in.zero) + " zero, " +
         std::to_string(in.positive) + " positive: " + kind;
}

// The stationary-point search (stationary_point_census.hpp) on one case: finds saddles and minima the
// flows do not reach. Its distinct points go to rec["search"], its table to csv_path; returns the
// evidence sentence.
std::string search_case(VerificationContext& ctx, const std::string& data, const std::string& weights,
                        const std::string& act, const OutsideAssumptionsThresholds& thresholds,
                        const std::string& csv_path, json& rec) {
  const json& cfg = ctx.config()["outside_assumptions"];
  const Dataset d = read_dataset_csv(data);
  const TwoLayerModel model(d.X, d.y, read_weights_csv(weights, static_cast<int>(d.X.cols())).a, Activation::from_name(act));
  StationaryPointCensusOptions o;
  o.starts = cfg["search_starts"].get<int>();
  o.init_scale = ctx.config()["problem"]["init_scale"].get<double>();
  o.seed = static_cast<std::uint64_t>(ctx.config()["seed"].get<int>());
  o.zero_eigenvalue = thresholds.zero_eigenvalue;
  const auto entries =
      stationary_point_census(model, o, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  write_file_atomic(csv_path, stationary_point_census_csv(entries, NAN));
  const std::vector<StationaryEnd> ends = converged_stationary_points(model, entries);
  json points = json::array();
  std::ostringstream ev;
  ev << "the stationary-point search (Riemannian Levenberg-Marquardt on ||grad_M T||^2, " << o.starts
     << " starts, half with coinciding neurons) converged from " << ends.size() << " starts";
  const auto distinct = distinct_stationary_points(ends, thresholds);
  for (size_t i = 0; i < distinct.size(); ++i) {
    const auto& p = distinct[i];
    points.push_back({{"T", p.point.sharpness},
                      {"starts", p.starts},
                      {"negative_eigenvalues", p.point.inertia.negative},
                      {"zero_eigenvalues", p.point.inertia.zero},
                      {"positive_eigenvalues", p.point.inertia.positive},
                      {"sigma2_over_sigma1_R", p.point.rank_one_ratio}});
    ev << (i ? "; " : ": ") << "T = " << short_number(p.point.sharpness, 6) << " (" << p.point.inertia.negative << " negative, "
       << p.point.inertia.zero << " zero eigenvalues) from " << p.starts;
  }
  rec["search"] = {{"starts", o.starts}, {"converged", ends.size()}, {"stationary_points", points}};
  return ev.str();
}

}  // namespace

Verdict check_outside_assumptions(VerificationContext& ctx) {
  Verdict v;
  v.key = "outside_assumptions";
  v.claim = "Outside the assumptions (tanh, softplus, n > d): where the flow ends from several starts (reported, not asserted)";
  v.status = VerdictStatus::Reported;
  const json& cfg = ctx.config()["outside_assumptions"];
  const int starts = cfg["starts"].get<int>();
  OutsideAssumptionsThresholds thresholds;
  thresholds.until_gradient = cfg["until_gradient"].get<double>();
  thresholds.escape_growth = cfg["escape_growth"].get<double>();
  const size_t first = ctx.begin_block();
  const std::string dir = ctx.dir("outside_assumptions");
  size_t first_case_end = 0;  // the reproduce block shows the first start of the first case
  json cases = json::array();
  std::ostringstream ev, table;
  table << "case,activation,n,d,m,start,ending,T,grad_norm,tau,preactivation_norm,sigma2_over_sigma1_R,"
           "negative,zero,positive,assumptions\n";
  int k = 0;
  for (json c : cfg["cases"]) {
    const std::string name = c["name"].get<std::string>();
    const std::string act = c["activation"].get<std::string>();
    const std::string sub = "case" + std::to_string(k);
    const std::string data = dir + "/" + sub + "_data.csv";
    const int m = c["m"].get<int>();
    ctx.progress("outside the assumptions: " + name + ", " + std::to_string(starts) + " starts");
    json rec = {{"name", name}, {"activation", act}, {"n", c["n"]}, {"d", c["d"]}, {"m", m}, {"starts", starts}};
    try {
      ctx.run("outside_" + sub + "_data",
              {"data", "--generator", "gaussian", "--n", std::to_string(c["n"].get<int>()), "--d",
               std::to_string(c["d"].get<int>()), "--labels", c.value("labels", std::string("random")),
               "--teacher-activation", act, "--teacher-width", std::to_string(m), "--label-scale",
               format_double(c.value("label_scale", 1.0)), "--seed",
               std::to_string(ctx.config()["problem"]["data_seed"].get<int>()), "--out", data, "--weights-out",
               dir + "/" + sub + "_w0.csv", "--m", std::to_string(m), "--init-scale",
               format_double(ctx.config()["problem"]["init_scale"].get<double>())});
      std::vector<StationaryEnd> stationary;
      json escapes = json::array(), not_converged = json::array(), failed = json::array();
      std::string described;
      for (int s = 0; s < starts; ++s) {
        // Start 0 is the data command's own start; the others are the report's random starts.
        const std::string start = s == 0 ? dir + "/" + sub + "_w0.csv"
                                         : write_random_start(ctx, data, m, s, false,
                                                              "outside_assumptions/" + sub + "_start" + std::to_string(s) + ".csv");
        const std::string flow = dir + "/" + sub + "_flow" + (s == 0 ? "" : std::to_string(s));
        const std::string tag = "outside_" + sub + "_flow" + (s == 0 ? "" : std::to_string(s));
        const int rc = ctx.try_run(tag, {"flow", "--data", data, "--weights", start, "--activation", act, "--coefficient",
                                         "1", "--time", format_double(cfg["flow_time"].get<double>()), "--until-grad",
                                         format_double(cfg["until_gradient"].get<double>()), "--log-points", "100",
                                         "--no-figures", "--out", flow});
        if (rc != 0) {
          failed.push_back({{"start", s}, {"exit_code", rc}, {"message", tail_of_file(ctx.out() + "/logs/" + tag + ".err", 3)}});
          table << name << "," << act << "," << c["n"] << "," << c["d"] << "," << m << "," << s << ",flow failed,,,,,,,,,\n";
          if (k == 0 && s == 0) first_case_end = ctx.commands().size();
          continue;
        }
        const json summary = read_json_file(flow + "/summary.json");
        const json& fin = summary["final"];
        const auto& svR = fin["preactivation_singular_values"];
        const double rR = svR.size() > 1 ? svR[1].get<double>() / svR[0].get<double>() : 0.0;
        const double g = fin["grad_norm"].get<double>(), T = fin["sharpness"].get<double>();
        const std::vector<double> tau = read_csv_column(flow + "/trajectory.csv", "tau");
        const std::vector<double> norms = preactivation_norms(flow + "/trajectory.csv");
        const FlowEnding ending = classify_flow_ending(g, tau, norms, thresholds);
        if (summary.contains("assumptions_at_end") && summary["assumptions_at_end"].is_object() && described.empty())
          described = summary["assumptions_at_end"].value("description", std::string());
        HessianInertia inertia;
        if (ending == FlowEnding::Stationary) {
          const json at = ctx.run_json(tag + "_inspect", {"inspect", "--data", data, "--weights", flow + "/final_weights.csv",
                                                          "--activation", act, "--json"});
          inertia = hessian_inertia(at["hessian_eigenvalues"].get<std::vector<double>>(), thresholds);
          stationary.push_back({T, inertia, rR});
        } else {
          // The growth of ||R||_F over the second half of the run, for the record.
          double from = norms.empty() ? 0 : norms.back();
          for (size_t i = 0; i < tau.size(); ++i)
            if (tau[i] >= tau.back() / 2) {
              from = norms[i];
              break;
            }
          json e = {{"start", s}, {"tau", fin["tau"]}, {"T", T}, {"grad_norm", g},
                    {"preactivation_norm", norms.empty() ? 0.0 : norms.back()},
                    {"growth_over_second_half", norms.empty() || from == 0 ? 0.0 : norms.back() / from - 1}};
          (ending == FlowEnding::Escaping ? escapes : not_converged).push_back(e);
        }
        table << name << "," << act << "," << c["n"] << "," << c["d"] << "," << m << "," << s << "," << to_string(ending)
              << "," << format_double(T) << "," << format_double(g) << "," << format_double(fin["tau"].get<double>()) << ","
              << (norms.empty() ? "" : format_double(norms.back())) << "," << format_double(rR) << ",";
        if (ending == FlowEnding::Stationary)
          table << inertia.negative << "," << inertia.zero << "," << inertia.positive;
        else
          table << ",,";
        table << ",\"" << described << "\"\n";
        if (k == 0 && s == 0) first_case_end = ctx.commands().size();
      }
      json points = json::array();
      const std::vector<DistinctStationaryPoint> distinct = distinct_stationary_points(stationary, thresholds);
      for (const auto& d : distinct)
        points.push_back({{"T", d.point.sharpness},
                          {"starts", d.starts},
                          {"negative_eigenvalues", d.point.inertia.negative},
                          {"zero_eigenvalues", d.point.inertia.zero},
                          {"positive_eigenvalues", d.point.inertia.positive},
                          {"sigma2_over_sigma1_R", d.point.rank_one_ratio},
                          {"rank_one", described_as_rank_one({0.0, d.point.rank_one_ratio}, thresholds)}});
      rec["stationary_points"] = points;
      rec["escaping"] = escapes;
      rec["not_converged"] = not_converged;
      rec["failed"] = failed;
      rec["assumptions_at_end"] = described;
      ev << name << ", " << starts << " starts: ";
      std::vector<std::string> parts;
      for (const auto& d : distinct) {
        std::ostringstream p;
        p << d.starts << " reached a stationary point with T = " << short_number(d.point.sharpness, 6) << " ("
          << inertia_text(d.point.inertia) << "; sigma_2/sigma_1 of R " << short_number(d.point.rank_one_ratio, 3)
          << ")";
        parts.push_back(p.str());
      }
      if (!escapes.empty()) {
        double lo = INFINITY, hi = 0, tmin = INFINITY, tmax = 0, gmax = 0;
        for (const auto& e : escapes) {
          lo = std::min(lo, e["growth_over_second_half"].get<double>());
          hi = std::max(hi, e["preactivation_norm"].get<double>());
          tmin = std::min(tmin, e["T"].get<double>());
          tmax = std::max(tmax, e["T"].get<double>());
          gmax = std::max(gmax, e["grad_norm"].get<double>());
        }
        std::ostringstream p;
        p << escapes.size() << " escape to infinity (||R||_F still growing at tau = "
          << short_number(cfg["flow_time"].get<double>(), 3) << ", by at least " << short_number(100 * lo, 3)
          << "% over the second half, up to " << short_number(hi, 4) << ", while T levels off at "
          << short_number(tmin, 5)
          << (short_number(tmax, 5) != short_number(tmin, 5) ? " to " + short_number(tmax, 5) : std::string())
          << " and ||grad_M T|| <= "
          << short_number(gmax, 3) << ")";
        parts.push_back(p.str());
      }
      if (!not_converged.empty())
        parts.push_back(std::to_string(not_converged.size()) + " not converged by tau = " +
                        short_number(cfg["flow_time"].get<double>(), 3) + " (no end point reported)");
      if (!failed.empty()) parts.push_back(std::to_string(failed.size()) + " flows failed (see cases)");
      for (size_t i = 0; i < parts.size(); ++i) ev << (i ? "; " : "") << parts[i];
      ev << ". " << (described.empty() ? "" : described + ". ");
      try {
        ev << "Also, " << search_case(ctx, data, dir + "/" + sub + "_w0.csv", act, thresholds,
                                      dir + "/" + sub + "_stationary_points.csv", rec)
           << ". ";
      } catch (const Error& e) {
        rec["search"] = {{"status", "error"}, {"message", e.what()}};
        ev << "The stationary-point search failed: " << e.what() << ". ";
      }
    } catch (const std::exception& e) {
      rec["status"] = "error";
      rec["message"] = e.what();
      ev << name << ": " << e.what() << " ";
    }
    cases.push_back(rec);
    ++k;
  }
  write_file_atomic(dir + "/cases.csv", table.str());
  v.command =
      join_commands({ctx.commands().begin() + first, ctx.commands().begin() + std::max(first, first_case_end)}) +
      "\n# and the same from each start of each case, with `zeroloss inspect` at every stationary end point (all "
      "commands in logs/)";
  v.numbers = {{"cases", cases},
               {"starts", starts},
               {"flow_time", cfg["flow_time"]},
               {"until_gradient", thresholds.until_gradient},
               {"escape_growth", thresholds.escape_growth}};
  v.evidence = ev.str();
  return v;
}

}  // namespace zeroloss
