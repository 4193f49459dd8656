#include "zeroloss/verification/verification_config.hpp"

#include <climits>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/json_file.hpp"

namespace zeroloss {

using nlohmann::json;

json default_verification_config() {
  return json::parse(R"json({
  "claims": ["global_minimum", "flow_rate", "sgd_tracks_flow", "rank_one_sgd", "local_convexity",
             "outside_assumptions", "diagonal_sparse_interpolator", "claims_at_scale"],
  "seed": 0,
  "problem": {
    "generator": "gaussian", "n": 3, "d": 5, "m": 4, "activation": "cubic",
    "label_scale": 1.0, "data_seed": 1, "init_scale": 0.5
  },
  "global_minimum": {
    "starts": 32, "flow_time": 2000.0, "until_gradient": 1e-9, "relative_tolerance": 1e-6,
    "rank_tolerance": 1e-6, "lbfgs_gradient": 1e-6, "safety_factor": 2.0, "mixed_second_layer": true,
    "mutant_value_tolerances": 4.0, "perturbation": 1e-5, "search_starts": 48, "search_gradient_tolerance": 1e-10,
    "search_max_iterations": 200, "search_min_converged_fraction": 0.5, "search_mutant_n": 6, "search_mutant_d": 3,
    "population": {
      "figure1": { "draws": 32, "first_data_seed": 1, "n": 3, "d": 3, "m": 10 },
      "gaussian_sizes": [[3, 5, 4], [5, 20, 10], [10, 50, 30]], "gaussian_draws": 16, "gaussian_first_data_seed": 1,
      "starts": 8, "min_tested_fraction": 0.5
    }
  },
  "flow_rate": {
    "gaussian_draws": 16, "gaussian_sizes": [[3, 5, 4], [5, 20, 10], [10, 50, 30]],
    "figure1": { "draws": 32, "first_data_seed": 1, "n": 3, "d": 3, "m": 10, "init_scale": 0.5 },
    "budget_decades": 16.0, "max_flow_time": 1e8, "short_flow_fraction": 1e-4, "log_points": 1000,
    "fit_window_low": 1e-11, "fit_window_high": 1e-8, "reach_tolerance": 1e-12, "rate_tolerance": 0.05
  },
  "sgd_tracks_flow": {
    "label_noise": 1.0, "batch": 1, "lr_list": [0.02, 0.01, 0.005, 0.0025, 0.00125, 0.000625], "time": 0.3, "seeds": 64,
    "points": 10, "flow_coefficient_scale": 1.0, "min_bias_order": 0.5, "max_bias_order": 2.0,
    "coefficient_tolerance": 0.1,
    "population": {
      "figure1": { "draws": 2, "first_data_seed": 1, "n": 3, "d": 3, "m": 10, "time": 1.0, "seeds": 16,
                   "max_steps_per_seed": 60000000, "start_on_manifold": true },
      "gaussian_sizes": [[3, 5, 4], [5, 20, 10], [10, 50, 30]], "gaussian_draws": 4, "gaussian_first_data_seed": 2,
      "init_scale": 0.5, "lr_list": [0.02, 0.01, 0.005, 0.0025], "step_curvature": 0.06,
      "max_steps_per_seed": 2000000, "seeds": 32, "min_tested_fraction": 0.5
    }
  },
  "rank_one_sgd": {
    "n": 3, "d": 3, "m": 10, "draws": 32, "first_data_seed": 1, "lr": 0.05, "paper_sigma": 0.03,
    "noise_reading": "variance", "time_prefactor": 5.8, "time_exponent": 0.87, "budget_factor": 3.0,
    "min_steps": 100000, "max_steps": 400000000, "mutant_budget_fraction": 0.01, "min_tested_fraction": 0.75,
    "log_points": 200, "rank_one_threshold": 0.01
  },
  "local_convexity": {
    "preset": "full", "draws": 8, "stationary_gradient": 1e-9, "min_convex_points": 10, "max_bracket_ratio": 10.0
  },
  "outside_assumptions": {
    "cases": [
      { "name": "tanh", "activation": "tanh", "n": 3, "d": 5, "m": 4, "label_scale": 0.5 },
      { "name": "softplus", "activation": "softplus", "n": 3, "d": 5, "m": 4, "labels": "teacher" },
      { "name": "n > d (cubic)", "activation": "cubic", "n": 6, "d": 3, "m": 4, "label_scale": 1.0 }
    ],
    "starts": 8, "flow_time": 1000000.0, "until_gradient": 1e-8, "escape_growth": 0.01, "search_starts": 48
  },
  "diagonal_sparse_interpolator": {
    "n": 3, "d": 6, "draws": 16, "first_data_seed": 1, "init_scale": 1.0, "lr": 0.04, "label_noise": 0.5,
    "batch": 1, "steps": 1000000, "max_steps": 20000000, "decay_exponent": 10.0, "log_points": 50, "relative_distance_tolerance": 1e-3,
    "sharpness_gap_tolerance": 1e-4, "support_threshold": 1e-3,
    "sparse_truth_draws": 4, "sparse_truth_k": 1
  },
  "claims_at_scale": {
    "n": 100, "d": 1000, "m": 1000, "data_seed": 1, "flow_decades": 40.0, "until_gradient": 1e-10,
    "relative_tolerance": 1e-10, "trust_region_gradient": 1e-12, "rank_one_threshold": 1e-6,
    "geodesic_points": 24, "max_distance": 1.0, "stationary_gradient": 1e-9, "min_convex_points": 20,
    "short_flow_fraction": 1e-3, "loose_trust_region_gradient": 1e-4, "mutant_value_tolerances": 4.0
  },
  "quick": {
    "global_minimum": { "starts": 4, "search_starts": 16,
                        "population": { "figure1": { "draws": 4 }, "gaussian_draws": 2, "starts": 4 } },
    "flow_rate": { "gaussian_draws": 3, "gaussian_sizes": [[3, 5, 4]], "figure1": { "draws": 3 } },
    "sgd_tracks_flow": { "lr_list": [0.02, 0.01, 0.005, 0.0025], "seeds": 16,
                         "population": { "figure1": { "draws": 0 }, "gaussian_sizes": [[3, 5, 4]], "gaussian_draws": 1,
                                         "seeds": 32 } },
    "rank_one_sgd": { "draws": 4, "first_data_seed": 6, "max_steps": 40000000 },
    "local_convexity": { "preset": "quick", "draws": 3 },
    "outside_assumptions": { "starts": 3, "search_starts": 16 },
    "diagonal_sparse_interpolator": { "draws": 4, "steps": 500000, "sparse_truth_draws": 2 },
    "claims_at_scale": { "n": 10, "d": 30, "m": 20 }
  }
})json");
}

