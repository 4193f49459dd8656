#pragma once
// The one root finder the toolkit needs: the zero of a continuous increasing function g on R,
// bracketed by expanding [-1, 1] outwards (doubling) and refined by Boost.Math's TOMS 748 to full
// double precision. Used for phi^{-1}, (phi'')^{-1} and THEORY 5's per-sample c_i.

#include <functional>
#include <optional>

namespace zeroloss {

// Returns z with g(z) = 0 (to within the last bits), or std::nullopt when no sign change was found
// (the target lies outside the range of g) or g stopped being finite before a bracket was found.
// Exceptions thrown by g propagate.
std::optional<double> increasing_root(const std::function<double(double)>& g);

}  // namespace zeroloss
