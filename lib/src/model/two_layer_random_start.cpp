#include "zeroloss/model/two_layer_random_start.hpp"

#include <cmath>
#include <string>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/random/portable_distributions.hpp"

namespace zeroloss {

Weights random_two_layer_start(const Eigen::Ref<const Eigen::MatrixXd>& X, int m, double scale, bool mixed_signs,
                               std::uint64_t seed) {
  if (m < 1) throw InputError("two-layer start: m = " + std::to_string(m) + "; expected m >= 1");
  if (!(std::isfinite(scale) && scale > 0))
    throw InputError("two-layer start: scale " + std::to_string(scale) + "; expected a finite number > 0");
  std::seed_seq seq{static_cast<unsigned>(seed & 0xffffffffu), static_cast<unsigned>(seed >> 32), 0x77u};
  std::mt19937_64 rng(seq);
  StandardNormal normal;
  UniformDistribution uniform(0.5, 1.5);
  const double mean_norm2 = X.rowwise().squaredNorm().mean();
  const double sd = scale / std::sqrt(mean_norm2 > 0 ? mean_norm2 : 1.0);
  const Eigen::Index d = X.cols();
  Weights w;
  w.theta.resize(m, d);
  for (int j = 0; j < m; ++j)
    for (Eigen::Index k = 0; k < d; ++k) w.theta(j, k) = sd * normal(rng);
  w.a = Eigen::VectorXd::Ones(m);
  if (mixed_signs)
    for (int j = 0; j < m; ++j) w.a(j) = (j % 2 ? -1.0 : 1.0) * uniform(rng);
  return w;
}

}  // namespace zeroloss
