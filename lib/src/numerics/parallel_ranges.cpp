#include "numerics/parallel_ranges.hpp"

#include <algorithm>
#include <thread>
#include <vector>

namespace zeroloss {

void for_each_range_in_parallel(Eigen::Index count, int threads, const std::function<void(Eigen::Index, Eigen::Index)>& body) {
  const Eigen::Index parts = std::max<Eigen::Index>(1, std::min<Eigen::Index>(threads, count));
  if (parts == 1) {
    body(0, count);
    return;
  }
  const Eigen::Index per = (count + parts - 1) / parts;
  std::vector<std::thread> pool;
  Eigen::Index begin = 0;
  for (; begin + per < count; begin += per) pool.emplace_back(body, begin, begin + per);
  body(begin, count);
  for (std::thread& t : pool) t.join();
}

}  // namespace zeroloss
