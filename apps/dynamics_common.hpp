#pragma once
// What the dynamics commands (sgd, flow, compare) share at the terminal: a progress bar, and
// SIGINT/SIGTERM turned into an interruption flag. The work itself is the library's (zeroloss/runs/,
// zeroloss/presentation/); the run headers every one of them needs are included here.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "common.hpp"
#include "zeroloss/runs/dynamics_setup.hpp"
#include "zeroloss/runs/run_parameters.hpp"

namespace zeroloss::cli {

// A one-line progress bar on stderr, drawn only when stderr is a terminal, at most ~8 times a second;
// finish() (also called by the destructor, so on every way out) clears the line.
class ProgressBar {
 public:
  ProgressBar(std::string label, double total, std::string unit);
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void update(double done);
  void finish();
  bool enabled() const { return enabled_; }

 private:
  std::string label_, unit_;
  double total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// SIGINT / SIGTERM set a flag instead of killing the process: interrupt_signal() is 0 until then,
// and interrupt_flag() becomes true (the flag the library's runs take, runs/run_control.hpp).
void install_interrupt_handlers();
int interrupt_signal();
const std::atomic<bool>& interrupt_flag();
// Restores the default action and re-raises the signal, so the parent sees the usual status.
[[noreturn]] void exit_by_signal(int signal);
const char* signal_name(int signal);
// Runs `body` with the handlers installed; the library's InterruptedError (a call that took
// interrupt_flag() and stopped) becomes one line on stderr and the end of the process by the signal.
void run_interruptible(const std::string& command, const std::function<void()>& body);

// "m:ss" or "h:mm:ss"; "?" for a negative or non-finite time.
std::string format_seconds(double seconds);

}  // namespace zeroloss::cli
