#include "zeroloss/numerics/singular_values.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "zeroloss/support/errors.hpp"
#include "zeroloss/numerics/ordered_product.hpp"

namespace zeroloss {
namespace {

constexpr Eigen::Index kSmallSize = 16;  // below it BDCSVD runs JacobiSVD: cheap and the old bits

Eigen::VectorXd direct(const Eigen::Ref<const Eigen::MatrixXd>& A) {
  return Eigen::BDCSVD<Eigen::MatrixXd>(A).singularValues();
}

}  // namespace

Eigen::VectorXd singular_values(const Eigen::Ref<const Eigen::MatrixXd>& A, SingularValueRoute* route, InstructionSet set) {
  if (!A.allFinite()) {
    std::ostringstream s;
    s << "singular values: the " << A.rows() << " x " << A.cols() << " matrix has a non-finite entry";
    throw InputError(s.str());
  }
  const Eigen::Index k = std::min(A.rows(), A.cols());
  const Eigen::Index l = std::max(A.rows(), A.cols());
  const bool wide = A.rows() <= A.cols();
  if (k < kSmallSize || l < 2 * k) {
    if (route) *route = SingularValueRoute::Direct;
    return direct(A);
  }
  // Gram route: eigenvalues of the k x k Gram matrix.
  Eigen::MatrixXd G(k, k);
  if (wide) {
    ordered_gram(A, G, set);
  } else {
    ordered_gram(A.transpose(), G, set);  // a transposed copy of A: the Gram rows must be contiguous
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es;
  es.compute(G, Eigen::EigenvaluesOnly);  // reads the lower triangle only
  if (es.info() == Eigen::Success) {
    const Eigen::VectorXd& lambda = es.eigenvalues();  // ascending
    const double top = lambda(k - 1), bottom = lambda(0);
    if (top > 0 && std::isfinite(top) && bottom >= kGramMinRatio * kGramMinRatio * top) {
      if (route) *route = SingularValueRoute::Gram;
      return lambda.reverse().cwiseSqrt();
    }
  }
  // Triangular route: QR of the tall orientation, then BDCSVD of the k x k triangular factor.
  if (route) *route = SingularValueRoute::TriangularFactor;
  Eigen::HouseholderQR<Eigen::MatrixXd> qr;
  if (wide) {
    qr.compute(A.transpose());
  } else {
    qr.compute(A);
  }
  const Eigen::MatrixXd T = qr.matrixQR().topRows(k).triangularView<Eigen::Upper>();
  return Eigen::BDCSVD<Eigen::MatrixXd>(T).singularValues();
}

}  // namespace zeroloss
