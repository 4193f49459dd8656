#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "zeroloss/csv.hpp"

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
