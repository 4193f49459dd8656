#pragma once
// Shared pieces of the Python module: the model wrapper every binding takes, and the bridge that
// lets a long call release the GIL yet honour Ctrl-C and a Python progress callback.
#include <pybind11/pybind11.h>
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <Eigen/Dense>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <vector>
#include <string>

#include "zeroloss/model/squared_loss_model.hpp"

namespace zeroloss::python {

namespace py = pybind11;

// A model as Python sees it: the library model (shared, so nothing dangles) plus the shape of its
// parameters. Python passes parameters in the model's natural shape (TwoLayerModel: Theta, m x d;
// DiagonalLinearModel: theta = (u, v), 2d) and gets them back in that shape.
class PyModel {
 public:
  virtual ~PyModel() = default;
  const std::shared_ptr<const SquaredLossModel>& model() const { return model_; }
  // The natural shape -> theta in R^P (InputError naming the argument on a wrong size).
  virtual Eigen::VectorXd flatten(const Eigen::MatrixXd& theta, const char* what) const = 0;
  // theta in R^P -> the natural shape.
  virtual py::object shaped(const Eigen::VectorXd& theta) const = 0;

 protected:
  std::shared_ptr<const SquaredLossModel> model_;
};

// Follows a long call made without the GIL: `poll` (called by the library from any thread) takes
// the GIL, checks for signals (Ctrl-C) and calls the Python callback; an exception there is stored
// and the library is asked to stop (the `interrupt` flag, or the poll's return value). After the
// call, rethrow() raises the stored exception with the GIL held.
class PythonPoller {
 public:
  explicit PythonPoller(py::object callback) : callback_(std::move(callback)) {}
  // Returns false once the call must stop. `args` builds the callback's arguments.
  template <class MakeArgs>
  bool poll(MakeArgs&& make_args) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_.load()) return false;
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!callback_.is_none()) {
        py::object result = callback_(*make_args());
        if (!result.is_none() && !result.cast<bool>()) stop_requested_by_callback_ = true;
      }
    } catch (py::error_already_set& e) {
      error_ = std::make_unique<py::error_already_set>(std::move(e));
      stop_.store(true);
      return false;
    }
    if (stop_requested_by_callback_) stop_.store(true);
    return !stop_.load();
  }
  // Only the signals (Ctrl-C), not the callback: for the thread that waits for a call (call_polling).
  bool check_signals() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stop_.load()) return false;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) {
      error_ = std::make_unique<py::error_already_set>();
      stop_.store(true);
    }
    return !stop_.load();
  }
  const std::atomic<bool>* flag() const { return &stop_; }
  bool failed() const { return error_ != nullptr; }
  // Raises the stored Python exception (GIL held).
  [[noreturn]] void rethrow() {
    std::unique_ptr<py::error_already_set> e = std::move(error_);
    throw std::move(*e);
  }

 private:
  py::object callback_;
  std::mutex mutex_;
  std::atomic<bool> stop_{false};
  bool stop_requested_by_callback_ = false;
  std::unique_ptr<py::error_already_set> error_;
};

// Runs `work` (a library call that honours poller.flag() and touches no Python object) on a worker
// thread while the calling thread - Python's main thread, the one that can handle signals - waits
// without the GIL and checks for Ctrl-C every 0.1 s. Returns work's result; when the poller stopped
// the call (Ctrl-C, or an exception raised by a callback it runs) raises that Python exception
// instead, whether the library then threw InterruptedError or had finished.
template <class Work>
auto call_polling(PythonPoller& poller, Work&& work) -> decltype(work()) {
  auto future = std::async(std::launch::async, std::forward<Work>(work));
  {
    py::gil_scoped_release release;
    while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) poller.check_signals();
  }
  if (poller.failed()) {
    try {
      future.get();
    } catch (...) {  // InterruptedError: the library honoured the flag
    }
    poller.rethrow();
  }
  return future.get();
}

// The whole module (exceptions, classes, functions) into m.
void define_module(py::module_& m);
void bind_models(py::module_& m);
void bind_geometry(py::module_& m);
void bind_sgd(py::module_& m);
void bind_geodesics(py::module_& m);
void bind_convexity(py::module_& m);
void bind_verification(py::module_& m);
void bind_trajectories(py::module_& m);

// The scalar columns of a flow's samples as the flow functions return them (t, tau, sharpness,
// gradient_norm); the states are kept by the caller, shaped its own way.
struct FlowSampleColumns {
  std::vector<double> t, tau, sharpness, gradient_norm;
  void add(double t_, double tau_, double sharpness_, double gradient_norm_) {
    t.push_back(t_);
    tau.push_back(tau_);
    sharpness.push_back(sharpness_);
    gradient_norm.push_back(gradient_norm_);
  }
  void write(py::dict& d) const {
    d["t"] = t;
    d["tau"] = tau;
    d["sharpness"] = sharpness;
    d["gradient_norm"] = gradient_norm;
  }
};

}  // namespace zeroloss::python
