#pragma once
// Splitting [0, count) into contiguous ranges that run on threads of their own. Private to lib/src.

#include <Eigen/Core>

#include <functional>

namespace zeroloss {

// Calls body(begin, end) for `threads` contiguous ranges of about count / threads each (fewer when
// count is smaller), range t on a new std::thread and the last one on the calling thread, and joins
// them. With threads <= 1 (or count <= 1) it is one call body(0, count) on the calling thread. The
// ranges are disjoint, so a body that writes only into its own range needs no lock; body must not
// throw (an exception on a worker thread would end the program).
void for_each_range_in_parallel(Eigen::Index count, int threads, const std::function<void(Eigen::Index, Eigen::Index)>& body);

}  // namespace zeroloss
