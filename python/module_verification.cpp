// The verification report from Python: the pure decision rules of its claims (verification/
// <claim>_rule.hpp: decide_<claim> on evidence, no process started) and the whole report
// (write_verification_report, which runs the `zeroloss` program for its commands).
#include <filesystem>
#include <functional>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "module_common.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/verification/diagonal_sparse_interpolator_rule.hpp"
#include "zeroloss/verification/flow_rate_rule.hpp"
#include "zeroloss/verification/global_minimum_rule.hpp"
#include "zeroloss/verification/sgd_tracks_flow_rule.hpp"
#include "zeroloss/verification/local_convexity_rule.hpp"
#include "zeroloss/verification/rank_one_sgd_rule.hpp"
#include "zeroloss/verification/verification_config.hpp"
#include "zeroloss/verification/verification_report.hpp"

namespace zeroloss::python {
namespace {

namespace fs = std::filesystem;

// Fills a struct from a dict whose keys are the struct's field names (InputError naming the key for
// an unknown one or a value of the wrong type).
template <class T>
class FieldReader {
 public:
  using Setter = std::function<void(T&, py::handle)>;
  template <class V>
  FieldReader& field(const char* name, V T::*member) {
    setters_[name] = [member](T& t, py::handle value) { t.*member = value.cast<V>(); };
    return *this;
  }
  // A field read by `setter(t, value)` (which throws InputError naming what it expected).
  FieldReader& custom(const char* name, Setter setter) {
    setters_[name] = std::move(setter);
    return *this;
  }
  T read(py::handle item, const std::string& what) const {
    T t;
    for (auto kv : py::cast<py::dict>(item)) {
      const std::string key = py::str(kv.first);
      auto it = setters_.find(key);
      if (it == setters_.end()) {
        std::string names;
        for (const auto& s : setters_) names += (names.empty() ? "" : ", ") + s.first;
        throw InputError(what + ": unknown key '" + key + "'; expected some of " + names);
      }
      try {
        it->second(t, kv.second);
      } catch (const py::cast_error&) {
        throw InputError(what + ": key '" + key + "' has the wrong type (" +
                         std::string(py::str(py::type::of(kv.second).attr("__name__"))) + ")");
      }
    }
    return t;
  }
  std::vector<T> read_list(const py::iterable& items, const std::string& what) const {
    std::vector<T> out;
    for (auto item : items) out.push_back(read(item, what + " " + std::to_string(out.size() + 1)));
    return out;
  }

