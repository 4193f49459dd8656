#pragma once
// `zeroloss data` as a library call: a generated data set (io/dataset.hpp's generators) written to a
// CSV, and optionally a random start for a model written next to it (two-layer:
// random_two_layer_start; diagonal linear: random_diagonal_start). Both files or none: every
// output folder is checked before anything is written, and the data file is removed again when the
// start cannot be written.

#include <cstdint>
#include <string>

#include "zeroloss/io/dataset.hpp"
#include "zeroloss/model/model_kind.hpp"

namespace zeroloss {

// The names parse_generator and parse_label_kind (io/dataset.hpp) read.
const char* generator_name(DataGenerator generator);
const char* label_kind_name(LabelKind kind);

struct GeneratedDataOptions {
  DataOptions data;               // generator, n, d, labels, seed
  std::string out;                // the data CSV
  std::string weights_out;        // the start's CSV; empty: no start
  ModelKind model = ModelKind::TwoLayer;  // whose start
  int m = 0;                      // two-layer: neurons (>= 1 with weights_out; 0 for the diagonal network)
  double init_scale = 1.0;        // s of the start (> 0)
  bool mixed_signs = false;       // two-layer: mixed-sign second layer
  // InputError naming the option (--label-values, --label-scale, --m, --a-mixed, --init-scale,
  // --weights-out) on the first inconsistency.
  void validate() const;
};

struct GeneratedDataSummary {
  DataSummary x;                  // rank and condition of X
  double label_min = 0, label_max = 0;
};

// Validates, checks that each output's folder exists and that no output is a folder, generates,
// writes. InputError on any of these problems (nothing is left on disk then).
GeneratedDataSummary write_generated_data(const GeneratedDataOptions& options);

}  // namespace zeroloss
