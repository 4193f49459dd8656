#include "zeroloss/io/output_write.hpp"

#include <atomic>

namespace zeroloss {
namespace {

std::atomic<OutputWriteObserver*>& installed() {
  static std::atomic<OutputWriteObserver*> observer{nullptr};
  return observer;
}

}  // namespace

void set_output_write_observer(OutputWriteObserver* observer) { installed().store(observer); }

OutputWrite::OutputWrite(const std::string& path) : observer_(installed().load()) {
  if (observer_) key_ = observer_->begin(path);
}

OutputWrite::~OutputWrite() {
  if (observer_ && !key_.empty()) observer_->end(key_);
}

}  // namespace zeroloss
