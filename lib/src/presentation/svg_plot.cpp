#include "zeroloss/presentation/svg_plot.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/child_process.hpp"
#include "zeroloss/formats/output_directory.hpp"

namespace zeroloss {
namespace {

// A string literal for gnuplot (double quotes; backslash and quote escaped).
std::string gp_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string gnuplot_program() {
  std::string name = "gnuplot";
  if (const char* env = std::getenv("ZEROLOSS_GNUPLOT")) {
    const std::string v = env;
    if (v.empty() || v == "none") return "";
    if (v.find('/') != std::string::npos) return v;
    name = v;  // a bare program name: searched on PATH like the default
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

PlotOutcome write_svg_plot(const PlotSpec& spec, const std::string& svg_path) {
  if (spec.series.empty()) throw InputError("plot " + svg_path + ": no series to draw");
  namespace fs = std::filesystem;
  PlotOutcome out;
  out.svg_path = svg_path;
  const fs::path svg(svg_path);
  fs::path script = svg;
  script.replace_extension(".gp");
  out.script_path = script.string();

  std::ostringstream gp;
  gp << "# Drawn by zeroloss. Redraw with: cd <this folder> && gnuplot " << script.filename().string() << "\n";
  int drawn_series = 0;
  std::vector<int> kept;
  for (size_t s = 0; s < spec.series.size(); ++s) {
    const PlotSeries& ser = spec.series[s];
    if (ser.x.size() != ser.y.size()) {
      throw InputError("plot " + svg_path + ": series '" + ser.label + "' has " + std::to_string(ser.x.size()) +
                       " x values and " + std::to_string(ser.y.size()) + " y values");
    }
    std::ostringstream block;
    int points = 0;
    for (size_t k = 0; k < ser.x.size(); ++k) {
      const double x = ser.x[k], y = ser.y[k];
      if (!std::isfinite(x) || !std::isfinite(y) || (spec.log_x && !(x > 0)) || (spec.log_y && !(y > 0))) {
        ++out.dropped_points;
        continue;
      }
      block << format_double(x) << ' ' << format_double(y) << '\n';
      ++points;
    }
    if (points == 0) continue;
    gp << "$s" << s << " << EOD\n" << block.str() << "EOD\n";
    kept.push_back(static_cast<int>(s));
    ++drawn_series;
  }
  if (drawn_series == 0) {
    out.script_path.clear();
    out.note = "figure " + svg.filename().string() + " not drawn: no drawable points (" +
               std::to_string(out.dropped_points) + " non-finite or non-positive on a log axis)";
    return out;
  }
  gp << "if (!exists(\"outfile\")) outfile = " << gp_string(svg.filename().string()) << "\n";
  gp << "set terminal svg size " << spec.width << "," << spec.height
     << " dynamic enhanced font 'Helvetica,13' background rgb 'white'\n";
  gp << "set output outfile\n";
  if (!spec.title.empty()) gp << "set title " << gp_string(spec.title) << " noenhanced\n";
  if (!spec.x_label.empty()) gp << "set xlabel " << gp_string(spec.x_label) << " noenhanced\n";
  if (!spec.y_label.empty()) gp << "set ylabel " << gp_string(spec.y_label) << " noenhanced\n";
  if (spec.log_x) gp << "set logscale x\nset format x '10^{%L}'\n";
  if (spec.log_y) gp << "set logscale y\nset format y '10^{%L}'\n";
  gp << "set grid\n";
  if (spec.key == "off")
    gp << "unset key\n";
  else
    gp << "set key " << spec.key << " noenhanced\n";
  gp << "plot ";
  for (size_t q = 0; q < kept.size(); ++q) {
    const PlotSeries& ser = spec.series[kept[q]];
    gp << (q ? ", \\\n     " : "") << "$s" << kept[q] << " using 1:2 with ";
    switch (ser.style) {
      case PlotStyle::Lines: gp << "lines lw 2"; break;
      case PlotStyle::Points: gp << "points pt 7 ps 0.6"; break;
      case PlotStyle::LinesPoints: gp << "linespoints lw 2 pt 7 ps 0.6"; break;
    }
    if (!ser.color.empty()) gp << " lc rgb " << gp_string(ser.color);
    if (ser.dashed) gp << " dt 2";
    gp << " title " << gp_string(ser.label);
  }
  gp << "\nunset output\n";
  write_file_atomic(out.script_path, gp.str());

  const std::string program = gnuplot_program();
  if (program.empty()) {
    out.note = "gnuplot not found (install it, e.g. apt-get install gnuplot-nox): figure " + svg.filename().string() +
               " not drawn; draw it later with: cd " + svg.parent_path().string() + " && gnuplot " +
               script.filename().string();
    return out;
  }
  const fs::path dir = svg.parent_path().empty() ? fs::path(".") : svg.parent_path();
  const std::string tmp_name = svg.filename().string() + ".tmp";
  const std::string err_name = svg.filename().string() + ".gnuplot-errors";
  // In an open output folder both are recorded before gnuplot runs (svg_path.tmp with svg_path).
  const OutputWrite recorded_svg(svg_path), recorded_errors((dir / err_name).string());
  int status = 0;
  try {
    status = run_child_process(program, {"-e", "outfile='" + tmp_name + "'", script.filename().string()}, "/dev/null",
                               (dir / err_name).string(), dir.string())
                 .exit_code;
  } catch (const Error& e) {
    out.note = std::string(e.what()) + ": figure " + svg.filename().string() + " not drawn; the script is " +
               out.script_path;
    return out;
  }
  const fs::path tmp = dir / tmp_name, err = dir / err_name;
  const std::string svg_text = slurp(tmp.string());
  const std::string errors = slurp(err.string());
  std::error_code ec;
  fs::remove(err, ec);
  if (status != 0 || svg_text.find("</svg>") == std::string::npos) {
    fs::remove(tmp, ec);
    out.note = "gnuplot (" + program + ") failed to draw " + svg.filename().string() + " (exit status " +
               std::to_string(status) + ")" + (errors.empty() ? "" : ": " + errors.substr(0, 400)) +
               "; the script is " + out.script_path;
    return out;
  }
  fs::rename(tmp, svg, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw InputError(svg_path + ": cannot move the finished figure into place");
  }
  out.written = true;
  return out;
}

}  // namespace zeroloss
