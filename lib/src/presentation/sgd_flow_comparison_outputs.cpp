#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"

namespace zeroloss {
namespace {

std::string short_number(double x, int precision = 6) {
  std::ostringstream s;
  s.precision(precision);
  s << x;
  return s.str();
}

}  // namespace

std::string comparison_rows_csv(const SgdFlowComparisonSummary& s) {
  std::ostringstream csv;
  csv << "eta,step,t,tau,seeds,dist_mean,dist_std,dist_min,dist_max,T_gap_mean,T_gap_std,T_sgd_mean,T_flow\n";
  for (const ComparisonRow& r : s.rows) {
    csv << format_double(r.eta) << ',' << r.step << ',' << format_double(r.t) << ',' << format_double(r.tau) << ','
        << r.distance.count << ',' << format_double(r.distance.mean) << ',' << format_double(r.distance.std) << ','
        << format_double(r.distance.min) << ',' << format_double(r.distance.max) << ',' << format_double(r.gap.mean)
        << ',' << format_double(r.gap.std) << ',' << format_double(r.sgd_sharpness.mean) << ','
        << format_double(r.flow_sharpness) << '\n';
  }
  return csv.str();
}

std::string comparison_per_eta_csv(const SgdFlowComparisonSummary& s) {
  std::ostringstream csv;
  csv << "eta,steps,seeds,diverged,final_dist_mean,final_dist_std,max_dist_mean,max_dist_std,final_T_gap_mean,"
         "final_T_gap_std\n";
  for (const ComparisonPerEta& e : s.per_eta) {
    if (e.completed > 0) {
      csv << format_double(e.eta) << ',' << e.steps << ',' << e.completed << ',' << e.diverged << ','
          << format_double(e.final_distance.mean) << ',' << format_double(e.final_distance.std) << ','
          << format_double(e.max_distance.mean) << ',' << format_double(e.max_distance.std) << ','
          << format_double(e.final_gap.mean) << ',' << format_double(e.final_gap.std) << '\n';
    } else {
      csv << format_double(e.eta) << ',' << e.steps << ",0," << e.diverged << ",,,,,,\n";
    }
  }
  return csv.str();
}

std::string bias_fluctuation_csv(const SgdFlowComparisonSummary& s) {
  std::ostringstream csv;
  csv << "eta,step,t,flow_t,seeds,bias,fluctuation\n";
  for (const ComparisonRow& r : s.rows)
    csv << format_double(r.eta) << ',' << r.step << ',' << format_double(r.t) << ',' << format_double(r.flow_t) << ','
        << r.distance.count << ',' << format_double(r.bias) << ',' << format_double(r.fluctuation) << '\n';
  return csv.str();
}

std::string comparison_table_text(const SgdFlowComparisonSummary& s) {
  std::ostringstream table;
  table << std::setw(9) << "eta" << std::setw(12) << "steps" << std::setw(7) << "seeds" << "  " << std::setw(26)
        << "dist at t_end (mean+-std)" << "  " << std::setw(12) << "max_t dist" << "  " << std::setw(26)
        << "T gap at t_end (mean+-std)" << "\n";
  for (const ComparisonPerEta& e : s.per_eta) {
    if (e.completed > 0) {
      std::ostringstream a, b;
      a.precision(3);
      b.precision(3);
      a << e.final_distance.mean << " +- " << e.final_distance.std;
      b << e.final_gap.mean << " +- " << e.final_gap.std;
      table << std::setw(9) << e.eta << std::setw(12) << e.steps << std::setw(7) << e.completed << "  " << std::setw(26)
            << a.str() << "  " << std::setw(12) << std::setprecision(3) << e.max_distance.mean << "  " << std::setw(26)
            << b.str() << "\n";
    } else {
      table << std::setw(9) << e.eta << std::setw(12) << e.steps << std::setw(7) << 0 << "  all seeds diverged\n";
    }
  }
  return table.str();
}

std::vector<std::pair<std::string, PlotSpec>> comparison_figures(const ComparisonPlan& plan,
                                                                 const SgdFlowComparisonSummary& s,
                                                                 const std::vector<double>& flow_tau,
                                                                 const std::vector<double>& flow_sharpness,
                                                                 const std::optional<double>& optimum_sharpness,
                                                                 const std::function<std::string(int)>& color_of) {
  std::vector<std::pair<std::string, PlotSpec>> out;
  const double C = plan.coefficient;
  if (s.fit) {
    PlotSpec ef;
    ef.title = "error against step size at t = " + short_number(plan.t_end) + " (log-log), fitted slope p = " +
               short_number(s.fit->exponent, 4);
    ef.x_label = "eta";
    ef.y_label = "mean ||Phi(Theta_SGD) - Theta_flow||";
    ef.log_x = ef.log_y = true;
    ef.key = "top left";
    PlotSeries pts{"measured (mean over seeds)", s.fit_eta, s.fit_error, PlotStyle::Points, "#d62728", false};
    PlotSeries line{"fit C eta^p", {}, {}, PlotStyle::Lines, "black", true};
    const double lo = *std::min_element(s.fit_eta.begin(), s.fit_eta.end());
    const double hi = *std::max_element(s.fit_eta.begin(), s.fit_eta.end());
    for (int k = 0; k <= 20; ++k) {
      const double x = lo * std::pow(hi / lo, k / 20.0);
      line.x.push_back(x);
      line.y.push_back(s.fit->prefactor * std::pow(x, s.fit->exponent));
    }
    ef.series = {pts, line};
    out.emplace_back("error_vs_eta.svg", ef);
  }
  if (s.bias_fit && s.fluctuation_fit) {
    PlotSpec bf;
    bf.title = "bias (mean path to flow) and fluctuation (one path about the mean), RMS over t <= " +
               short_number(plan.t_end);
    bf.x_label = "eta";
    bf.y_label = "distance";
    bf.log_x = bf.log_y = true;
    bf.key = "top left";
    const auto fitted = [](const std::vector<double>& x, const PowerLawFit& f) {
      std::vector<double> y;
      for (double v : x) y.push_back(f.prefactor * std::pow(v, f.exponent));
      return y;
    };
    bf.series = {
        {"bias, order " + short_number(s.bias_fit->exponent, 3), s.bias_eta, s.bias, PlotStyle::Points, "#d62728",
         false},
        {"fit", s.bias_eta, fitted(s.bias_eta, *s.bias_fit), PlotStyle::Lines, "#d62728", true},
        {"fluctuation, order " + short_number(s.fluctuation_fit->exponent, 3), s.fluctuation_eta, s.fluctuation,
         PlotStyle::Points, "#1f77b4", false},
        {"fit", s.fluctuation_eta, fitted(s.fluctuation_eta, *s.fluctuation_fit), PlotStyle::Lines, "#1f77b4", true}};
    out.emplace_back("bias_fluctuation_vs_eta.svg", bf);
  }
  PlotSpec dist_fig, sharp_fig, gap_fig;
  gap_fig.title = "T - T* along the flow and along SGD (projected, mean over seeds)";
  gap_fig.x_label = "flow time tau = C t";
  gap_fig.y_label = "T - T*";
  gap_fig.log_y = true;
  dist_fig.title = "||Phi(Theta_SGD) - Theta_flow|| against SGD time (mean over seeds)";
  dist_fig.x_label = "t = eta^2 k";
  dist_fig.y_label = "distance";
  dist_fig.log_y = true;
  sharp_fig.title = "sharpness T along the flow and along SGD (projected, mean over seeds)";
  sharp_fig.x_label = "flow time tau = C t";
  sharp_fig.y_label = "T";
  PlotSeries f{"flow", {}, {}, PlotStyle::Lines, "black", false}, g = f;
  for (std::size_t k = 0; k < flow_tau.size(); ++k) {
    f.x.push_back(flow_tau[k]);
    f.y.push_back(flow_sharpness[k]);
    if (optimum_sharpness) {
      g.x.push_back(flow_tau[k]);
      g.y.push_back(flow_sharpness[k] - *optimum_sharpness);
    }
  }
  sharp_fig.series.push_back(f);
  if (optimum_sharpness) gap_fig.series.push_back(g);
  for (std::size_t p = 0; p < plan.grids.size(); ++p) {
    const double eta = plan.grids[p].eta;
    const std::string color = color_of(static_cast<int>(p));
    PlotSeries ds{"eta = " + short_number(eta), {}, {}, PlotStyle::LinesPoints, color, false};
    PlotSeries ts{"SGD eta = " + short_number(eta), {}, {}, PlotStyle::Points, color, false};
    PlotSeries gs = ts;
    for (const ComparisonRow& r : s.rows) {
      if (r.eta != eta) continue;
      ds.x.push_back(r.t);
      ds.y.push_back(r.distance.mean);
      ts.x.push_back(C * r.t);
      ts.y.push_back(r.sgd_sharpness.mean);
      if (optimum_sharpness) {
        gs.x.push_back(C * r.t);
        gs.y.push_back(r.sgd_sharpness.mean - *optimum_sharpness);
      }
    }
    dist_fig.series.push_back(ds);
    sharp_fig.series.push_back(ts);
    if (optimum_sharpness) gap_fig.series.push_back(gs);
  }
  out.emplace_back("distance_vs_t.svg", dist_fig);
  out.emplace_back("sharpness_vs_tau.svg", sharp_fig);
  if (optimum_sharpness) out.emplace_back("sharpness_gap_vs_tau.svg", gap_fig);
  return out;
}


}  // namespace zeroloss

