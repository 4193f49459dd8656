// The verification report's configuration reader (zeroloss/verification/verification_config.hpp): the default
// resolves, and every bad value is refused before any work with one message naming the file and key.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/verification/verification_config.hpp"

namespace {

using nlohmann::json;
using zeroloss::InputError;
using zeroloss::parse_verification_config;
using zeroloss::read_verification_config;

// The message of the InputError that parsing `text` (from "my.json") throws, or "" if none.
std::string error_of(const std::string& text, bool quick = false) {
  try {
    parse_verification_config(text, "my.json", quick);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(VerificationConfig, DefaultResolvesInBothModes) {
  const json full = read_verification_config("", false);
  const json quick = read_verification_config("", true);
  EXPECT_EQ(full["mode"], "full");
  EXPECT_EQ(quick["mode"], "quick");
  EXPECT_EQ(full["global_minimum"]["starts"], 32);
  EXPECT_EQ(quick["global_minimum"]["starts"], 4);
  EXPECT_FALSE(full.contains("quick"));
  // A user value outside "quick" wins over the quick overrides.
  const json cfg = parse_verification_config(R"({"global_minimum": {"starts": 7}})", "my.json", true);
  EXPECT_EQ(cfg["global_minimum"]["starts"], 7);
}

struct BadValue {
  const char* text;
  const char* expected;  // a part of the message (besides the file name)
};

class VerificationConfigBad : public testing::TestWithParam<BadValue> {};

TEST_P(VerificationConfigBad, IsOneMessageNamingTheFileAndKey) {
  const std::string message = error_of(GetParam().text);
  EXPECT_EQ(message.rfind("my.json: ", 0), 0u) << message;
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Values, VerificationConfigBad,
    testing::Values(
        BadValue{R"({"flow_rate": {"max_flow_time": -5}})", "key 'flow_rate.max_flow_time' must be a finite number > 0 (got -5)"},
        BadValue{R"({"flow_rate": {"fit_window_high": 1e-12}})", "key 'flow_rate.fit_window_high' must exceed flow_rate.fit_window_low"},
        BadValue{R"({"flow_rate": {"short_flow_fraction": 1}})", "key 'flow_rate.short_flow_fraction' must lie strictly between 0 and 1"},
        BadValue{R"({"flow_rate": {"gaussian_draws": 0, "figure1": {"draws": 0}}})", "key 'flow_rate.gaussian_draws' and flow_rate.figure1.draws give an empty population"},
        BadValue{R"({"flow_rate": {"gaussian_sizes": [[5, 3, 4]]}})", "key 'flow_rate.gaussian_sizes' lists [5,3,4]; expected [n, d, m] with 1 <= n <= d"},
        BadValue{R"({"flow_rate": {"figure1": {"n": 0}}})", "key 'flow_rate.figure1.n' must be an integer >= 1 (got 0)"},
        BadValue{R"({"flow_rate": {"log_points": 0}})", "key 'flow_rate.log_points' must be an integer >= 1 (got 0)"},
        BadValue{R"({"problem": {"activation": "relu"}})", "key 'problem.activation' is not an activation"},
        BadValue{R"({"rank_one_sgd": {"lr": -0.05}})", "key 'rank_one_sgd.lr' must be a finite number > 0 (got -0.05)"},
        BadValue{R"({"rank_one_sgd": {"lr": 1e400}})", "at key 'rank_one_sgd.lr'"},
        BadValue{R"({"global_minimum": {"startz": 3}})", "unknown key 'global_minimum.startz'"},
        BadValue{R"({"problem": {"n": "three"}})", "key 'problem.n' is string, expected integer"},
        BadValue{R"({"problem": {"n": 2.5}})", "key 'problem.n' is number, expected integer"},
        BadValue{R"({"problem": {"m": 0}})", "key 'problem.m' must be an integer >= 1"},
        BadValue{R"({"problem": {"n": 5000000000}})", "key 'problem.n' must be an integer <= 2147483647"},
        BadValue{R"({"seed": -1})", "key 'seed' must be an integer >= 0"},
        BadValue{R"({"problem": {"generator": "normal"}})", "key 'problem.generator' is not a data generator"},
        BadValue{R"({"problem": {"init_scale": 0}})", "key 'problem.init_scale' must be a finite number > 0"},
        BadValue{R"({"claims": []})", "key 'claims' must list at least one claim"},
        BadValue{R"({"claims": ["flow_rate", "flow_rate"]})", "lists \"flow_rate\" twice"},
        BadValue{R"({"claims": ["bogus"]})", "key 'claims' lists \"bogus\""},
        BadValue{R"({"sgd_tracks_flow": {"lr_list": [0.1, 0.1, 0.05]}})", "lists the step size 0.1 twice"},
        BadValue{R"({"sgd_tracks_flow": {"lr_list": [0.1, 0.05]}})", "needs at least 3 step sizes"},
        BadValue{R"({"sgd_tracks_flow": {"batch": 4}})", "key 'sgd_tracks_flow.batch' must be an integer between 1 and 3"},
        BadValue{R"({"sgd_tracks_flow": {"label_noise": 0}})", "key 'sgd_tracks_flow.label_noise' must be a finite"},
        BadValue{R"({"sgd_tracks_flow": {"flow_coefficient_scale": 0}})",
                 "key 'sgd_tracks_flow.flow_coefficient_scale' must be a finite number > 0 (got 0)"},
        BadValue{R"({"sgd_tracks_flow": {"min_bias_order": 1.5, "max_bias_order": 1.2}})",
                 "key 'sgd_tracks_flow.max_bias_order' must be larger than sgd_tracks_flow.min_bias_order (got 1.2)"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"min_tested_fraction": 1.5}}})",
                 "key 'sgd_tracks_flow.population.min_tested_fraction' must lie in (0, 1]"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"step_curvature": 0}}})",
                 "key 'sgd_tracks_flow.population.step_curvature' must be a finite number > 0 (got 0)"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"max_steps_per_seed": 0}}})",
                 "key 'sgd_tracks_flow.population.max_steps_per_seed' must be an integer >= 1 (got 0)"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"figure1": {"time": 0}}}})",
                 "key 'sgd_tracks_flow.population.figure1.time' must be"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"figure1": {"seeds": 1}}}})",
                 "key 'sgd_tracks_flow.population.figure1.seeds' must be an integer >= 2 (got 1)"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"figure1": {"start_on_manifold": 1}}}})",
                 "sgd_tracks_flow.population.figure1.start_on_manifold"},
        BadValue{R"({"global_minimum": {"population": {"min_tested_fraction": 0}}})",
                 "key 'global_minimum.population.min_tested_fraction' must be a finite number > 0 (got 0)"},
        BadValue{R"({"global_minimum": {"population": {"min_tested_fraction": 1.5}}})",
                 "key 'global_minimum.population.min_tested_fraction' must lie in (0, 1]"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"gaussian_sizes": [[6, 5, 4]]}}})",
                 "lists [6,5,4]; expected [n, d, m] with B <= n <= d"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"figure1": {"draws": 0}, "gaussian_draws": 0}}})",
                 "give an empty population"},
        BadValue{R"({"sgd_tracks_flow": {"population": {"lr_list": [0.1, 0.05]}}})", "needs at least 3 step sizes"},
        BadValue{R"({"sgd_tracks_flow": {"coefficient_tolerance": 1}})",
                 "key 'sgd_tracks_flow.coefficient_tolerance' must lie strictly between 0 and 1"},
        BadValue{R"({"rank_one_sgd": {"draws": 0}})", "key 'rank_one_sgd.draws' must be an integer >= 1"},
        BadValue{R"({"rank_one_sgd": {"max_steps": 10}})",
                 "key 'rank_one_sgd.max_steps' must be at least rank_one_sgd.min_steps"},
        BadValue{R"({"rank_one_sgd": {"noise_reading": "both"}})", "key 'rank_one_sgd.noise_reading' must be"},
        BadValue{R"({"rank_one_sgd": {"mutant_budget_fraction": 1}})", "must lie strictly between 0 and 1"},
        BadValue{R"({"rank_one_sgd": {"min_tested_fraction": 1.5}})", "key 'rank_one_sgd.min_tested_fraction' must lie"},
        BadValue{R"({"rank_one_sgd": {"budget_factor": 0}})", "key 'rank_one_sgd.budget_factor' must be a finite"},
        BadValue{R"({"rank_one_sgd": {"rank_one_threshold": 1.5}})", "must lie strictly between 0 and 1"},
        BadValue{R"({"local_convexity": {"preset": "medium"}})", "key 'local_convexity.preset' must be"},
        BadValue{R"({"global_minimum": {"mixed_second_layer": 1}})", "is integer, expected boolean"},
        BadValue{R"({"outside_assumptions": {"cases": [{"name": "x", "activation": "relu", "n": 3, "d": 5, "m": 4}]}})",
                 "key 'outside_assumptions.cases[0].activation' is not an activation"},
        BadValue{R"({"outside_assumptions": {"cases": [{"name": "x", "activation": "tanh", "n": 3, "d": 5}]}})",
                 "entry 1 lacks 'm'"},
        BadValue{R"({"outside_assumptions": {"cases": [{"name": "x", "activation": "tanh", "n": 3, "d": 5, "m": 4,
                     "widht": 2}]}})",
                 "entry 1 has the unknown key 'widht'"},
        BadValue{R"({"quick": {"flow_rate": {"log_points": 0}}})", "key 'quick.flow_rate.log_points' must be"},
        BadValue{R"({"quick": 3})", "key 'quick' must be an object"},
        BadValue{R"({"diagonal_sparse_interpolator": {"d": 3}})",
                 "key 'diagonal_sparse_interpolator.d' must exceed diagonal_sparse_interpolator.n"},
        BadValue{R"({"diagonal_sparse_interpolator": {"max_steps": 10}})",
                 "key 'diagonal_sparse_interpolator.max_steps' must be at least diagonal_sparse_interpolator.steps"},
        BadValue{R"({"diagonal_sparse_interpolator": {"sparse_truth_k": 3}})",
                 "key 'diagonal_sparse_interpolator.sparse_truth_k' must be an integer between 1 and 2"},
        BadValue{R"({"diagonal_sparse_interpolator": {"batch": 4}})",
                 "key 'diagonal_sparse_interpolator.batch' must be an integer between 1 and 3"},
        BadValue{R"({"diagonal_sparse_interpolator": {"support_threshold": 1}})", "must lie strictly between 0 and 1"},
        BadValue{R"({"quick": {"diagonal_sparse_interpolator": {"draws": 0}}})",
                 "key 'quick.diagonal_sparse_interpolator.draws' must be an integer >= 1"},
        BadValue{R"([1, 2])", "expected a JSON object at the top level"},
        BadValue{R"({"seed": 0,})", "not a valid configuration"}));

TEST(VerificationConfig, QuickValuesAreCheckedWithoutQuick) {
  // A bad value in the quick section is refused even when --quick is not given (and with it).
  EXPECT_NE(error_of(R"({"quick": {"rank_one_sgd": {"lr": -1}}})", false).find("quick.rank_one_sgd.lr"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"quick": {"rank_one_sgd": {"lr": -1}}})", true).find("quick.rank_one_sgd.lr"),
            std::string::npos);
}

TEST(VerificationConfig, FileErrorsNameTheFile) {
  const std::string dir = zeroloss::test::temp_dir("verification-config");
  const std::string path = dir + "/c.json";
  std::ofstream(path) << R"({"flow_rate": {"max_flow_time": 1e400}})";
  try {
    read_verification_config(path, false);
    ADD_FAILURE() << "1e400 accepted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind(path + ": ", 0), 0u) << m;
    EXPECT_NE(m.find("'flow_rate.max_flow_time'"), std::string::npos) << m;
  }
  EXPECT_THROW(read_verification_config(dir + "/missing.json", false), InputError);
}

}  // namespace
