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
#include "zeroloss/verification/flow_rate_rule.hpp"
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
  {
    py::gil_scoped_release release;
    write_verification_report(cfg, options, [&](const std::string& line) {
      poller.poll([&] { return py::make_tuple(line); });
    });
  }
  if (poller.failed()) poller.rethrow();
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

  m.def("run_report", &run_report, py::arg("out"), py::arg("quick") = true, py::arg("config") = py::none(),
        py::arg("program") = py::none(), py::arg("overwrite") = false, py::arg("resume") = false,
        py::arg("progress") = py::none(), R"doc(
Runs the verification report (`zeroloss run`, docs/report.md) into the folder `out` and returns its
summary.json as a dict (verdicts.<claim>.status, rules, power, evidence). quick: the `--quick`
settings. config: a dict or JSON text merged over the default configuration (e.g. {"claims":
["global_minimum"]}; errors name the key). The claims run the `zeroloss` program (`program`, default
build/bin/zeroloss beside the module's build/python/). progress(line) receives each progress line.
The GIL is released; the report runs to its end (its commands are child processes), and Ctrl-C or an
exception raised by `progress` is raised when it returns.)doc");
}

}  // namespace zeroloss::python
