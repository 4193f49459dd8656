// How the option checks name an option (support/option_spelling.hpp): the command line's flag or the
// Python module's keyword argument, from one check.

#include <gtest/gtest.h>

#include <string>

#include "zeroloss/runs/label_noise_sgd_run_options.hpp"
#include "zeroloss/runs/run_parameters.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/option_spelling.hpp"

using namespace zeroloss;

namespace {

TEST(OptionSpelling, FlagsAndKeywords) {
  EXPECT_EQ(option_name("label-noise", OptionSpelling::CommandLine), "--label-noise");
  EXPECT_EQ(option_name("label-noise", OptionSpelling::Keyword), "label_noise");
  EXPECT_EQ(option_name("lr", OptionSpelling::Keyword), "lr");
}

TEST(OptionSpelling, TheScheduleChecksNameTheOptionInTheCallersSpelling) {
  EXPECT_EQ(sgd_schedule_error(0, 0.1, 0.5, 0, 10), "--steps must be at least 1");
  EXPECT_EQ(sgd_schedule_error(0, 0.1, 0.5, 0, 10, OptionSpelling::Keyword), "steps must be at least 1");
  EXPECT_EQ(sgd_schedule_error(10, 0.1, -1, 0, 10, OptionSpelling::Keyword),
            "label_noise -1: expected a finite scale s >= 0");
  EXPECT_EQ(sgd_schedule_error(10, 0.1, 0.5, 0, 0, OptionSpelling::Keyword), "log_points must be at least 1");
  try {
    check_sgd_time_scales(1e-200, 10, 0.5, OptionSpelling::Keyword);
    ADD_FAILURE() << "no exception";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("lr 1e-200 with steps 10: ", 0), 0u) << what;
    EXPECT_NE(what.find("expected a larger lr"), std::string::npos) << what;
    EXPECT_EQ(what.find("--"), std::string::npos) << what;
  }
  try {
    parse_batch("7", 3, OptionSpelling::Keyword);
    ADD_FAILURE() << "no exception";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("batch 7: the batch size must satisfy 1 <= B <= n = 3", 0), 0u) << e.what();
  }
  EXPECT_THROW(parse_batch("7", 3), InputError);
}

TEST(OptionSpelling, TheRunOptionsUseTheirSpelling) {
  LabelNoiseSgdRunOptions o;
  o.learning_rate = 0.1;
  o.label_noise = 0.5;
  o.steps = 10;
  o.out = "x";
  o.problem.data = "d.csv";
  o.problem.weights = "w.csv";
  o.threads = -1;
  std::string why;
  EXPECT_FALSE(o.is_valid(&why));
  EXPECT_EQ(why, "--threads -1: expected N >= 1 (or 0: all cores)");
  o.spelling = OptionSpelling::Keyword;
  EXPECT_FALSE(o.is_valid(&why));
  EXPECT_EQ(why, "threads -1: expected N >= 1 (or 0: all cores)");
  o.threads = 0;
  o.seeds = {1, 1};
  o.ensemble = true;
  EXPECT_FALSE(o.is_valid(&why));
  EXPECT_EQ(why, "seeds: a seed appears twice");
}

}  // namespace
