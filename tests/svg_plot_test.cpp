// The gnuplot driver (presentation/svg_plot.hpp): a real SVG when gnuplot is present, a note and the script when
// it is not, dropped points on log axes counted.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_support.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/svg_plot.hpp"

using namespace zeroloss;

namespace {

using zeroloss::test::slurp;

PlotSpec demo() {
  PlotSpec spec;
  spec.title = "T - T* \"against\" flow time";
  spec.x_label = "tau";
  spec.y_label = "T - T*";
  spec.log_y = true;
  PlotSeries a{"flow", {0, 1, 2, 3}, {1, 0.1, 0.01, 0.0}, PlotStyle::Lines, "black", false};  // 0: dropped
  PlotSeries b{"SGD eta=0.01", {0.5, 1.5}, {0.3, 0.03}, PlotStyle::Points, "", false};
  spec.series = {a, b};
  return spec;
}

struct EnvGuard {
  explicit EnvGuard(const char* value) {
    if (const char* old = std::getenv("ZEROLOSS_GNUPLOT")) saved = old, had = true;
    if (value)
      setenv("ZEROLOSS_GNUPLOT", value, 1);
    else
      unsetenv("ZEROLOSS_GNUPLOT");
  }
  ~EnvGuard() {
    if (had)
      setenv("ZEROLOSS_GNUPLOT", saved.c_str(), 1);
    else
      unsetenv("ZEROLOSS_GNUPLOT");
  }
  std::string saved;
  bool had = false;
};

TEST(SvgPlot, DrawsAnSvgWhenGnuplotIsPresent) {
  EnvGuard env(nullptr);
  if (gnuplot_program().empty()) GTEST_SKIP() << "gnuplot is not installed (scripts/install-deps installs it)";
  const std::string dir = test::temp_dir("svgplot");
  const PlotOutcome o = write_svg_plot(demo(), dir + "/gap.svg");
  ASSERT_TRUE(o.written) << o.note;
  EXPECT_TRUE(o.note.empty()) << o.note;
  EXPECT_EQ(o.dropped_points, 1);
  const std::string svg = slurp(dir + "/gap.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_NE(svg.find("SGD eta=0.01"), std::string::npos);
  EXPECT_NE(slurp(dir + "/gap.gp").find("set logscale y"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir + "/gap.svg.tmp"));
}

TEST(SvgPlot, WithoutGnuplotWritesTheScriptAndSaysSo) {
  EnvGuard env("none");
  const std::string dir = test::temp_dir("svgplot-none");
  const PlotOutcome o = write_svg_plot(demo(), dir + "/gap.svg");
  EXPECT_FALSE(o.written);
  EXPECT_NE(o.note.find("gnuplot not found"), std::string::npos) << o.note;
  EXPECT_NE(o.note.find("gap.gp"), std::string::npos) << o.note;
  EXPECT_FALSE(std::filesystem::exists(dir + "/gap.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/gap.gp"));
}

TEST(SvgPlot, FailingGnuplotIsReportedNotThrown) {
  EnvGuard env("/bin/false");
  const std::string dir = test::temp_dir("svgplot-false");
  const PlotOutcome o = write_svg_plot(demo(), dir + "/gap.svg");
  EXPECT_FALSE(o.written);
  EXPECT_NE(o.note.find("failed"), std::string::npos) << o.note;
  EXPECT_FALSE(std::filesystem::exists(dir + "/gap.svg"));
}

TEST(SvgPlot, RejectsInvalidSpecs) {
  PlotSpec empty;
  EXPECT_THROW(write_svg_plot(empty, "/tmp/x.svg"), InputError);
  PlotSpec ragged;
  ragged.series.push_back(PlotSeries{"bad", {1, 2}, {1}, PlotStyle::Lines, "", false});
  EXPECT_THROW(write_svg_plot(ragged, "/tmp/x.svg"), InputError);
}

}  // namespace
