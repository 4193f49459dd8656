#include "zeroloss/sweep/sweep_specification.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

#include "zeroloss/model/activation.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/model/model_kind.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/runs/generated_data.hpp"
#include "zeroloss/runs/label_noise_sgd_run_options.hpp"
#include "zeroloss/runs/run_parameters.hpp"
#include "zeroloss/runs/sharpness_flow_run.hpp"
#include "zeroloss/sweep/sweep_task.hpp"

namespace zeroloss {

const char* to_string(SweepTaskKind kind) {
  switch (kind) {
    case SweepTaskKind::Sgd: return "sgd";
    case SweepTaskKind::Flow: return "flow";
    case SweepTaskKind::Compare: return "compare";
    case SweepTaskKind::Convexity: return "convexity";
    case SweepTaskKind::Optimum: return "optimum";
  }
  return "?";
}

const std::vector<SweepTaskKind>& sweep_task_kinds() {
  static const std::vector<SweepTaskKind> kinds = {SweepTaskKind::Sgd, SweepTaskKind::Flow, SweepTaskKind::Compare,
                                                   SweepTaskKind::Convexity, SweepTaskKind::Optimum};
  return kinds;
}

namespace {

using nlohmann::json;

// Integer: an int >= 0 or >= 1; Count: an unsigned 64-bit integer; Real: a finite number; Reals: a
// non-empty list of finite numbers; Text: a string; Batch: an integer >= 1 or "full" (kept as
// text, as the runs record it).
enum class ParameterType { Integer, Count, Real, Reals, Text, Batch };

// The kinds that take a parameter, as a set of bits.
constexpr unsigned bit(SweepTaskKind k) { return 1u << static_cast<unsigned>(k); }
constexpr unsigned kSgd = bit(SweepTaskKind::Sgd), kFlow = bit(SweepTaskKind::Flow),
                   kCompare = bit(SweepTaskKind::Compare), kConvexity = bit(SweepTaskKind::Convexity),
                   kOptimum = bit(SweepTaskKind::Optimum);
constexpr unsigned kAll = kSgd | kFlow | kCompare | kConvexity | kOptimum;

struct ParameterRule {
  const char* name;
  ParameterType type;
  unsigned kinds;        // the kinds that take it
  const char* fallback;  // JSON text of the default; nullptr: none (required or optional, see below)
};

// Required: n, d; eta, s, steps (sgd); time (flow, compare); etas, s (compare); m for the two-layer
// network. Flow takes exactly one of s and C, and B only with s.
const std::vector<ParameterRule>& rules() {
  static const std::vector<ParameterRule> r = {
      {"model", ParameterType::Text, kAll, "\"two-layer\""},
      {"generator", ParameterType::Text, kAll, "\"gaussian\""},
      {"n", ParameterType::Integer, kAll, nullptr},
      {"d", ParameterType::Integer, kAll, nullptr},
      {"data_seed", ParameterType::Count, kAll, "0"},
      {"label_scale", ParameterType::Real, kAll, "1.0"},
      {"m", ParameterType::Integer, kAll, nullptr},
      {"init_scale", ParameterType::Real, kAll, "1.0"},
      {"init_seed", ParameterType::Count, kAll, "0"},
      {"activation", ParameterType::Text, kAll, "\"cubic\""},
      {"eta", ParameterType::Real, kSgd, nullptr},
      {"etas", ParameterType::Reals, kCompare, nullptr},
      {"s", ParameterType::Real, kSgd | kFlow | kCompare, nullptr},
      {"C", ParameterType::Real, kFlow, nullptr},
      {"B", ParameterType::Batch, kSgd | kFlow | kCompare, nullptr},
      {"seed", ParameterType::Count, kSgd | kConvexity, "0"},
      {"seeds", ParameterType::Integer, kCompare, "2"},
      {"steps", ParameterType::Count, kSgd, nullptr},
      {"checkpoint_every", ParameterType::Count, kSgd, "0"},
      {"time", ParameterType::Real, kFlow | kCompare, nullptr},
      {"points", ParameterType::Integer, kCompare, "5"},
      {"max_steps", ParameterType::Count, kFlow, "50000000"},
      {"log_points", ParameterType::Integer, kSgd | kFlow, "50"},
      {"preset", ParameterType::Text, kConvexity, "\"quick\""},
  };
  return r;
}

bool takes(const ParameterRule& rule, SweepTaskKind kind) { return (rule.kinds & bit(kind)) != 0; }

const ParameterRule* find_rule(const std::string& name) {
  for (const auto& r : rules())
    if (name == r.name) return &r;
  return nullptr;
}

std::string known_names() {
  std::string s;
  for (const auto& r : rules()) s += (s.empty() ? "" : ", ") + std::string(r.name);
  return s;
}

// The value checked and normalised (reals stored as doubles, batches as text).
json normalised(const json& value, const ParameterRule& rule, const std::string& where) {
  const std::string key = where + "." + rule.name;
  switch (rule.type) {
    case ParameterType::Integer:
      if (!value.is_number_integer() || value.get<long long>() < 0 ||
          value.get<long long>() > std::numeric_limits<int>::max())
        throw InputError(key + ": expected a non-negative integer, got " + value.dump());
      return value.get<int>();
    case ParameterType::Count:
      if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<long long>() >= 0))
        throw InputError(key + ": expected a non-negative integer, got " + value.dump());
      return value.get<std::uint64_t>();
    case ParameterType::Real:
      if (!value.is_number() || !std::isfinite(value.get<double>()))
        throw InputError(key + ": expected a finite number, got " + value.dump());
      return value.get<double>();
    case ParameterType::Reals:
      if (!value.is_array() || value.empty())
        throw InputError(key + ": expected a non-empty list of finite numbers, got " + value.dump());
      for (const json& x : value)
        if (!x.is_number() || !std::isfinite(x.get<double>()))
          throw InputError(key + ": expected a non-empty list of finite numbers, got " + value.dump());
      return value.get<std::vector<double>>();
    case ParameterType::Text:
      if (!value.is_string()) throw InputError(key + ": expected a string, got " + value.dump());
      return value;
    case ParameterType::Batch:
      if (value.is_number_integer() && value.get<long long>() >= 1) return std::to_string(value.get<long long>());
      if (value.is_string() && value.get<std::string>() == "full") return value;
      throw InputError(key + ": expected a batch size (an integer >= 1 or \"full\"), got " + value.dump());
  }
  return value;
}