namespace {

std::string type_name(const json& j) {
  if (j.is_number_integer() || j.is_number_unsigned()) return "integer";
  if (j.is_number()) return "number";
  return j.type_name();
}

bool compatible(const json& def, const json& val) {
  if (def.is_number_integer() || def.is_number_unsigned()) return val.is_number_integer() || val.is_number_unsigned();
  if (def.is_number()) return val.is_number();
  if (def.is_boolean()) return val.is_boolean();
  if (def.is_string()) return val.is_string();
  if (def.is_array()) return val.is_array();
  if (def.is_object()) return val.is_object();
  return false;
}

void merge(json& base, const json& over, const std::string& path, const std::string& source) {
  for (auto it = over.begin(); it != over.end(); ++it) {
    const std::string key = path.empty() ? it.key() : path + "." + it.key();
    if (!base.contains(it.key())) {
      std::ostringstream known;
      bool first = true;
      for (auto k = base.begin(); k != base.end(); ++k) {
        known << (first ? "" : ", ") << k.key();
        first = false;
      }
      throw InputError(source + ": unknown key '" + key + "'; known keys here: " + known.str());
    }
    json& target = base[it.key()];
    if (!compatible(target, it.value())) {
      throw InputError(source + ": key '" + key + "' is " + type_name(it.value()) + ", expected " + type_name(target));
    }
    if (target.is_object())
      merge(target, it.value(), key, source);
    else
      target = it.value();
  }
}

// Range checks of a merged configuration. Keys are named as the user wrote them: "a.b" when the
// user's file sets a.b, "quick.a.b" when only its quick section does.
class Validator {
 public:
  Validator(const json& cfg, const json& user_plain, const json& user_quick, std::string source)
      : cfg_(cfg), plain_(user_plain), quick_(user_quick), source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what, const json& got) const {
    throw InputError(source_ + ": key '" + name(key) + "' " + what + " (got " + got.dump() + ")");
  }

