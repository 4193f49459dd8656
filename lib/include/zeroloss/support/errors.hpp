#pragma once
// Exceptions thrown by the zeroloss library. The library never exits; the command-line program
// turns these into one message and a non-zero exit code.

#include <stdexcept>
#include <string>

namespace zeroloss {

// Base class of every zeroloss exception.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Bad user input: a malformed file, an inconsistent size, a non-finite value. The message names
// the file, line or quantity and what was expected.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(what) {}
};

// The constraint Gram matrix J J^T is singular or numerically so: the zero-loss set is not a
// manifold of dimension m*d - n at this point (dependent data, a dead activation, ...).
class SingularPointError : public Error {
 public:
  SingularPointError(const std::string& what, double condition)
      : Error(what), condition_(condition) {}
  // 2-norm condition number estimate of J J^T (infinity if not positive definite).
  double condition() const { return condition_; }

 private:
  double condition_;
};

// A quantity that does not exist for the chosen activation (an inverse outside the range,
// (phi'')^{-1} for a phi'' that is not monotone, ...).
class DomainError : public Error {
 public:
  explicit DomainError(const std::string& what) : Error(what) {}
};

// An iteration that did not converge or a trajectory that diverged.
class ConvergenceError : public Error {
 public:
  explicit ConvergenceError(const std::string& what) : Error(what) {}
};

}  // namespace zeroloss
