#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "zeroloss/csv.hpp"
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

std::string comparison_report_text(const SgdFlowComparisonRunOptions& o, const SgdFlowComparisonRunSummary& S) {
  const double C = S.plan.coefficient, t_end = S.plan.t_end;
  std::ostringstream msg;
  msg.precision(6);
  msg << "label-noise SGD vs the limiting flow (C = S^2/(4B) = " << C << "), compared at t = eta^2 k up to t = " << t_end
      << " (tau = " << C * t_end << "); " << comparison_start_note(o, S) << "; SGD iterates projected with "
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
  msg << "flow: " << S.flow.accepted << " accepted / " << S.flow.rejected << " rejected steps, T at t_end "
      << S.flow.final_sharpness << "; SGD: " << S.sgd_steps << " steps on " << S.threads << " threads in "
      << S.sgd_seconds << " s\n";
  for (const auto& f : S.figures) msg << "figure: " << f << "\n";
  for (const auto& nt : S.notes) msg << "note: " << nt << "\n";
  msg << "outputs in " << o.out << " (compare.csv, compare_summary.csv, flow_trajectory.csv, summary.json)\n";
  return msg.str();
}

}  // namespace zeroloss
