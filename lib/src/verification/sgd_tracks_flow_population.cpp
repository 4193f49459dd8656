#include "sgd_tracks_flow_population.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <thread>

#include <Eigen/Eigenvalues>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/io/weights.hpp"
#include "zeroloss/manifold/constraint_jacobian.hpp"
#include "zeroloss/model/activation.hpp"
#include "zeroloss/model/network.hpp"
#include "zeroloss/support/number_text.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/verification/shell_command.hpp"
#include "population_members.hpp"

namespace zeroloss {

using nlohmann::json;

namespace {

std::optional<double> number_or_none(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? std::optional<double>(j[key].get<double>())
                                                                : std::nullopt;
}

std::string number_or_empty(const std::optional<double>& x) { return x ? format_double(*x) : ""; }

// One problem of the population and one second layer.
struct Member {
  PopulationProblem problem;
  bool mixed = false;  // a mixed-sign second layer (else a = 1)
  std::string name() const { return problem.name() + (mixed ? "_mixed" : "_ones"); }
};

// lambda_max of Hess L = J^T J / n at a point of M: lambda_max(J J^T) / n, the curvature that sets
// the stability and the discretisation error of an SGD step (eta lambda_max).
double loss_hessian_lambda_max(const std::string& data_csv, const std::string& weights_csv, const std::string& act) {
  const Dataset ds = read_dataset_csv(data_csv);
  const Weights w = read_weights_csv(weights_csv, static_cast<int>(ds.X.cols()));
  const TwoLayerModel model(ds.X, ds.y, w.a, Activation::from_name(act));
  const ConstraintJacobian jacobian(model, evaluate(model, w.theta, 1));
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(jacobian.gram(), Eigen::EigenvaluesOnly).eigenvalues().maxCoeff() /
         static_cast<double>(ds.y.size());
}

}  // namespace

SgdTracksFlowEvidence sgd_tracks_flow_evidence_from(const json& tracking) {
  SgdTracksFlowEvidence e;
  const json& order = tracking["bias_order_fit"];
  e.bias_order = number_or_none(order, "exponent_p");
  e.bias_order_ci_low = number_or_none(order, "slope_ci_low");
  e.bias_order_ci_high = number_or_none(order, "slope_ci_high");
  const json& c = tracking["coefficient_fit"];
  e.coefficient = number_or_none(c, "estimate");
  e.coefficient_ci_low = number_or_none(c, "ci_low");
  e.coefficient_ci_high = number_or_none(c, "ci_high");
  e.reference_coefficient = tracking["reference_flow"]["reference_coefficient"].get<double>();
  return e;
}

SgdTracksFlowPopulation run_sgd_tracks_flow_population(VerificationContext& ctx, const SgdTracksFlowThresholds& t) {
  const json& claim = ctx.config()["sgd_tracks_flow"];
  const json& cfg = claim["population"];
  const json& problem = ctx.config()["problem"];
  const std::string act = problem["activation"].get<std::string>();
  std::vector<Member> members;
  for (const PopulationProblem& p : population_problems(cfg))
    for (bool mixed : {false, true}) members.push_back({p, mixed});
  std::vector<double> lrs;
  for (const auto& x : cfg["lr_list"]) lrs.push_back(x.get<double>());
  const double largest_lr = *std::max_element(lrs.begin(), lrs.end());
  const double step_curvature = cfg["step_curvature"].get<double>();
  const long long max_steps = cfg["max_steps_per_seed"].get<long long>();
  const double time = claim["time"].get<double>();
  const double F = claim["flow_coefficient_scale"].get<double>();  // the claim's flow, as on the anchor problem
  const double reference = F * claim["label_noise"].get<double>() * claim["label_noise"].get<double>() /
                           (4.0 * claim["batch"].get<int>());

  // Per member (quick, one after the other): data and start, the start's projection Phi_GF(W0) and
  // lambda_max of Hess L there, which sets the member's step sizes: the configured list scaled by
  // min(1, step_curvature / (lambda_max max lr_list)), so that eta lambda_max <= step_curvature. A
  // member whose SGD plan needs more than max_steps_per_seed steps per seed is not run (untested).
  // Then the comparisons in parallel.
  struct Plan {
    std::string dir, data_command;
    double lambda_max = 0, scale = 1;
    double time = 0;                  // the SGD time window t = eta^2 k
    int seeds = 0;                    // SGD runs per step size
    long long max_steps = 0;          // the member's budget (steps per seed)
    bool start_on_manifold = false;   // SGD starts at Phi_GF(W0) instead of W0
    long long steps_per_seed = 0;
    bool run = false;
    size_t batch_index = 0;
  };
  std::vector<Plan> plans(members.size());
  std::vector<VerificationContext::Command> batch;
  std::vector<double> cost;
  const std::string population_dir = ctx.dir("sgd_tracks_flow/population");
  for (size_t q = 0; q < members.size(); ++q) {
    const Member& mb = members[q];
    Plan& plan = plans[q];
    ctx.progress("SGD vs flow: population member " + std::to_string(q + 1) + "/" + std::to_string(members.size()) +
                 " (" + mb.name() + "), data and step sizes");
    plan.dir = ctx.dir("sgd_tracks_flow/population/" + mb.name());
    std::vector<std::string> args = population_data_args(mb.problem, problem);
    args.insert(args.end(), {"--out", plan.dir + "/data.csv", "--weights-out", plan.dir + "/start.csv", "--m",
                             std::to_string(mb.problem.m), "--init-scale", format_double(cfg["init_scale"].get<double>())});
    if (mb.mixed) args.push_back("--a-mixed");
    ctx.run("sgd_tracks_flow_population_" + mb.name() + "_data", args);
    plan.data_command = ctx.commands().back();
    ctx.run("sgd_tracks_flow_population_" + mb.name() + "_projection",
            {"project", "--data", plan.dir + "/data.csv", "--weights", plan.dir + "/start.csv", "--activation", act,
             "--method", "gradient-flow", "--out", plan.dir + "/projected_start.csv"});
    plan.lambda_max = loss_hessian_lambda_max(plan.dir + "/data.csv", plan.dir + "/projected_start.csv", act);
    plan.scale = std::min(1.0, step_curvature / (plan.lambda_max * largest_lr));
    // Figure 1 members have their own window, start, seeds and budget (figure1.time, ...): started on
    // M, SGD needs a window of order 1 there (docs/report.md, claim 3, "A closer look at the floor").
    const json& f1 = cfg["figure1"];
    const bool figure1 = !mb.problem.gaussian();
    plan.time = figure1 ? f1["time"].get<double>() : time;
    plan.seeds = figure1 ? f1["seeds"].get<int>() : cfg["seeds"].get<int>();
    plan.max_steps = figure1 ? f1["max_steps_per_seed"].get<long long>() : max_steps;
    plan.start_on_manifold = figure1 && f1["start_on_manifold"].get<bool>();
    std::string lr_list;
    for (double lr : lrs) {
      lr_list += (lr_list.empty() ? "" : ",") + format_double(plan.scale * lr);
      plan.steps_per_seed += std::llround(plan.time / (plan.scale * lr * plan.scale * lr));
    }
    plan.run = plan.steps_per_seed <= plan.max_steps;
    if (!plan.run) continue;
    plan.batch_index = batch.size();
    batch.push_back({"sgd_tracks_flow_population_" + mb.name(),
                     {"compare", "--data", plan.dir + "/data.csv", "--weights",
                      plan.dir + (plan.start_on_manifold ? "/projected_start.csv" : "/start.csv"), "--activation",
                      act, "--label-noise", format_double(claim["label_noise"].get<double>()), "--batch",
                      std::to_string(claim["batch"].get<int>()), "--lr-list", lr_list, "--time", format_double(plan.time),
                      "--seeds", std::to_string(plan.seeds), "--points",
                      std::to_string(claim["points"].get<int>()), "--threads", "1", "--no-figures", "--out",
                      plan.dir + "/compare"}});
    if (F != 1) batch.back().args.insert(batch.back().args.end(), {"--flow-coefficient-scale", format_double(F)});
    // The longest first: SGD steps times the cost of a step (n d m).
    cost.push_back(static_cast<double>(plan.steps_per_seed) * plan.seeds * mb.problem.n * mb.problem.d * mb.problem.m);
  }
  ctx.progress("SGD vs flow: " + std::to_string(batch.size()) + " population members in parallel");
  const size_t batch_first = ctx.commands().size();
  const std::vector<int> codes =
      ctx.try_run_parallel(batch, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), cost);
  for (size_t k = 0; k < batch.size(); ++k)
    if (codes[k] != 0)
      throw CommandFailedError("`" + ctx.commands()[batch_first + k] + "` exited with code " +
                               std::to_string(codes[k]) + ": " +
                               tail_of_file(ctx.out() + "/logs/" + batch[k].log_name + ".err", 3) + "(full output in " +
                               ctx.out() + "/logs/" + batch[k].log_name + ".out/.err)");