// Adds the parameters of `object` (checked against the kind) to `into`; a name given twice is an error.
void add_parameters(json& into, const json& object, SweepTaskKind kind, const std::string& where) {
  if (!object.is_object()) throw InputError(where + ": expected an object of parameters, got " + object.dump());
  for (const auto& [name, value] : object.items()) {
    const ParameterRule* rule = find_rule(name);
    if (rule == nullptr)
      throw InputError(where + ": unknown parameter '" + name + "' (known: " + known_names() + ")");
    if (!takes(*rule, kind))
      throw InputError(where + "." + name + ": not a parameter of " + to_string(kind) + " tasks");
    if (into.contains(name))
      throw InputError(where + "." + name + ": given twice (in parameters and in the grid or list)");
    into[name] = normalised(value, *rule, where);
  }
}

// Defaults, required parameters and the checks that need several of them.
void complete(json& p, SweepTaskKind kind, const std::string& where) {
  for (const auto& r : rules()) {
    if (!takes(r, kind) || p.contains(r.name) || r.fallback == nullptr) continue;
    p[r.name] = json::parse(r.fallback);
  }
  auto require = [&](const char* name) {
    if (!p.contains(name)) throw InputError(where + ": missing parameter '" + std::string(name) + "'");
  };
  require("n");
  require("d");
  try {
    const ModelKind model = parse_model_kind(p["model"].get<std::string>());
    p["model"] = to_string(model);
    if (model == ModelKind::TwoLayer) require("m");
    if (model == ModelKind::DiagonalLinear && p.contains("m"))
      throw InputError("m is a parameter of the two-layer network only");
  } catch (const InputError& e) {
    throw InputError(where + ".model: " + e.what());
  }
  if (kind == SweepTaskKind::Sgd || kind == SweepTaskKind::Compare) {
    require(kind == SweepTaskKind::Sgd ? "eta" : "etas");
    require("s");
    require(kind == SweepTaskKind::Sgd ? "steps" : "time");
    if (!p.contains("B")) p["B"] = "1";
  } else if (kind == SweepTaskKind::Flow) {
    require("time");
    if (p.contains("s") == p.contains("C"))
      throw InputError(where + ": give exactly one of 's' (label noise, C = s^2/(4B)) and 'C'");
    if (p.contains("B") && !p.contains("s")) throw InputError(where + ".B: the batch is used only with 's'");
  }
}

