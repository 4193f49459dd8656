#pragma once
// Subcommand registry of the zeroloss program. Each apps/cmd_*.cpp registers one subcommand with
// a static ZEROLOSS_COMMAND(...) object; main.cpp builds the CLI11 app from the registry, so adding a
// command never touches main.cpp.

#include <CLI/CLI.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace zeroloss::cli {

struct CommandSpec {
  std::string name;
  std::string description;
  // Adds options to the subcommand and returns the function that runs it (after parsing).
  std::function<std::function<void()>(CLI::App&)> setup;
  int order = 100;  // position in --help
};

std::vector<CommandSpec>& command_registry();

// Thrown by a command whose computation ran to the end but whose verdict is negative (e.g. `check`
// found a failing derivative check). main.cpp prints the message and exits with exit_code().
class CommandFailure : public std::runtime_error {
 public:
  CommandFailure(const std::string& what, int exit_code) : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

struct CommandRegistration {
  explicit CommandRegistration(CommandSpec spec) { command_registry().push_back(std::move(spec)); }
};

}  // namespace zeroloss::cli