  SgdTracksFlowPopulation out;
  std::ostringstream table;
  const std::string header =
      "family,n,d,m,data_seed,layer,start,time,seeds,loss_hessian_lambda_max,step_scale,largest_step,steps_per_seed,"
      "reference_coefficient,c,c_ci_low,c_ci_high,c_relative_width,bias_order,bias_order_ci_low,bias_order_ci_high,"
      "tested,held,untested_reason\n";
  int tested = 0, held = 0, not_run = 0;
  std::optional<size_t> worst;  // the worst member: a tested one that fails, else the largest |c/ref - 1|
  // A member's standing under family-wise error control over the whole population (sgd_tracks_flow_rule.hpp).
  auto standing = [&](const SgdTracksFlowEvidence& e) { return sgd_tracks_flow_member_standing(e, t, members.size()); };
  auto badness = [&](size_t k) {
    const SgdTracksFlowEvidence& e = out.members[k];
    const MemberStanding st = standing(e);
    const bool dec = st != MemberStanding::Undecided;
    const bool ok = st == MemberStanding::Holds;
    const double off = e.coefficient ? std::abs(*e.coefficient / e.reference_coefficient - 1) : HUGE_VAL;
    return std::make_tuple(dec && !ok, dec, off);
  };
  json listed = json::array();
  for (size_t k = 0; k < members.size(); ++k) {
    const Member& mb = members[k];
    const Plan& plan = plans[k];
    SgdTracksFlowEvidence e;
    e.reference_coefficient = reference;
    if (plan.run) e = sgd_tracks_flow_evidence_from(read_json_file(plan.dir + "/compare/flow_tracking.json"));
    e.family = mb.problem.family_label();
    out.members.push_back(e);
    const MemberStanding st = standing(e);
    const bool dec = st != MemberStanding::Undecided;
    const Decision md = decide_sgd_tracks_flow(e, t);
    const bool ok = st == MemberStanding::Holds;
    tested += dec ? 1 : 0;
    held += ok ? 1 : 0;
    not_run += plan.run ? 0 : 1;
    const std::string reason = dec         ? ""
                               : !plan.run ? "budget: " + std::to_string(plan.steps_per_seed) +
                                                 " SGD steps per seed > " + std::to_string(plan.max_steps)
                               : !md.held(kRuleCoefficientResolved)
                                   ? "coefficient interval not narrower than coefficient_tolerance s^2/(4B)"
                               : !md.held(kRuleCoefficientMatches)
                                   ? "coefficient interval misses s^2/(4B) at 95% but not at the family-wise level"
                                   : "bias order interval straddles an end of [min_bias_order, max_bias_order] (at 95%, or once widened to the family-wise level)";
    const std::optional<double> width =
        e.coefficient_ci_low && e.coefficient_ci_high
            ? std::optional<double>((*e.coefficient_ci_high - *e.coefficient_ci_low) / e.reference_coefficient)
            : std::nullopt;
    table << mb.problem.family << "," << mb.problem.n << "," << mb.problem.d << "," << mb.problem.m << ","
          << mb.problem.seed << "," << (mb.mixed ? "mixed" : "ones") << ","
          << (plan.start_on_manifold ? "projected" : "given") << "," << format_double(plan.time) << "," << plan.seeds
          << "," << format_double(plan.lambda_max) << ","
          << format_double(plan.scale) << "," << format_double(plan.scale * largest_lr) << "," << plan.steps_per_seed
          << "," << format_double(e.reference_coefficient) << "," << number_or_empty(e.coefficient) << ","
          << number_or_empty(e.coefficient_ci_low) << "," << number_or_empty(e.coefficient_ci_high) << ","
          << number_or_empty(width) << "," << number_or_empty(e.bias_order) << ","
          << number_or_empty(e.bias_order_ci_low) << "," << number_or_empty(e.bias_order_ci_high) << ","
          << (dec ? "yes" : "no") << "," << (dec ? (ok ? "yes" : "no") : "") << ","
          << (reason.empty() ? "" : "\"" + reason + "\"") << "\n";  // quoted: the reasons hold commas
    listed.push_back({{"member", mb.name()},
                      {"family", e.family},
                      {"start", plan.start_on_manifold ? "projected" : "given"},
                      {"time", plan.time},
                      {"seeds", plan.seeds},
                      {"loss_hessian_lambda_max", plan.lambda_max},
                      {"largest_step", plan.scale * largest_lr},
                      {"steps_per_seed", plan.steps_per_seed},
                      {"tested", dec},
                      {"held", dec ? json(ok) : json(nullptr)},
                      {"untested_reason", dec ? json(nullptr) : json(reason)}});
    if (!worst || badness(k) > badness(*worst)) worst = k;
  }
  write_population_table(population_dir, header, table.str());

