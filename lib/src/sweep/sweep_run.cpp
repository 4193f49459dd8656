#include "zeroloss/sweep/sweep_run.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "zeroloss/io/csv.hpp"
#include "zeroloss/support/errors.hpp"
#include "zeroloss/presentation/dynamics_json.hpp"
#include "zeroloss/presentation/json_file.hpp"
#include "zeroloss/presentation/svg_plot.hpp"
#include "zeroloss/sweep/sweep_task.hpp"

namespace zeroloss {

namespace fs = std::filesystem;
using nlohmann::json;

bool SweepOptions::is_valid(std::string* error) const {
  std::string e;
  if (out.empty()) e = "--out: an output folder is required";
  else if (threads < 0) e = "--threads: expected an integer >= 0 (0 = all cores)";
  if (error != nullptr) *error = e;
  return e.empty();
}

void SweepOptions::validate() const {
  std::string e;
  if (!is_valid(&e)) throw InputError(e);
}

namespace {

std::string specification_path(const std::string& dir) { return dir + "/specification.json"; }
std::string timing_path(const std::string& dir, const SweepTask& task) { return dir + "/timings/" + task.id + ".json"; }

// A CSV cell: quoted when it holds a comma, a quote or a line break (quotes doubled).
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return csv_cell(v.get<std::string>());
  if (v.is_number_float()) return format_double(v.get<double>());
  if (v.is_array()) {  // a list of step sizes: "[0.01, 0.005]" in one quoted cell
    std::string s;
    for (const json& x : v) s += (s.empty() ? "" : ", ") + cell(x);
    return csv_cell("[" + s + "]");
  }
  return v.dump();
}

std::string cell(const std::optional<double>& x) { return x ? format_double(*x) : ""; }

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// CPU time of the calling thread so far (the process's where the system has no per-thread count).
void thread_cpu_seconds(double& user, double& system) {
#ifdef RUSAGE_THREAD
  const int who = RUSAGE_THREAD;
#else
  const int who = RUSAGE_SELF;
#endif
  struct rusage u {};
  if (getrusage(who, &u) != 0) return;
  user = static_cast<double>(u.ru_utime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec);
  system = static_cast<double>(u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_stime.tv_usec);
}

}  // namespace

std::optional<std::size_t> CountingTaskQueue::next() {
  const std::size_t i = next_.fetch_add(1);
  if (i >= size_) return std::nullopt;
  return i;
}

void prepare_sweep_folder(const SweepSpecification& spec, const SweepOptions& options) {
  options.validate();
  if (fs::exists(options.out) && !fs::is_directory(options.out))
    throw InputError(options.out + ": exists and is not a folder (--out names the sweep's folder)");
  const std::string spec_path = specification_path(options.out);
  if (fs::exists(spec_path)) {
    const json earlier = read_json_file(spec_path);
    if (earlier != spec.document)
      throw InputError(options.out + " holds a sweep of another specification (" + spec_path +
                       "); rerunning with the same folder resumes the same sweep: use another --out");
  } else if (fs::exists(options.out) && !fs::is_empty(options.out)) {
    throw InputError(options.out + ": not empty and not a sweep folder (no specification.json); use another --out");
  }
  fs::create_directories(options.out + "/tasks");
  fs::create_directories(options.out + "/timings");
  if (!fs::exists(spec_path)) write_json(spec_path, spec.document);
}

SweepSummary run_sweep_tasks(const SweepSpecification& spec, const SweepOptions& options, SweepTaskQueue& queue,
                             int workers, const std::string& worker_name) {
  SweepSummary summary;
  summary.tasks = spec.tasks.size();
  summary.workers.resize(static_cast<std::size_t>(std::max(1, workers)));
  std::mutex mutex;
  std::exception_ptr error;
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  auto worker = [&](int w) {
    SweepWorkerRecord& record = summary.workers[static_cast<std::size_t>(w)];
    record.worker = workers > 1 ? worker_name + " " + std::to_string(w) : worker_name;
    while (!stop.load()) {
      const auto asked = Clock::now();
      const std::optional<std::size_t> i = queue.next();
      record.queue_seconds += seconds_since(asked);
      if (!i) break;
      const SweepTask& task = spec.tasks.at(*i);
      try {
        if (fs::exists(sweep_task_files(options.out, task).result)) {
          std::lock_guard<std::mutex> lock(mutex);
          ++summary.skipped;
          if (options.task_finished) options.task_finished(task, "skipped", 0);
          continue;
        }
        const auto t0 = Clock::now();
        json timing = json::object();
        const SweepTaskResult r = execute_sweep_task(task, options.out, timing);
        const double seconds = seconds_since(t0);
        timing["id"] = task.id;
        timing["seconds"] = seconds;
        timing["worker"] = record.worker;
        write_json(timing_path(options.out, task), timing);
        ++record.tasks;
        record.task_seconds += seconds;
        std::lock_guard<std::mutex> lock(mutex);
        ++summary.run;
        if (options.task_finished) options.task_finished(task, r.status, seconds);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        stop = true;
      }
    }
    record.end_seconds = seconds_since(start);
    thread_cpu_seconds(record.user_seconds, record.system_seconds);
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < workers; ++w) threads.emplace_back(worker, w);
  worker(0);
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  return summary;
}