// Everything a task's run would refuse, checked now: the data and start options, the run options
// (is_valid, whose messages name the command-line option; here prefixed by the task), the batch.
void check_task(const SweepTask& task, const std::string& where) {
  const json& p = task.parameters;
  const std::string at = where + " (task " + task.id + ")";
  auto fail = [&](const std::string& message) { throw InputError(at + ": " + message); };
  try {
    (void)parse_generator(p["generator"].get<std::string>());
  } catch (const Error& e) {
    throw InputError(at + ".generator: " + e.what());
  }
  try {
    (void)Activation::from_name(p["activation"].get<std::string>());
  } catch (const Error& e) {
    throw InputError(at + ".activation: " + e.what());
  }
  if (p["n"].get<int>() < 1) fail("n: expected n >= 1");
  if (p["d"].get<int>() < 1) fail("d: expected d >= 1");
  const SweepTaskFiles files = sweep_task_files("DIR", task);
  std::string error;
  try {
    sweep_task_data_options(task, files).validate();
    if (p.contains("B")) (void)parse_batch(p["B"].get<std::string>(), p["n"].get<int>());
  } catch (const Error& e) {
    fail(e.what());
  }
  switch (task.kind) {
    case SweepTaskKind::Sgd:
      if (p["model"] == "diagonal-linear" ? !sweep_task_diagonal_sgd_options(task, files).is_valid(&error)
                                          : !sweep_task_sgd_options(task, files).is_valid(&error))
        fail(error);
      break;
    case SweepTaskKind::Flow:
      if (!sweep_task_flow_options(task, files).is_valid(&error)) fail(error);
      break;
    case SweepTaskKind::Compare: {
      for (const json& eta : p["etas"])
        if (eta.get<double>() <= 0) fail("etas: every step size must be > 0");
      if (!(p["time"].get<double>() > 0)) fail("time: expected the SGD time t_end > 0");
      if (!(p["s"].get<double>() > 0)) fail("s: expected the label noise s > 0");
      if (p["seeds"].get<int>() < 1) fail("seeds: expected at least 1 seed per step size");
      if (p["points"].get<int>() < 1) fail("points: expected at least 1 comparison time");
      break;
    }
    case SweepTaskKind::Convexity:
      try {
        const std::string preset = p["preset"].get<std::string>();
        if (preset != "quick" && preset != "full") fail("preset: expected \"quick\" or \"full\", got \"" + preset + "\"");
        sweep_task_convexity_options(task, files).settings.validate();
      } catch (const InputError& e) {
        fail(e.what());
      }
      break;
    case SweepTaskKind::Optimum:
      break;
  }
}