 private:
  std::map<std::string, Setter> setters_;
};

py::dict decision_dict(const Decision& d) {
  py::list rules;
  for (const auto& r : d.rules)
    rules.append(py::dict(py::arg("rule") = r.rule, py::arg("held") = r.held,
                          py::arg("kind") = r.kind == RuleKind::Coverage ? "coverage" : "evidence"));
  return py::dict(py::arg("status") = to_string(d.status), py::arg("rules") = rules);
}

const FieldReader<RankOneSgdMember>& rank_one_reader() {
  static const auto r = FieldReader<RankOneSgdMember>()
                            .field("data_seed", &RankOneSgdMember::data_seed)
                            .field("lambda_min", &RankOneSgdMember::lambda_min)
                            .field("predicted_flow_time", &RankOneSgdMember::predicted_flow_time)
                            .field("budget_steps", &RankOneSgdMember::budget_steps)
                            .field("tested", &RankOneSgdMember::tested)
                            .field("completed", &RankOneSgdMember::completed)
                            .field("final_ratios", &RankOneSgdMember::final_ratios)
                            .field("rank_one_flow_time", &RankOneSgdMember::rank_one_flow_time);
  return r;
}

const FieldReader<LocalConvexityMember>& local_convexity_reader() {
  static const auto r = FieldReader<LocalConvexityMember>()
                            .field("data_seed", &LocalConvexityMember::data_seed)
                            .field("completed", &LocalConvexityMember::completed)
                            .field("lambda_min_at_minimizer", &LocalConvexityMember::lambda_min_at_minimizer)
                            .field("convex_points_below", &LocalConvexityMember::convex_points_below)
                            .field("convex_up_to", &LocalConvexityMember::convex_up_to)
                            .field("counterexample_at", &LocalConvexityMember::counterexample_at);
  return r;
}

const FieldReader<CurvatureObservation>& observation_reader() {
  static const auto r = FieldReader<CurvatureObservation>()
                            .field("anchor", &CurvatureObservation::anchor)
                            .field("grad_norm", &CurvatureObservation::grad_norm)
                            .field("negative", &CurvatureObservation::negative)
                            .field("search_eps", &CurvatureObservation::search_eps);
  return r;
}

const FieldReader<FlowRateMember>& flow_rate_reader() {
  static const auto r = FieldReader<FlowRateMember>()
                            .field("name", &FlowRateMember::name)
                            .field("completed", &FlowRateMember::completed)
                            .field("sharpness_star", &FlowRateMember::sharpness_star)
                            .field("lambda_min", &FlowRateMember::lambda_min)
                            .field("predicted_rate", &FlowRateMember::predicted_rate)
                            .field("initial_gap", &FlowRateMember::initial_gap)
                            .field("final_gap", &FlowRateMember::final_gap)
                            .field("fitted", &FlowRateMember::fitted)
                            .field("fitted_rate", &FlowRateMember::fitted_rate);
  return r;
}

const FieldReader<GlobalMinimumRun>& global_minimum_run_reader() {
  static const auto r =
      FieldReader<GlobalMinimumRun>()
          .field("mixed_second_layer", &GlobalMinimumRun::mixed_second_layer)
          .custom("method",
                  [](GlobalMinimumRun& run, py::handle value) {
                    const std::string m = py::str(value);
                    if (m != "flow" && m != "lbfgs")
                      throw InputError("decide_global_minimum: run key 'method' is '" + m +
                                       "'; expected 'flow' or 'lbfgs'");
                    run.method = m == "flow" ? MinimumSearch::Flow : MinimumSearch::Lbfgs;
                  })
          .field("completed", &GlobalMinimumRun::completed)
          .field("sharpness", &GlobalMinimumRun::sharpness)
          .field("sharpness_star", &GlobalMinimumRun::sharpness_star)
          .field("grad_norm", &GlobalMinimumRun::grad_norm)
          .field("dist_R_opt", &GlobalMinimumRun::dist_R_opt)
          .field("rank_one_ratio", &GlobalMinimumRun::rank_one_ratio)
          .field("preactivation_norm", &GlobalMinimumRun::preactivation_norm)
          .field("phi2_rank_one_ratio", &GlobalMinimumRun::phi2_rank_one_ratio)
          .field("second_derivative_norm", &GlobalMinimumRun::second_derivative_norm)
          .field("third_derivative_bound", &GlobalMinimumRun::third_derivative_bound)
          .field("lambda_min", &GlobalMinimumRun::lambda_min)
          .field("data_norm", &GlobalMinimumRun::data_norm);
  return r;
}

const FieldReader<StationarySearchPoint>& search_point_reader() {
  static const auto r = FieldReader<StationarySearchPoint>()
                            .field("converged", &StationarySearchPoint::converged)
                            .field("sharpness", &StationarySearchPoint::sharpness)
                            .field("sharpness_star", &StationarySearchPoint::sharpness_star)
                            .field("negative_eigenvalues", &StationarySearchPoint::negative_eigenvalues)
                            .field("zero_eigenvalues", &StationarySearchPoint::zero_eigenvalues);
  return r;
}

const FieldReader<StationarySearchMember>& search_member_reader() {
  static const auto r = FieldReader<StationarySearchMember>()
                            .field("family", &StationarySearchMember::family)
                            .field("starts", &StationarySearchMember::starts)
                            .field("converged", &StationarySearchMember::converged);
  return r;
}

const FieldReader<SgdTracksFlowEvidence>& tracking_reader() {
  static const auto r = FieldReader<SgdTracksFlowEvidence>()
                            .field("bias_order", &SgdTracksFlowEvidence::bias_order)
                            .field("bias_order_ci_low", &SgdTracksFlowEvidence::bias_order_ci_low)
                            .field("bias_order_ci_high", &SgdTracksFlowEvidence::bias_order_ci_high)
                            .field("coefficient", &SgdTracksFlowEvidence::coefficient)
                            .field("coefficient_ci_low", &SgdTracksFlowEvidence::coefficient_ci_low)
                            .field("coefficient_ci_high", &SgdTracksFlowEvidence::coefficient_ci_high)
                            .field("reference_coefficient", &SgdTracksFlowEvidence::reference_coefficient)
                            .field("family", &SgdTracksFlowEvidence::family);
  return r;
}

const FieldReader<DiagonalInterpolatorMember>& interpolator_reader() {
  static const auto r = FieldReader<DiagonalInterpolatorMember>()
                            .field("data_seed", &DiagonalInterpolatorMember::data_seed)
                            .field("completed", &DiagonalInterpolatorMember::completed)
                            .field("w", &DiagonalInterpolatorMember::w)
                            .field("sharpness", &DiagonalInterpolatorMember::sharpness)
                            .field("w_star", &DiagonalInterpolatorMember::w_star)
                            .field("certified_support", &DiagonalInterpolatorMember::certified_support)
                            .field("sharpness_star", &DiagonalInterpolatorMember::sharpness_star);
  return r;
}

// The default zeroloss program: build/bin/zeroloss beside build/python/ (where the module lives).
std::string default_program() {
  const fs::path module = py::module_::import("zeroloss").attr("__file__").cast<std::string>();
  return (module.parent_path().parent_path() / "bin" / "zeroloss").string();
}

py::object run_report(const std::string& out, bool quick, const py::object& config, std::optional<std::string> program,
                      bool overwrite, bool resume, py::object progress) {
  std::string text = "null";
  if (!config.is_none())
    text = py::isinstance<py::str>(config) ? config.cast<std::string>()
                                           : py::module_::import("json").attr("dumps")(config).cast<std::string>();
  const nlohmann::json cfg = parse_verification_config(text, "config", quick);
  VerificationReportOptions options;
  options.out = fs::absolute(out).string();
  options.overwrite = overwrite;
  options.resume = resume;
  options.program = program ? *program : default_program();
  if (!fs::exists(options.program))
    throw InputError("run_report: the zeroloss program " + options.program +
                     " does not exist; build it (scripts/build) or pass program=PATH");
  PythonPoller poller(std::move(progress));
  options.interrupt = poller.flag();
  call_polling(poller, [&] {
    write_verification_report(cfg, options, [&](const std::string& line) {
      poller.poll([&] { return py::make_tuple(line); });
    });
  });
  const std::string summary = (fs::path(options.out) / "summary.json").string();
  return py::module_::import("json").attr("loads")(py::module_::import("pathlib").attr("Path")(summary).attr("read_text")());
}

}  // namespace

void bind_verification(py::module_& m) {
  const RankOneSgdThresholds r1;
  m.def(
      "decide_rank_one_sgd",
      [](const py::iterable& members, double rank_one_threshold, double min_tested_fraction) {
        RankOneSgdEvidence e{rank_one_reader().read_list(members, "decide_rank_one_sgd: member")};
        return decision_dict(decide_rank_one_sgd(e, RankOneSgdThresholds{rank_one_threshold, min_tested_fraction}));
      },
      py::arg("members"), py::arg("rank_one_threshold") = r1.rank_one_threshold,
      py::arg("min_tested_fraction") = r1.min_tested_fraction, R"doc(
Claim 4's rule (the paper's Figure 1: label-noise SGD makes Phi rank one), on evidence given as a list
of dicts, one per data draw, with the keys of RankOneSgdMember (verification/rank_one_sgd_rule.hpp):
data_seed, lambda_min, predicted_flow_time, budget_steps, tested, completed, final_ratios
(sigma_k(Phi)/sigma_1(Phi), k >= 2, at the last step), rank_one_flow_time. Rules: population_tested
(tested / draws >= min_tested_fraction), runs_completed, feature_rank_one (every tested draw ends with
sigma_2/sigma_1 < rank_one_threshold). Returns {'status': 'pass' | 'fail' | 'inconclusive', 'rules':
[{'rule', 'held', 'kind'}]}: 'fail' when an evidence rule failed, 'inconclusive' when only the coverage
rule population_tested failed (too few draws tested: the claim untested, not refuted).)doc");