  const json& at(const std::string& key) const { return cfg_.at(json::json_pointer(pointer(key))); }

  long long integer(const std::string& key, long long lo, long long hi = INT_MAX) const {
    return integer_value(key, at(key), lo, hi);
  }
  long long integer_value(const std::string& key, const json& v, long long lo, long long hi = INT_MAX) const {
    if (!(v.is_number_integer() || v.is_number_unsigned())) fail(key, "must be an integer", v);
    if (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(LLONG_MAX))
      fail(key, "must be an integer <= " + std::to_string(hi), v);
    const long long x = v.get<long long>();
    const bool open_ended = hi == INT_MAX || hi == LLONG_MAX;
    if (x < lo && open_ended) fail(key, "must be an integer >= " + std::to_string(lo), v);
    if (x > hi && open_ended) fail(key, "must be an integer <= " + std::to_string(hi), v);
    if (x < lo || x > hi)
      fail(key, "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi), v);
    return x;
  }
  // A finite number > 0 (or >= 0 with allow_zero).
  double positive(const std::string& key, bool allow_zero = false) const {
    return positive_value(key, at(key), allow_zero);
  }
  double positive_value(const std::string& key, const json& v, bool allow_zero = false) const {
    if (!v.is_number()) fail(key, "must be a number", v);
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < 0 || (!allow_zero && x == 0))
      fail(key, allow_zero ? "must be a finite number >= 0" : "must be a finite number > 0", v);
    return x;
  }
  // A list of [n, d, m] with min_n <= n <= d <= 100000 and 1 <= m <= 100000 (a population's sizes);
  // returns how many sizes it lists.
  size_t gaussian_sizes(const std::string& key, long long min_n, const std::string& n_bound) const {
    const json& sizes = at(key);
    const std::string expected = "[n, d, m] with " + n_bound + " <= n <= d and m >= 1";
    if (!sizes.is_array()) fail(key, "must be a list of " + expected, sizes);
    for (const json& size : sizes)
      if (!size.is_array() || size.size() != 3 || !size[0].is_number_integer() || !size[1].is_number_integer() ||
          !size[2].is_number_integer() || size[0].get<long long>() < min_n ||
          size[0].get<long long>() > size[1].get<long long>() || size[2].get<long long>() < 1 ||
          size[1].get<long long>() > 100000 || size[2].get<long long>() > 100000)
        fail(key, "lists " + size.dump() + "; expected " + expected, sizes);
    return sizes.size();
  }
  void activation(const std::string& key, const json& v) const {
    if (!v.is_string()) fail(key, "must be a string naming an activation", v);
    try {
      (void)Activation::from_name(v.get<std::string>());
    } catch (const InputError& e) {
      fail(key, std::string("is not an activation the toolkit supports: ") + e.what(), v);
    }
  }

 private:
  static std::vector<std::string> parts(const std::string& key) {
    std::vector<std::string> out;
    std::stringstream ss(key);
    std::string p;
    while (std::getline(ss, p, '.')) out.push_back(p);
    return out;
  }
  static std::string pointer(const std::string& key) {
    std::string p;
    for (const auto& part : parts(key)) p += "/" + part;
    return p;
  }
  static bool has(const json& j, const std::string& key) {
    const json* cur = &j;
    for (const auto& part : parts(key)) {
      if (!cur->is_object() || !cur->contains(part)) return false;
      cur = &(*cur)[part];
    }
    return true;
  }
  std::string name(const std::string& key) const {
    if (!has(plain_, key) && has(quick_, key)) return "quick." + key;
    return key;
  }

  const json& cfg_;
  const json& plain_;
  const json& quick_;
  std::string source_;
};

