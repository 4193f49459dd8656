// The zeroloss command-line program: one subcommand per task (see `zeroloss --help`).
// Library exceptions become one message on stderr and a non-zero exit code:
//   1 usage error, 2 bad input (file, line or quantity named), 3 singular manifold point,
//   4 undefined quantity for the activation, 5 failed convergence or divergence, 6 other errors,
//   7 a check ran and failed (zeroloss check), 8 a dense object larger than the dense limit was
//   refused before allocation (ResourceError; out of memory anyway: also 8, with a message).

#include <algorithm>
#include <iostream>
#include <new>

#include "command.hpp"
#include "zeroloss/dense_limit.hpp"
#include "zeroloss/errors.hpp"

namespace zeroloss::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}
}  // namespace zeroloss::cli

int main(int argc, char** argv) {
  using namespace zeroloss;
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help / --version exit 0; every usage error exits 1 (CLI11's own codes are 100-127).
    return app.exit(e) == 0 ? 0 : 1;
  }
  const std::string prefix = "zeroloss " + running + ": ";
  try {
    if (run) run();
    return 0;
  } catch (const InputError& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
    return 2;
  } catch (const SingularPointError& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
    return 3;
  } catch (const DomainError& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
    return 4;
  } catch (const ConvergenceError& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
    return 5;
  } catch (const ResourceError& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
    return 8;
  } catch (const std::bad_alloc&) {
    std::cerr << prefix << "error: out of memory (std::bad_alloc): the problem is too large for this machine; "
                           "use a smaller problem (fewer neurons m, samples n or features d), or lower "
                           "ZEROLOSS_DENSE_LIMIT_MB so that dense objects are refused before allocation "
                           "(docs/performance.md)\n";
    return 8;
  } catch (const cli::CommandFailure& e) {
    std::cerr << prefix << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << prefix << "error: " << e.what() << "\n";
    return 6;
  }
}
