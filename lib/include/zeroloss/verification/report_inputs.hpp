#pragma once
// The inputs the verification report makes for its claims: the configured problem's data set and
// random starts. Each is recorded in the current reproduce block (VerificationContext).

#include <string>

#include "zeroloss/verification/verification_context.hpp"

namespace zeroloss {

// Writes out/problem/data.csv from the configuration's "problem" section by running `zeroloss data`;
// returns its path.
std::string write_problem_data(VerificationContext& ctx);

// Writes a random start (weights CSV) for the problem in `data_csv` at out/<relative_path> and
// returns its path: theta_jk ~ N(0, s^2 / mean_i ||x_i||^2) with s = problem.init_scale, seeded by
// the configuration's seed and `index`; the second layer a = 1, or with `mixed_second_layer`
// a_j = (-1)^j u_j, u_j ~ U(0.5, 1.5) (the same for every index: it is part of the problem). The
// file's content is recorded in the reproduce block (VerificationContext::record_file).
std::string write_random_start(VerificationContext& ctx, const std::string& data_csv, int m, int index,
                               bool mixed_second_layer, const std::string& relative_path);

}  // namespace zeroloss
