// The files `zeroloss convexity` writes (summary.json, the CSV tables, the weights of the search's
// points, the figures): the presentation of a ConvexityResult (diagnostics/convexity.hpp).

#include "zeroloss/presentation/convexity_outputs.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/io/weights.hpp"

namespace zeroloss {

namespace {

nlohmann::json number_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

std::string csv_quote(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return q + "\"";
}

nlohmann::json point_json(const SampledPoint& p) {
  return {{"scheme", p.scheme},         {"index", p.index},          {"parameter", p.parameter},
          {"grad_norm", p.grad_norm},   {"lambda_min", p.lambda_min}, {"lambda_max", p.lambda_max},
          {"sharpness", p.sharpness},   {"max_abs_preactivation", p.max_abs_preactivation}};
}

}  // namespace

nlohmann::json convexity_summary_json(const ConvexityResult& res, const ConvexityOptions& o) {
  using nlohmann::json;
  json j;
  j["activation"] = res.activation;
  j["options"] = {
      {"point", {{"directions", o.point.directions}, {"include_min_eigenvector", o.point.include_min_eigenvector},
                 {"profile_length", o.point.profile_length}, {"profile_points", o.point.profile_points},
                 {"derivative_step", o.point.derivative_step}, {"seed", o.point.seed}}},
      {"sampling", {{"random_points", o.sampling.random_points}, {"random_scale_min", o.sampling.random_scale_min},
                    {"random_scale_max", o.sampling.random_scale_max}, {"geodesic_points", o.sampling.geodesic_points},
                    {"max_distance", o.sampling.max_distance}, {"external_points", o.sampling.external.size()},
                    {"negative_tolerance", o.sampling.negative_tolerance}, {"seed", o.sampling.seed}}},
      {"search", {{"run", o.run_search}, {"eps", o.search.eps}, {"rungs", o.search.rungs},
                  {"starts", o.search.starts}, {"barrier_stages", o.search.barrier_stages},
                  {"iterations_per_stage", o.search.iterations_per_stage},
                  {"max_evaluations_per_rung", o.search.max_evaluations_per_rung},
                  {"difference_step", o.search.difference_step},
                  {"curvature_gradient", to_string(o.search.curvature_gradient)},
                  {"simple_eigenvalue_gap", o.search.simple_eigenvalue_gap}}}};
  j["anchor"] = {{"source", to_string(res.anchor.source)},
                 {"description", res.anchor.description},
                 {"kind", res.anchor.kind ? json(to_string(*res.anchor.kind)) : json(nullptr)},
                 {"sharpness", number_or_null(res.anchor.sharpness)},
                 {"grad_norm", number_or_null(res.anchor.grad_norm)}};
  json trajectories = json::array();
  for (const auto& tr : res.trajectories) {
    json fails = json::array();
    for (const auto& f : tr.failures) fails.push_back({{"step", f.step}, {"tau", f.tau}, {"reason", f.reason}});
    json t = {{"source", to_string(tr.source)},
              {"points", tr.points.size()},
              {"negative_points", tr.onset.negative_points},
              {"completed", tr.completed},
              {"termination", tr.termination},
              {"start", tr.start_note},
              {"tau_end", tr.tau_end},
              {"convex_throughout", tr.onset.convex_throughout},
              {"convex_at_end", tr.onset.convex_at_end},
              {"convex_from_tau", tr.onset.tau ? json(*tr.onset.tau) : json(nullptr)},
              {"last_negative_tau", tr.onset.last_negative_tau ? json(*tr.onset.last_negative_tau) : json(nullptr)},
              {"grad_norm_at_onset", tr.onset.grad_norm_at_onset ? json(*tr.onset.grad_norm_at_onset) : json(nullptr)},
              {"onset_refined", tr.refined_low ? json{{"after", *tr.refined_low}, {"by", *tr.refined_high}}
                                               : json(nullptr)},
              {"refine_note", tr.refine_note},
              {"failures", fails},
              {"seconds", tr.seconds}};
    if (!tr.points.empty()) {
      const auto& a = tr.points.front();
      const auto& b = tr.points.back();
      t["first"] = {{"tau", a.tau}, {"grad_norm", a.grad_norm}, {"lambda_min", a.lambda_min}, {"sharpness", a.sharpness}};
      t["last"] = {{"tau", b.tau}, {"grad_norm", b.grad_norm}, {"lambda_min", b.lambda_min}, {"sharpness", b.sharpness}};
    }
    trajectories.push_back(t);
  }
  j["trajectories"] = trajectories;
  if (o.along_flow) {
    j["options"]["along_flow"] = {{"flow_time", o.along_flow->flow_time}, {"points", o.along_flow->points},
                                  {"rtol", o.along_flow->flow.rtol}, {"atol", o.along_flow->flow.atol},
                                  {"start_projection", to_string(o.along_flow->start_projection)}};
  }
  if (o.along_sgd) {
    const SgdConvexityOptions& g = *o.along_sgd;
    j["options"]["along_sgd"] = {{"lr", g.sgd.learning_rate}, {"label_noise", g.sgd.label_noise},
                                 {"noise", noise_kind_name(g.sgd.noise)},
                                 {"batch", g.sgd.batch_size}, {"steps", g.steps}, {"seed", g.sgd.seed},
                                 {"points", g.points}, {"projection", to_string(g.projection)}};
  }
  j["options"]["default_anchor"] = o.default_anchor;
  if (res.point) {
    const PointConvexity& p = *res.point;
    json profiles = json::array();
    for (const auto& pr : p.profiles) {
      profiles.push_back({{"direction", pr.direction}, {"kind", pr.kind},
                          {"first_derivative", pr.first_derivative}, {"second_derivative", pr.second_derivative},
                          {"second_derivative_fd", number_or_null(pr.second_derivative_fd)},
                          {"min_second_difference", number_or_null(pr.min_second_difference)},
                          {"complete", pr.complete}, {"failure", pr.failure}});
    }
    j["point"] = {{"sharpness", p.sharpness},
                  {"grad_norm", p.grad_norm},
                  {"residual", p.residual},
                  {"lambda_min", p.lambda_min},
                  {"lambda_max", p.lambda_max},
                  {"eigenvalues", std::vector<double>(p.eigenvalues.data(), p.eigenvalues.data() + p.eigenvalues.size())},
                  {"min_second_derivative_over_geodesics", number_or_null(p.min_second_derivative)},
                  {"profiles", profiles},
                  {"assumptions_hold", p.assumptions.holds()}};
    if (p.spectrum == SpectrumMethod::Lanczos) {
      // Only the extremes exist ("eigenvalues" is empty): their certificates and cost.
      j["point"]["spectrum"] = to_string(p.spectrum);
      j["point"]["lambda_min_residual"] = number_or_null(p.lambda_min_residual);
      j["point"]["lambda_max_residual"] = number_or_null(p.lambda_max_residual);
      j["point"]["hessian_products"] = p.hessian_products;
    }
  } else {
    j["point"] = nullptr;
  }
  std::map<std::string, json> schemes;
  for (const auto& p : res.sampling.points) {
    json& s = schemes[p.scheme];
    if (s.is_null()) {
      s = {{"points", 0}, {"negative", 0}, {"failures", 0}, {"grad_norm_min", p.grad_norm},
           {"grad_norm_max", p.grad_norm}, {"lambda_min_min", p.lambda_min}};
    }
    s["points"] = s["points"].get<int>() + 1;
    if (p.negative) s["negative"] = s["negative"].get<int>() + 1;
    s["grad_norm_min"] = std::min(s["grad_norm_min"].get<double>(), p.grad_norm);
    s["grad_norm_max"] = std::max(s["grad_norm_max"].get<double>(), p.grad_norm);
    s["lambda_min_min"] = std::min(s["lambda_min_min"].get<double>(), p.lambda_min);
  }
  for (const auto& f : res.sampling.failures) {
    json& s = schemes[f.scheme];
    if (s.is_null()) s = {{"points", 0}, {"negative", 0}, {"failures", 0}};
    s["failures"] = s["failures"].get<int>() + 1;
  }
  j["sampling"] = {{"points", res.sampling.points.size()},
                   {"failures", res.sampling.failures.size()},
                   {"by_scheme", schemes}};
  const ConvexityThreshold& t = res.threshold;
  json ce = json::array();
  for (std::size_t k = 0; k < t.counterexamples.size() && k < 10; ++k) ce.push_back(point_json(res.sampling.points[t.counterexamples[k]]));
  json most = nullptr;
  for (std::size_t i : t.counterexamples) {
    if (most.is_null() || res.sampling.points[i].lambda_min < most["lambda_min"].get<double>()) {
      most = point_json(res.sampling.points[i]);
    }
  }
  j["threshold"] = {{"negative_found", t.negative_found},
                    {"grad_norm_threshold", number_or_null(t.threshold)},
                    {"points_below", t.points_below},
                    {"largest_grad_below", t.largest_grad_below},
                    {"smallest_lambda_below", number_or_null(t.smallest_lambda_below)},
                    {"largest_grad_sampled", t.largest_grad_sampled},
                    {"counterexamples_total", t.counterexamples.size()},
                    {"counterexamples", ce},
                    {"most_negative_counterexample", most}};
  json rungs = json::array();
  for (const auto& r : res.search) {
    rungs.push_back({{"eps", r.eps}, {"feasible_start", r.feasible_start}, {"lambda_min", number_or_null(r.lambda_min)},
                     {"grad_norm", number_or_null(r.grad_norm)}, {"sharpness", number_or_null(r.sharpness)},
                     {"negative", r.negative}, {"found_from", r.found_from}, {"starts_used", r.starts_used},
                     {"evaluations", r.evaluations}, {"gradients", r.gradients},
                     {"dense_gradients", r.dense_gradients}});
  }
  j["search"] = {{"rungs", rungs},
                 {"convex_up_to", res.search_convex_up_to},
                 {"negative_from", number_or_null(res.search_negative_from)}};
  const AssumptionReport& a = res.assumptions;
  if (!res.assumptions_apply) {
    j["assumptions"] = nullptr;
  } else {
    j["assumptions"] = {{"hold", a.holds()},
                        {"first_derivative_positive", a.first_derivative_positive},
                        {"third_derivative_positive", a.third_derivative_positive},
                        {"min_first_derivative", number_or_null(a.min_first_derivative)},
                        {"argmin_first_derivative", a.argmin_first_derivative},
                        {"min_third_derivative", number_or_null(a.min_third_derivative)},
                        {"argmin_third_derivative", a.argmin_third_derivative},
                        {"description", a.describe(res.activation)}};
  }
  j["seconds"] = res.seconds;
  return j;
}

ConvexityOutputFiles write_convexity_outputs(const std::string& dir, const ConvexityResult& res,
                                                 const ConvexityOptions& options,
                                                 const Eigen::Ref<const Eigen::VectorXd>& a) {
  const Eigen::VectorXd second_layer = a;
  return write_convexity_outputs_with(dir, res, options, [second_layer](const std::string& stem, const Eigen::MatrixXd& theta) {
    write_weights_csv(stem + ".csv", theta, second_layer);
    return std::vector<std::string>{stem + ".csv"};
  });
}

ConvexityOutputFiles write_convexity_outputs_with(const std::string& dir, const ConvexityResult& res,
                                                 const ConvexityOptions& options, const ConvexityPointWriter& write_point) {
  namespace fs = std::filesystem;
  std::vector<std::string> written;
  auto put = [&](const std::string& name, const std::string& contents) {
    const std::string path = (fs::path(dir) / name).string();
    write_file_atomic(path, contents);
    written.push_back(path);
  };
  const auto& F = format_double;
  {
    std::ostringstream s;
    s << "scheme,index,parameter,grad_norm,lambda_min,lambda_max,sharpness,negative,residual,projection_distance,"
         "min_dphi,min_d3phi,max_abs_preactivation,hessian_products,lambda_min_residual\n";
    for (const auto& p : res.sampling.points) {
      s << p.scheme << ',' << p.index << ',' << F(p.parameter) << ',' << F(p.grad_norm) << ',' << F(p.lambda_min)
        << ',' << F(p.lambda_max) << ',' << F(p.sharpness) << ',' << (p.negative ? 1 : 0) << ',' << F(p.residual)
        << ',' << F(p.projection_distance) << ',' << F(p.min_first_derivative) << ','
        << F(p.min_third_derivative) << ',' << F(p.max_abs_preactivation) << ',' << p.hessian_products << ','
        << F(p.lambda_min_residual) << '\n';
    }
    put("points.csv", s.str());
  }
  {
    std::ostringstream s;
    s << "scheme,index,reason\n";
    for (const auto& f : res.sampling.failures) s << f.scheme << ',' << f.index << ',' << csv_quote(f.reason) << '\n';
    put("failures.csv", s.str());
  }
  {
    std::ostringstream s;
    s << "eps,feasible_start,lambda_min,grad_norm,sharpness,negative,found_from,starts_used,evaluations\n";
    for (const auto& r : res.search) {
      s << F(r.eps) << ',' << (r.feasible_start ? 1 : 0) << ',' << F(r.lambda_min) << ',' << F(r.grad_norm) << ','
        << F(r.sharpness) << ',' << (r.negative ? 1 : 0) << ',' << r.found_from << ',' << r.starts_used << ','
        << r.evaluations << '\n';
    }
    put("search.csv", s.str());
  }
  if (res.point) {
    std::ostringstream s, d, e;
    s << "direction,kind,s,sharpness\n";
    d << "direction,kind,first_derivative,second_derivative,second_derivative_fd,min_second_difference,complete,"
         "failure\n";
    for (const auto& pr : res.point->profiles) {
      for (std::size_t k = 0; k < pr.s.size(); ++k) {
        s << pr.direction << ',' << pr.kind << ',' << F(pr.s[k]) << ',' << F(pr.sharpness[k]) << '\n';
      }
      d << pr.direction << ',' << pr.kind << ',' << F(pr.first_derivative) << ',' << F(pr.second_derivative) << ','
        << F(pr.second_derivative_fd) << ',' << F(pr.min_second_difference) << ',' << (pr.complete ? 1 : 0) << ','
        << csv_quote(pr.failure) << '\n';
    }
    e << "index,eigenvalue\n";
    for (Eigen::Index k = 0; k < res.point->eigenvalues.size(); ++k) e << k << ',' << F(res.point->eigenvalues(k)) << '\n';
    put("profiles.csv", s.str());
    put("directions.csv", d.str());
    if (res.point->spectrum == SpectrumMethod::Dense) put("spectrum.csv", e.str());
  }
  bool any_search_point = false;
  for (const auto& r : res.search) any_search_point = any_search_point || r.theta.size() > 0;
  if (any_search_point) {
    const fs::path sub = fs::path(dir) / "search_points";
    std::error_code ec;
    fs::create_directories(sub, ec);
    if (ec) throw InputError(sub.string() + ": cannot create directory (" + ec.message() + ")");
    for (std::size_t k = 0; k < res.search.size(); ++k) {
      if (res.search[k].theta.size() == 0) continue;
      for (std::string& path : write_point((sub / ("eps_" + std::to_string(k))).string(), res.search[k].theta))
        written.push_back(std::move(path));
    }
  }
  if (!res.trajectories.empty()) put("trajectory_convexity.csv", trajectory_convexity_csv(res.trajectories));
  nlohmann::json summary = convexity_summary_json(res, options);
  nlohmann::json figures = nlohmann::json::array(), scripts = nlohmann::json::array(), notes = nlohmann::json::array();
  if (options.figures) {
    for (const PlotOutcome& f : write_convexity_figures(dir, res)) {
      if (!f.script_path.empty()) {
        scripts.push_back(fs::path(f.script_path).filename().string());
        written.push_back(f.script_path);
      }
      if (f.written) {
        figures.push_back(fs::path(f.svg_path).filename().string());
        written.push_back(f.svg_path);
      }
      if (!f.note.empty() && std::find(notes.begin(), notes.end(), f.note) == notes.end()) notes.push_back(f.note);
    }
  }
  summary["figures"] = figures;
  summary["figure_scripts"] = scripts;
  summary["figure_notes"] = notes;
  put("summary.json", summary.dump(2) + "\n");
  return {written, figures.get<std::vector<std::string>>(), notes.get<std::vector<std::string>>()};
}

}  // namespace zeroloss
