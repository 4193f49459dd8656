#pragma once
// What `zeroloss data` prints after writing its files (runs/generated_data.hpp): what was written,
// the rank and condition of X (with a note when its rows are dependent), the labels' range, and how
// the start was drawn.

#include <iosfwd>

#include "zeroloss/runs/generated_data.hpp"

namespace zeroloss {

void print_generated_data(std::ostream& out, const GeneratedDataOptions& options, const GeneratedDataSummary& summary);

}  // namespace zeroloss
