#include "option_checks.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

#include "dynamics_common.hpp"
#include "zeroloss/model/activation.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/printable_text.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss::cli::checks {
namespace {

// The value as the user typed it, made safe to print (no control bytes, bounded length).
std::string shown(const std::string& text) { return printable_text(text, 60); }

std::string got(const std::string& text) { return ", got " + (text.empty() ? std::string("''") : shown(text)); }

// A finite number in the range described by `range` ("> 0", "in (0, 1)"); `inside` decides.
CLI::Validator number(const std::string& range, const std::string& desc, bool (*inside)(double)) {
  return CLI::Validator(
      [range, inside](std::string& text) -> std::string {
        double v = 0;
        if (!parse_double(text, v) || !std::isfinite(v))
          return "must be a finite number" + (range.empty() ? std::string() : " " + range) + got(text);
        if (!inside(v)) return "must be " + range + got(text);
        return {};
      },
      desc);
}

}  // namespace

CLI::Validator integer(const std::string& what, long long lo, unsigned long long hi, bool name_bound) {
  return CLI::Validator(
      [what, lo, hi, name_bound](std::string& text) -> std::string {
        const char* b = text.data();
        const char* e = b + text.size();
        if (!text.empty() && text[0] == '-') {
          long long v = 0;
          const auto r = std::from_chars(b, e, v);
          if (r.ec == std::errc() && r.ptr == e && v >= lo) return {};
        } else if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
          unsigned long long v = 0;
          const auto r = std::from_chars(b, e, v);
          if (name_bound && r.ptr == e && (r.ec == std::errc::result_out_of_range || (r.ec == std::errc() && v > hi)))
            return "must be " + what + " of at most " + std::to_string(hi) + got(text);
          if (r.ec == std::errc() && r.ptr == e && v <= hi && (lo <= 0 || v >= static_cast<unsigned long long>(lo)))
            return {};
        }
        return "must be " + what + got(text);
      },
      lo >= 1 ? "INT>=" + std::to_string(lo) : "INT>=0");
}

CLI::Validator integer_from_to(long long lo, long long hi) {
  CLI::Validator v = integer("an integer from " + std::to_string(lo) + " to " + std::to_string(hi), lo,
                             static_cast<unsigned long long>(hi), /*name_bound=*/false);
  v.description("INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

CLI::Validator odd_integer_at_least(long long lo) {
  const std::string what = "an odd integer >= " + std::to_string(lo);
  const CLI::Validator base = integer(what, lo, std::numeric_limits<int>::max());
  return CLI::Validator(
      [base, what](std::string& text) -> std::string {
        std::string copy = text;
        const std::string e = CLI::Validator(base)(copy);
        if (!e.empty()) return e;
        if (text.back() % 2 == 0) return "must be " + what + got(text);
        return {};
      },
      "ODD INT>=" + std::to_string(lo));
}

CLI::Validator positive_number() {
  return number("> 0", "NUMBER>0", [](double v) { return v > 0; });
}
CLI::Validator non_negative_number() {
  return number(">= 0", "NUMBER>=0", [](double v) { return v >= 0; });
}
CLI::Validator finite_number() {
  return number("", "NUMBER", [](double) { return true; });
}
CLI::Validator open_unit_interval() {
  return number("in (0, 1)", "NUMBER in (0,1)", [](double v) { return v > 0 && v < 1; });
}
CLI::Validator half_open_unit_interval() {
  return number("in (0, 1]", "NUMBER in (0,1]", [](double v) { return v > 0 && v <= 1; });
}

CLI::Validator one_of(const std::vector<std::string>& names) {
  std::string list, desc;
  for (const auto& n : names) {
    list += (list.empty() ? "" : ", ") + n;
    desc += (desc.empty() ? "" : ",") + n;
  }
  return CLI::Validator(
      [names, list](std::string& text) -> std::string {
        for (const auto& n : names)
          if (text == n) return {};
        return "must be one of " + list + "; got " + (text.empty() ? std::string("''") : shown(text));
      },
      "{" + desc + "}");
}

CLI::Validator activation_name() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          Activation::from_name(text);
        } catch (const InputError& e) {
          return printable_text(e.what(), 400);
        }
        return {};
      },
      "ACTIVATION");
}

CLI::Validator batch_size() {
  const CLI::Validator count = positive_integer<int>();
  return CLI::Validator(
      [count](std::string& text) -> std::string {
        if (text == "full") return {};
        std::string copy = text;
        if (CLI::Validator(count)(copy).empty()) return {};
        return "must be a batch size B >= 1 or 'full'" + got(text);
      },
      "B|full");
}

CLI::Validator seed_list() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          parse_seed_list(text);
        } catch (const InputError& e) {
          return printable_text(e.what(), 400);
        }
        return {};
      },
      "LIST");
}

CLI::Validator seed_count_or_list() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (text.find_first_of("-,") == std::string::npos) {
          std::string copy = text;
          const std::string e = CLI::Validator(positive_integer<std::uint32_t>())(copy);
          return e.empty() ? e : "must be a seed count N >= 1 or a list like 0-63" + got(text);
        }
        std::string copy = text;
        return CLI::Validator(seed_list())(copy);
      },
      "N|LIST");
}

CLI::Validator step_size_list(int distinct) {
  return CLI::Validator(
      [distinct](std::string& text) -> std::string {
        std::set<double> seen;
        std::stringstream ss(text);
        std::string item;
        while (std::getline(ss, item, ',')) {
          double v = 0;
          if (!parse_double(item, v) || !std::isfinite(v) || !(v > 0))
            return "every step size must be a finite number > 0, got '" + shown(item) + "' in " + shown(text);
          if (!seen.insert(v).second) return "step size " + shown(item) + " appears twice in " + shown(text);
        }
        if (static_cast<int>(seen.size()) < distinct)
          return "needs at least " + std::to_string(distinct) +
                 " distinct step sizes (the order fit error ~ eta^p needs them)" + got(text);
        return {};
      },
      "ETA,ETA,...");
}

CLI::Validator existing_file(const std::string& option) {
  return CLI::Validator(
      [option](std::string& text) -> std::string {
        namespace fs = std::filesystem;
        std::error_code ec;
        const auto status = fs::status(text, ec);
        const std::string path = printable_text(text, 4096);
        if (!fs::exists(status)) throw InputError(option + " " + path + ": no such file");
        if (fs::is_directory(status)) throw InputError(option + " " + path + ": is a folder; expected a file");
        return {};
      },
      "FILE");
}

}  // namespace zeroloss::cli::checks
