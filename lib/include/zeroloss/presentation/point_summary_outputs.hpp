#pragma once
// What `zeroloss inspect` prints: one JSON object (--json; keys in docs/formats.md, undefined or
// infinite values null) or a table, for the two-layer network (diagnostics/two_layer_point_summary.hpp)
// and for the diagonal linear network (summarize_point, with w = u*u - v*v and its weighted l1 norm).

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>

#include "zeroloss/diagnostics/point_summary.hpp"
#include "zeroloss/diagnostics/two_layer_point_summary.hpp"
#include "zeroloss/model/diagonal_linear_network.hpp"

namespace zeroloss {

nlohmann::ordered_json point_summary_json(const TwoLayerPointSummary& s);
// `data_path` and `weights_path` name the files in the table.
void print_point_summary(std::ostream& out, const TwoLayerPointSummary& s, const std::string& data_path,
                         const std::string& weights_path);

// `theta` = (u, v), the point summarised; `with_hessian` as passed to summarize_point.
nlohmann::ordered_json point_summary_json(const PointSummary& s, const DiagonalLinearNetwork& model,
                                          const Eigen::Ref<const Eigen::VectorXd>& theta, bool with_hessian);
void print_point_summary(std::ostream& out, const PointSummary& s, const DiagonalLinearNetwork& model,
                         const Eigen::Ref<const Eigen::VectorXd>& theta, bool with_hessian);

}  // namespace zeroloss
