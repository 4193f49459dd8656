#include "zeroloss/presentation/report_document.hpp"

#include <fstream>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss {
namespace {

std::string read_text(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  if (!ok) return {};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Removes an XML prolog and DOCTYPE so the SVG can be inlined in HTML.
std::string inline_svg(std::string svg) {
  for (const char* tag : {"<?xml", "<!DOCTYPE"}) {
    const size_t b = svg.find(tag);
    if (b != std::string::npos) {
      const size_t e = svg.find('>', b);
      if (e != std::string::npos) svg.erase(b, e - b + 1);
    }
  }
  return svg;
}

const char* kStyle = R"(
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.4em 0.6em; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
.pass { background: #e3f6e3; font-weight: bold; } .fail { background: #fbe0e0; font-weight: bold; }
.not-applicable { background: #eee; } .reported { background: #e6eefb; font-weight: bold; }
.error { background: #fff1c2; font-weight: bold; } .inconclusive { background: #f3e3fb; font-weight: bold; }
code, pre { font-family: Menlo, Consolas, monospace; font-size: 0.88em; }
pre { background: #f7f7f7; padding: 0.8em; white-space: pre-wrap; overflow-wrap: anywhere; }
figure { margin: 1.2em 0; } figcaption { font-size: 0.9em; color: #444; }
figure svg { max-width: 100%; height: auto; }
)";

// "a && b && c" -> one command per line, continued with " &&".
std::string one_per_line(const std::string& commands) {
  std::string out;
  size_t start = 0;
  while (true) {
    const size_t k = commands.find(" && ", start);
    if (k == std::string::npos) {
      out += commands.substr(start);
      break;
    }
    out += commands.substr(start, k - start) + " &&\n";
    start = k + 4;
  }
  return out;
}

}  // namespace

nlohmann::json verdict_json(const Verdict& v) {
  nlohmann::json figs = nlohmann::json::array();
  for (const auto& f : v.figures) figs.push_back({{"file", f.file}, {"caption", f.caption}, {"data", f.data}});
  nlohmann::json power = nlohmann::json::array();
  for (const auto& m : v.power)
    power.push_back({{"mutant", m.mutant}, {"changes", m.changes}, {"rejected", m.rejected}});
  return {{"key", v.key},         {"claim", v.claim},     {"status", to_string(v.status)}, {"evidence", v.evidence},
          {"command", v.command}, {"numbers", v.numbers}, {"figures", figs},               {"power", power},
          {"seconds", v.seconds}};
}

Verdict verdict_from_json(const nlohmann::json& j) {
  try {
    Verdict v;
    v.key = j.at("key");
    v.claim = j.at("claim");
    v.status = verdict_status_from_string(j.at("status"));
    v.evidence = j.at("evidence");
    v.command = j.at("command");
    v.numbers = j.at("numbers");
    v.seconds = j.at("seconds");
    for (const auto& f : j.at("figures")) v.figures.push_back({f.at("file"), f.at("caption"), f.at("data")});
    if (j.contains("power"))
      for (const auto& m : j.at("power")) v.power.push_back({m.at("mutant"), m.at("changes"), m.at("rejected")});
    return v;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("a saved verdict is incomplete or of the wrong type (") + e.what() + ")");
  }
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

void write_report(const std::string& dir, const ReportDocument& doc) {
  // summary.json
  nlohmann::json summary;
  summary["title"] = doc.title;
  summary["verdicts"] = nlohmann::json::object();
  for (const auto& v : doc.verdicts) {
    nlohmann::json j = verdict_json(v);
    j.erase("key");  // the key names the entry
    summary["verdicts"][v.key] = j;
  }
  summary["configuration"] = doc.configuration;
  summary["environment"] = doc.environment;

  // report.html
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" << html_escape(doc.title)
    << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n<h1>" << html_escape(doc.title) << "</h1>\n<p>"
    << html_escape(doc.introduction) << "</p>\n<h2 id=\"verdicts\">Verdicts</h2>\n<table>\n<tr><th>#</th><th>Claim</th>"
    << "<th>Verdict</th><th>Evidence</th><th>Time</th></tr>\n";
  int k = 0;
  for (const auto& v : doc.verdicts) {
    ++k;
    const std::string s = to_string(v.status);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f s", v.seconds);
    h << "<tr><td>" << k << "</td><td><a href=\"#" << html_escape(v.key) << "\">" << html_escape(v.claim)
      << "</a></td><td class=\"" << s << "\">" << s << "</td><td>" << html_escape(v.evidence) << "</td><td>" << secs
      << "</td></tr>\n";
  }
  h << "</table>\n";
  std::ostringstream md;
  md << "# " << doc.title << "\n\n" << doc.introduction << "\n\n## Verdicts\n\n| # | Claim | Verdict | Evidence |\n"
     << "|---|---|---|---|\n";
  k = 0;
  auto md_cell = [](std::string s) {
    for (auto& c : s)
      if (c == '|' || c == '\n') c = c == '|' ? '/' : ' ';
    return s;
  };
  for (const auto& v : doc.verdicts) {
    ++k;
    md << "| " << k << " | " << md_cell(v.claim) << " | **" << to_string(v.status) << "** | " << md_cell(v.evidence)
       << " |\n";
  }
  md << "\n";
  k = 0;
  for (const auto& v : doc.verdicts) {
    ++k;
    h << "<h2 id=\"" << html_escape(v.key) << "\">" << k << ". " << html_escape(v.claim) << "</h2>\n<p><span class=\""
      << to_string(v.status) << "\">&nbsp;" << to_string(v.status) << "&nbsp;</span> " << html_escape(v.evidence)
      << "</p>\n<p>Reproduce (the commands that produced this evidence):</p>\n<pre>" << html_escape(one_per_line(v.command))
      << "</pre>\n<details><summary>Key numbers (JSON, also in summary.json)</summary>\n<pre>"
      << html_escape(v.numbers.dump(2)) << "</pre>\n</details>\n";
    md << "## " << k << ". " << v.claim << "\n\n**" << to_string(v.status) << "**: " << v.evidence
       << "\n\nReproduce:\n\n```sh\n" << one_per_line(v.command) << "\n```\n\n```json\n" << v.numbers.dump(2)
       << "\n```\n\n";
    if (!v.power.empty()) {
      h << "<p>Power: the same rule on falsified variants of the pipeline (a pass needs every one rejected).</p>\n"
        << "<table>\n<tr><th>Mutant</th><th>What it changes</th><th>Rejected</th></tr>\n";
      md << "Power: the same rule on falsified variants of the pipeline (a pass needs every one rejected).\n\n"
         << "| Mutant | What it changes | Rejected |\n|---|---|---|\n";
      for (const auto& m : v.power) {
        h << "<tr><td>" << html_escape(m.mutant) << "</td><td>" << html_escape(m.changes) << "</td><td class=\""
          << (m.rejected ? "pass\">yes" : "fail\">no") << "</td></tr>\n";
        md << "| " << md_cell(m.mutant) << " | " << md_cell(m.changes) << " | " << (m.rejected ? "yes" : "**no**")
           << " |\n";
      }
      h << "</table>\n";
      md << "\n";
    }
    for (const auto& f : v.figures) {
      bool ok = false;
      const std::string svg = read_text(dir + "/" + f.file, ok);
      h << "<figure>\n";
      if (ok)
        h << inline_svg(svg) << "\n";
      else
        h << "<p class=\"fail\">figure " << html_escape(f.file) << " was not produced (is gnuplot installed?)</p>\n";
      h << "<figcaption>" << html_escape(f.caption) << " Data: <code>" << html_escape(f.data)
        << "</code></figcaption>\n</figure>\n";
      md << "![" << f.caption << "](" << f.file << ")\n\n*" << f.caption << "* Data: `" << f.data << "`\n\n";
    }
  }
  h << "<h2 id=\"configuration\">Configuration</h2>\n<pre>" << html_escape(doc.configuration.dump(2))
    << "</pre>\n<h2 id=\"environment\">Environment, seeds and timings</h2>\n<pre>" << html_escape(doc.environment.dump(2))
    << "</pre>\n</body>\n</html>\n";
  md << "## Configuration\n\n```json\n" << doc.configuration.dump(2) << "\n```\n\n## Environment\n\n```json\n"
     << doc.environment.dump(2) << "\n```\n";

  write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
  write_file_atomic(dir + "/report.md", md.str());
  write_file_atomic(dir + "/report.html", h.str());
}

}  // namespace zeroloss
