#pragma once
// A random start for the two-layer network, as `zeroloss data --weights-out` writes it:
// theta_jk ~ N(0, s^2 / mean_i ||x_i||^2), so that a pre-activation r_ij = x_i . theta_j has standard
// deviation about s on typical rows (s^2 / 1 when every row of X is zero); a = 1, or with mixed signs
// a_j = (-1)^j u_j (+, -, +, ...), u_j uniform on [0.5, 1.5]. From std::mt19937_64 seeded by
// std::seed_seq{seed low 32 bits, seed high 32 bits, 0x77} (both specified exactly by the standard):
// a stream of its own for the seed, drawn through random/portable_distributions.hpp, so the bits are
// the same on every standard library (up to libm's log in the normal draws).

#include <Eigen/Dense>

#include <cstdint>

#include "zeroloss/io/weights.hpp"

namespace zeroloss {

// Throws InputError unless m >= 1 and scale is finite and > 0.
Weights random_two_layer_start(const Eigen::Ref<const Eigen::MatrixXd>& X, int m, double scale, bool mixed_signs,
                               std::uint64_t seed);

}  // namespace zeroloss
