#include "zeroloss/presentation/sgd_flow_comparison_outputs.hpp"

#include <iomanip>
#include <sstream>

#include "zeroloss/csv.hpp"

namespace zeroloss {

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

}  // namespace zeroloss
