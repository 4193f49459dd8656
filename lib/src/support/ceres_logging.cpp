#include "support/ceres_logging.hpp"

#include <glog/logging.h>

#include <cstdlib>
#include <mutex>
#include <string>

namespace zeroloss::detail {

void silence_ceres_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* on = std::getenv("ZEROLOSS_CERES_LOG");
    if (on && *on && std::string(on) != "0") return;
    if (google::IsGoogleLoggingInitialized()) return;
    FLAGS_minloglevel = google::GLOG_FATAL;
  });
}

}  // namespace zeroloss::detail
