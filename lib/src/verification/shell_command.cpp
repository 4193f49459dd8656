#include "zeroloss/verification/shell_command.hpp"

namespace zeroloss {

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_of(" \t\n\"'$&|;<>()*?!\\`#~{}[]") == std::string::npos) return word;
  std::string s = "'";
  for (char c : word) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return s + "'";
}

std::string zeroloss_command_line(const std::vector<std::string>& args) {
  std::string s = "zeroloss";
  for (const auto& a : args) s += " " + shell_quote(a);
  return s;
}

std::string join_commands(const std::vector<std::string>& commands) {
  std::string s;
  for (size_t k = 0; k < commands.size(); ++k) s += (k ? " && " : "") + commands[k];
  return s;
}

}  // namespace zeroloss