  const LocalConvexityThresholds lc;
  m.def(
      "decide_local_convexity",
      [](const py::iterable& members, double stationary_gradient, int min_convex_points, double max_bracket_ratio) {
        LocalConvexityEvidence e{local_convexity_reader().read_list(members, "decide_local_convexity: member")};
        return decision_dict(
            decide_local_convexity(e, LocalConvexityThresholds{stationary_gradient, min_convex_points, max_bracket_ratio}));
      },
      py::arg("members"), py::arg("stationary_gradient") = lc.stationary_gradient,
      py::arg("min_convex_points") = lc.min_convex_points, py::arg("max_bracket_ratio") = lc.max_bracket_ratio, R"doc(
Claim 5's rule (THEORY 6: T is geodesically convex near its stationary points, not globally), on
members given as dicts with the keys of LocalConvexityMember: data_seed, completed,
lambda_min_at_minimizer, convex_points_below, convex_up_to (g_lo), counterexample_at (g_hi; inf when
none was found) - curvature_bracket makes the last three from a draw's observations. Rules:
members_completed, positive_definite_at_minimizer, convex_near_stationarity, not_globally_convex,
threshold_located (g_hi / g_lo <= max_bracket_ratio). Returns {'status', 'rules'}.)doc");

  m.def(
      "curvature_bracket",
      [](const py::iterable& observations, double stationary_gradient, int min_convex_points,
         double max_bracket_ratio) {
        const LocalConvexityMember b = curvature_bracket(
            observation_reader().read_list(observations, "curvature_bracket: observation"),
            LocalConvexityThresholds{stationary_gradient, min_convex_points, max_bracket_ratio});
        return py::dict(py::arg("convex_up_to") = b.convex_up_to, py::arg("counterexample_at") = b.counterexample_at,
                        py::arg("convex_points_below") = b.convex_points_below);
      },
      py::arg("observations"), py::arg("stationary_gradient") = lc.stationary_gradient,
      py::arg("min_convex_points") = lc.min_convex_points, py::arg("max_bracket_ratio") = lc.max_bracket_ratio, R"doc(
From one draw's curvature observations (dicts with keys anchor, grad_norm, negative, search_eps: e.g.
the rows of analyze_convexity's 'points' and 'search'), the bracket of the convexity threshold:
g_hi = the smallest ||grad_M T|| with negative curvature ('counterexample_at'), g_lo = the largest
search eps below g_hi whose region was found convex ('convex_up_to'), and the number of non-anchor,
non-stationary observations below g_lo ('convex_points_below').)doc");

