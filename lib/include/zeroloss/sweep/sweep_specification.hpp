#pragma once
// A sweep specification (docs/sweeps.md): a list of entries, each a task kind (below) with fixed
// parameters and a grid (the Cartesian product of value lists) or a list of parameter sets, expanded
// into an ordered list of tasks. Every task is deterministic given its parameters: seeds come from
// the specification (data_seed, init_seed, seed), never from a rank, a thread or the clock.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zeroloss {

// sgd: label-noise SGD (either model); flow: the Riemannian flow of T (either model); compare: SGD
// ensembles at several step sizes against the limiting flow (either model); convexity: the minimizer
// of T, then the convexity diagnostics there; optimum: the minimizer of T (two-layer: closed form
// or L-BFGS; diagonal: the certified weighted-l1 interpolator).
enum class SweepTaskKind { Sgd, Flow, Compare, Convexity, Optimum };
const char* to_string(SweepTaskKind kind);  // "sgd", "flow", "compare", "convexity", "optimum"
const std::vector<SweepTaskKind>& sweep_task_kinds();  // every kind, in the order above

struct SweepTask {
  std::size_t index = 0;        // position in task order (0-based)
  std::string id;               // zero-padded index, the folder name DIR/tasks/<id>
  SweepTaskKind kind = SweepTaskKind::Sgd;
  nlohmann::json parameters;    // the task's parameters, defaults filled in (an object)
};

struct SweepSpecification {
  std::string source;           // the file read (for messages)
  nlohmann::json document;      // the specification as read
  std::vector<SweepTask> tasks; // in task order
};

// Reads and expands a specification and validates every task (the run options each would use, and
// everything the data fix: batch size <= n, m >= 1, ...). InputError naming the file, the entry
// (tasks[i]) and the key on the first problem, before anything is run or written.
SweepSpecification read_sweep_specification(const std::string& path);
// The same from a document already read; `source` names it in messages.
SweepSpecification parse_sweep_specification(const nlohmann::json& document, const std::string& source);

// The small specification `zeroloss sweep --example` prints: 6 tasks (4 SGD runs over two step
// sizes and two seeds, 2 flows), a few seconds on 2 cores.
std::string example_sweep_specification();

// The parameter names, in the column order of results.csv.
const std::vector<std::string>& sweep_parameter_names();

}  // namespace zeroloss