  json numbers = {{"members", members.size()},
                  {"tested", tested},
                  {"held", held},
                  {"not_run", not_run},
                  {"min_tested_fraction", t.min_tested_fraction},
                  {"lr_list", cfg["lr_list"]},
                  {"step_curvature", step_curvature},
                  {"max_steps_per_seed", max_steps},
                  {"seeds", cfg["seeds"]},
                  {"figure1", {{"time", cfg["figure1"]["time"]},
                               {"seeds", cfg["figure1"]["seeds"]},
                               {"max_steps_per_seed", cfg["figure1"]["max_steps_per_seed"]},
                               {"start_on_manifold", cfg["figure1"]["start_on_manifold"]}}},
                  {"per_member", listed}};
  std::string lr_text;
  for (double lr : lrs) lr_text += (lr_text.empty() ? "" : ",") + format_double(lr);
  std::ostringstream ev;
  ev << population_description(cfg) << ", each for a = 1 and a mixed-sign a (" << members.size() << " members, "
     << cfg["seeds"].get<int>() << " SGD runs per step size; a member's step sizes are the list {" << lr_text
     << "} scaled so that eta lambda_max(Hess L at Phi(W0)) <= " << short_number(step_curvature, 3)
     << "; Gaussian members from W0 over t = " << short_number(time, 3) << ", Figure 1 members from "
     << (cfg["figure1"]["start_on_manifold"].get<bool>() ? "Phi_GF(W0)" : "W0") << " over t = "
     << short_number(cfg["figure1"]["time"].get<double>(), 3) << " with " << cfg["figure1"]["seeds"].get<int>()
     << " runs per step size): " << tested
     << " tested (intervals that decide the claim), " << held << " of them held the claim, "
     << members.size() - tested << " untested (not counted; " << not_run << " of them not run: more than "
     << max_steps << " SGD steps per seed, Figure 1 members "
     << cfg["figure1"]["max_steps_per_seed"].get<long long>() << ")";
  if (worst) {
    const Member& w = members[*worst];
    const SgdTracksFlowEvidence& e = out.members[*worst];
    const json rerun_config = population_rerun_config("sgd_tracks_flow", w.problem);
    numbers["worst_member"] = {{"member", w.name()},
                               {"tested", standing(e) != MemberStanding::Undecided},
                               {"coefficient", number_or_empty(e.coefficient)},
                               {"coefficient_ci", {number_or_empty(e.coefficient_ci_low), number_or_empty(e.coefficient_ci_high)}},
                               {"bias_order", number_or_empty(e.bias_order)},
                               {"data_command", plans[*worst].data_command},
                               {"compare_command", plans[*worst].run
                                                       ? json(ctx.commands()[batch_first + plans[*worst].batch_index])
                                                       : json(nullptr)},
                               {"rerun_config", rerun_config}};
    ev << ". Worst member " << w.name() << ": c = "
       << (e.coefficient ? short_number(*e.coefficient, 4) : std::string("not fitted"));
    if (e.coefficient_ci_low && e.coefficient_ci_high)
      ev << " [" << short_number(*e.coefficient_ci_low, 4) << ", " << short_number(*e.coefficient_ci_high, 4) << "]";
    ev << " against " << short_number(e.reference_coefficient, 4) << ", bias order "
       << (e.bias_order ? short_number(*e.bias_order, 3) : std::string("not fitted"))
       << (standing(e) != MemberStanding::Undecided ? "" : " (untested)") << population_rerun_sentence(rerun_config, " (both layers)");
  }
  ev << ".";
  out.numbers = numbers;
  out.evidence = ev.str();