const char* const kClaimNames[] = {"global_minimum",  "flow_rate",       "sgd_tracks_flow",
                                   "rank_one_sgd",    "local_convexity", "outside_assumptions",
                                   "diagonal_sparse_interpolator", "claims_at_scale"};

void validate(const Validator& v) {
  const json& claims = v.at("claims");
  if (claims.empty()) v.fail("claims", "must list at least one claim", claims);
  std::set<std::string> seen;
  for (const auto& c : claims) {
    bool known = false;
    for (const char* k : kClaimNames) known = known || (c.is_string() && c.get<std::string>() == k);
    if (!known)
      v.fail("claims", "lists " + c.dump() + "; expected claim names among global_minimum, flow_rate, "
             "sgd_tracks_flow, rank_one_sgd, local_convexity, outside_assumptions, diagonal_sparse_interpolator, "
             "claims_at_scale", claims);
    if (!seen.insert(c.get<std::string>()).second) v.fail("claims", "lists " + c.dump() + " twice", claims);
  }
  v.integer("seed", 0);

  const json& gen = v.at("problem.generator");
  try {
    (void)parse_generator(gen.get<std::string>());
  } catch (const InputError& e) {
    v.fail("problem.generator", std::string("is not a data generator: ") + e.what(), gen);
  }
  const long long n = v.integer("problem.n", 1);
  v.integer("problem.d", 1);
  v.integer("problem.m", 1);
  v.activation("problem.activation", v.at("problem.activation"));
  v.positive("problem.label_scale", true);
  v.integer("problem.data_seed", 0);
  v.positive("problem.init_scale");

  v.integer("global_minimum.starts", 1);
  v.positive("global_minimum.flow_time");
  v.positive("global_minimum.until_gradient");
  v.positive("global_minimum.relative_tolerance");
  v.positive("global_minimum.rank_tolerance");
  v.positive("global_minimum.lbfgs_gradient");
  v.positive("global_minimum.safety_factor");
  if (v.positive("global_minimum.mutant_value_tolerances") <= 1)
    v.fail("global_minimum.mutant_value_tolerances",
           "must exceed 1 (the mutant's T* must lie outside relative_tolerance)", v.at("global_minimum.mutant_value_tolerances"));
  v.positive("global_minimum.perturbation");
  v.integer("global_minimum.search_starts", 1);
  const std::string gp = "global_minimum.population.";
  v.integer(gp + "figure1.draws", 0);
  v.integer(gp + "figure1.first_data_seed", 0);
  v.integer(gp + "figure1.m", 1);
  if (v.integer(gp + "figure1.n", 1) > v.integer(gp + "figure1.d", 1))
    v.fail(gp + "figure1.n", "must be at most figure1.d (claim 1 is stated for n <= d)", v.at(gp + "figure1.n"));
  v.integer(gp + "gaussian_draws", 0);
  v.integer(gp + "gaussian_first_data_seed", 0);
  v.integer(gp + "starts", 1);
  const double search_tested = v.positive(gp + "min_tested_fraction");
  if (search_tested > 1)
    v.fail(gp + "min_tested_fraction", "must lie in (0, 1] (a share of the members)", v.at(gp + "min_tested_fraction"));
  v.gaussian_sizes(gp + "gaussian_sizes", 1, "1");
  if (v.positive("global_minimum.search_gradient_tolerance") >= 1)
    v.fail("global_minimum.search_gradient_tolerance", "must lie strictly between 0 and 1 (a ratio ||grad_M T|| / ||grad T||)",
           v.at("global_minimum.search_gradient_tolerance"));
  v.integer("global_minimum.search_max_iterations", 1);
  const double search_fraction = v.positive("global_minimum.search_min_converged_fraction");
  if (search_fraction > 1)
    v.fail("global_minimum.search_min_converged_fraction", "must lie in (0, 1] (a share of the starts)",
           v.at("global_minimum.search_min_converged_fraction"));
  const long long mutant_d = v.integer("global_minimum.search_mutant_d", 1);
  if (v.integer("global_minimum.search_mutant_n", 1) <= mutant_d)
    v.fail("global_minimum.search_mutant_n", "must exceed search_mutant_d (the mutant is a problem with n > d)",
           v.at("global_minimum.search_mutant_n"));

  // Claim 2: a population of Gaussian draws (gaussian_draws at each of gaussian_sizes, the problem's
  // generator and label scale, data seeds from problem.data_seed) and of Figure 1 draws; each flow
  // runs budget_decades ln 10 / (2 lambda_min), capped.
  const std::string fr = "flow_rate.";
  v.integer(fr + "gaussian_draws", 0);
  v.integer(fr + "figure1.draws", 0);
  const size_t fsizes = v.gaussian_sizes(fr + "gaussian_sizes", 1, "1");
  if (v.at(fr + "gaussian_draws").get<long long>() * static_cast<long long>(fsizes) +
          v.at(fr + "figure1.draws").get<long long>() < 1)
    v.fail(fr + "gaussian_draws", "and " + fr + "figure1.draws give an empty population (it would test nothing)",
           v.at(fr + "gaussian_draws"));
  v.integer(fr + "figure1.first_data_seed", 0);
  v.integer(fr + "figure1.n", 1);
  v.integer(fr + "figure1.d", 1);
  v.integer(fr + "figure1.m", 1);
  v.positive(fr + "figure1.init_scale");
  v.positive(fr + "budget_decades");
  v.positive(fr + "max_flow_time");
  const double short_fraction = v.positive(fr + "short_flow_fraction");
  if (short_fraction >= 1)
    v.fail(fr + "short_flow_fraction", "must lie strictly between 0 and 1 (a fraction of each flow's budget)",
           v.at(fr + "short_flow_fraction"));
  v.integer(fr + "log_points", 1);
  const double low = v.positive(fr + "fit_window_low");
  if (v.positive(fr + "fit_window_high") <= low)
    v.fail(fr + "fit_window_high", "must exceed " + fr + "fit_window_low (the window of (T - T*)/T* of the rate fit)",
           v.at(fr + "fit_window_high"));
  v.positive(fr + "reach_tolerance");
  v.positive(fr + "rate_tolerance");

  v.positive("sgd_tracks_flow.label_noise");
  v.integer("sgd_tracks_flow.batch", 1, n);
  const json& lrs = v.at("sgd_tracks_flow.lr_list");
  if (lrs.size() < 3)
    v.fail("sgd_tracks_flow.lr_list", "needs at least 3 step sizes to fit an order with a confidence interval", lrs);
  std::set<double> distinct;
  for (const auto& x : lrs) {
    if (!x.is_number() || !std::isfinite(x.get<double>()) || x.get<double>() <= 0)
      v.fail("sgd_tracks_flow.lr_list", "must hold finite numbers > 0", lrs);
    if (!distinct.insert(x.get<double>()).second)
      v.fail("sgd_tracks_flow.lr_list", "lists the step size " + x.dump() + " twice", lrs);
  }
  v.positive("sgd_tracks_flow.time");
  v.integer("sgd_tracks_flow.seeds", 1);
  v.integer("sgd_tracks_flow.points", 1);
  v.positive("sgd_tracks_flow.flow_coefficient_scale");
  const double min_order = v.positive("sgd_tracks_flow.min_bias_order");
  if (!(v.positive("sgd_tracks_flow.max_bias_order") > min_order))
    v.fail("sgd_tracks_flow.max_bias_order", "must be larger than sgd_tracks_flow.min_bias_order",
           v.at("sgd_tracks_flow.max_bias_order"));
  const std::string sp = "sgd_tracks_flow.population.";
  v.integer(sp + "figure1.draws", 0);
  v.integer(sp + "figure1.first_data_seed", 0);
  v.integer(sp + "figure1.m", 1);
  v.positive(sp + "figure1.time");
  v.integer(sp + "figure1.seeds", 2);
  v.integer(sp + "figure1.max_steps_per_seed", 1);
  if (v.integer(sp + "figure1.n", 1) > v.integer(sp + "figure1.d", 1))
    v.fail(sp + "figure1.n", "must be at most figure1.d (the flow's manifold is regular for n <= d)", v.at(sp + "figure1.n"));
  if (v.at(sp + "figure1.n").get<long long>() < v.at("sgd_tracks_flow.batch").get<long long>())
    v.fail(sp + "figure1.n", "must be at least sgd_tracks_flow.batch (B <= n)", v.at(sp + "figure1.n"));
  v.integer(sp + "gaussian_draws", 0);
  v.integer(sp + "gaussian_first_data_seed", 0);
  const size_t psizes =
      v.gaussian_sizes(sp + "gaussian_sizes", v.at("sgd_tracks_flow.batch").get<long long>(), "B");
  if (v.at(sp + "figure1.draws").get<long long>() +
          v.at(sp + "gaussian_draws").get<long long>() * static_cast<long long>(psizes) < 1)
    v.fail(sp + "gaussian_draws", "and " + sp + "figure1.draws give an empty population (it would test nothing)",
           v.at(sp + "gaussian_draws"));
  v.positive(sp + "init_scale");
  const json& plrs = v.at(sp + "lr_list");
  if (plrs.size() < 3)
    v.fail(sp + "lr_list", "needs at least 3 step sizes to fit an order with a confidence interval", plrs);
  std::set<double> pdistinct;
  for (const auto& x : plrs) {
    if (!x.is_number() || !std::isfinite(x.get<double>()) || x.get<double>() <= 0)
      v.fail(sp + "lr_list", "must hold finite numbers > 0", plrs);
    if (!pdistinct.insert(x.get<double>()).second) v.fail(sp + "lr_list", "lists the step size " + x.dump() + " twice", plrs);
  }
  v.integer(sp + "seeds", 1);
  v.positive(sp + "step_curvature");
  v.integer(sp + "max_steps_per_seed", 1);
  const double tested_fraction = v.positive(sp + "min_tested_fraction");
  if (tested_fraction > 1)
    v.fail(sp + "min_tested_fraction", "must lie in (0, 1] (a share of the members)", v.at(sp + "min_tested_fraction"));
  const double tolerance = v.positive("sgd_tracks_flow.coefficient_tolerance");
  if (tolerance >= 1)
    v.fail("sgd_tracks_flow.coefficient_tolerance", "must lie strictly between 0 and 1 (a relative tolerance)",
           v.at("sgd_tracks_flow.coefficient_tolerance"));

  const std::string r1 = "rank_one_sgd.";
  v.integer(r1 + "n", 1);
  v.integer(r1 + "d", 1);
  v.integer(r1 + "m", 1);
  v.integer(r1 + "draws", 1);
  v.integer(r1 + "first_data_seed", 0);
  v.positive(r1 + "lr");
  v.positive(r1 + "paper_sigma");
  const json& reading = v.at(r1 + "noise_reading");
  if (reading != "variance" && reading != "standard_deviation")
    v.fail(r1 + "noise_reading",
           "must be \"variance\" (s = sqrt(paper_sigma)) or \"standard_deviation\" (s = paper_sigma)", reading);
  v.positive(r1 + "time_prefactor");
  v.positive(r1 + "time_exponent");
  v.positive(r1 + "budget_factor");
  const long long r1_min = v.integer(r1 + "min_steps", 1, LLONG_MAX);
  if (v.integer(r1 + "max_steps", 1, LLONG_MAX) < r1_min)
    v.fail(r1 + "max_steps", "must be at least " + r1 + "min_steps (a draw's budget lies between them)",
           v.at(r1 + "max_steps"));
  const double r1_fraction = v.positive(r1 + "mutant_budget_fraction");
  if (r1_fraction >= 1)
    v.fail(r1 + "mutant_budget_fraction", "must lie strictly between 0 and 1 (the mutant's budget is too short)",
           v.at(r1 + "mutant_budget_fraction"));
  const double r1_tested = v.positive(r1 + "min_tested_fraction");
  if (r1_tested > 1)
    v.fail(r1 + "min_tested_fraction", "must lie in (0, 1] (a share of the draws)", v.at(r1 + "min_tested_fraction"));
  v.integer(r1 + "log_points", 1);
  const double threshold = v.positive("rank_one_sgd.rank_one_threshold");
  if (threshold >= 1)
    v.fail("rank_one_sgd.rank_one_threshold", "must lie strictly between 0 and 1 (a ratio sigma_2/sigma_1)",
           v.at("rank_one_sgd.rank_one_threshold"));

  const json& preset = v.at("local_convexity.preset");
  if (preset != "quick" && preset != "full") v.fail("local_convexity.preset", "must be \"quick\" or \"full\"", preset);
  v.integer("local_convexity.draws", 1);
  v.positive("local_convexity.stationary_gradient");
  v.integer("local_convexity.min_convex_points", 1);
  if (v.positive("local_convexity.max_bracket_ratio") < 1)
    v.fail("local_convexity.max_bracket_ratio", "must be at least 1 (a ratio g_hi / g_lo of the bracket's ends)",
           v.at("local_convexity.max_bracket_ratio"));

  const json& cases = v.at("outside_assumptions.cases");
  static const std::set<std::string> case_keys = {"name", "activation", "n", "d", "m", "label_scale", "labels"};
  for (size_t k = 0; k < cases.size(); ++k) {
    const json& c = cases[k];
    const std::string key = "outside_assumptions.cases";
    const std::string entry = "entry " + std::to_string(k + 1) + " ";
    if (!c.is_object()) v.fail(key, entry + "must be an object with name, activation, n, d, m", c);
    for (auto it = c.begin(); it != c.end(); ++it)
      if (!case_keys.count(it.key()))
        v.fail(key, entry + "has the unknown key '" + it.key() +
                        "'; known keys: name, activation, n, d, m, label_scale, labels",
               c);
    for (const char* req : {"name", "activation", "n", "d", "m"})
      if (!c.contains(req)) v.fail(key, entry + "lacks '" + req + "' (entries need name, activation, n, d, m)", c);
    if (!c["name"].is_string() || c["name"].get<std::string>().empty())
      v.fail(key, entry + "'name' must be a non-empty string", c["name"]);
    v.activation(key + "[" + std::to_string(k) + "].activation", c["activation"]);
    for (const char* dim : {"n", "d", "m"}) v.integer_value(key + "[" + std::to_string(k) + "]." + dim, c[dim], 1);
    if (c.contains("label_scale")) v.positive_value(key + "[" + std::to_string(k) + "].label_scale", c["label_scale"], true);
    if (c.contains("labels") && c["labels"] != "random" && c["labels"] != "teacher")
      v.fail(key, entry + "'labels' must be \"random\" or \"teacher\"", c["labels"]);
  }
  v.integer("outside_assumptions.starts", 1);
  v.integer("outside_assumptions.search_starts", 1);
  v.positive("outside_assumptions.flow_time");
  v.positive("outside_assumptions.until_gradient");
  v.positive("outside_assumptions.escape_growth");

  // The claim needs n < d (generic data: the interpolator then has n nonzeros and M is regular there).
  const std::string dl = "diagonal_sparse_interpolator.";
  const long long dl_n = v.integer(dl + "n", 1);
  const long long dl_d = v.integer(dl + "d", 1);
  if (dl_d <= dl_n) v.fail(dl + "d", "must exceed " + dl + "n (the claim is about n < d)", v.at(dl + "d"));
  v.integer(dl + "draws", 1);
  v.integer(dl + "first_data_seed", 0);
  v.positive(dl + "init_scale");
  v.positive(dl + "lr");
  v.positive(dl + "label_noise");
  v.integer(dl + "batch", 1, dl_n);
  const long long dl_steps = v.integer(dl + "steps", 1, LLONG_MAX);
  if (v.integer(dl + "max_steps", 1, LLONG_MAX) < dl_steps)
    v.fail(dl + "max_steps", "must be at least " + dl + "steps (the budget of a draw lies between them)",
           v.at(dl + "max_steps"));
  v.positive(dl + "decay_exponent");
  v.integer(dl + "log_points", 1);
  v.positive(dl + "relative_distance_tolerance");
  v.positive(dl + "sharpness_gap_tolerance");
  const double support = v.positive(dl + "support_threshold");
  if (support >= 1)
    v.fail(dl + "support_threshold", "must lie strictly between 0 and 1 (a fraction of max_k |w_k|)",
           v.at(dl + "support_threshold"));
  // k < n: the weighted-l1 interpolator of a k-sparse truth is then a singular point of M.
  if (v.integer(dl + "sparse_truth_draws", 0) > 0) v.integer(dl + "sparse_truth_k", 1, std::max(1LL, dl_n - 1));

  // Claim 8: n <= d (the closed form needs rank X = n); the mutants' settings must falsify.
  const std::string cs = "claims_at_scale.";
  if (v.integer(cs + "n", 1) > v.integer(cs + "d", 1))
    v.fail(cs + "n", "must be at most " + cs + "d (T* in closed form needs rank X = n)", v.at(cs + "n"));
  v.integer(cs + "m", 1);
  v.integer(cs + "data_seed", 0);
  for (const char* key : {"flow_decades", "until_gradient", "relative_tolerance", "max_distance", "stationary_gradient"})
    v.positive(cs + key);
  if (v.positive(cs + "rank_one_threshold") >= 1)
    v.fail(cs + "rank_one_threshold", "must lie strictly between 0 and 1 (a ratio sigma_2/sigma_1)", v.at(cs + "rank_one_threshold"));
  if (v.positive(cs + "short_flow_fraction") >= 1)
    v.fail(cs + "short_flow_fraction", "must lie strictly between 0 and 1 (a fraction of the flow's time)",
           v.at(cs + "short_flow_fraction"));
  if (v.positive(cs + "loose_trust_region_gradient") <= v.positive(cs + "trust_region_gradient"))
    v.fail(cs + "loose_trust_region_gradient", "must exceed " + cs + "trust_region_gradient (the mutant stops early)",
           v.at(cs + "loose_trust_region_gradient"));
  if (v.positive(cs + "mutant_value_tolerances") <= 1)
    v.fail(cs + "mutant_value_tolerances", "must exceed 1 (the mutant's T* must lie outside relative_tolerance)",
           v.at(cs + "mutant_value_tolerances"));
  if (v.integer(cs + "min_convex_points", 1) > v.integer(cs + "geodesic_points", 1))
    v.fail(cs + "min_convex_points", "must be at most " + cs + "geodesic_points (the points that can count)",
           v.at(cs + "min_convex_points"));
}

