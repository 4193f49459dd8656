#include "zeroloss/verification/report_inputs.hpp"

#include <cmath>
#include <cstdint>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/io/dataset.hpp"
#include "zeroloss/random/portable_distributions.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss {

using nlohmann::json;

std::string write_problem_data(VerificationContext& ctx) {
  const json& p = ctx.config()["problem"];
  const std::string path = ctx.dir("problem") + "/data.csv";
  ctx.run("problem_data",
          {"data", "--generator", p["generator"].get<std::string>(), "--n", std::to_string(p["n"].get<int>()), "--d",
           std::to_string(p["d"].get<int>()), "--label-scale", format_double(p["label_scale"].get<double>()), "--seed",
           std::to_string(p["data_seed"].get<int>()), "--out", path});
  return path;
}

std::string write_random_start(VerificationContext& ctx, const std::string& data_csv, int m, int index,
                               bool mixed_second_layer, const std::string& relative_path) {
  const Dataset data = read_dataset_csv(data_csv);
  const double scale = ctx.config()["problem"]["init_scale"].get<double>();
  const std::uint64_t seed = static_cast<std::uint64_t>(ctx.config()["seed"].get<int>()) * 1000003ULL + 7919ULL * index;
  std::mt19937_64 rng(seed);
  StandardNormal normal;
  UniformDistribution uniform(0.5, 1.5);
  const double mean_norm2 = data.X.rowwise().squaredNorm().mean();
  Eigen::MatrixXd theta(m, data.X.cols());
  for (int j = 0; j < m; ++j)
    for (Eigen::Index k = 0; k < data.X.cols(); ++k) theta(j, k) = scale * normal(rng) / std::sqrt(mean_norm2);
  // The second layer is part of the problem, not of the start: the same for every index.
  Eigen::VectorXd a = Eigen::VectorXd::Ones(m);
  if (mixed_second_layer) {
    std::mt19937_64 layer_rng(static_cast<std::uint64_t>(ctx.config()["seed"].get<int>()) * 1000003ULL + 1ULL);
    for (int j = 0; j < m; ++j) a(j) = (j % 2 ? -1.0 : 1.0) * uniform(layer_rng);
  }
  const std::string path = ctx.out() + "/" + relative_path;
  write_weights_csv(path, theta, a);
  ctx.record_file(path);
  return path;
}

}  // namespace zeroloss
