#pragma once
// Commands as a user types them into a POSIX shell: the report's "reproduce" blocks.

#include <string>
#include <vector>

namespace zeroloss {

// A shell word: `word` itself when no character of it is special to the shell, else the word in
// single quotes (a quote inside written as '\''), so that the shell reads back exactly `word`.
std::string shell_quote(const std::string& word);

// "zeroloss arg1 arg2 ...", each argument a shell word (shell_quote).
std::string zeroloss_command_line(const std::vector<std::string>& args);

// The commands joined with " && " (a reproduce block that stops at the first failure).
std::string join_commands(const std::vector<std::string>& commands);

}  // namespace zeroloss
