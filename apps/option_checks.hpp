#pragma once
// CLI11 validators shared by every subcommand, so that each option is checked at parse time (before
// any file is read or written) and refused in its own terms: "--steps: must be a positive integer,
// got -5", "--lr: must be > 0, got 0", "--projection: must be one of newton, nearest, ...; got x".
// A refused value is a usage error (exit 1). The one exception is existing_file(): a missing input
// file is bad input (exit 2), like every other problem with an input file.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace zeroloss::cli::checks {

// A plain decimal integer (optional '-', digits) in [lo, hi]; `what` names the set in the message
// ("must be <what>, got <text>"; with name_bound, a value above hi adds "of at most <hi>").
// Refuses "-5" for unsigned options instead of letting it wrap.
CLI::Validator integer(const std::string& what, long long lo, unsigned long long hi, bool name_bound = true);

template <class T>
CLI::Validator non_negative_integer() {
  return integer("a non-negative integer", 0, static_cast<unsigned long long>(std::numeric_limits<T>::max()));
}
template <class T>
CLI::Validator positive_integer() {
  return integer("a positive integer", 1, static_cast<unsigned long long>(std::numeric_limits<T>::max()));
}
CLI::Validator integer_from_to(long long lo, long long hi);
// An odd integer >= lo (e.g. profile points, symmetric about the centre).
CLI::Validator odd_integer_at_least(long long lo);

// Finite numbers: "> 0", ">= 0", "in (0, 1)", "in (0, 1]" (the text after "must be").
CLI::Validator positive_number();      // finite, > 0
CLI::Validator non_negative_number();  // finite, >= 0
CLI::Validator finite_number();
CLI::Validator open_unit_interval();       // 0 < x < 1
CLI::Validator half_open_unit_interval();  // 0 < x <= 1

// One of the listed words ("must be one of a, b, c; got x"); the list also appears in --help.
CLI::Validator one_of(const std::vector<std::string>& names);
// An activation name Activation::from_name accepts (the names, or poly:c0,c1,...).
CLI::Validator activation_name();
// A batch size: an integer B >= 1 or 'full' (the bound B <= n is checked once the data are read).
CLI::Validator batch_size();
// A seed list as parse_seed_list reads it (0-63, 1,4,7-9).
CLI::Validator seed_list();
// A seed count N (seeds 0..N-1) or a seed list (compare --seeds).
CLI::Validator seed_count_or_list();
// Comma-separated step sizes: each a finite number > 0, no duplicates, at least `distinct` of them.
CLI::Validator step_size_list(int distinct);

// An input file that must exist and be a regular file (not a folder). Not a usage error: throws
// zeroloss::InputError ("--data x.csv: no such file"), so the program exits 2 with its
// "zeroloss <command>: error:" prefix, as for every other input-file problem.
CLI::Validator existing_file(const std::string& option);

}  // namespace zeroloss::cli::checks