  const FlowRateThresholds fr;
  m.def(
      "decide_flow_rate",
      [](const py::iterable& members, bool optimum_known, double reach_tolerance, double rate_tolerance) {
        FlowRateEvidence e{optimum_known, flow_rate_reader().read_list(members, "decide_flow_rate: member")};
        return decision_dict(decide_flow_rate(e, FlowRateThresholds{reach_tolerance, rate_tolerance}));
      },
      py::arg("members"), py::arg("optimum_known") = true, py::arg("reach_tolerance") = fr.reach_tolerance,
      py::arg("rate_tolerance") = fr.rate_tolerance, R"doc(
Claim 2's rule (THEORY 5, 6, 10: the flow of T reaches T* at the rate 2 lambda_min(Hess_M T at T*)),
on members given as dicts with the keys of FlowRateMember: name, completed, sharpness_star,
lambda_min, predicted_rate, initial_gap, final_gap (|T - T*|/T* at the end), fitted, fitted_rate.
Rules: flows_completed, reaches_optimum (final_gap <= reach_tolerance), rate_fitted, rate_matches
(|fitted/predicted - 1| <= rate_tolerance); 'not-applicable' without a closed-form T*.)doc");

  const GlobalMinimumThresholds gm;
  m.def(
      "decide_global_minimum",
      [](const py::iterable& runs, const py::iterable& search, std::optional<int> search_starts,
         const py::iterable& population, double relative_tolerance, double rank_tolerance, double until_gradient,
         double lbfgs_gradient, double safety_factor, double search_min_converged_fraction,
         double population_min_tested_fraction) {
        GlobalMinimumEvidence e;
        e.runs = global_minimum_run_reader().read_list(runs, "decide_global_minimum: run");
        e.search = search_point_reader().read_list(search, "decide_global_minimum: search point");
        e.search_starts = search_starts ? *search_starts : static_cast<int>(e.search.size());
        e.population = search_member_reader().read_list(population, "decide_global_minimum: population member");
        const GlobalMinimumThresholds t{relative_tolerance, rank_tolerance, until_gradient,
                                        lbfgs_gradient,     safety_factor,  search_min_converged_fraction,
                                        population_min_tested_fraction};
        return decision_dict(decide_global_minimum(e, t));
      },
      py::arg("runs"), py::arg("search") = py::list(), py::arg("search_starts") = py::none(),
      py::arg("population") = py::list(), py::arg("relative_tolerance") = gm.relative_tolerance,
      py::arg("rank_tolerance") = gm.rank_tolerance, py::arg("until_gradient") = gm.until_gradient,
      py::arg("lbfgs_gradient") = gm.lbfgs_gradient, py::arg("safety_factor") = gm.safety_factor,
      py::arg("search_min_converged_fraction") = gm.search_min_converged_fraction,
      py::arg("population_min_tested_fraction") = gm.population_min_tested_fraction, R"doc(
Claim 1's rule (THEORY 5: every stationary point of T on M is the global, rank-one minimum), on
evidence given as lists of dicts (verification/global_minimum_rule.hpp).
runs: one dict per flow or L-BFGS run, with the keys of GlobalMinimumRun: mixed_second_layer, method
('flow' or 'lbfgs'), completed, sharpness (T at the end point), sharpness_star (the closed-form T*),
grad_norm (||grad_M T||), dist_R_opt (flows: ||R - R*||_F), rank_one_ratio (sigma_2/sigma_1 of
R = X Theta^T), preactivation_norm (sigma_1(R)), phi2_rank_one_ratio, second_derivative_norm,
third_derivative_bound (L-BFGS: of phi2(R) = phi''(R) and max |phi3|), lambda_min (of Hess_M T at the
minimiser), data_norm (sigma_max(X)).
search: the stationary-point search, one dict per start: converged, sharpness, sharpness_star,
negative_eigenvalues, zero_eigenvalues (the inertia of Hess_M T there); search_starts: how many starts
were made (default len(search); 0: no search). population: dicts with family, starts, converged.
Rules: runs_completed (at least one run, every one completed), optimal_value (|T - T*|/|T*| <=
relative_tolerance), stationary (flows: ||grad_M T|| < 10 until_gradient; L-BFGS: <= lbfgs_gradient
|T*|), rank_one and optimal_point (tolerances from the first-order displacement bound
sigma_max(X) ||grad_M T|| / lambda_min times safety_factor, plus rank_tolerance), search_converged
(coverage), every_stationary_point_global (T = T* and Hess_M T positive definite at every converged
point), search_population_tested (coverage). Returns {'status', 'rules': [{'rule', 'held', 'kind'}]}.)doc");

