#include "dynamics_common.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/support/interrupt_flag.hpp"

namespace zeroloss::cli {

ProgressBar::ProgressBar(std::string label, double total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(::isatty(STDERR_FILENO) == 1) {
  start_ = last_ = std::chrono::steady_clock::now();
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

void ProgressBar::update(double done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(120)) return;
  last_ = now;
  drawn_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = total_ > 0 ? std::min(1.0, done / total_) : 1.0;
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const int width = 28, filled = static_cast<int>(frac * width);
  char buf[256];
  std::snprintf(buf, sizeof buf, "\r%s [%s%s] %5.1f%%  %.3g %s/s  ETA %s   ", label_.c_str(),
                std::string(filled, '#').c_str(), std::string(width - filled, '-').c_str(), 100 * frac, rate,
                unit_.c_str(), rate > 0 ? format_seconds((total_ - done) / rate).c_str() : "?");
  std::cerr << buf << std::flush;
}

void ProgressBar::finish() {
  if (enabled_ && drawn_) std::cerr << "\r" << std::string(100, ' ') << "\r" << std::flush;
  drawn_ = false;
}

namespace {
// Read by every worker thread, written by the handler: a lock-free atomic is safe in both roles.
std::atomic<int> g_signal{0};
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<int>::is_always_lock_free, "the interrupt flag must be lock-free");
static_assert(std::atomic<bool>::is_always_lock_free, "the interrupt flag must be lock-free");
extern "C" void on_interrupt(int sig) {
  g_signal.store(sig, std::memory_order_relaxed);
  g_interrupted.store(true, std::memory_order_relaxed);
}
}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int interrupt_signal() { return g_signal.load(std::memory_order_relaxed); }

const std::atomic<bool>& interrupt_flag() { return g_interrupted; }

void exit_by_signal(int sig) {
  std::cout.flush();
  std::cerr.flush();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
  std::_Exit(128 + sig);
}

void run_interruptible(const std::string& command, const std::function<void()>& body) {
  install_interrupt_handlers();
  try {
    body();
  } catch (const InterruptedError& e) {
    const int sig = interrupt_signal() != 0 ? interrupt_signal() : SIGINT;
    std::cerr << "zeroloss " << command << ": " << e.what() << " by " << signal_name(sig) << "\n";
    exit_by_signal(sig);
  }
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "signal";
  }
}

}  // namespace zeroloss::cli
