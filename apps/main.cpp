// The zeroloss command-line program: one subcommand per task (see `zeroloss --help`).
// Library exceptions become one message on stderr and a non-zero exit code:
//   1 usage error, 2 bad input (file, line or quantity named), 3 singular manifold point,
//   4 undefined quantity for the activation, 5 failed convergence or divergence, 6 other errors,
//   7 a check ran and failed (zeroloss check), 8 a claim of zeroloss run failed, 9 a check of
//   zeroloss run could not be completed, 10 a dense object larger than the dense limit was refused
//   before allocation (ResourceError; out of memory anyway: also 10, with a message).
// Every failure is one line on stderr, "zeroloss <command>: error: ...", with non-printable bytes
// escaped (printable_text), so that nothing read from a file reaches the terminal raw.

#include <algorithm>
#include <iostream>
#include <new>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "command.hpp"
#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/printable_text.hpp"
#include "zeroloss/numerics/dense_limit.hpp"
#include "zeroloss/support/errors.hpp"

namespace zeroloss::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}
}  // namespace zeroloss::cli

int main(int argc, char** argv) {
  using namespace zeroloss;
#if defined(__GLIBC__)
  // The integrators allocate and free n x m temporaries of a few MB at every stage. With glibc's
  // defaults those are mmapped or trimmed back to the kernel on free and page-faulted in again:
  // system time was 40% of a flow's CPU. Keep blocks up to 32 MB in the heap, and keep up to
  // 512 MB of freed memory (docs/performance.md section 18).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
  CLI::App app{"zeroloss " ZEROLOSS_VERSION
               ": Riemannian geometry of the zero-loss manifold of a two-layer network\n"
               "(sharpness minimization, label-noise SGD and its limiting flow; see docs/cli.md)"};
  app.set_version_flag("--version", std::string(ZEROLOSS_VERSION));
  app.require_subcommand(1);
  auto& registry = cli::command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const cli::CommandSpec& a, const cli::CommandSpec& b) { return a.order < b.order; });
  std::function<void()> run;
  std::string running;
  for (auto& spec : registry) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    auto action = spec.setup(*sub);
    const std::string name = spec.name;
    sub->callback([&run, &running, action, name]() {
      run = action;
      running = name;
    });
  }
  // The subcommand being parsed (the prefix of its messages), known once CLI11 has seen its name.
  auto parsed_command = [&app]() {
    const auto subs = app.get_subcommands();
    return subs.empty() ? std::string() : subs.front()->get_name();
  };
  auto fail = [](const std::string& command, const std::string& message, int code) {
    std::cerr << "zeroloss" << (command.empty() ? "" : " " + command) << ": error: "
              << printable_text(message, 4000) << "\n";
    return code;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // Every usage error exits 1 (CLI11's own codes are 100-127), as one line naming the option.
    const std::string command = parsed_command();
    if (command.empty()) {
      std::string names;
      for (const auto& spec : registry) names += (names.empty() ? "" : ", ") + spec.name;
      const std::string first = argc > 1 ? argv[1] : "";
      if (first.empty()) return fail("", "no command given; expected one of: " + names + " (see zeroloss --help)", 1);
      if (first[0] != '-')
        return fail("", "unknown command '" + first + "'; expected one of: " + names + " (see zeroloss --help)", 1);
      return fail("", std::string(e.what()) + " (see zeroloss --help)", 1);
    }
    return fail(command, std::string(e.what()) + " (see zeroloss " + command + " --help)", 1);
  } catch (const InputError& e) {
    // An input file named on the command line does not exist (checks::existing_file): bad input.
    return fail(parsed_command(), e.what(), 2);
  }
  try {
    if (run) run();
    return 0;
  } catch (const InputError& e) {
    return fail(running, e.what(), 2);
  } catch (const SingularPointError& e) {
    return fail(running, e.what(), 3);
  } catch (const DomainError& e) {
    return fail(running, e.what(), 4);
  } catch (const ConvergenceError& e) {
    return fail(running, e.what(), 5);
  } catch (const ResourceError& e) {
    return fail(running, e.what(), 10);
  } catch (const std::bad_alloc&) {
    return fail(running,
                "out of memory (std::bad_alloc): the problem is too large for this machine; use a smaller "
                "problem (fewer neurons m, samples n or features d), or lower ZEROLOSS_DENSE_LIMIT_MB so that "
                "dense objects are refused before allocation (docs/cli.md#the-dense-limit)",
                10);
  } catch (const cli::CommandFailure& e) {
    std::cerr << "zeroloss " << running << ": " << printable_text(e.what(), 4000) << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    return fail(running, e.what(), 6);
  }
}