void expand_entry(const json& entry, std::size_t e, std::vector<SweepTask>& tasks) {
  const std::string where = "tasks[" + std::to_string(e) + "]";
  if (!entry.is_object()) throw InputError(where + ": expected an object with 'kind' and 'parameters'");
  for (const auto& [key, value] : entry.items()) {
    (void)value;
    if (key != "kind" && key != "parameters" && key != "grid" && key != "list")
      throw InputError(where + ": unknown key '" + key + "' (known: kind, parameters, grid, list)");
  }
  std::string known;
  for (SweepTaskKind k : sweep_task_kinds()) known += (known.empty() ? "" : ", ") + std::string(to_string(k));
  if (!entry.contains("kind") || !entry["kind"].is_string())
    throw InputError(where + ".kind: missing; expected one of " + known);
  const std::string kind_name = entry["kind"].get<std::string>();
  const auto& kinds = sweep_task_kinds();
  const auto found = std::find_if(kinds.begin(), kinds.end(), [&](SweepTaskKind k) { return kind_name == to_string(k); });
  if (found == kinds.end())
    throw InputError(where + ".kind: unknown task kind \"" + kind_name + "\" (known: " + known + ")");
  const SweepTaskKind kind = *found;
  if (entry.contains("grid") && entry.contains("list")) throw InputError(where + ": give a grid or a list, not both");

  json fixed = json::object();
  if (entry.contains("parameters")) add_parameters(fixed, entry["parameters"], kind, where + ".parameters");

  // The variations: the grid's Cartesian product (keys in sorted order, the last varying fastest),
  // or the list's parameter sets in order, or the fixed parameters alone.
  std::vector<json> variations;
  if (entry.contains("grid")) {
    const json& grid = entry["grid"];
    if (!grid.is_object() || grid.empty()) throw InputError(where + ".grid: expected an object of value lists");
    variations.push_back(json::object());
    for (const auto& [name, values] : grid.items()) {
      if (!values.is_array() || values.empty())
        throw InputError(where + ".grid." + name + ": expected a non-empty list of values");
      std::vector<json> next;
      for (const json& v : variations)
        for (const json& value : values) {
          json w = v;
          w[name] = value;
          next.push_back(std::move(w));
        }
      variations = std::move(next);
    }
  } else if (entry.contains("list")) {
    const json& list = entry["list"];
    if (!list.is_array() || list.empty()) throw InputError(where + ".list: expected a non-empty list of parameter objects");
    for (const json& v : list) variations.push_back(v);
  } else {
    variations.push_back(json::object());
  }
  for (std::size_t k = 0; k < variations.size(); ++k) {
    const std::string at = where + (entry.contains("grid") ? ".grid" : entry.contains("list") ? ".list[" + std::to_string(k) + "]" : "");
    SweepTask task;
    task.index = tasks.size();
    char id[32];
    std::snprintf(id, sizeof id, "%04zu", task.index);
    task.id = id;
    task.kind = kind;
    task.parameters = fixed;
    add_parameters(task.parameters, variations[k], kind, at);
    complete(task.parameters, kind, where);
    check_task(task, where);
    tasks.push_back(std::move(task));
  }
}

}  // namespace

const std::vector<std::string>& sweep_parameter_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& r : rules()) v.push_back(r.name);
    return v;
  }();
  return names;
}

SweepSpecification parse_sweep_specification(const nlohmann::json& document, const std::string& source) {
  try {
    if (!document.is_object()) throw InputError("expected a JSON object with 'format' and 'tasks'");
    for (const auto& [key, value] : document.items()) {
      (void)value;
      if (key != "format" && key != "version" && key != "tasks" && key != "description")
        throw InputError("unknown key '" + key + "' (known: format, version, description, tasks)");
    }
    if (!document.contains("format") || document["format"] != "zeroloss-sweep")
      throw InputError("format: expected \"zeroloss-sweep\"");
    if (document.contains("version") && document["version"] != 1) throw InputError("version: expected 1");
    if (!document.contains("tasks") || !document["tasks"].is_array() || document["tasks"].empty())
      throw InputError("tasks: expected a non-empty list of task entries");
    SweepSpecification spec;
    spec.source = source;
    spec.document = document;
    for (std::size_t e = 0; e < document["tasks"].size(); ++e) expand_entry(document["tasks"][e], e, spec.tasks);
    if (spec.tasks.size() > 1000000) throw InputError("tasks: more than 10^6 tasks");
    return spec;
  } catch (const InputError& e) {
    throw InputError(source + ": " + e.what());
  }
}

SweepSpecification read_sweep_specification(const std::string& path) {
  return parse_sweep_specification(read_json_file(path), path);
}

std::string example_sweep_specification() {
  return R"({
  "format": "zeroloss-sweep",
  "version": 1,
  "description": "label-noise SGD at two step sizes and two seeds, and its limiting flow at two noise levels",
  "tasks": [
    {
      "kind": "sgd",
      "parameters": {"generator": "gaussian", "n": 4, "d": 6, "data_seed": 1, "m": 5,
                     "activation": "cubic", "s": 0.5, "B": 1, "steps": 2000000, "checkpoint_every": 500000},
      "grid": {"eta": [0.005, 0.01], "seed": [1, 2]}
    },
    {
      "kind": "flow",
      "parameters": {"generator": "gaussian", "n": 4, "d": 6, "data_seed": 1, "m": 5,
                     "activation": "cubic", "time": 40},
      "list": [{"s": 0.5}, {"s": 1.0}]
    }
  ]
}
)";
}

}  // namespace zeroloss