std::string sweep_workers_csv(const std::vector<SweepWorkerRecord>& workers) {
  double last = 0;
  for (const SweepWorkerRecord& w : workers) last = std::max(last, w.end_seconds);
  std::ostringstream csv;
  csv << "worker,tasks,task_seconds,queue_seconds,end_seconds,idle_seconds,user_seconds,system_seconds,startup_seconds\n";
  for (const SweepWorkerRecord& w : workers)
    csv << csv_cell(w.worker) << ',' << w.tasks << ',' << format_double(w.task_seconds) << ','
        << format_double(w.queue_seconds) << ',' << format_double(w.end_seconds) << ','
        << format_double(last - w.end_seconds) << ',' << format_double(w.user_seconds) << ','
        << format_double(w.system_seconds) << ',' << format_double(w.startup_seconds) << '\n';
  return csv.str();
}

SweepSummary write_sweep_results(const SweepSpecification& spec, const SweepOptions& options,
                                 const std::vector<SweepWorkerRecord>& workers) {
  SweepSummary summary;
  summary.tasks = spec.tasks.size();
  const std::vector<std::string>& names = sweep_parameter_names();
  std::ostringstream csv, timings;
  csv << "id,kind";
  for (const auto& n : names) csv << ',' << n;
  csv << ",status,sharpness,loss,grad_norm,optimum_sharpness,error_order,convexity_threshold,message\n";
  timings << "id,worker,seconds\n";
  std::map<std::string, int> statuses;
  std::map<std::string, PlotSeries> sharpness;  // by kind
  PlotSeries optimum{"T* (closed form)", {}, {}, PlotStyle::Points, "black", false};
  for (const SweepTask& task : spec.tasks) {
    const SweepTaskFiles files = sweep_task_files(options.out, task);
    if (!fs::exists(files.result)) throw InputError(files.result + ": missing; task " + task.id + " has not finished");
    const SweepTaskResult r = sweep_task_result_from_json(read_json_file(files.result), files.result);
    ++statuses[r.status];
    (r.completed() ? summary.completed : summary.failed)++;
    csv << task.id << ',' << to_string(task.kind);
    for (const auto& n : names) csv << ',' << (task.parameters.contains(n) ? cell(task.parameters[n]) : "");
    csv << ',' << csv_cell(r.status) << ',' << cell(r.sharpness) << ',' << cell(r.loss) << ',' << cell(r.gradient_norm)
        << ',' << cell(r.optimum_sharpness) << ',' << cell(r.error_order) << ',' << cell(r.convexity_threshold) << ','
        << csv_cell(r.message) << '\n';
    if (r.sharpness) {
      PlotSeries& s = sharpness[to_string(task.kind)];
      s.label = std::string("T at the end, ") + to_string(task.kind);
      s.style = PlotStyle::Points;
      s.x.push_back(static_cast<double>(task.index));
      s.y.push_back(*r.sharpness);
    }
    if (r.optimum_sharpness) {
      optimum.x.push_back(static_cast<double>(task.index));
      optimum.y.push_back(*r.optimum_sharpness);
    }
    const std::string tp = timing_path(options.out, task);
    if (fs::exists(tp)) {
      const json t = read_json_file(tp);
      timings << task.id << ',' << csv_cell(t.value("worker", "")) << ',' << format_double(t.value("seconds", 0.0)) << '\n';
    } else {
      timings << task.id << ",,\n";
    }
  }
  summary.results = options.out + "/results.csv";
  write_file_atomic(summary.results, csv.str());
  write_file_atomic(options.out + "/timings.csv", timings.str());
  if (!workers.empty()) write_file_atomic(options.out + "/workers.csv", sweep_workers_csv(workers));
  json status_counts = json::object();
  for (const auto& [s, c] : statuses) status_counts[s] = c;
  json figures = json::array();
  if (options.figures && (!sharpness.empty() || !optimum.x.empty())) {
    PlotSpec plot;
    plot.title = "sweep: sharpness T at the end of each task";
    plot.x_label = "task";
    plot.y_label = "T";
    for (auto& [kind, s] : sharpness) plot.series.push_back(s);
    if (!optimum.x.empty()) plot.series.push_back(optimum);
    const PlotOutcome o = write_svg_plot(plot, options.out + "/sharpness.svg");
    if (o.written) figures.push_back("sharpness.svg");
  }
  json j{{"format", "zeroloss-sweep-summary"},
         {"version", 1},
         {"tasks", summary.tasks},
         {"completed", summary.completed},
         {"not_completed", summary.failed},
         {"statuses", status_counts},
         {"results", "results.csv"},
         {"figures", figures}};
  if (spec.document.contains("description")) j["description"] = spec.document["description"];
  write_json(options.out + "/summary.json", j);
  return summary;
}

SweepSummary run_sweep(const SweepSpecification& spec, const SweepOptions& options) {
  prepare_sweep_folder(spec, options);
  int threads = options.threads;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  CountingTaskQueue queue(spec.tasks.size());
  const SweepSummary ran = run_sweep_tasks(spec, options, queue, threads, "thread");
  SweepSummary s = write_sweep_results(spec, options, ran.workers);
  s.run = ran.run;
  s.skipped = ran.skipped;
  s.workers = ran.workers;
  return s;
}

}  // namespace zeroloss