namespace zeroloss {

std::string comparison_divergence_note(const ComparisonPerEta& e, std::size_t seeds) {
  return std::to_string(e.diverged) + " of " + std::to_string(seeds) + " seeds diverged at eta = " +
         short_number(e.eta) + " (" + e.divergence_reason + "); they are left out of the statistics";
}

std::string comparison_start_note(const SgdFlowComparisonRunOptions& o, const SgdFlowComparisonRunSummary& S) {
  return S.start_on_manifold ? "W0 is on M" : "W0 projected onto M (" + std::string(to_string(o.projection)) + ")";
}

nlohmann::json comparison_summary_json(const SgdFlowComparisonRunOptions& o, const SgdFlowComparisonRunSummary& S) {
  using nlohmann::json;
  json per_eta = json::array();
  for (const ComparisonPerEta& e : S.result.per_eta) {
    json j = {{"eta", e.eta}, {"steps", e.steps}, {"seeds", e.completed}, {"diverged", e.diverged}};
    if (e.completed > 0) {
      j["final_dist_mean"] = e.final_distance.mean;
      j["final_dist_std"] = e.final_distance.std;
      j["max_dist_mean"] = e.max_distance.mean;
      j["max_dist_std"] = e.max_distance.std;
      j["final_T_gap_mean"] = e.final_gap.mean;
      j["final_T_gap_std"] = e.final_gap.std;
    }
    per_eta.push_back(j);
  }
  json fit = nullptr;
  if (S.result.fit) {
    const PowerLawFit& pf = *S.result.fit;
    fit = line_fit_json(pf.line);
    fit["exponent_p"] = pf.exponent;
    fit["prefactor"] = pf.prefactor;
    fit["error_measure"] = "mean over seeds of ||Phi(Theta_SGD) - Theta_flow|| at the last comparison time";
  }
  std::vector<double> etas;
  for (const auto& g : S.plan.grids) etas.push_back(g.eta);
  const SgdFlowComparisonOptions& co = S.comparison;
  return {{"command", "compare"},
          {"data", o.problem.data},
          {"weights", o.problem.weights},
          {"parameters",
           {{"activation", S.activation},
            {"label_noise", o.label_noise},
            {"noise", noise_kind_name(o.noise)},
            {"batch_size", co.batch_size},
            {"flow_coefficient", S.plan.coefficient},
            {"time", o.time},
            {"lr_list", etas},
            {"seeds", co.seeds},
            {"points", o.points},
            {"projection", to_string(o.projection)},
            {"integrator", flow_stepper_name(o.integrator)},
            {"rtol", o.rtol},
            {"atol", o.atol}}},
          {"start", comparison_start_note(o, S)},
          {"flow",
           {{"t_end", S.flow.t_reached},
            {"accepted_steps", S.flow.accepted},
            {"rejected_steps", S.flow.rejected},
            {"max_constraint_drift", S.flow.max_constraint_drift},
            {"final_sharpness", S.flow.final_sharpness},
            {"final_grad_norm", S.flow.final_gradient_norm},
            {"seconds", S.flow_seconds}}},
          {"sgd", {{"threads", S.threads}, {"seconds", S.sgd_seconds}, {"steps", S.sgd_steps}}},
          {"per_eta", per_eta},
          {"order_fit", fit},
          {"figures", S.figures},
          {"notes", S.notes}};
}

nlohmann::json flow_tracking_json(const SgdFlowComparisonRunOptions& o, const SgdFlowComparisonRunSummary& S) {
  using nlohmann::json;
  const auto fit_json = [](const std::optional<PowerLawFit>& f) -> json {
    if (!f) return nullptr;
    json j = line_fit_json(f->line);
    j["exponent_p"] = f->exponent;
    j["prefactor"] = f->prefactor;
    return j;
  };
  const auto estimate_json = [](const CoefficientEstimate& e) -> json {
    return {{"eta", e.eta},           {"seeds", e.seeds},
            {"estimate", e.estimate}, {"standard_error", e.standard_error},
            {"ci_low", e.ci_low},     {"ci_high", e.ci_high},
            {"confidence", e.confidence}, {"allowance", e.allowance}, {"iterations", e.iterations},
            {"converged", e.converged}};
  };
  json per_eta = json::array();
  for (const ComparisonPerEta& e : S.result.per_eta) {
    json j = {{"eta", e.eta}, {"seeds", e.completed}};
    if (e.completed > 0) {
      j["final_bias"] = e.final_bias;
      j["final_fluctuation"] = e.final_fluctuation;
      j["path_bias"] = e.path_bias;
      j["path_fluctuation"] = e.path_fluctuation;
      j["final_dist_mean"] = e.final_distance.mean;
    }
    j["coefficient"] = nullptr;
    for (const CoefficientEstimate& c : S.coefficient_fit.per_eta)
      if (c.eta == e.eta) j["coefficient"] = estimate_json(c);
    per_eta.push_back(j);
  }
  json coefficient = nullptr;
  if (S.coefficient_fit.extrapolated) {
    coefficient = estimate_json(*S.coefficient_fit.extrapolated);
    coefficient["method"] =
        "per step size, the least-squares flow coefficient c matching the mean projected path at every comparison "
        "time (Gauss-Newton); extrapolated linearly in eta to eta = 0 from the two smallest step sizes; interval: "
        "delta method over the seeds, Student t, widened on both sides by the allowance |c(smallest eta) - c|";
  }
  return {{"command", "compare"},
          {"reference_flow",
           {{"flow_coefficient_scale", o.flow_coefficient_scale},
            {"time_scale", sgd_flow_time_scale_name(o.time_scale)},
            {"limiting_coefficient", S.plan.limiting_coefficient},
            {"reference_coefficient", S.plan.coefficient}}},
          {"sgd_iterates", o.sgd_iterates.empty() ? json(nullptr) : json(o.sgd_iterates)},
          {"per_eta", per_eta},
          {"error_order_fit", fit_json(S.result.fit)},
          {"bias_order_fit", fit_json(S.result.bias_fit)},
          {"fluctuation_order_fit", fit_json(S.result.fluctuation_fit)},
          {"coefficient_fit", coefficient}};
}

std::string comparison_report_text(const SgdFlowComparisonRunOptions& o, const SgdFlowComparisonRunSummary& S) {
  const double C = S.plan.coefficient, t_end = S.plan.t_end;
  std::ostringstream msg;
  msg.precision(6);
  msg << "label-noise SGD vs the limiting flow (C = S^2/(4B) = " << S.plan.limiting_coefficient << "), compared at t = eta^2 k up to t = " << t_end
      << " (tau = " << S.plan.limiting_coefficient * t_end << "); ";
  if (o.flow_coefficient_scale != 1 || o.time_scale != SgdFlowTimeScale::EtaSquaredSteps)
    msg << "DIAGNOSTIC reference flow: coefficient " << C << " = " << o.flow_coefficient_scale << " C on the time scale "
        << sgd_flow_time_scale_name(o.time_scale) << "; ";
  msg << comparison_start_note(o, S) << "; SGD iterates projected with "
      << to_string(o.projection) << "\n";
  msg << comparison_table_text(S.result);
  std::ostringstream fit_line;
  fit_line.precision(4);
  if (S.result.fit) {
    const PowerLawFit& pf = *S.result.fit;
    fit_line << "fitted order: error ~ C eta^p with p = " << pf.exponent;
    if (pf.line.slope_ci_low)
      fit_line << ", " << 100 * pf.line.confidence << "% interval [" << *pf.line.slope_ci_low << ", "
               << *pf.line.slope_ci_high << "] (Student t, " << pf.line.points - 2
               << (pf.line.points == 3 ? " degree" : " degrees") << " of freedom)";
    else
      fit_line << " (two step sizes: no interval; give three or more)";
    fit_line << ", R^2 = " << pf.line.r_squared;
  } else {
    fit_line << "fitted order: not available (needs at least two step sizes with a positive error)";
  }
  msg << fit_line.str() << "\n";
  const auto order_text = [](const char* what, const std::optional<PowerLawFit>& f) {
    std::ostringstream t;
    t.precision(4);
    t << what << " order: ";
    if (!f) return t.str() + "not available";
    t << f->exponent;
    if (f->line.slope_ci_low) t << " [" << *f->line.slope_ci_low << ", " << *f->line.slope_ci_high << "]";
    return t.str();
  };
  msg << order_text("bias (mean projected path to the flow, RMS over the times)", S.result.bias_fit) << "; "
      << order_text("fluctuation (one path about the mean)", S.result.fluctuation_fit) << "\n";
  if (S.coefficient_fit.extrapolated) {
    const CoefficientEstimate& e = *S.coefficient_fit.extrapolated;
    std::ostringstream c;
    c.precision(5);
    c << "fitted flow coefficient (";
    for (const CoefficientEstimate& p : S.coefficient_fit.per_eta) c << "c(" << p.eta << ") = " << p.estimate << ", ";
    c << "extrapolated to eta = 0): c = " << e.estimate << ", " << 100 * e.confidence
      << "% interval [" << e.ci_low << ", " << e.ci_high << "] (delta method over " << e.seeds
      << " seeds, plus the extrapolation allowance " << e.allowance << "); reference flow: " << C << " = " << o.flow_coefficient_scale << " x s^2/(4B), time scale "
      << sgd_flow_time_scale_name(o.time_scale);
    msg << c.str() << "\n";
  }
  msg << "flow: " << S.flow.accepted << " accepted / " << S.flow.rejected << " rejected steps, T at t_end "
      << S.flow.final_sharpness << "; SGD: ";
  if (o.sgd_iterates.empty())
    msg << S.sgd_steps << " steps on " << S.threads << " threads in " << S.sgd_seconds << " s\n";
  else
    msg << "not rerun (read from " << o.sgd_iterates << ")\n";
  for (const auto& f : S.figures) msg << "figure: " << f << "\n";
  for (const auto& nt : S.notes) msg << "note: " << nt << "\n";
  msg << "outputs in " << o.out
      << " (compare.csv, compare_summary.csv, bias_fluctuation.csv, flow_tracking.json, flow_trajectory.csv, "
      << (o.sgd_iterates.empty() ? "projected_iterates.csv, " : "") << "summary.json)\n";
  return msg.str();
}

}  // namespace zeroloss