// Collects the object keys on the way to the value being parsed, so that a number the parser
// cannot hold (1e400) is reported with its key.

}  // namespace

json resolve_verification_config(const json& user, const std::string& source, bool quick) {
  if (!user.is_null() && !user.is_object()) throw InputError(source + ": expected a JSON object at the top level");
  // Precedence (lowest first): the defaults, the default "quick" overrides, the user's "quick"
  // section (both only with --quick), then the user's own settings outside "quick". Every user key
  // is validated against the defaults, and both the quick and the full configuration are range
  // checked, whichever is asked for.
  const json defaults = default_verification_config();
  json base = defaults;
  base.erase("quick");
  json user_plain = user.is_null() ? json::object() : user;
  json user_quick = json::object();
  if (user_plain.contains("quick")) {
    user_quick = user_plain["quick"];
    user_plain.erase("quick");
    if (!user_quick.is_object()) throw InputError(source + ": key 'quick' must be an object of overrides");
  }
  json full = base;
  merge(full, user_plain, "", source);
  json fast = base;
  merge(fast, defaults["quick"], "", "the default quick overrides");
  merge(fast, user_quick, "quick", source);
  merge(fast, user_plain, "", source);
  validate(Validator(full, user_plain, json::object(), source));
  validate(Validator(fast, user_plain, user_quick, source));
  json cfg = quick ? fast : full;
  cfg["mode"] = quick ? "quick" : "full";
  return cfg;
}

json parse_verification_config(const std::string& text, const std::string& source, bool quick) {
  JsonReading reading;
  reading.malformed = "not a valid configuration";
  return resolve_verification_config(parse_json_text(text, source, reading), source, quick);
}

json read_verification_config(const std::string& path, bool quick) {
  if (path.empty()) return resolve_verification_config(json(), "default configuration", quick);
  JsonReading reading;
  reading.malformed = "not a valid configuration";
  reading.when_missing = "cannot open configuration file";
  return resolve_verification_config(read_json_file(path, reading), path, quick);
}

}  // namespace zeroloss
