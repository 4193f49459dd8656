#pragma once
// Ceres reports through glog (warnings from its line searches, linear solvers and manifolds go to
// stderr even with Solver::Options::logging_type = SILENT). The library says what happened in its
// own results and exceptions, so glog is silenced before every ceres::Solve:
//   - unless the program has initialized glog itself (google::InitGoogleLogging): then its own
//     settings apply;
//   - unless ZEROLOSS_CERES_LOG is set and not "0": then glog keeps its settings (GLOG_minloglevel,
//     GLOG_v, ... from the environment), e.g. ZEROLOSS_CERES_LOG=1 GLOG_v=1 shows Ceres' progress.
// Fatal glog messages (a failed CHECK inside Ceres, which aborts) are always printed.

namespace zeroloss::detail {

// Idempotent and thread-safe; cheap after the first call.
void silence_ceres_logging();

}  // namespace zeroloss::detail
