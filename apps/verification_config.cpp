#include "verification_config.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "zeroloss/errors.hpp"

namespace zeroloss::cli {

using nlohmann::json;

json default_verification_config() {
  return json::parse(R"json({
  "claims": ["global_minimum", "flow_rate", "sgd_tracks_flow", "rank_one_sgd", "local_convexity",
             "outside_assumptions"],
  "seed": 0,
  "problem": {
    "generator": "gaussian", "n": 3, "d": 5, "m": 4, "activation": "cubic",
    "label_scale": 1.0, "data_seed": 1, "init_scale": 0.5
  },
  "global_minimum": {
    "starts": 32, "flow_time": 2000.0, "until_gradient": 1e-9, "relative_tolerance": 1e-6,
    "rank_tolerance": 1e-6, "mixed_second_layer": true
  },
  "flow_rate": { "flow_time": 200.0, "log_points": 400 },
  "sgd_tracks_flow": {
    "label_noise": 1.0, "batch": 1, "lr_list": [0.02, 0.01, 0.005, 0.0025, 0.00125, 0.000625], "time": 0.3, "seeds": 64,
    "points": 10
  },
  "rank_one_sgd": {
    "n": 3, "d": 3, "m": 10, "data_seed": 22, "lr": 0.05, "label_noise": 0.03, "steps": 100000000,
    "log_points": 400, "rank_one_threshold": 0.01
  },
  "local_convexity": { "preset": "full" },
  "outside_assumptions": {
    "cases": [
      { "name": "tanh", "activation": "tanh", "n": 3, "d": 5, "m": 4, "label_scale": 0.5 },
      { "name": "softplus", "activation": "softplus", "n": 3, "d": 5, "m": 4, "labels": "teacher" },
      { "name": "n > d (cubic)", "activation": "cubic", "n": 6, "d": 3, "m": 4, "label_scale": 1.0 }
    ],
    "flow_time": 500.0, "until_gradient": 1e-8
  },
  "quick": {
    "global_minimum": { "starts": 4 },
    "sgd_tracks_flow": { "lr_list": [0.02, 0.01, 0.005, 0.0025], "seeds": 16 },
    "rank_one_sgd": { "steps": 50000000 },
    "local_convexity": { "preset": "quick" },
    "outside_assumptions": { "flow_time": 200.0 }
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

void require(bool ok, const std::string& source, const std::string& key, const std::string& what) {
  if (!ok) throw InputError(source + ": key '" + key + "' " + what);
}

}  // namespace

json resolve_verification_config(const json& user, const std::string& source, bool quick) {
  if (!user.is_null() && !user.is_object()) throw InputError(source + ": expected a JSON object at the top level");
  // Precedence (lowest first): the defaults, the default "quick" overrides, the user's "quick"
  // section (both only with --quick), then the user's own settings outside "quick". Every user key
  // is validated against the defaults whether or not --quick is given.
  const json defaults = default_verification_config();
  json cfg = defaults;
  cfg.erase("quick");
  json user_plain = user.is_null() ? json::object() : user;
  json user_quick = json::object();
  if (user_plain.contains("quick")) {
    user_quick = user_plain["quick"];
    user_plain.erase("quick");
    if (!user_quick.is_object()) throw InputError(source + ": key 'quick' must be an object of overrides");
    json check = cfg;
    merge(check, user_quick, "quick", source);
  }
  if (quick) {
    merge(cfg, defaults["quick"], "", "the default quick overrides");
    merge(cfg, user_quick, "quick", source);
  }
  merge(cfg, user_plain, "", source);
  cfg["mode"] = quick ? "quick" : "full";

  static const std::set<std::string> known_claims = {"global_minimum", "flow_rate",        "sgd_tracks_flow",
                                                     "rank_one_sgd",   "local_convexity", "outside_assumptions"};
  for (const auto& c : cfg["claims"]) {
    require(c.is_string() && known_claims.count(c.get<std::string>()), source, "claims",
            "lists '" + c.dump() + "'; expected claim names among global_minimum, flow_rate, sgd_tracks_flow, "
            "rank_one_sgd, local_convexity, outside_assumptions");
  }
  const json& p = cfg["problem"];
  require(p["n"].get<int>() >= 1 && p["d"].get<int>() >= 1 && p["m"].get<int>() >= 1, source, "problem",
          "needs n, d, m >= 1");
  require(cfg["global_minimum"]["starts"].get<int>() >= 1, source, "global_minimum.starts", "must be >= 1");
  require(cfg["sgd_tracks_flow"]["lr_list"].size() >= 3, source, "sgd_tracks_flow.lr_list",
          "needs at least 3 step sizes to fit an order with a confidence interval");
  for (const auto& v : cfg["sgd_tracks_flow"]["lr_list"])
    require(v.is_number() && v.get<double>() > 0, source, "sgd_tracks_flow.lr_list", "must hold positive numbers");
  require(cfg["rank_one_sgd"]["steps"].get<long long>() >= 1, source, "rank_one_sgd.steps", "must be >= 1");
  const std::string preset = cfg["local_convexity"]["preset"];
  require(preset == "quick" || preset == "full", source, "local_convexity.preset", "must be \"quick\" or \"full\"");
  for (const auto& c : cfg["outside_assumptions"]["cases"]) {
    require(c.is_object() && c.contains("name") && c.contains("activation") && c.contains("n") && c.contains("d") &&
                c.contains("m"),
            source, "outside_assumptions.cases", "entries need name, activation, n, d, m (and optionally label_scale)");
  }
  return cfg;
}

json read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open configuration file");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw InputError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

}  // namespace zeroloss::cli
