#pragma once
// The verification report as a document: a verdict table (one row per claim of the paper, each
// with its evidence, key numbers and the command that reproduces it), figures, the configuration,
// versions, seeds and timings. Written as one self-contained HTML page (figures inlined as SVG),
// a Markdown twin, and summary.json with a `verdicts` object.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "zeroloss/verification/decision.hpp"

namespace zeroloss {

struct Figure {
  std::string file;     // SVG file name relative to the report directory
  std::string caption;  // one sentence: what is plotted
  std::string data;     // CSV behind it, relative to the report directory
};

struct Verdict {
  std::string key;       // stable identifier used in summary.json (e.g. "global_minimum")
  std::string claim;     // the paper's claim in one sentence
  VerdictStatus status = VerdictStatus::Reported;
  std::string evidence;  // what was measured, in words, with the numbers
  std::string command;   // a zeroloss command line that reproduces the evidence
  nlohmann::json numbers = nlohmann::json::object();  // key numbers (machine readable)
  std::vector<Figure> figures;
  // The claim's mutants and whether its rule rejected each (decision.hpp); empty when the claim
  // has none. Any mutant not rejected makes a passing claim inconclusive.
  std::vector<MutantOutcome> power;
  double seconds = 0;    // wall time of the check
};

struct ReportDocument {
  std::string title;
  std::string introduction;           // a paragraph (plain text)
  std::vector<Verdict> verdicts;
  nlohmann::json configuration;       // the configuration actually used
  nlohmann::json environment;         // versions, machine, seeds, total time
};

// Writes DIR/report.html, DIR/report.md and DIR/summary.json (each atomically). Figures are read from
// DIR/<figure.file>; a missing figure is named in the page instead of silently dropped.
void write_report(const std::string& dir, const ReportDocument& document);

// A verdict as JSON: key, claim, status (to_string), evidence, command, numbers, figures
// ({file, caption, data}), power ({mutant, changes, rejected}) and seconds; verdict_from_json reads
// it back (throws InputError on a missing key or an unknown status; a missing power list, as saved
// before mutants existed, reads as empty).
nlohmann::json verdict_json(const Verdict& verdict);
Verdict verdict_from_json(const nlohmann::json& j);

// HTML-escapes text.
std::string html_escape(const std::string& text);

}  // namespace zeroloss