  const SgdTracksFlowThresholds sf;
  m.def(
      "decide_sgd_tracks_flow",
      [](const py::dict& evidence, double min_bias_order, double max_bias_order, double coefficient_tolerance) {
        const SgdTracksFlowThresholds t{min_bias_order, max_bias_order, coefficient_tolerance};
        return decision_dict(decide_sgd_tracks_flow(tracking_reader().read(evidence, "decide_sgd_tracks_flow"), t));
      },
      py::arg("evidence"), py::arg("min_bias_order") = sf.min_bias_order, py::arg("max_bias_order") = sf.max_bias_order,
      py::arg("coefficient_tolerance") = sf.coefficient_tolerance, R"doc(
Claim 3's rule on one problem (THEORY 7, Li-Wang-Arora: label-noise SGD on the time scale t = eta^2 k
follows the flow dTheta/dt = -(s^2/(4B)) grad_M T, closer as eta shrinks), on the evidence of
`zeroloss compare` (flow_tracking.json) as a dict with the keys of SgdTracksFlowEvidence: bias_order
(p in bias ~ b eta^p) with bias_order_ci_low / bias_order_ci_high (its 95% interval), coefficient
(the fitted flow coefficient, extrapolated to eta -> 0) with coefficient_ci_low /
coefficient_ci_high, reference_coefficient (F s^2/(4B) of the reference flow), family. A missing
(None) value fails the rule that needs it. Rules (docs/report.md, claim 3): bias_order_near_one
(evidence: the interval is not wholly outside the band [min_bias_order, max_bias_order]),
bias_order_resolved (coverage: the interval lies within the band or wholly outside it; one that
straddles an end decides nothing), coefficient_matches (evidence: the interval contains the
reference), coefficient_resolved (coverage: the interval within ((1 - tol) ref, (1 + tol) ref), tol =
coefficient_tolerance). Returns {'status', 'rules'}: 'fail' when an evidence rule failed,
'inconclusive' when only a coverage rule did.)doc");

  m.def(
      "decide_sgd_tracks_flow_population",
      [](const py::iterable& members, double min_bias_order, double max_bias_order, double coefficient_tolerance,
         double min_tested_fraction) {
        const SgdTracksFlowThresholds t{min_bias_order, max_bias_order, coefficient_tolerance, min_tested_fraction};
        return decision_dict(decide_sgd_tracks_flow_population(
            tracking_reader().read_list(members, "decide_sgd_tracks_flow_population: member"), t));
      },
      py::arg("members"), py::arg("min_bias_order") = sf.min_bias_order, py::arg("max_bias_order") = sf.max_bias_order,
      py::arg("coefficient_tolerance") = sf.coefficient_tolerance,
      py::arg("min_tested_fraction") = sf.min_tested_fraction, R"doc(
Claim 3's rule over a population of problems, members as dicts with the keys of
decide_sgd_tracks_flow's evidence. A member holds when its 95% intervals decide the claim and pass
(sgd_tracks_flow_decidable: the coefficient's interval shorter than tol ref, and it misses ref or
the bias order's interval lies within the band or wholly outside it); it refutes the claim only at
the family-wise level: with its intervals widened about their midpoints to the level 1 - 0.05/N over
the N members (Bonferroni; the order's interval as a Student t with 2 degrees of freedom, four step
sizes) they still decide against it; otherwise it is untested. Rules: population_tested (coverage:
at least min_tested_fraction of the members hold or refute, at least one, one in every family) and
population_holds (no member refutes). Returns {'status', 'rules'}: 'fail' when a member refutes,
'inconclusive' when too few are tested.)doc");

  const DiagonalInterpolatorThresholds di;
  m.def(
      "decide_diagonal_sparse_interpolator",
      [](const py::iterable& members, double relative_distance_tolerance, double sharpness_gap_tolerance,
         double support_threshold) {
        DiagonalInterpolatorEvidence e{
            interpolator_reader().read_list(members, "decide_diagonal_sparse_interpolator: member")};
        return decision_dict(decide_diagonal_sparse_interpolator(
            e, DiagonalInterpolatorThresholds{relative_distance_tolerance, sharpness_gap_tolerance, support_threshold}));
      },
      py::arg("members"), py::arg("relative_distance_tolerance") = di.relative_distance_tolerance,
      py::arg("sharpness_gap_tolerance") = di.sharpness_gap_tolerance,
      py::arg("support_threshold") = di.support_threshold, R"doc(
Claim 7's rule (THEORY 9: label-noise SGD on the diagonal linear network f(x) = <u*u - v*v, x> reaches
the weighted-l1 interpolator w* = argmin { sum_k c_k |w_k| : X w = y }, c_k = sum_i x_ik^2, where T
is minimal on M: T* = (4/n) sum_k c_k |w*_k|), on members given as dicts with the keys of
DiagonalInterpolatorMember: data_seed, completed, w (u*u - v*v at SGD's end point projected onto M),
sharpness (T there), w_star, certified_support (the k with w*_k != 0, 0-based, increasing),
sharpness_star. Rules: members_completed (at least one member, every one completed),
near_interpolator (||w - w*|| / ||w*|| <= relative_distance_tolerance), sharpness_gap (|T - T*| <=
sharpness_gap_tolerance T*), support_recovered ({k : |w_k| > support_threshold max_j |w_j|} equals
certified_support). Returns {'status', 'rules'}.)doc");

  m.def("run_report", &run_report, py::arg("out"), py::arg("quick") = true, py::arg("config") = py::none(),
        py::arg("program") = py::none(), py::arg("overwrite") = false, py::arg("resume") = false,
        py::arg("progress") = py::none(), R"doc(
Runs the verification report (`zeroloss run`, docs/report.md) into the folder `out` and returns its
summary.json as a dict (verdicts.<claim>.status, rules, power, evidence). quick: the `--quick`
settings. config: a dict or JSON text merged over the default configuration (e.g. {"claims":
["global_minimum"]}; errors name the key). The claims run the `zeroloss` program (`program`, default
build/bin/zeroloss beside the module's build/python/). progress(line) receives each progress line.
The GIL is released. Ctrl-C (or an exception raised by `progress`) stops the report at its next
check - before each claim and each command; the running command is sent SIGINT - and is raised: the
verdicts decided so far stay in out/verdicts, the folder is marked interrupted, and
run_report(out, resume=True) continues from them. progress returning False stops it the same way
and raises zeroloss.Interrupted.)doc");
}

}  // namespace zeroloss::python
