// Ceres reports through glog; library calls leave glog silent (fatal messages aside) unless the
// program initialized glog itself or ZEROLOSS_CERES_LOG is set, so library users and the CLI see
// only the library's own results and messages on stderr.

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/manifold/projection.hpp"

namespace {

using namespace zeroloss;

TEST(CeresLogging, ACeresCallLeavesGlogSilent) {
  ASSERT_EQ(std::getenv("ZEROLOSS_CERES_LOG"), nullptr);
  ASSERT_FALSE(google::IsGoogleLoggingInitialized());
  const auto p = test::random_problem(3, 4, 3, "cubic", false, 7);
  try {
    project_ceres(p.model, p.theta);
  } catch (const Error&) {
    // Whether it converged does not matter here: Ceres ran.
  }
  EXPECT_EQ(FLAGS_minloglevel, google::GLOG_FATAL);
  testing::internal::CaptureStderr();
  LOG(WARNING) << "a warning Ceres could print";
  LOG(ERROR) << "an error Ceres could print";
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

// The CLI through Ceres' failure path (residuals of 1e120 at the start, finite but beyond the solver): exactly the program's one
// line on stderr, nothing from glog; and nothing at all on a successful Ceres projection.
TEST(CeresLogging, ProjectWithCeresPrintsOnlyItsOwnMessage) {
  const std::string dir = test::temp_dir("ceres-logging");
  std::ofstream(dir + "/D.csv") << "x1,x2,x3,y\n0.5,0.2,-0.1,1.0\n-0.3,0.6,0.2,-0.5\n0.1,-0.2,0.7,0.25\n";
  std::ofstream(dir + "/W.csv") << "w1,w2,w3,a\n0.8,-0.4,0.3,1\n-0.2,0.5,0.9,1\n0.4,0.4,-0.5,1\n";
  std::ofstream(dir + "/Wbig.csv") << "w1,w2,w3,a\n8e40,-4e40,3e40,1\n-2e40,5e40,9e40,1\n4e40,4e40,-5e40,1\n";
  const std::string z = test::zeroloss_binary() + " project --method ceres --data " + dir + "/D.csv";
  std::string out, err;
  EXPECT_EQ(test::run_command(z + " --weights " + dir + "/W.csv --out " + dir + "/P.csv", &out, &err), 0) << err;
  EXPECT_EQ(err, "");
  EXPECT_EQ(test::run_command(z + " --weights " + dir + "/Wbig.csv --out " + dir + "/Q.csv", &out, &err), 5) << err;
  EXPECT_EQ(err.rfind("zeroloss project: error: Ceres Levenberg-Marquardt projection stopped", 0), 0u) << err;
  EXPECT_EQ(err.find('\n'), err.size() - 1) << err;  // one line
}

}  // namespace