  // The distribution: c/ref with its interval per member, tested and untested apart, and the band.
  PlotSpec fig = population_plot("SGD vs flow on the population: fitted flow coefficient / s^2/(4B), with 95% intervals",
                                 "c / (s^2/(4B))");
  PlotSeries tc{"tested member", {}, {}, PlotStyle::Points, "#1f77b4", false};
  PlotSeries uc{"untested member (intervals do not decide)", {}, {}, PlotStyle::Points, "#ff7f0e", false};
  PlotSeries ends{"interval ends", {}, {}, PlotStyle::Points, "#7f7f7f", false};
  for (size_t k = 0; k < out.members.size(); ++k) {
    const SgdTracksFlowEvidence& e = out.members[k];
    if (!e.coefficient) continue;
    PlotSeries& s = standing(e) != MemberStanding::Undecided ? tc : uc;
    s.x.push_back(static_cast<double>(k));
    s.y.push_back(*e.coefficient / e.reference_coefficient);
    for (const auto& end : {e.coefficient_ci_low, e.coefficient_ci_high})
      if (end) {
        ends.x.push_back(static_cast<double>(k));
        ends.y.push_back(*end / e.reference_coefficient);
      }
  }
  fig.series = {tc, uc, ends};
  const double x_end = static_cast<double>(std::max<size_t>(out.members.size(), 1));
  for (const auto& [label, level, color] :
       {std::tuple<const char*, double, const char*>{"the claim, 1", 1.0, "black"},
        {"1 -/+ coefficient_tolerance", 1 - t.coefficient_tolerance, "#7f7f7f"},
        {"", 1 + t.coefficient_tolerance, "#7f7f7f"}})
    fig.series.push_back({label, {0.0, x_end}, {level, level}, PlotStyle::Lines, color, true});
  if (write_svg_plot(fig, population_dir + "/population.svg").written)
    out.figures.push_back({"sgd_tracks_flow/population/population.svg",
                           "Per member of the population (problem and second layer), the flow coefficient fitted to the "
                           "mean projected SGD path and extrapolated to eta = 0, over s^2/(4B), with its 95% interval "
                           "ends; blue: tested members, orange: untested (intervals that do not decide the claim); dashed: the "
                           "claim's value and the 10% band. Members not run (an SGD plan beyond max_steps_per_seed) "
                           "have no point.",
                           "sgd_tracks_flow/population/members.csv"});
  return out;
}

}  // namespace zeroloss
