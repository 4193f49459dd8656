#pragma once
// Private helper of the model constructors (not installed, not part of the public API).

#include <Eigen/Dense>

#include <cmath>
#include <sstream>
#include <string>

#include "zeroloss/support/errors.hpp"

namespace zeroloss::detail {

// Throws InputError naming `what` and the first non-finite entry (1-based row, column).
inline void require_finite(const Eigen::Ref<const Eigen::MatrixXd>& M, const std::string& what) {
  for (Eigen::Index j = 0; j < M.cols(); ++j)
    for (Eigen::Index i = 0; i < M.rows(); ++i)
      if (!std::isfinite(M(i, j))) {
        std::ostringstream s;
        s << what << ": entry (" << i + 1 << ", " << j + 1 << ") is " << M(i, j) << "; expected a finite number";
        throw InputError(s.str());
      }
}

}  // namespace zeroloss::detail
