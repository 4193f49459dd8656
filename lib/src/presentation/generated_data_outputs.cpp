#include "zeroloss/presentation/generated_data_outputs.hpp"

#include <algorithm>
#include <ostream>

#include "zeroloss/support/number_text.hpp"

namespace zeroloss {
namespace {

std::string g6(double x) { return short_number(x, 6); }

}  // namespace

void print_generated_data(std::ostream& out, const GeneratedDataOptions& o, const GeneratedDataSummary& summary) {
  const DataSummary& s = summary.x;
  out << "wrote " << o.out << ": n = " << s.n << " samples, d = " << s.d << " features (generator "
      << generator_name(o.data.generator) << ", labels " << label_kind_name(o.data.labels);
  if (o.data.labels == LabelKind::Teacher)
    out << " from a width-" << o.data.teacher_width << " " << o.data.teacher_activation.name() << " teacher";
  out << ", seed " << o.data.seed << ")\n";
  out << "X: rank " << s.rank << ", condition number " << g6(s.condition) << " (sigma_max / sigma_min over "
      << std::min(s.n, s.d) << " singular values)\n";
  if (!s.rows_independent()) {
    out << "note: the rows of X are linearly dependent (rank p = " << s.rank << " < n = " << s.n
        << "): J J^T = G o (D D^T) can only be invertible when m*p >= n (m neurons, p = rank X; never with two "
           "identical rows), and the closed-form optimum of T (THEORY 5) assumes independent rows\n";
  }
  out << "labels: min " << g6(summary.label_min) << ", max " << g6(summary.label_max) << "\n";
  if (o.weights_out.empty()) return;
  if (o.model == ModelKind::DiagonalLinear) {
    out << "wrote " << o.weights_out << ": u_k, v_k ~ uniform on [s/2, 3s/2] with s = " << g6(o.init_scale)
        << " (diagonal linear network; not on the zero-loss manifold: `zeroloss project --model diagonal-linear "
           "--method newton` puts it there)\n";
  } else {
    out << "wrote " << o.weights_out << ": m = " << o.m << " neurons, theta_jk ~ N(0, s^2 / mean ||x_i||^2) "
        << "with s = " << g6(o.init_scale) << ", a " << (o.mixed_signs ? "mixed signs" : "= 1")
        << " (a random start, not on the zero-loss manifold; `zeroloss project` puts it there)\n";
  }
}

}  // namespace zeroloss
